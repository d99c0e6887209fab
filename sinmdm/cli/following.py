"""`sinmdm follow`, and `crowd --paths`: the creature travels along ground paths while the
model generates its body (:mod:`sinmdm.apps.follow`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import numpy as np
import typer

from ..anim.clipset import clip_names
from ..base.errors import SinmdmError
from ..sampling.defaults import DEFAULT_STEPS
from .common import load_run, output_suffix, refuse_existing, sampling_progress, write_all
from .crowds import free_crowd_folder, write_crowd
from .options import (
    OUTPUT,
    SAMPLING,
    Cleanup,
    Device,
    DeviceOption,
    Force,
    ModelDir,
    N,
    Out,
    OutputFormat,
    Seed,
    Steps,
)

if TYPE_CHECKING:
    from ..anim.paths import GroundPath
    from ..apps.follow import Travel
    from ..model.runs import Run


def follow(
    paths: Annotated[list[Path], typer.Argument(
        help="Paths to follow, one output each: a CSV with a header t,x,z (t in seconds, optional: without it the "
        "creature travels at its clip's median speed), a JSON list of {\"t\",\"x\",\"z\"} points, or a BVH file "
        "whose root's path and timing are followed (any skeleton). Ground coordinates in the clip's units and "
        "axes: x and z for a Y-up clip, x and y for a Z-up one.",
        show_default=False,
    )],
    fit: Annotated[bool, typer.Option(
        "--fit", rich_help_panel=SAMPLING,
        help="Scale a path's timing into the clip's range of speeds (default: keep it, with a warning when it is "
        "faster or slower than anything in the clip).",
    )] = False,
    facing: Annotated[Optional[float], typer.Option(
        "--facing", rich_help_panel=SAMPLING,
        help="Degrees between the creature's heading and its direction of travel. Default: the clip's own "
        "(`sinmdm follow` prints it).",
    )] = None,
    model: ModelDir = None, n: N = 1, seed: Seed = 0, steps: Steps = DEFAULT_STEPS, out: Out = None,
    cleanup: Cleanup = True, render: Annotated[bool, typer.Option(
        "--render", rich_help_panel=OUTPUT,
        help="Also write a video next to each BVH (DIR/follow_<path>_<i>.mp4), the path drawn on the floor.",
    )] = False,
    force: Force = False, device: DeviceOption = Device.auto, format: OutputFormat = None,
) -> None:
    """Follow a path: the root travels along it while the model generates the body.

    Writes DIR/follow_<path>_<i>.bvh (or .glb, .gltf) for each path (--n each). The points are joined by a
    smooth curve and the output lasts as long as the path; the creature faces the way
    its clip faces when it travels (a crab sideways). Where the path stops, it rests as
    its clip rests, or, if the clip never does, stands in the clip's calmest pose.
    Cleanup pins the feet and never moves the root off the path.
    """
    from ..anim.paths import read_path
    from ..apps.follow import clip_travel, path_track, require_trajectory, root_given
    from ..apps.follow import follow as follow_path

    run = load_run(model, device)
    require_trajectory(run.layout)
    up = run.layout.skeleton.up
    loaded = [read_path(p, up) for p in paths]  # every path checked before any sampling
    travel = clip_travel(run.layout, run.clip_set().motions)
    angle = travel.angle if facing is None else np.radians(facing)
    typer.echo(f"the clip travels at {travel.range_text()}, facing {np.degrees(travel.angle):.0f} degrees from "
               f"its direction of travel" + (f"; following at {facing:g} degrees (--facing)" if facing is not None else ""),
               err=True)
    loaded = [_timed(p, travel, run.layout.fps, fit) for p in loaded]
    for path in loaded:
        path_track(run, path, travel)  # a path that cannot be timed fails here, before anything is written
    folder = out or run.path / "samples"
    names = [f"follow_{name}" for name in clip_names(paths)]
    refuse_existing([folder / f"{name}_{i}.{kind}" for name in names for i in range(n)
                     for kind in ((output_suffix(run, format), "mp4") if render else (output_suffix(run, format),))], force)
    with sampling_progress("follow", n, steps, run, repeats=len(loaded)) as on_step:
        done = [follow_path(run, p, n, steps=steps, seed=seed, travel=travel, angle=angle, clean=cleanup, on_step=on_step)
                for p in loaded]
    for (motions, timed), name in zip(done, names):
        write_all(folder, name, motions, render, root_given(run.layout, timed.frames), paths=[timed.curve],
                  suffix=output_suffix(run, format))


def _timed(path: GroundPath, travel: Travel, fps: float, fit: bool) -> GroundPath:
    """The path as it will be followed: warned about, or with --fit rescaled, when its
    speeds are outside the clip's."""
    from ..apps.follow import fit_timing, speed_warning

    warning = speed_warning(path, travel, fps)
    if warning and fit:
        fitted = fit_timing(path, travel, fps)
        typer.echo(f"sinmdm: {path.name}: --fit: timing scaled by {fitted.times[-1] / path.times[-1]:.3g}", err=True)
        return fitted
    if warning:
        typer.echo(f"sinmdm: warning: {warning}; --fit scales its timing into that range", err=True)
    return path


def crowd_on_paths(
    run: Run, file: Path, seed: int, steps: int, out: Optional[Path], cleanup: bool, render: bool, force: bool,
    ignored: list[str], suffix: str = "bvh",
) -> None:
    """`crowd --paths`: individual i follows path i of ``file`` (seed + i); ``ignored``
    names the placement options given too, which do not go with it."""
    from ..anim.paths import read_path_list
    from ..apps.follow import clip_travel, path_track, require_trajectory
    from ..apps.follow import follow as follow_path

    if ignored:
        raise SinmdmError(f"--paths places one individual on each path: {ignored[0]} does not go with it")
    require_trajectory(run.layout)
    loaded = read_path_list(file, run.layout.skeleton.up)
    travel = clip_travel(run.layout, run.clip_set().motions)
    for path in loaded:
        path_track(run, path, travel)
    folder = free_crowd_folder(out or run.path / "samples", len(loaded), suffix, render, force)
    with sampling_progress("crowd", 1, steps, run, repeats=len(loaded)) as on_step:
        done = [follow_path(run, p, 1, steps=steps, seed=seed + i, travel=travel, clean=cleanup, on_step=on_step)
                for i, p in enumerate(loaded)]
    individuals = [motions[0] for motions, _ in done]
    record = {"model": str(run.path), "seed": seed, "fps": run.layout.fps, "paths": str(file),
              "individuals": [{"file": f"crowd_{i}.bvh", "path": i, "seed": seed + i, "frames": m.n_frames}
                              for i, m in enumerate(individuals)]}
    write_crowd(folder, individuals, record, suffix, render, [timed.curve for _, timed in done])
