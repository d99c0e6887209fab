"""Writing a crowd, for `crowd` and `crowd --paths`: one BVH per individual, or one glTF
scene holding all of them, with crowd.json beside them and, on request, one video."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import typer

from ..anim.motion import Motion
from ..base.atomic import write_json
from .common import refuse_existing, render_videos, write_all, write_motion

SCENES = ("glb", "gltf")  # one file holds the whole crowd


def crowd_files(n: int, suffix: str) -> list[str]:
    """The motion files of a crowd of ``n``: crowd_<i>.bvh (.npy, .npz), or one crowd.glb / crowd.gltf."""
    return [f"crowd.{suffix}"] if suffix in SCENES else [f"crowd_{i}.{suffix}" for i in range(n)]


def free_crowd_folder(folder: Path, n: int, suffix: str, render: bool, force: bool) -> Path:
    """``folder``, after checking (before any work) that none of the crowd's files is there."""
    others = ["crowd.json"] + (["crowd.mp4"] if render else [])
    refuse_existing([folder / name for name in [*crowd_files(n, suffix), *others]], force)
    return folder


def write_crowd(
    folder: Path, individuals: list[Motion], record: dict[str, Any], suffix: str, render: bool,
    paths: Sequence[np.ndarray] = (),
) -> None:
    """The individuals' files, crowd.json (each individual's file, and its node in a glTF
    scene), and with ``render`` crowd.mp4 (``paths`` drawn on the floor)."""
    if suffix not in SCENES:
        write_all(folder, "crowd", individuals, suffix=suffix)
        for i, individual in enumerate(record["individuals"]):
            individual.update(file=f"crowd_{i}.{suffix}")
    else:
        scene = folder / f"crowd.{suffix}"
        write_motion(scene, individuals)  # one scene: node crowd_<i> holds individual i
        typer.echo(str(scene))
        for i, individual in enumerate(record["individuals"]):
            individual.update(file=scene.name, node=f"crowd_{i}")
    write_json(folder / "crowd.json", record)
    typer.echo(str(folder / "crowd.json"))
    if render:
        render_crowd(folder / "crowd.mp4", individuals, individuals[0].fps, paths)


def render_crowd(path: Path, individuals: list[Motion], fps: float, paths: Sequence[np.ndarray] = ()) -> None:
    from ..render.figures import Scene, actor

    actors = [actor(m, style="generated", shade=i) for i, m in enumerate(individuals)]
    render_videos([(path, [Scene(actors, f"crowd of {len(individuals)}", paths=paths)])], fps, camera="fixed")
