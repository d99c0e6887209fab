"""The add-on's blocking Python API, for pipeline scripts and tests (the panel's buttons
call the same functions). Each runs the ``sinmdm`` command line and brings its BVH
outputs back as new actions on the same armature (see :mod:`.actions`).

Lengths are in the scene's frames; the model's own frame rate may differ (sinmdm caps it
at 30 fps), so they are handed to the command line in seconds.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from typing import Optional

import bpy

from . import runner
from .actions import action_from_bvh, action_range, export_action, scene_fps
from .runner import SinmdmFailed

RUN = "sinmdm_run"  # custom property of the armature object: its run folder


def _action(armature: bpy.types.Object) -> bpy.types.Action:
    if armature is None or armature.type != "ARMATURE":
        raise SinmdmFailed("select an armature")
    data = armature.animation_data
    if data is None or data.action is None:
        raise SinmdmFailed(f"{armature.name} has no active action to learn from")
    return data.action


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "clip"


def default_run_folder(armature: bpy.types.Object, action: bpy.types.Action) -> str:
    """Beside the .blend file (//sinmdm/<armature>_<action>), or in the temporary folder
    while the file is unsaved."""
    base = bpy.path.abspath("//sinmdm") if bpy.data.filepath else os.path.join(tempfile.gettempdir(), "sinmdm")
    return os.path.join(base, f"{_safe(armature.name)}_{_safe(action.name)}")


def learn_command(
    armature: bpy.types.Object, steps: Optional[int] = None, minutes: Optional[float] = None, resume: bool = False
) -> tuple[list[str], str]:
    """Export the active action and return the `sinmdm train` arguments and run folder
    (the folder is stored on the armature when training succeeds). With ``resume``, the
    armature's stored run continues from its checkpoint, on the clip it started with."""
    action = _action(armature)
    resume = resume and bool(armature.get(RUN)) and os.path.isfile(f"{armature.get(RUN)}.bvh")
    folder = armature[RUN] if resume else default_run_folder(armature, action)
    os.makedirs(os.path.dirname(folder), exist_ok=True)
    clip = f"{folder}.bvh"
    if not resume:  # a resumed run goes on with the clip it started with
        export_action(armature, action, clip)
    # Blender's exporter writes armature space, which is Z-up.
    args = ["train", clip, "--out", folder, "--up", "z", "--resume" if resume else "--force", "--log-seconds", "1"]
    if steps is not None:
        args += ["--steps", str(steps)]
    if minutes is not None:
        args += ["--minutes", str(minutes)]
    return args, folder


def learn(
    armature: bpy.types.Object, steps: Optional[int] = None, minutes: Optional[float] = None, preference: str = ""
) -> str:
    """Train a model on the armature's active action; returns the run folder, which is
    stored on the armature (custom property ``sinmdm_run``)."""
    args, folder = learn_command(armature, steps, minutes)
    runner.run(args, preference)
    armature[RUN] = folder
    return folder


def _run_folder(armature: bpy.types.Object) -> str:
    folder = armature.get(RUN) if armature is not None else None
    if not folder or not os.path.isfile(os.path.join(folder, "model.pt")):
        raise SinmdmFailed(f"{getattr(armature, 'name', 'nothing')} has no trained model: Learn first")
    return folder


def _seconds(frames: int, scene: bpy.types.Scene) -> str:
    if frames < 1:
        raise SinmdmFailed(f"a length must be at least one frame, got {frames}")
    return f"{frames / scene_fps(scene):.6f}s"


def _sample(
    armature: bpy.types.Object, command: str, extra: list[str], count: int, seed: int, cleanup: bool, preference: str
) -> list[str]:
    """Run a sampler command on the armature's model; the BVH files it wrote."""
    folder = _run_folder(armature)
    out = os.path.join(folder, "blender", command)
    args = [command, "--model", folder, "--n", str(count), "--seed", str(seed), "--out", out, "--force", *extra]
    if not cleanup:
        args.append("--no-cleanup")
    printed = runner.run(args, preference)
    return [line.strip() for line in printed.splitlines() if line.strip().endswith(".bvh")]


def _actions(armature: bpy.types.Object, files: list[str]) -> list[bpy.types.Action]:
    """New actions ``<action>_sinmdm_<i>`` (i not yet taken) from sinmdm's BVH files,
    keyed from the active action's first frame."""
    source = _action(armature)
    start, _ = action_range(source)
    made, index = [], 0
    for file in files:
        while f"{source.name}_sinmdm_{index}" in bpy.data.actions:
            index += 1
        made.append(action_from_bvh(armature, file, f"{source.name}_sinmdm_{index}", start))
    return made


def generate(
    armature: bpy.types.Object, count: int = 1, length: Optional[int] = None, seed: int = 0, loop: bool = False,
    cleanup: bool = True, preference: str = "",
) -> list[bpy.types.Action]:
    """``count`` new actions of ``length`` frames (default: the active action's length)."""
    extra = ["--length", _seconds(length, bpy.context.scene) if length else "1x"] + (["--loop"] if loop else [])
    return _actions(armature, _sample(armature, "generate", extra, count, seed, cleanup, preference))


def expand(
    armature: bpy.types.Object, count: int = 1, length: Optional[int] = None, seed: int = 0, cleanup: bool = True,
    preference: str = "",
) -> list[bpy.types.Action]:
    """The learned action in the middle of new motion, ``length`` frames in all (default 2x)."""
    extra = ["--length", _seconds(length, bpy.context.scene) if length else "2x"]
    return _actions(armature, _sample(armature, "expand", extra, count, seed, cleanup, preference))


def inbetween(
    armature: bpy.types.Object, start: int, end: int, count: int = 1, length: Optional[int] = None, seed: int = 0,
    cleanup: bool = True, preference: str = "",
) -> list[bpy.types.Action]:
    """Keep the learned action before frame ``start`` and from frame ``end`` on; generate
    the gap (``length`` frames, default as in the action)."""
    first, last = action_range(_action(armature))
    if not first <= start < end <= last + 1:
        raise SinmdmFailed(f"the gap {start}-{end} must lie within the action's frames {first}-{last}")
    span = last - first + 1
    extra = ["--prefix", f"{(start - first) / span:.6f}", "--suffix", f"{(end - first) / span:.6f}"]
    if length:
        extra += ["--length", _seconds(length, bpy.context.scene)]
    return _actions(armature, _sample(armature, "inbetween", extra, count, seed, cleanup, preference))


def compose(
    armature: bpy.types.Object, keep: str, count: int = 1, seed: int = 0, cleanup: bool = True, preference: str = ""
) -> list[bpy.types.Action]:
    """The ``keep`` bones (a body part, bone names, or subtree:BONE) as in the learned
    action, the rest new."""
    return _actions(armature, _sample(armature, "compose", ["--keep", keep], count, seed, cleanup, preference))


def crowd(
    armature: bpy.types.Object, count: int = 3, layout: str = "grid", spacing: Optional[float] = None,
    length: Optional[int] = None, seed: int = 0, cleanup: bool = True, preference: str = "",
) -> list[bpy.types.Object]:
    """``count`` linked duplicates of the armature (sharing its bones), each with its own
    new action, placed as crowd.json says (the placement is in each action's root)."""
    extra = ["--layout", layout, "--length", _seconds(length, bpy.context.scene) if length else "1x"]
    if spacing is not None:
        extra += ["--spacing", str(spacing)]
    files = _sample(armature, "crowd", extra, count, seed, cleanup, preference)
    record = json.load(open(os.path.join(os.path.dirname(files[0]), "crowd.json"), encoding="utf-8"))
    made = _actions(armature, files)
    copies = []
    for action, individual in zip(made, record["individuals"]):
        copy = armature.copy()  # a linked duplicate: the armature data is shared
        copy.name = f"{armature.name}_crowd_{individual['sample']}"
        copy.animation_data_create().action = action
        for collection in armature.users_collection:
            collection.objects.link(copy)
        copy["sinmdm_crowd"] = json.dumps(individual)
        copies.append(copy)
    return copies
