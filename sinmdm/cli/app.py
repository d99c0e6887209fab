"""The ``sinmdm`` command line. Every subcommand reports user errors as one line on
stderr and a non-zero exit code; only a bug in sinmdm itself shows a traceback."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Optional

import numpy as np
import typer
from rich.console import Console

from ..anim.body import detect_up
from ..anim.bvh import read_bvh, write_bvh
from ..anim.contacts import choose_contacts, contact_labels, planted_heights
from ..anim.motion import DEFAULT_MAX_FPS, Motion
from ..anim.presets import resolve_preset
from ..anim.skeleton import POSITION_CHANNELS, Skeleton
from ..apps.crowd import CROWD_STEPS, SPACING_SIZES, body_size, place, placements, require_root
from ..apps.edit import (
    Edit,
    compose_edit,
    expand_edit,
    inbetween_edit,
    joint_weights,
    keyframe_edit,
    load_reference,
    parse_position,
    resolve_part,
    sample_edit,
)
from ..apps.edit import transfer as run_transfer
from ..apps.generate import clean_motions
from ..base.allocator import keep_freed_memory
from ..base.errors import SinmdmError
from ..diffusion.schedule import respaced
from ..model.features import FeatureLayout
from ..model.runs import Run, default_run_dir, parse_length, pick_device, resolve_run, write_json
from ..model.train import TrainSettings
from ..sampling.sample import BATCH, DEFAULT_STEPS, onnx_model_path, sample_features, sample_features_onnx, to_motions

app = typer.Typer(
    name="sinmdm",
    help="Learn the motifs of one BVH clip of any skeleton and synthesise new motion from it.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

ClipArg = typer.Argument(..., help="A BVH file.", show_default=False)
FpsOption = typer.Option(None, "--fps", help="Frame rate to resample to (frames per second).", min=0.001)
ContactsOption = typer.Option(
    None,
    "--contacts",
    help="Comma-separated contact points, overriding the rig preset and automatic detection: joint names, "
    "or End Sites as '<joint> End Site' ('<joint> End Site 2' for a joint's second).",
)
PresetOption = typer.Option(
    None, "--preset", help="Rig preset to use: a built-in name (e.g. mixamo) or a .toml file. Default: matched by joint names."
)
UpOption = typer.Option(
    None, "--up",
    help="The file's up axis: y or z. Default: detected from the motion (Y unless it is clearly Z; `sinmdm info` "
    "says why). Output is written in the file's own axes either way.",
)


# Options every sampling command shares, so they read and behave the same everywhere.
ModelOption = typer.Option(None, "--model", help="Run folder (or its model.pt). Default: the latest run.")
RefOption = typer.Option(
    None, "--ref", help="Reference clip on the model's skeleton. Default: the model's training clip."
)
NOption = typer.Option(1, "--n", min=1, help="How many motions to write.")
SeedOption = typer.Option(0, "--seed", help="Random seed: the same seed gives the same motions.")
StepsOption = typer.Option(DEFAULT_STEPS, "--steps", min=1, help="Sampling steps (fewer is faster and rougher).")
OutOption = typer.Option(None, "--out", help="Output folder. Default: <run>/samples.")
DeviceOption = typer.Option("auto", "--device", help="auto (CUDA, then MPS, then CPU), cpu, cuda or mps.")
CleanupOption = typer.Option(
    True, "--cleanup/--no-cleanup",
    help="Smooth jitter and pin feet that touch the floor (inverse kinematics); given parts are never changed.",
)
PlanOption = typer.Option(
    True, "--plan/--free",
    help="--plan: each motion plays every part of the training clip, in a new order (the slow motion of the "
    "noisiest sampling steps follows the clip cut into pieces and shuffled; the motion is generated). "
    "--free: the model alone picks which parts to play (may skip some).",
)
RenderOption = typer.Option(
    False, "--render", help="Also write a video next to each BVH (DIR/<command>_<i>.mp4): given parts blue, generated orange."
)
ForceOption = typer.Option(False, "--force", help="Overwrite output files that already exist (default: refuse).")
LENGTH_HELP = "frames (600), seconds (10s) or a multiple of the reference (2x)"


def _split_names(text: Optional[str]) -> Optional[list[str]]:
    return [n.strip() for n in text.split(",") if n.strip()] if text else None


@app.command()
def info(
    clip: Path = ClipArg,
    contacts: Optional[str] = ContactsOption,
    preset: Optional[str] = PresetOption,
    fps: Optional[float] = typer.Option(
        None, "--fps", help=f"Frame rate the model would see. Default: the clip's, capped at {DEFAULT_MAX_FPS:g}.", min=0.001
    ),
    tree: bool = typer.Option(True, "--tree/--no-tree", help="Print the joint tree with each joint's channels."),
    up: Optional[str] = UpOption,
) -> None:
    """Describe a BVH clip: joints, channels, rate, length, up axis, body size, rig preset
    and contact points (each with the share of frames it is planted and the height it
    rests at)."""
    motion = read_bvh(clip, up=up)
    skeleton = motion.skeleton
    rig = resolve_preset(skeleton, preset)
    model_motion = motion.at_training_rate(fps)
    try:
        points, source = choose_contacts(model_motion, _split_names(contacts), rig)
    except SinmdmError as exc:
        raise SinmdmError(f"{clip}: {exc}") from None
    layout = FeatureLayout.from_motion(model_motion, points)
    shares = contact_labels(model_motion, points).mean(axis=0)
    rests = planted_heights(model_motion, points)
    names = [skeleton.point_names[p] for p in points]
    column = max((len(n) for n in names), default=0)
    contact_rows = [
        ("", f"  {name:<{column}}  planted in {share:.0%} of frames, rests at height {rest:.4g}")
        for name, share, rest in zip(names, shares, rests)
    ]

    rows = [
        ("file", str(clip)),
        ("joints", f"{skeleton.n_joints} (+{len(skeleton.end_site_parents)} End Sites), tree depth {int(skeleton.depths.max()) + 1}"),
        ("channels", _channel_summary(skeleton)),
        ("rotation order", _order_summary(skeleton)),
        ("frames", f"{motion.n_frames} at {motion.fps:g} fps (frame time {motion.frame_time:g} s)"),
        ("duration", f"{motion.duration:.2f} s"),
        ("up axis", f"{skeleton.up.upper()} ({'given' if up else detect_up(motion)[1]})"),
        ("body size", f"{skeleton.size:.4g} (how tall the body stands in the motion; rest pose {skeleton.rest_height:.4g})"),
        ("rig preset", f"{rig.name} ({rig.description})" if rig else "none matched"),
        ("contacts", f"{len(points) or 'none'}  [{source}]"),
        *contact_rows,
        (
            "model input",
            f"{model_motion.length_text}, {layout.n_channels} feature channels",
        ),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        typer.echo(f"{key:<{width}}  {value}")
    if tree:
        typer.echo("\njoint tree (channels):")
        typer.echo(_tree_text(skeleton))


@app.command()
def convert(
    source: Path = typer.Argument(..., help="The BVH file to read.", show_default=False),
    target: Path = typer.Argument(..., help="Where to write the canonical BVH.", show_default=False),
    fps: Optional[float] = FpsOption,
    render: bool = typer.Option(False, "--render", help="Also write a video of the result beside it (TARGET with .mp4)."),
    force: bool = ForceOption,
    up: Optional[str] = UpOption,
) -> None:
    """Read any BVH and write a canonical one, optionally resampled to --fps.

    The output keeps joint order, names, offsets, End Sites, channel lists and rotation
    orders, writes one keyword per line (as Blender's importer expects), unwraps Euler
    angles over time and writes the true frame time.
    """
    _refuse_existing([target, target.with_suffix(".mp4")] if render else [target], force)
    motion = read_bvh(source, up=up)
    if fps is not None:
        motion = motion.resample(fps)
    _write(target, motion)
    typer.echo(f"wrote {target} ({motion.length_text})")
    if render:
        from ..render.figures import Scene, actor

        _render_videos([(target.with_suffix(".mp4"), [Scene([actor(motion)], target.name)])], motion.fps)


@app.command()
def train(
    clip: Path = ClipArg,
    steps: Optional[int] = typer.Option(
        None, "--steps", min=1, help=f"Training steps (default {TrainSettings.steps} unless --minutes is given)."
    ),
    minutes: Optional[float] = typer.Option(
        None, "--minutes", min=0.01, help="Wall-clock budget in minutes; with --steps, whichever ends first."
    ),
    device: str = typer.Option("auto", "--device", help="auto (CUDA, then MPS, then CPU), cpu, cuda or mps."),
    seed: int = typer.Option(0, "--seed", help="Random seed for initialisation, crops and noise."),
    fps: Optional[float] = typer.Option(
        None, "--fps", min=0.001, help=f"Frame rate to train at. Default: the clip's, capped at {DEFAULT_MAX_FPS:g}."
    ),
    out: Optional[Path] = typer.Option(None, "--out", help="Run folder. Default: runs/<clip name>."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its last checkpoint."),
    force: bool = typer.Option(False, "--force", help="Start afresh over a run already in --out (default: refuse)."),
    contacts: Optional[str] = ContactsOption,
    preset: Optional[str] = PresetOption,
    up: Optional[str] = UpOption,
    width: int = typer.Option(TrainSettings.width, "--width", min=8, help="Model width (channels per frame inside)."),
    blocks: int = typer.Option(TrainSettings.blocks, "--blocks", min=1, help="Local-attention blocks."),
    window: Optional[int] = typer.Option(
        None, "--window", min=1,
        help="Frames each block attends to (odd). Receptive field: 1 + (window-1)*blocks frames. "
        "Default: 9, narrowed on clips shorter than twice that field (at least 3).",
    ),
    variance: float = typer.Option(
        TrainSettings.variance, "--variance", min=0.5, max=1.0,
        help="Share of the clip's feature variance the network models, along the clip's principal axes "
        "(at most --width of them); 1 = every feature channel.",
    ),
    stretch: float = typer.Option(
        TrainSettings.stretch, "--stretch", min=0.0, max=0.9,
        help="Time-stretch augmentation: crops play at a random speed in [1-s, 1+s] (0 = off).",
    ),
) -> None:
    """Train a single-motion diffusion model on one BVH clip.

    Writes the run folder: model.pt (weights, loadable with torch.load(weights_only=True)),
    config.json, features.json (feature layout and normalisation), clip.bvh (the training
    clip), loss.png and preview.bvh, and records it as the latest run. Ctrl-C stops after
    the current step and leaves a checkpoint that --resume continues.
    """
    from ..model.train import train as run_training

    settings = TrainSettings(seed=seed, width=width, blocks=blocks, window=window, stretch=stretch, variance=variance)
    settings.steps = steps if steps is not None else (None if minutes is not None else settings.steps)
    settings.minutes = minutes
    run_dir = out or default_run_dir(clip)
    path, finished = run_training(
        clip, run_dir, settings, device=pick_device(device), fps=fps,
        contacts=_split_names(contacts), preset=preset, up=up, resume=resume, force=force,
    )
    if finished:
        from ..apps.preview import write_preview

        write_preview(Run.load(path, pick_device(device)), seed)
        typer.echo(f"trained: {path}")
    else:
        typer.echo(f"stopped; checkpoint saved in {path}. Continue with: sinmdm train {clip} --out {path} --resume")
        raise typer.Exit(130)


@app.command()
def generate(
    model: Optional[Path] = ModelOption,
    length: str = typer.Option("1x", "--length", help=f"Length of each motion: {LENGTH_HELP} of the training clip."),
    n: int = NOption,
    seed: int = SeedOption,
    steps: int = StepsOption,
    loop: bool = typer.Option(False, "--loop", help="Make each motion loop seamlessly (its last frame flows into its first)."),
    plan: bool = PlanOption,
    out: Optional[Path] = OutOption,
    cleanup: bool = CleanupOption,
    render: bool = RenderOption,
    force: bool = ForceOption,
    device: str = DeviceOption,
    backend: str = typer.Option(
        "torch", "--backend",
        help="torch, or onnx: the network exported by `sinmdm export` (<run>/model.onnx), run by onnxruntime on the "
        "CPU with the sampling loop in numpy; the same seed gives the same motions.",
    ),
) -> None:
    """Generate new motions of any length from a trained model.

    Writes DIR/generate_<i>.bvh on the training skeleton.
    """
    if backend not in ("torch", "onnx"):
        raise SinmdmError(f"unknown --backend '{backend}': use torch or onnx")
    run = _load_run(model, "cpu" if backend == "onnx" else device)
    folder = _free_folder(out or run.path / "samples", "generate", n, render, force)
    frames = parse_length(length, run.train_frames, run.layout.fps)
    sampler = sample_features_onnx if backend == "onnx" else sample_features
    with _sampling_progress("generate", n, steps, run) as on_step:
        features = sampler(run, n, frames, steps=steps, seed=seed, loop=loop, plan=plan, on_step=on_step)
    motions = to_motions(run, features)
    if cleanup:
        motions = clean_motions(run, load_reference(run, None), features, motions, loop=loop)
    _write_all(folder, "generate", motions, render)


@app.command()
def expand(
    length: Optional[str] = typer.Option(
        None, "--length", help=f"Total length: {LENGTH_HELP}. Default: 2x, or the reference plus --prefix and --suffix."
    ),
    prefix: Optional[str] = typer.Option(
        None, "--prefix", help="New frames before the reference (frames or seconds). Default: half the added length."
    ),
    suffix: Optional[str] = typer.Option(
        None, "--suffix", help="New frames after the reference (frames or seconds). Default: the rest of the added length."
    ),
    model: Optional[Path] = ModelOption,
    ref: Optional[Path] = RefOption,
    n: int = NOption,
    seed: int = SeedOption,
    steps: int = StepsOption,
    out: Optional[Path] = OutOption,
    cleanup: bool = CleanupOption,
    render: bool = RenderOption,
    force: bool = ForceOption,
    device: str = DeviceOption,
) -> None:
    """Grow a clip: new motion before and after the reference, which stays unchanged.

    Writes DIR/expand_<i>.bvh. The given frames fade into the generated ones over 0.25 s
    at each seam; the root's path runs through the reference's own positions.
    """
    run = _load_run(model, device)
    reference = load_reference(run, ref)
    frames, fps = reference.n_frames, run.layout.fps
    before = parse_length(prefix, frames, fps, minimum=0, what="--prefix") if prefix else None
    after = parse_length(suffix, frames, fps, minimum=0, what="--suffix") if suffix else None
    if length is None and before is not None and after is not None:
        total = frames + before + after
    else:
        total = parse_length(length or "2x", frames, fps, what="--length")
    added = total - frames
    if added < 0:
        raise SinmdmError(f"--length {total} frames is shorter than the reference's {frames} frames")
    before = before if before is not None else (added // 2 if after is None else added - after)
    after = after if after is not None else added - before
    if before < 0 or after < 0 or before + after != added:
        raise SinmdmError(f"--prefix {before} and --suffix {after} frames do not add up to the {added} frames --length adds")
    plan = expand_edit(run.layout, reference, before, after)
    _run_edit(run, reference, plan, "expand", n, steps, seed, out, cleanup, render, force)


@app.command()
def inbetween(
    prefix: str = typer.Option(
        "0.25", "--prefix", help="Keep the reference up to here: a fraction (0.25) or a frame index (40)."
    ),
    suffix: str = typer.Option(
        "0.75", "--suffix", help="Keep the reference from here on: a fraction (0.75) or a frame index (120)."
    ),
    length: Optional[str] = typer.Option(
        None, "--length", help=f"Length of the generated middle: {LENGTH_HELP}. Default: as in the reference."
    ),
    keyframes: Optional[str] = typer.Option(
        None, "--keyframes",
        help="Instead of a prefix and suffix, keep single poses at these frames (e.g. 0,40,90; fractions work too) "
        "and generate everything between.",
    ),
    model: Optional[Path] = ModelOption,
    ref: Optional[Path] = RefOption,
    n: int = NOption,
    seed: int = SeedOption,
    steps: int = StepsOption,
    out: Optional[Path] = OutOption,
    cleanup: bool = CleanupOption,
    render: bool = RenderOption,
    force: bool = ForceOption,
    device: str = DeviceOption,
) -> None:
    """Temporal in-betweening: keep the start and end of the reference, generate the middle.

    Writes DIR/inbetween_<i>.bvh. With --keyframes, single poses are kept instead and
    everything between them is generated (frames within 0.25 s of a key lean towards the
    reference's own). The root passes through the reference's positions at every kept
    frame.
    """
    run = _load_run(model, device)
    reference = load_reference(run, ref)
    frames = reference.n_frames
    if keyframes is not None:
        if length is not None:
            raise SinmdmError("--length does not apply to --keyframes: the output keeps the reference's frames")
        # Keys are frame indices, so a fraction spans 0 .. the last frame (1.0 = the last).
        keys = [parse_position(k, frames - 1, "--keyframes") for k in keyframes.split(",") if k.strip()]
        plan = keyframe_edit(run.layout, reference, sorted(set(keys)))
    else:
        start = parse_position(prefix, frames, "--prefix")
        end = parse_position(suffix, frames, "--suffix")
        middle = parse_length(length, frames, run.layout.fps, what="--length") if length else end - start
        plan = inbetween_edit(run.layout, reference, start, end, middle)
    _run_edit(run, reference, plan, "inbetween", n, steps, seed, out, cleanup, render, force)


@app.command()
def compose(
    keep: str = typer.Option(
        ..., "--keep", show_default=False,
        help="Joints that follow the reference: a body part of the rig preset (upper_body, left_wing, ...), "
        "joint names, or subtree:JOINT; several separated by commas.",
    ),
    preset: Optional[str] = PresetOption,
    model: Optional[Path] = ModelOption,
    ref: Optional[Path] = RefOption,
    n: int = NOption,
    seed: int = SeedOption,
    steps: int = StepsOption,
    out: Optional[Path] = OutOption,
    cleanup: bool = CleanupOption,
    render: bool = RenderOption,
    force: bool = ForceOption,
    device: str = DeviceOption,
) -> None:
    """Spatial composition: some joints follow the reference, the rest is generated.

    Writes DIR/compose_<i>.bvh. The --keep joints keep the reference's local motion at
    every frame; the root's path is kept when the root is among them.
    """
    run = _load_run(model, device)
    reference = load_reference(run, ref)
    skeleton = run.layout.skeleton
    joints = resolve_part(skeleton, keep, resolve_preset(skeleton, preset))
    plan = compose_edit(run.layout, reference, joints)
    _run_edit(run, reference, plan, "compose", n, steps, seed, out, cleanup, render, force)


@app.command()
def transfer(
    content: Path = typer.Argument(..., help="The content clip, on the model's skeleton.", show_default=False),
    strength: float = typer.Option(
        0.5, "--strength", min=0.0, max=1.0,
        help="How freely the style reshapes the content's motion: 0 follows the content's timing most "
        "closely, 1 keeps only its slowest motion. Sets the low-pass factor and how many steps are guided.",
    ),
    model: Optional[Path] = ModelOption,
    n: int = NOption,
    seed: int = SeedOption,
    steps: int = StepsOption,
    out: Optional[Path] = OutOption,
    cleanup: bool = CleanupOption,
    render: bool = RenderOption,
    force: bool = ForceOption,
    device: str = DeviceOption,
) -> None:
    """Style transfer: the content clip in the style of the model's training clip.

    Writes DIR/transfer_<i>.bvh. The content's slow motion (its timing and steps) guides
    the sampler (ILVR harmonisation) and its root path is kept; the poses and motifs come
    from the model.
    """
    run = _load_run(model, device)
    motion = load_reference(run, content, what="content")
    folder = _free_folder(out or run.path / "samples", "transfer", n, render, force)
    with _sampling_progress("transfer", n, steps, run) as on_step:
        motions = run_transfer(run, motion, n, strength=strength, steps=steps, seed=seed, clean=cleanup, on_step=on_step)
    _write_all(folder, "transfer", motions, render)


@app.command()
def crowd(
    n: int = typer.Option(20, "--n", min=1, help="How many individuals."),
    length: str = typer.Option("1x", "--length", help=f"Length of each individual: {LENGTH_HELP} of the training clip."),
    layout: str = typer.Option("random", "--layout", help="grid, or random positions at least --spacing apart."),
    spacing: Optional[float] = typer.Option(
        None, "--spacing", min=0.0, help=f"Distance between individuals, in BVH units. Default: {SPACING_SIZES:g} body sizes."
    ),
    time_offset: float = typer.Option(
        0.0, "--time-offset", min=0.0,
        help="Start each individual up to this many seconds into its own motion, so they are not in sync.",
    ),
    model: Optional[Path] = ModelOption,
    seed: int = SeedOption,
    steps: int = typer.Option(
        CROWD_STEPS, "--steps", min=1,
        help="Sampling steps; fewer than elsewhere by default, as a crowd is many samples.",
    ),
    plan: bool = PlanOption,
    out: Optional[Path] = OutOption,
    cleanup: bool = CleanupOption,
    render: bool = typer.Option(
        False, "--render", help="Also write DIR/crowd.mp4: the whole crowd in one scene, at its placements."
    ),
    force: bool = ForceOption,
    device: str = DeviceOption,
) -> None:
    """Generate a crowd of distinct individuals laid out on the ground.

    Writes DIR/crowd_<i>.bvh, each with its placement in its root channels, and
    DIR/crowd.json with every individual's position, heading and time offset.
    """
    from ..evaluation.metrics import diversity_between

    run = _load_run(model, device)
    require_root(run.layout)
    others = ("crowd.json", "crowd.mp4") if render else ("crowd.json",)
    folder = _free_folder(out or run.path / "samples", "crowd", n, False, force, others)
    fps = run.layout.fps
    frames = parse_length(length, run.train_frames, fps)
    rng = np.random.default_rng(seed)
    spots = placements(n, layout, spacing or SPACING_SIZES * body_size(run.layout), round(time_offset * fps), rng)
    longest = frames + max(p.offset for p in spots)
    with _sampling_progress("crowd", n, steps, run) as on_step:
        features = sample_features(run, n, longest, steps=steps, seed=seed, plan=plan, on_step=on_step)
    reference = load_reference(run, None)
    motions = to_motions(run, features)
    if cleanup:
        motions = clean_motions(run, reference, features, motions)
    individuals = [m.crop(p.offset, frames) for m, p in zip(motions, spots)]
    # Measured before placement: a random heading is not a difference in motion.
    diversity = diversity_between(reference, individuals)
    placed = [place(run.layout, m, p) for m, p in zip(individuals, spots)]
    _write_all(folder, "crowd", placed)
    record = {
        "model": str(run.path),
        "seed": seed,
        "frames": frames,
        "fps": fps,
        "layout": layout,
        "inter_sample_diversity": None if np.isnan(diversity) else diversity,
        "individuals": [
            {"file": f"crowd_{i}.bvh", "sample": i, **p.to_dict()} for i, p in enumerate(spots)
        ],
    }
    write_json(folder / "crowd.json", record)
    typer.echo(str(folder / "crowd.json"))
    if render:
        from ..render.figures import Scene, actor

        scene = Scene([actor(m, style="generated", shade=i) for i, m in enumerate(placed)], f"crowd of {n}")
        _render_videos([(folder / "crowd.mp4", [scene])], fps, camera="fixed")
    if n > 1:
        typer.echo(f"inter-sample diversity: {diversity:.3f} motion scales of the training clip")


@app.command()
def render(
    files: list[Path] = typer.Argument(..., help="BVH files to draw.", show_default=False),
    out: Optional[Path] = typer.Option(
        None, "--out",
        help="Output file: .mp4, .gif (Pillow, no ffmpeg needed), or .png with --still. "
        "Default: the first file's name with .mp4 (.png with --still), beside it.",
    ),
    layout: str = typer.Option(
        "grid", "--layout", help="grid: one panel per file, side by side; scene: all files in one scene at their own positions."
    ),
    camera: Optional[str] = typer.Option(
        None, "--camera",
        help="follow: track the figures smoothly; fixed: one view that sees the whole clip. Default: follow for grid, fixed for scene.",
    ),
    still: bool = typer.Option(False, "--still", help="Write a PNG contact sheet of evenly spaced poses instead of a video."),
    poses: int = typer.Option(8, "--poses", min=1, max=64, help="Poses per file on a --still sheet."),
    size: Optional[str] = typer.Option(
        None, "--size",
        help="Image size WIDTHxHEIGHT in pixels (videos round to multiples of 16). "
        "Default: 640x480 for one panel, 400x400 per panel.",
    ),
    fps: Optional[float] = typer.Option(
        None, "--fps", min=0.001, help="Frame rate of the video. Default: the first file's own; other files are resampled to it."
    ),
    azimuth: Optional[float] = typer.Option(
        None, "--azimuth", help="Camera direction in degrees about the vertical. Default: three-quarters side-on to the travel."
    ),
    elevation: float = typer.Option(20.0, "--elevation", min=-80.0, max=80.0, help="Camera height in degrees above the floor."),
    force: bool = ForceOption,
    up: Optional[str] = UpOption,
) -> None:
    """Draw BVH files of any skeleton as a stick-figure video or a PNG contact sheet.

    Draws a ground grid, shadows and marks where feet rest on the floor. Several files
    go side by side (--layout grid) or into one scene (--layout scene, e.g. a crowd's
    crowd_*.bvh). The file is written to a temporary name and renamed when complete.
    """
    from ..render.drawing import LAYOUTS
    from ..render.figures import Scene, actor
    from ..render.render import render_still

    if layout not in LAYOUTS:
        raise SinmdmError(f"unknown --layout '{layout}': use {' or '.join(LAYOUTS)}")
    motions = [read_bvh(f, up=up) for f in files]  # every input is read before anything is written
    rate = fps or motions[0].fps
    motions = [m.resample(rate) for m in motions]
    target = out or files[0].with_suffix(".png" if still else ".mp4")
    _refuse_existing([target], force)
    camera = camera or ("fixed" if layout == "scene" else "follow")
    if layout == "scene":
        scenes = [Scene([actor(m, shade=i) for i, m in enumerate(motions)], f"{len(files)} files" if len(files) > 1 else files[0].name)]
    else:
        scenes = [Scene([actor(m)], f.name) for f, m in zip(files, motions)]
    view = {"camera": camera, "size": size, "azimuth": azimuth, "elevation": elevation}
    if still:
        render_still(scenes, target, rate, poses=poses, **view)  # type: ignore[arg-type]
        typer.echo(str(target))
    else:
        _render_videos([(target, scenes)], rate, **view)


@app.command()
def export(
    model: Optional[Path] = ModelOption,
    out: Optional[Path] = typer.Option(None, "--out", help="The ONNX file to write. Default: <run>/model.onnx."),
    force: bool = ForceOption,
) -> None:
    """Export the denoiser to ONNX for one sampling step, (x_t, t) -> x0.

    Writes the ONNX model (opset 18, EMA weights, dynamic batch and frame axes) and a JSON
    sidecar next to it (same name, .json) with the noise schedule, the sampler's
    timesteps, the feature normalisation and layout, and the skeleton: all a runtime
    needs to sample without sinmdm. `sinmdm generate --backend onnx` samples with it.
    Needs the onnx extra: pip install 'sinmdm[onnx]'.
    """
    from ..sampling.export import export_onnx
    from ..sampling.onnx_sampler import sidecar_path

    run = _load_run(model, "cpu")
    path = out or onnx_model_path(run)
    if path.suffix.lower() != ".onnx":
        raise SinmdmError(f"--out {path}: the file name must end in .onnx")
    _refuse_existing([path, sidecar_path(path)], force)
    with Console(stderr=True).status("exporting to ONNX"):
        result = export_onnx(run, path)
    typer.echo(f"{path} ({path.stat().st_size / 1e6:.1f} MB) and {sidecar_path(path)}: exported in {result['seconds']:.1f} s; "
               f"onnxruntime matches torch to {result['max_difference']:.1e} on a random input")


@app.command(name="eval")
def evaluate_command(
    model: Optional[Path] = ModelOption,
    n: int = typer.Option(20, "--n", min=1, help="Samples to draw."),
    length: str = typer.Option("2x", "--length", help="Sample length: frames, seconds (10s) or a multiple of the clip (2x)."),
    seed: int = SeedOption,
    steps: int = StepsOption,
    plan: bool = PlanOption,
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON instead of a table."),
    cleanup: bool = typer.Option(
        True, "--cleanup/--no-cleanup",
        help="Measure the cleaned samples, as the generating commands write them (sliding and jerk are "
        "also reported without cleanup); --no-cleanup measures the raw samples only.",
    ),
    device: str = DeviceOption,
) -> None:
    """Sample from a model and measure its samples against the training clip.

    Reports how faithful (coverage) and how new (diversity, and how long the samples
    replay the clip frame by frame, beside how long the clip replays itself) the samples
    are, and how plausible (foot sliding in four height bands, jerk) as ratios to the
    clip's own values, with and without cleanup. All at 30 fps, whatever the clip's rate.
    """
    import json
    import time

    from ..evaluation.metrics import LONG_REPLAY_SECONDS, SLIDING_BANDS, evaluate

    run = _load_run(model, device)
    reference = load_reference(run, None)
    frames = parse_length(length, run.train_frames, run.layout.fps)
    started = time.monotonic()
    with _sampling_progress("eval", n, steps, run) as on_step:
        features = sample_features(run, n, frames, steps=steps, seed=seed, plan=plan, on_step=on_step)
    raw = to_motions(run, features)
    seconds = time.monotonic() - started
    contacts = run.layout.contact_points.tolist()
    samples = clean_motions(run, reference, features, raw) if cleanup else raw
    report = evaluate(reference, samples, contacts)
    plain = evaluate(reference, raw, contacts) if cleanup else report
    if as_json:
        extra = {"sampling_seconds": seconds, "cleanup": cleanup, "plan": plan}
        if cleanup:
            extra.update(sliding_ratios_without_cleanup=plain.sliding_ratios, sliding_ratio_without_cleanup=plain.sliding_ratio,
                         jerk_ratio_without_cleanup=plain.jerk_ratio)
        typer.echo(json.dumps({**report.to_dict(), **extra}, indent=2))
        return
    bands = " ".join(f"{100 * b:g}%:{r:.2f}" for b, r in zip(SLIDING_BANDS, report.sliding_ratios))
    rows = [
        ("samples", f"{report.samples} x {report.frames} frames, {'--plan' if plan else '--free'} "
         f"({seconds:.1f} s to sample)"),
        ("coverage", f"{report.coverage:.3f}   (strict {report.coverage_strict:.3f}, loose {report.coverage_loose:.3f})"),
        ("global diversity", f"{report.global_diversity:.3f}"),
        ("local diversity", f"{report.local_diversity:.3f}"),
        ("inter-sample diversity", f"{report.inter_sample_diversity:.3f}"),
        ("replay length", f"{report.replay_seconds:.2f} s, {100 * report.replay_long_share:.0f}% of frames in replays over "
         f"{LONG_REPLAY_SECONDS:g} s   (the clip replays itself: {report.self_replay_seconds:.2f} s, "
         f"{100 * report.self_replay_long_share:.0f}%)"),
        ("foot sliding ratio", f"{report.sliding_ratio:.2f} in the worst band   (by height band above rest, of the body size: {bands})"),
        ("jerk ratio", f"{report.jerk_ratio:.2f}   ({report.jerk:.1f} vs input {report.jerk_input:.1f} body sizes/s^3)"),
    ]
    if cleanup:
        rows.insert(0, ("cleanup", "on (sliding and jerk without it below)"))
        rows += [
            ("  without cleanup", f"sliding ratio {plain.sliding_ratio:.2f}, jerk ratio {plain.jerk_ratio:.2f}, "
             f"coverage {plain.coverage:.3f}"),
        ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        typer.echo(f"{key:<{width}}  {value}")


def _load_run(model: Optional[Path], device: str) -> Run:
    return Run.load(resolve_run(model), pick_device(device))


@contextmanager
def _sampling_progress(label: str, n: int, steps: int, run: Run) -> Iterator[Callable[[int], None]]:
    """A progress bar over every denoising step of every batch; yields the callback."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    total = -(-n // BATCH) * len(respaced(steps, run.diffusion.train_steps))
    columns = (TextColumn(f"{label}: sampling"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(label, total=total)
        yield lambda _step: progress.advance(task)


def _run_edit(
    run: Run, reference: Motion, plan: Edit, command: str, n: int, steps: int, seed: int, out: Optional[Path],
    cleanup: bool, render: bool, force: bool,
) -> None:
    folder = _free_folder(out or run.path / "samples", command, n, render, force)
    with _sampling_progress(command, n, steps, run) as on_step:
        motions = sample_edit(run, reference, plan, n, steps=steps, seed=seed, clean=cleanup, on_step=on_step)
    _write_all(folder, command, motions, render, joint_weights(run.layout, plan))


def _free_folder(folder: Path, command: str, n: int, render: bool, force: bool, others: tuple[str, ...] = ()) -> Path:
    """``folder``, after checking (before any work) that the files a command will write
    there do not exist yet, unless ``force``."""
    names = [f"{command}_{i}.bvh" for i in range(n)] + [f"{command}_{i}.mp4" for i in range(n) if render]
    _refuse_existing([folder / name for name in [*names, *others]], force)
    return folder


def _refuse_existing(paths: list[Path], force: bool) -> None:
    existing = [p for p in paths if p.exists()]
    if existing and not force:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise SinmdmError(f"{existing[0]} already exists{more}: pass --force to overwrite, or choose another --out")


def _write_all(
    folder: Path, command: str, motions: list[Motion], render: bool = False, given: Optional[np.ndarray] = None
) -> None:
    """Write DIR/<command>_<i>.bvh and print each path; with ``render`` also a video of
    each, coloured by ``given`` (frames, joints) where parts came from the reference."""
    for i, motion in enumerate(motions):
        _write(folder / f"{command}_{i}.bvh", motion)
        typer.echo(str(folder / f"{command}_{i}.bvh"))
    if render and motions:
        from ..render.figures import Scene, actor

        videos = [
            (folder / f"{command}_{i}.mp4", [Scene([actor(m, given=given, style="generated")], f"{command}_{i}")])
            for i, m in enumerate(motions)
        ]
        _render_videos(videos, motions[0].fps)


def _render_videos(videos: list[tuple[Path, list]], fps: float, **options: object) -> None:
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


def _write(path: Path, motion: Motion) -> None:
    if path.is_dir():
        raise SinmdmError(f"{path}: is a directory; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SinmdmError(f"{path.parent}: cannot create folder: {exc.strerror or exc}") from None
    write_bvh(path, motion)


def _channel_summary(skeleton: Skeleton) -> str:
    counts: dict[int, int] = {}
    for chans in skeleton.channels:
        counts[len(chans)] = counts.get(len(chans), 0) + 1
    parts = ", ".join(f"{_joints(n)} with {c}" for c, n in sorted(counts.items()))
    return f"{skeleton.n_channels} per frame; {parts}; root has {len(skeleton.channels[0])}"


def _order_summary(skeleton: Skeleton) -> str:
    orders: dict[str, int] = {}
    for j in range(skeleton.n_joints):
        order = skeleton.rotation_order(j) or "none"
        orders[order] = orders.get(order, 0) + 1
    return ", ".join(f"{o} ({_joints(n)})" for o, n in sorted(orders.items(), key=lambda kv: -kv[1]))


def _joints(count: int) -> str:
    return f"{count} joint" if count == 1 else f"{count} joints"


def _tree_text(skeleton: Skeleton) -> str:
    ends = np.bincount(skeleton.end_site_parents, minlength=skeleton.n_joints)
    lines = []
    for j, name in enumerate(skeleton.names):
        chans = skeleton.channels[j]
        pos = "".join(c[0] for c in chans if c in POSITION_CHANNELS)
        rot = skeleton.rotation_order(j)
        desc = ", ".join(filter(None, [f"pos {pos}" if pos else "", f"rot {rot}" if rot else ""])) or "no channels"
        end = " + End Site" if ends[j] == 1 else (f" + {ends[j]} End Sites" if ends[j] else "")
        lines.append(f"{'  ' * int(skeleton.depths[j])}{name}  [{desc}]{end}")
    return "\n".join(lines)


def run(argv: Optional[list[str]] = None) -> int:
    """Run the CLI and return its exit code; user errors become one line on stderr."""
    try:
        app(args=argv, prog_name="sinmdm")  # standalone: always ends in SystemExit
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except SinmdmError as exc:
        typer.echo(f"sinmdm: error: {exc}", err=True)
        return 1
    return 0


def main() -> None:
    keep_freed_memory()
    sys.exit(run())
