"""The ``sinmdm`` command line. Every subcommand reports user errors as one line on
stderr and a non-zero exit code; only a bug in sinmdm itself shows a traceback."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import numpy as np
import typer

from .bvh import read_bvh, write_bvh
from .contacts import choose_contact_joints
from .errors import SinmdmError
from .features import FeatureLayout
from .motion import DEFAULT_MAX_FPS, Motion
from .presets import resolve_preset
from .generate import DEFAULT_STEPS, sample_features, to_motions
from .runs import Run, default_run_dir, parse_length, pick_device, resolve_run
from .skeleton import POSITION_CHANNELS, Skeleton
from .train import TrainSettings

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
    help="Comma-separated contact joint names, overriding the rig preset and automatic detection.",
)
PresetOption = typer.Option(
    None, "--preset", help="Rig preset to use: a built-in name (e.g. mixamo) or a .toml file. Default: matched by joint names."
)


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
) -> None:
    """Describe a BVH clip: joints, channels, rate, length, height, rig preset and contact joints."""
    motion = read_bvh(clip)
    skeleton = motion.skeleton
    rig = resolve_preset(skeleton, preset)
    model_motion = motion.at_training_rate(fps)
    try:
        joints, source = choose_contact_joints(model_motion, _split_names(contacts), rig)
    except SinmdmError as exc:
        raise SinmdmError(f"{clip}: {exc}") from None
    layout = FeatureLayout.from_motion(model_motion, joints)

    rows = [
        ("file", str(clip)),
        ("joints", f"{skeleton.n_joints} (+{len(skeleton.end_site_parents)} End Sites), tree depth {int(skeleton.depths.max()) + 1}"),
        ("channels", _channel_summary(skeleton)),
        ("rotation order", _order_summary(skeleton)),
        ("frames", f"{motion.n_frames} at {motion.fps:g} fps (frame time {motion.frame_time:g} s)"),
        ("duration", f"{motion.duration:.2f} s"),
        ("height", f"{skeleton.height:.4g} (rest pose)"),
        ("rig preset", f"{rig.name} ({rig.description})" if rig else "none matched"),
        ("contact joints", (", ".join(skeleton.names[j] for j in joints) or "none") + f"  [{source}]"),
        (
            "model input",
            f"{model_motion.n_frames} frames at {model_motion.fps:g} fps, {layout.n_channels} feature channels",
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
) -> None:
    """Read any BVH and write a canonical one, optionally resampled to --fps.

    The output keeps joint order, names, offsets, End Sites, channel lists and rotation
    orders, writes one keyword per line (as Blender's importer expects), unwraps Euler
    angles over time and writes the true frame time.
    """
    motion = read_bvh(source)
    if fps is not None:
        motion = motion.resample(fps)
    _write(target, motion)
    typer.echo(f"wrote {target} ({motion.n_frames} frames at {motion.fps:g} fps)")


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
    contacts: Optional[str] = ContactsOption,
    preset: Optional[str] = PresetOption,
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
    from .train import train as run_training

    settings = TrainSettings(seed=seed, width=width, blocks=blocks, window=window, stretch=stretch, variance=variance)
    settings.steps = steps if steps is not None else (None if minutes is not None else settings.steps)
    settings.minutes = minutes
    run_dir = out or default_run_dir(clip)
    path, finished = run_training(
        clip, run_dir, settings, device=pick_device(device), fps=fps,
        contacts=_split_names(contacts), preset=preset, resume=resume,
    )
    if finished:
        typer.echo(f"trained: {path}")
    else:
        typer.echo(f"stopped; checkpoint saved in {path}. Continue with: sinmdm train {clip} --out {path} --resume")
        raise typer.Exit(130)


@app.command()
def generate(
    model: Optional[Path] = typer.Option(None, "--model", help="Run folder (or its model.pt). Default: the latest run."),
    length: str = typer.Option("1x", "--length", help="Frames (600), seconds (10s) or a multiple of the training clip (2x)."),
    n: int = typer.Option(1, "--n", min=1, help="How many motions to generate."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives the same motions."),
    steps: int = typer.Option(DEFAULT_STEPS, "--steps", min=1, help="Sampling steps."),
    loop: bool = typer.Option(False, "--loop", help="Make each motion loop seamlessly (its last frame flows into its first)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output folder. Default: <run>/samples."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or mps."),
) -> None:
    """Generate new motions of any length from a trained model, as BVH files
    (DIR/generate_<i>.bvh) on the training skeleton."""
    run = Run.load(resolve_run(model), pick_device(device))
    frames = parse_length(length, run.train_frames, run.layout.fps)
    folder = out or run.path / "samples"
    motions = to_motions(run, sample_features(run, n, frames, steps=steps, seed=seed, loop=loop))
    for i, motion in enumerate(motions):
        _write(folder / f"generate_{i}.bvh", motion)
        typer.echo(str(folder / f"generate_{i}.bvh"))


@app.command(name="eval")
def evaluate_command(
    model: Optional[Path] = typer.Option(None, "--model", help="Run folder (or its model.pt). Default: the latest run."),
    n: int = typer.Option(20, "--n", min=1, help="Samples to draw."),
    length: str = typer.Option("2x", "--length", help="Sample length: frames, seconds (10s) or a multiple of the clip (2x)."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    steps: int = typer.Option(DEFAULT_STEPS, "--steps", min=1, help="Sampling steps."),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON instead of a table."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or mps."),
) -> None:
    """Sample from a model and measure how faithful (coverage) and how new (diversity)
    the samples are, and how plausible (foot sliding, jerk) against the training clip."""
    import json
    import time

    from .metrics import evaluate

    run = Run.load(resolve_run(model), pick_device(device))
    reference = read_bvh(run.path / "clip.bvh").resample(run.layout.fps)
    frames = parse_length(length, run.train_frames, run.layout.fps)
    started = time.monotonic()
    samples = to_motions(run, sample_features(run, n, frames, steps=steps, seed=seed))
    seconds = time.monotonic() - started
    report = evaluate(reference, samples, run.layout.contact_joints.tolist(), seed=seed)
    if as_json:
        typer.echo(json.dumps({**report.to_dict(), "sampling_seconds": seconds}, indent=2))
        return
    rows = [
        ("samples", f"{report.samples} x {report.frames} frames ({seconds:.1f} s to sample)"),
        ("coverage", f"{report.coverage:.3f}   (strict {report.coverage_strict:.3f}, loose {report.coverage_loose:.3f})"),
        ("global diversity", f"{report.global_diversity:.3f}   (input reassembled: {report.global_diversity_reassembled:.3f})"),
        ("local diversity", f"{report.local_diversity:.3f}"),
        ("inter-sample diversity", f"{report.inter_sample_diversity:.3f}"),
        ("foot sliding ratio", f"{report.sliding_ratio:.2f}   ({report.sliding:.4f} vs input {report.sliding_input:.4f} heights/s)"),
        ("jerk ratio", f"{report.jerk_ratio:.2f}   ({report.jerk:.1f} vs input {report.jerk_input:.1f} heights/s^3)"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        typer.echo(f"{key:<{width}}  {value}")


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
        end = " + End Site" if ends[j] else ""
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
    sys.exit(run())
