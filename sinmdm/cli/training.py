"""Commands that make a model: train, export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from ..base.errors import SinmdmError
from ..model.settings import TrainSettings
from .common import load_run, refuse_existing
from .options import (
    MODEL,
    OUTPUT,
    Contacts,
    Device,
    Edges,
    Force,
    KeypointRoot,
    ModelDir,
    Preset,
    TrainFps,
    UpAxis,
    YDown,
    split_names,
    value,
)

TrainClips = Annotated[list[Path], typer.Argument(
    help="BVH clip(s): several clips of one skeleton are learned together (each named by its file stem). Or "
    "keypoint clips: joint positions (frames, joints, 2 or 3) in a .npy (with --fps and --edges) or an .npz "
    "holding positions, fps, edges and optional names and root.",
    show_default=False, metavar="CLIP...",
)]
Balance = Annotated[bool, typer.Option(
    "--balance", rich_help_panel=MODEL,
    help="Several clips: learn each as much as the others (default: in proportion to its length).",
)]
TrainSteps = Annotated[Optional[int], typer.Option(
    "--steps", min=1, rich_help_panel=MODEL, help=f"Training steps (default {TrainSettings.steps} unless --minutes is given)."
)]
Minutes = Annotated[Optional[float], typer.Option(
    "--minutes", min=0.01, rich_help_panel=MODEL, help="Wall-clock budget in minutes; with --steps, whichever ends first."
)]
LogSeconds = Annotated[float, typer.Option(
    "--log-seconds", min=0.1, rich_help_panel=OUTPUT,
    help="When the output is not a terminal (a log file, the Blender add-on): a line of progress this often, in seconds.",
)]
TrainDevice = Annotated[Device, typer.Option("--device", rich_help_panel=MODEL, help="auto: CUDA, then MPS, then the CPU.")]
TrainSeed = Annotated[int, typer.Option("--seed", rich_help_panel=MODEL, help="Random seed for initialisation, crops and noise.")]
RunFolder = Annotated[Optional[Path], typer.Option("--out", rich_help_panel=OUTPUT, help="Run folder. Default: runs/<clip name>.")]
Resume = Annotated[bool, typer.Option(
    "--resume", rich_help_panel=OUTPUT, help="Continue the run in --out from its last checkpoint."
)]
Restart = Annotated[bool, typer.Option(
    "--force", rich_help_panel=OUTPUT, help="Start afresh over a run already in --out (default: refuse)."
)]
Width = Annotated[int, typer.Option("--width", min=8, rich_help_panel=MODEL, help="Model width (channels per frame inside).")]
Blocks = Annotated[int, typer.Option("--blocks", min=1, rich_help_panel=MODEL, help="Local-attention blocks.")]
Window = Annotated[Optional[int], typer.Option(
    "--window", min=1, rich_help_panel=MODEL,
    help="Frames each block attends to (odd). Receptive field: 1 + (window-1)*blocks frames. "
    "Default: 9, narrowed on clips shorter than twice that field (at least 3).",
)]
Variance = Annotated[float, typer.Option(
    "--variance", min=0.5, max=1.0, rich_help_panel=MODEL,
    help="Share of the clip's feature variance the network models, along the clip's principal axes "
    "(at most --width of them); 1 = every feature channel.",
)]
Stretch = Annotated[float, typer.Option(
    "--stretch", min=0.0, max=0.9, rich_help_panel=MODEL,
    help="Time-stretch augmentation: crops play at a random speed in [1-s, 1+s] (0 = off).",
)]


def train(
    clips: TrainClips,
    steps: TrainSteps = None,
    minutes: Minutes = None,
    device: TrainDevice = Device.auto,
    seed: TrainSeed = 0,
    fps: TrainFps = None,
    out: RunFolder = None,
    log_seconds: LogSeconds = TrainSettings.log_seconds,
    resume: Resume = False,
    force: Restart = False,
    contacts: Contacts = None,
    preset: Preset = None,
    up: UpAxis = None,
    width: Width = TrainSettings.width,
    blocks: Blocks = TrainSettings.blocks,
    window: Window = None,
    variance: Variance = TrainSettings.variance,
    stretch: Stretch = TrainSettings.stretch,
    edges: Edges = None,
    root: KeypointRoot = None,
    y_down: YDown = False,
    balance: Balance = False,
) -> None:
    """Train a single-motion diffusion model on one BVH clip, or on several clips of one
    creature together.

    Writes the run folder: model.pt (weights, loadable with torch.load(weights_only=True)),
    config.json, features.json (feature layout and normalisation), clip.bvh (the training
    clip; clips/<name>.bvh for several), loss.png, then preview.bvh and preview.gif (a
    sample beside the clip), and records it as the latest run. Clips at other frame rates
    are resampled to the first one's training rate; clips on another skeleton are
    refused. The training budget is the same for any number of clips. Ctrl-C stops after
    the current step and leaves a checkpoint that --resume continues. A keypoint clip
    (positions, no rotations; 2D: y up unless --y-down) learns each joint's position about
    the root and the root's path; missing values (NaN) are left out of the loss.
    """
    from ..anim.keypoints import KeypointOptions
    from ..apps.preview import write_preview
    from ..model.runs import Run, default_run_dir, pick_device
    from ..model.train import train as run_training

    settings = TrainSettings(seed=seed, width=width, blocks=blocks, window=window, stretch=stretch, variance=variance,
                             balance=balance, log_seconds=log_seconds)
    settings.steps = steps if steps is not None else (None if minutes is not None else settings.steps)
    settings.minutes = minutes
    where = pick_device(device.value)
    path, finished = run_training(
        clips, out or default_run_dir(clips), settings, device=where, fps=fps,
        contacts=split_names(contacts), preset=preset, up=value(up), resume=resume, force=force,
        keypoints=KeypointOptions(fps=fps, edges=edges, root=root, y_down=y_down),
    )
    if not finished:
        names = " ".join(str(c) for c in clips)
        typer.echo(f"stopped; checkpoint saved in {path}. Continue with: sinmdm train {names} --out {path} --resume")
        raise typer.Exit(130)
    write_preview(Run.load(path, where), seed)
    typer.echo(f"trained: {path}")


def export(
    model: ModelDir = None,
    out: Annotated[Optional[Path], typer.Option(
        "--out", rich_help_panel=OUTPUT, help="The ONNX file to write. Default: <run>/model.onnx."
    )] = None,
    force: Force = False,
) -> None:
    """Export the denoiser to ONNX for one sampling step, (x_t, t) -> x0.

    Writes the ONNX model (opset 18, EMA weights, dynamic batch and frame axes) and a JSON
    sidecar next to it (same name, .json) with the diffusion config, the sampler's
    timesteps, the feature normalisation and layout, and the skeleton: all a runtime
    needs to sample without sinmdm. `sinmdm generate --backend onnx` samples with it.
    Needs the onnx extra: pip install 'sinmdm[onnx]'.
    """
    from ..sampling.export import export_onnx
    from ..sampling.onnx_sampler import sidecar_path
    from ..sampling.sample import onnx_model_path

    run = load_run(model, Device.cpu)
    path = out or onnx_model_path(run)
    if path.suffix.lower() != ".onnx":
        raise SinmdmError(f"--out {path}: the file name must end in .onnx")
    refuse_existing([path, sidecar_path(path)], force)
    with Console(stderr=True).status("exporting to ONNX"):
        result = export_onnx(run, path)
    typer.echo(f"{path} ({path.stat().st_size / 1e6:.1f} MB) and {sidecar_path(path)}: exported in "
               f"{result['seconds']:.1f} s; onnxruntime matches torch to {result['max_difference']:.1e} on a random input")
