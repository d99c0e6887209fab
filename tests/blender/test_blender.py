"""The Blender add-on, in Blender itself (headless): Learn and Generate on an imported
armature and on one built with rolls and a rest pose of its own reproduce sinmdm's BVH
exactly on the user's bones (their heads, and their rotations); Crowd makes linked, placed duplicates; failures leave the
scene unchanged with one line. Blender is Debian's package (3.4) in CI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, synthetic_bvh, tool

from sinmdm.anim.bvh import read_bvh

LENGTH = 45  # frames of each generated action (the scene and the model run at 30 fps)


def blender() -> str:
    return tool("blender", ".ci/run installs Debian's blender package")


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> dict:
    executable = blender()
    folder = tmp_path_factory.mktemp("blender")
    clip = folder / "creature.bvh"
    clip.write_text(synthetic_bvh(90, seed=1, smooth=True))
    config = {"addon_path": str(ROOT / "blender"), "clip": str(clip), "steps": 3, "length": LENGTH,
              "result": str(folder / "result.json")}
    (folder / "config.json").write_text(json.dumps(config))
    env = dict(os.environ, SINMDM_EXECUTABLE=f"{sys.executable} -m sinmdm", TMPDIR=str(folder))
    done = subprocess.run(
        [executable, "-b", "--factory-startup", "--python-exit-code", "1", "--python", str(ROOT / "tests" / "blender" / "scenario.py"),
         "--", str(folder / "config.json")],
        capture_output=True, text=True, env=env, timeout=900,
    )
    assert done.returncode == 0 and (folder / "result.json").exists(), done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads((folder / "result.json").read_text())


def _matches_its_bvh(action: dict, body_size: float) -> None:
    """The action's bone heads and rotations at every keyed frame are the forward
    kinematics of the BVH it came from (heads within 1e-4 of the body size)."""
    assert action["fake_user"] and action["name"].split("_sinmdm_")[1].isdigit()
    start, _ = action["range"]
    motion = read_bvh(action["source"], up="y")  # the file's own axes: Blender's armature space
    names = list(motion.skeleton.names)
    turns, world = motion.world()
    error = max(
        np.abs(np.array(bones[bone]) - world[int(frame) - start, names.index(bone)]).max()
        for frame, bones in action["frames"].items() for bone in bones
    )
    assert error < 1e-4 * body_size, (action["name"], error)
    # Each bone turned as its joint: the joint's world rotation applied to the bone's rest.
    apart = max(
        np.abs(np.array(bones[bone]) - turns[int(frame) - start, names.index(bone)] @ np.array(action["rest"][bone])).max()
        for frame, bones in action["rotations"].items() for bone in bones
    )
    assert apart < 1e-4, (action["name"], apart)


@pytest.mark.parametrize("case", ["imported", "built"])
def test_generated_actions_pose_the_users_bones_as_the_bvh_says(scene: dict, case: str) -> None:
    result = scene["cases"][case]
    assert result["stored_run"] == result["run"] and Path(result["run"], "model.pt").is_file()
    actions = result["actions"]
    assert len(actions) == 2 and len({a["name"] for a in actions}) == 2
    for action in actions:
        start, end = action["range"]
        assert end - start + 1 == LENGTH
        _matches_its_bvh(action, result["body_size"])


@pytest.mark.parametrize("command, frames", [("expand", 120), ("inbetween", 90), ("compose", 90)])
def test_editing_commands_make_actions_of_their_length(scene: dict, command: str, frames: int) -> None:
    action = scene["edits"][command]
    start, end = action["range"]
    assert start == 1 and end - start + 1 == frames
    _matches_its_bvh(action, scene["edits"]["body_size"])


def test_crowd_makes_linked_duplicates_placed_as_crowd_json_says(scene: dict) -> None:
    crowd = scene["crowd"]
    record = json.loads(Path(scene["crowd_json"]).read_text())
    assert len(crowd) == 3 and all(c["shares_data"] for c in crowd)
    assert len({c["action"] for c in crowd}) == 3
    for member in crowd:
        placed = record["individuals"][member["record"]["sample"]]
        first = member["root"][min(member["root"], key=int)]
        hips = first["Hips"]
        # crowd.json is in sinmdm's Y-up world; Blender's armature space is Z-up: world X = x, world Z = -y.
        assert hips[0] == pytest.approx(placed["x"], abs=1e-3) and -hips[1] == pytest.approx(placed["z"], abs=1e-3)


def test_a_failing_command_says_why_in_one_line_and_changes_nothing(scene: dict) -> None:
    assert scene["failure"] and "\n" not in scene["failure"] and "Traceback" not in scene["failure"]
    assert scene["unchanged"]
    assert scene["operator"]["outcome"] == ["CANCELLED"] and "no trained model" in scene["operator"]["message"]


def test_the_zip_from_make_installs_and_registers_the_panel(tmp_path: Path) -> None:
    executable = blender()
    subprocess.run(["make", "-s", "blender-addon", f"PYTHON={sys.executable}"], cwd=ROOT, check=True, capture_output=True)
    script = (
        "import bpy, sys\n"
        f"bpy.ops.preferences.addon_install(filepath={str(ROOT / 'dist' / 'sinmdm_blender.zip')!r})\n"
        "bpy.ops.preferences.addon_enable(module='sinmdm_blender')\n"
        "ok = hasattr(bpy.types, 'SINMDM_PT_panel') and hasattr(bpy.ops.sinmdm, 'learn')\n"
        "print('PANEL', ok)\n"
        "sys.exit(0 if ok else 1)\n"
    )
    env = dict(os.environ, BLENDER_USER_SCRIPTS=str(tmp_path / "scripts"))
    done = subprocess.run([executable, "-b", "--factory-startup", "--python-exit-code", "1", "--python-expr", script],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0 and "PANEL True" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
    assert (tmp_path / "scripts" / "addons" / "sinmdm_blender" / "api.py").is_file()


def test_learn_in_the_panel_follows_progress_and_cancel_keeps_a_run_to_continue(tmp_path: Path) -> None:
    executable = blender()
    xvfb = tool("xvfb-run", ".ci/run installs Debian's xvfb package")
    clip, result = tmp_path / "creature.bvh", tmp_path / "result.json"
    clip.write_text(synthetic_bvh(90, seed=1, smooth=True))
    Path(f"{result}.config").write_text(json.dumps({"addon_path": str(ROOT / "blender")}))
    env = dict(os.environ, SINMDM_EXECUTABLE=f"{sys.executable} -m sinmdm", TMPDIR=str(tmp_path))
    done = subprocess.run(
        [xvfb, "-a", "-s", "-screen 0 1280x800x24", executable, "--factory-startup", "--python",
         str(ROOT / "tests" / "blender" / "learn_panel.py"), "--", str(clip), str(result)],
        capture_output=True, text=True, env=env, timeout=900,
    )
    assert result.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    stopped, resumed = json.loads(result.read_text())["phases"]
    assert stopped["outcome"] == ["RUNNING_MODAL"] and stopped.get("cancelled")
    assert 0 < max(stopped["steps"]) < 400  # the panel followed the steps; Cancel stopped it early
    assert stopped["message"].startswith("stopped at step") and Path(stopped["run"], "model.pt").is_file()
    assert resumed["message"].startswith("learned:") and resumed["run"] == stopped["run"]
    assert json.loads(Path(resumed["run"], "config.json").read_text())["steps_done"] == 12
