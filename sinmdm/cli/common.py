"""What the commands share besides their options: loading a run, progress bars, refusing
to overwrite, and writing (and rendering) the motions they make.

The command modules import the layers that use torch (model, sampling, apps) inside the
commands that need them, so that `--help`, `info`, `convert` and `render` start without
torch's second of import (tests/cli/test_startup.py)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Optional, Sequence

import numpy as np
import typer
from rich.console import Console

from ..anim.bvh import write_bvh
from ..anim.gltf import FORMATS, write_gltf
from ..anim.keypoints import write_keypoints
from ..anim.motion import Motion
from ..base.errors import SinmdmError
from ..diffusion.schedule import respaced
from ..sampling.defaults import BATCH
from .options import Device, Format, split_names

if TYPE_CHECKING:
    from ..model.runs import Run
    from ..sampling.plan import Plan


def load_run(model: Optional[Path], device: Device | str) -> Run:
    from ..model.runs import Run, pick_device, resolve_run

    return Run.load(resolve_run(model), pick_device(Device(device).value))


def sampling_plan(run: Run, clips: Optional[str], sequence: Optional[str], transition: str, plan: bool) -> Plan:
    """The plan ``--clips``, ``--sequence`` and ``--transition`` ask for, checked against
    the run's clips before any work."""
    from ..model.runs import parse_length
    from ..sampling.plan import Plan, parse_sequence

    if (clips or sequence) and not plan:
        raise SinmdmError(f"{'--clips' if clips else '--sequence'} chooses what the plan lays out: it cannot go with --free")
    if clips and sequence:
        raise SinmdmError("--sequence names its clips itself: give --clips or --sequence, not both")
    fps = run.layout.fps
    if sequence:
        frames = parse_length(transition, run.train_frames, fps, minimum=0, what="--transition")
        return Plan(sequence=parse_sequence(sequence, run.clip_set(), fps), transition=frames)
    names = split_names(clips)
    if names:
        run.clip_set().select(names)  # unknown names fail here, before sampling
    return Plan(clips=tuple(names) if names else None)


@contextmanager
def sampling_progress(label: str, n: int, steps: int, run: Run, repeats: int = 1) -> Iterator[Callable[[int], None]]:
    """A progress bar over every denoising step of every batch (of ``n`` samples, drawn
    ``repeats`` times: once per path, say); yields the callback."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    total = repeats * -(-n // BATCH) * len(respaced(steps, run.diffusion.train_steps))
    columns = (TextColumn(f"{label}: sampling"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(label, total=total)
        yield lambda _step: progress.advance(task)


def free_folder(
    folder: Path, command: str, n: int, render: bool, force: bool, others: tuple[str, ...] = (), suffix: str = "bvh"
) -> Path:
    """``folder``, after checking (before any work) that the files a command will write
    there (motions with ``suffix``) do not exist yet, unless ``force``."""
    names = [f"{command}_{i}.{suffix}" for i in range(n)] + [f"{command}_{i}.mp4" for i in range(n) if render]
    refuse_existing([folder / name for name in [*names, *others]], force)
    return folder


def refuse_existing(paths: list[Path], force: bool) -> None:
    existing = [p for p in paths if p.exists()]
    if existing and not force:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise SinmdmError(f"{existing[0]} already exists{more}: pass --force to overwrite, or choose another --out")


def write_all(
    folder: Path, command: str, motions: list[Motion], render: bool = False, given: Optional[np.ndarray] = None,
    captions: Optional[list[str]] = None, paths: Sequence[np.ndarray] = (), suffix: str = "bvh",
) -> None:
    """Write DIR/<command>_<i>.<suffix> (bvh, glb or gltf) and print each path; with
    ``render`` also a video of each, coloured by ``given`` (frames, joints) where parts
    came from the reference, with a caption per frame if ``captions`` and ``paths`` ((M,
    2) world X/Z) drawn on the floor."""
    for i, motion in enumerate(motions):
        write_motion(folder / f"{command}_{i}.{suffix}", motion)
        typer.echo(str(folder / f"{command}_{i}.{suffix}"))
    if render and motions:
        from ..render.figures import Scene, actor

        videos = [
            (folder / f"{command}_{i}.mp4", [Scene([actor(m, given=given, style="generated")], f"{command}_{i}", captions, paths)])
            for i, m in enumerate(motions)
        ]
        render_videos(videos, motions[0].fps)


def render_videos(videos: list[tuple[Path, list]], fps: float, **options: object) -> None:
    """Render each (path, scenes) under one progress bar over all frames; print each path."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..render.render import render_video, video_frames

    total = sum(video_frames(scenes, path, fps) for path, scenes in videos)
    columns = (TextColumn("rendering"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("render", total=total)
        for path, scenes in videos:
            render_video(scenes, path, fps, on_frame=lambda _k: progress.advance(task), **options)  # type: ignore[arg-type]
            typer.echo(str(path))


KEYPOINT_FORMATS = ("npy", "npz")


def output_suffix(run: Run, format: Optional[Format]) -> str:
    """The kind of file ``--format`` asks for, checked against the model: a keypoint
    model writes positions (npy, npz; by default its clip's kind), any other bvh, glb or
    gltf (bvh by default)."""
    keypoints = run.layout.skeleton.keypoints
    if format is None:
        return keypoints.suffix.lstrip(".") if keypoints else "bvh"
    if keypoints and format.value not in KEYPOINT_FORMATS:
        raise SinmdmError(f"--format {format.value}: a keypoint model has positions and no rotations: write npy or npz")
    if not keypoints and format.value in KEYPOINT_FORMATS:
        raise SinmdmError(f"--format {format.value}: npy and npz hold keypoint clips; this model writes bvh, glb or gltf")
    return format.value


def write_motion(path: Path, motion: Motion | Sequence[Motion], scale: float = 1.0, mesh: bool = True) -> None:
    """Write one motion as BVH (or, a keypoint motion, as .npy or .npz), or motions as one
    glTF scene, by the path's suffix (``scale`` and ``mesh`` are glTF's), with a clear
    error where the path cannot be a file."""
    if path.is_dir():
        raise SinmdmError(f"{path}: is a directory; give a file name")
    suffix = path.suffix.lower().lstrip(".")
    motions = [motion] if isinstance(motion, Motion) else list(motion)
    keypoints = motions[0].skeleton.keypoints is not None
    if keypoints != (suffix in KEYPOINT_FORMATS):
        raise SinmdmError(f"{path}: write {'.npy or .npz (keypoints)' if keypoints else '.bvh, .glb or .gltf'}")
    if suffix not in (*FORMATS, *KEYPOINT_FORMATS):
        raise SinmdmError(f"{path}: write .bvh, .glb or .gltf")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SinmdmError(f"{path.parent}: cannot create folder: {exc.strerror or exc}") from None
    if suffix in KEYPOINT_FORMATS:
        write_keypoints(path, motions[0])
    elif suffix == "bvh":
        write_bvh(path, motions[0])
    else:
        names = [path.stem] if len(motions) == 1 else [f"{path.stem}_{i}" for i in range(len(motions))]
        write_gltf(path, motions, names, scale=scale, mesh=mesh)


def print_rows(rows: list[tuple[str, str]]) -> None:
    """Label-value rows, the labels padded to one column."""
    width = max(len(k) for k, _ in rows)
    for key, text in rows:
        typer.echo(f"{key:<{width}}  {text}")
