"""Training on one clip: random crops, AdamW, an EMA of the weights, periodic atomic
checkpoints, resume, and a clean stop on Ctrl-C or SIGTERM.

Defaults, measured on Salsa on a 2-core CPU (6 samples at 2x; coverage at 0.5 motion
scales, global diversity in motion scales, jerk as a ratio to the clip's):
- window 3 (receptive field 17 frames, as published), 64-frame crops, 600 steps:
  coverage 0.03-0.1, the samples' windows sit 0.6-0.7 motion scales from the clip. The
  denoiser itself is good (started from the clip noised to t = 450 it gives coverage
  0.92), so the layout that emerges from pure noise is what fails: 17 frames (0.57 s)
  is shorter than one motif of most clips.
- window 5 (33 frames), 128-frame crops, 600 steps: coverage 0.27, diversity 0.59.
- window 9 (65 frames, about 2 s at 30 fps), 128-frame crops, 600 steps: coverage
  0.78, diversity 0.39; at batch 16 and 1500 steps (about 11 minutes):
  coverage 0.85, diversity 0.31 (GenMM, which reassembles the clip: 0.03).
- the alpha-bar-weighted velocity loss, at the defaults above: weight 1 gave coverage
  0.85, strict 0.32, diversity 0.31, sliding ratio 1.24, jerk ratio 2.22; weight 10
  gave 0.83, 0.38, 0.28, 1.16, 1.79 (without it, with 64 instead of 89 principal
  directions: 0.84, 0.33, 0.31, 1.27, 2.53).
"""

from __future__ import annotations

import copy
import math
import signal
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from . import __version__
from .atomic import atomic_write
from .bvh import read_bvh, write_bvh
from .checkpoint import load_checkpoint, save_checkpoint
from .contacts import choose_contacts
from .diffusion import Diffusion
from .errors import SinmdmError
from .features import FeatureLayout, principal_axes
from .generate import clean_motions, sample_features, to_motions
from .model import Denoiser, ModelConfig
from .motion import Motion
from .presets import resolve_preset
from .runs import CHECKPOINT, CLIP, CONFIG, LOSS_PLOT, PREVIEW, PREVIEW_VIDEO, STATS, Run, record_latest, run_lock, write_json


@dataclass
class TrainSettings:
    steps: Optional[int] = 1250  # about 6 minutes on a 2-core CPU
    minutes: Optional[float] = None  # a wall-clock budget instead of (or capping) steps
    batch: int = 16
    crop: int = 128  # frames per training crop: about two receptive fields
    lr: float = 1e-3
    warmup: int = 100
    weight_decay: float = 0.01
    ema: float = 0.999
    stretch: float = 0.0  # crops play at a random speed in [1 - stretch, 1 + stretch]
    seed: int = 0
    checkpoint_seconds: float = 60.0
    width: int = 128
    blocks: int = 8
    window: Optional[int] = None  # frames each block attends to; None: see auto_window
    velocity: float = 10.0  # weight of the alpha-bar-weighted velocity loss
    variance: float = 0.999  # the network works in the clip's principal axes holding this share


WIDEST_WINDOW = ModelConfig.window  # the model's own default window is the widest
PREVIEW_SECONDS = 10.0  # preview.gif shows this much of the clip and of a sample
PREVIEW_MAX_SECONDS = 30.0  # preview.bvh is as long as the clip, up to this (a long clip's would take minutes)
PREVIEW_SIZE = "640x320"


def auto_window(frames: int, blocks: int) -> int:
    """The widest odd window, up to WIDEST_WINDOW and at least 3, whose receptive field is
    at most half the clip: on a short clip a wider field would see the whole clip at
    once and replay it."""
    widest = int(1 + (frames / 2 - 1) / blocks)
    odd = widest if widest % 2 else widest - 1
    return max(3, min(WIDEST_WINDOW, odd))


class CropSampler:
    """Random, optionally time-stretched crops of one clip's features, made in one
    batched gather (no loop over crops or frames), each with per-frame loss weights.

    Uniform crop starts would see a clip's first and last frames in almost no crop (the
    last frame of a 384-frame clip in 1 of 257 crops of 128 frames, a middle one in 128),
    so the model would rarely generate how a clip begins or ends. Starts are drawn
    uniformly from an interval half a crop wider at each end and clamped to the clip,
    which brings every frame to at least half the mean share; the weights (the mean
    share over the frame's own, measured once on many crops) even out the rest, so every
    frame of the clip counts the same in expectation.
    """

    def __init__(self, raw: torch.Tensor, layout: FeatureLayout, crop: int, stretch: float) -> None:
        self.raw, self.layout, self.crop, self.stretch = raw, layout, crop, stretch
        self.velocity = layout.slices["velocity"]
        self.mean = torch.as_tensor(layout.mean, dtype=raw.dtype, device=raw.device)
        self.std = torch.as_tensor(layout.std, dtype=raw.dtype, device=raw.device)
        where, _ = self._positions(1 << 14, torch.Generator().manual_seed(0))
        share = torch.bincount(where.round().long().flatten(), minlength=raw.shape[0]).double()
        self.frame_weight = (share.mean() / share.clamp(min=1)).to(raw.device, raw.dtype)

    def _positions(self, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(batch, crop) fractional source frames of the crops, and (batch,) their speeds."""
        frames = self.raw.shape[0]
        speed = 1 + self.stretch * (2 * torch.rand(batch, generator=generator) - 1)
        # A crop at speed s covers (crop - 1) * s source frames; clips too short for that
        # play slower.
        speed = torch.minimum(speed, torch.tensor((frames - 1) / max(self.crop - 1, 1)))
        span = (self.crop - 1) * speed
        room = frames - 1 - span
        start = (torch.rand(batch, generator=generator) * (room + span) - span / 2).clamp(min=0)
        start = torch.minimum(start, room)
        # Unstretched crops start on a frame: a fractional start would blend neighbouring
        # frames and blur the clip's fastest detail.
        start = torch.where(speed == 1, start.floor(), start)
        return start[:, None] + torch.arange(self.crop)[None] * speed[:, None], speed

    def __call__(self, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(batch, crop, C) normalised crops and (batch, crop) their frames' loss weights."""
        frames = self.raw.shape[0]
        where, speed = self._positions(batch, generator)
        where = where.to(self.raw.device)
        lo = where.floor().long().clamp(0, frames - 1)
        hi = (lo + 1).clamp(max=frames - 1)
        w = (where - lo)[..., None].to(self.raw.dtype)
        crops = self.raw[lo] * (1 - w) + self.raw[hi] * w
        # Velocities are per frame: a crop played faster covers more ground per frame.
        crops[..., self.velocity] *= speed.to(crops)[:, None, None]
        weights = self.frame_weight[where.round().long().clamp(0, frames - 1)]
        return (crops - self.mean) / self.std, weights


def train(
    clip: Path,
    out: Path,
    settings: TrainSettings,
    *,
    device: torch.device,
    fps: Optional[float] = None,
    contacts: Optional[list[str]] = None,
    preset: Optional[str] = None,
    up: Optional[str] = None,
    resume: bool = False,
    force: bool = False,
    console: Optional[Console] = None,
) -> tuple[Path, bool]:
    """Train on ``clip`` into the run folder ``out``. Returns the folder and whether the
    run finished (False when it was stopped and left resumable). ``force`` starts afresh
    over an existing run; the folder is locked against a second training meanwhile. ``up``
    is the clip's up axis (default: detected; see :mod:`sinmdm.body`)."""
    console = console or Console(stderr=True)
    checkpoint_path = out / CHECKPOINT
    state: dict[str, Any] | None = None
    if resume:
        state = load_checkpoint(checkpoint_path, device)
        layout = FeatureLayout.from_dict(state["layout"])
        motion = read_bvh(clip, up=layout.skeleton.up).at_training_rate(fps)
        diff = layout.skeleton.difference(motion.skeleton)
        if diff:
            raise SinmdmError(f"{clip}: not the clip this run was trained on: {diff}")
        motion = replace(motion, skeleton=layout.skeleton)  # the size it was trained with
        saved = TrainSettings(**state["settings"])
        settings = TrainSettings(**{**asdict(saved), "steps": settings.steps, "minutes": settings.minutes})
    else:
        motion = read_bvh(clip, up=up).at_training_rate(fps)
        if checkpoint_path.exists() and not force:
            raise SinmdmError(
                f"{out} already holds a trained run: pass --resume to continue it, --force to start again, or choose --out"
            )
        joints, _ = choose_contacts(motion, contacts, resolve_preset(motion.skeleton, preset))
        layout = FeatureLayout.from_motion(motion, joints)

    encoded = layout.encode(motion)
    raw = torch.as_tensor(encoded, dtype=torch.float32, device=device)
    basis = None
    if state is None:
        if settings.variance < 1:
            axes = principal_axes(layout.normalise(encoded), settings.variance, settings.width)
            basis = torch.as_tensor(axes, dtype=torch.float32) if axes.shape[1] < layout.n_channels else None
        rank = 0 if basis is None else basis.shape[1]
        window = settings.window or auto_window(motion.n_frames, settings.blocks)
        config = ModelConfig(layout.n_channels, width=settings.width, blocks=settings.blocks, window=window, rank=rank)
    else:
        config = ModelConfig(**state["model_config"])
    if motion.n_frames < config.receptive_field:
        raise SinmdmError(
            f"{clip}: {motion.length_text} is shorter than the model's "
            f"receptive field ({config.receptive_field} frames); try fewer --blocks or a higher --fps"
        )
    with run_lock(out):
        crop = min(settings.crop, motion.n_frames)
        torch.manual_seed(settings.seed)
        network = Denoiser(config, basis).to(device)
        ema = copy.deepcopy(network).eval().requires_grad_(False)
        optimizer = torch.optim.AdamW(network.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
        generator = torch.Generator().manual_seed(settings.seed)
        step, losses, elapsed_before = 0, [], 0.0
        if state is not None:
            network.load_state_dict(state["model"])
            ema.load_state_dict(state["ema"])
            optimizer.load_state_dict(state["optimizer"])
            # The checkpoint was loaded onto the training device; RNG states are CPU bytes.
            generator.set_state(state["generator"].cpu())
            torch.set_rng_state(state["torch_rng"].cpu())
            step, losses, elapsed_before = int(state["step"]), list(state["losses"]), float(state["seconds"])
        else:
            out.mkdir(parents=True, exist_ok=True)
            with atomic_write(out / CLIP, "wb") as copy_out:
                copy_out.write(clip.read_bytes())

        sampler = CropSampler(raw, layout, crop, settings.stretch)
        diffusion = Diffusion()
        total_steps = settings.steps if settings.steps is not None else math.inf
        deadline = time.monotonic() + 60 * settings.minutes if settings.minutes else math.inf

        console.print(
            f"[bold]{clip.name}[/]: {motion.length_text}, {layout.n_channels} feature channels, "
            f"contacts: {', '.join(layout.skeleton.point_names[p] for p in layout.contact_points) or 'none'}"
        )
        console.print(
            f"model: {network.parameter_count() / 1e6:.2f} M parameters, {config.blocks} blocks, window {config.window}, "
            f"receptive field {config.receptive_field} frames ({config.receptive_field / motion.fps:.2f} s), "
            f"{config.rank or config.channels} feature directions; "
            f"crops of {crop} frames, batch {settings.batch}, on {device.type}"
        )
        if step:
            console.print(f"resuming at step {step}")

        def snapshot() -> dict[str, Any]:
            return {
                "model": network.state_dict(),
                "ema": ema.state_dict(),
                "optimizer": optimizer.state_dict(),
                "generator": generator.get_state(),
                "torch_rng": torch.get_rng_state(),
                "step": step,
                "losses": losses,
                "seconds": elapsed_before + (time.monotonic() - started),
                "model_config": config.to_dict(),
                "settings": asdict(settings),
                "layout": layout.to_dict(),
                "train_frames": motion.n_frames,
                "sinmdm_version": __version__,
            }

        stop = _StopFlag()
        started = time.monotonic()
        last_save = last_line = started
        saved_step = step  # a resumed run's checkpoint is good
        network.train()
        progress = Progress(
            TextColumn("step {task.fields[step]}"),
            BarColumn(),
            TextColumn("loss {task.fields[loss]:.4f}"),
            TextColumn("{task.fields[rate]:.1f} steps/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        by_time = total_steps == math.inf
        with stop, progress:
            task = progress.add_task(
                "train", total=60 * settings.minutes if by_time else total_steps, completed=0 if by_time else step,
                step=step, loss=float("nan"), rate=0.0,
            )
            run_start_step = step
            while step < total_steps and time.monotonic() < deadline and not stop.raised:
                lr = settings.lr * min(1.0, (step + 1) / settings.warmup)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                x0, weights = sampler(settings.batch, generator)
                t = torch.randint(0, diffusion.steps, (settings.batch,), generator=generator).to(device)
                noise = torch.randn(x0.shape, generator=generator).to(device)
                loss = diffusion.loss(network, x0, t, noise, velocity=settings.velocity, weights=weights).mean()
                value = loss.item()
                if not math.isfinite(value):  # checked before the update, so no bad weights are saved
                    kept = f"the checkpoint of step {saved_step} in {checkpoint_path} is kept" if saved_step else "no checkpoint was saved"
                    raise SinmdmError(f"training diverged: the loss is {value} at step {step + 1}; {kept}")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
                optimizer.step()
                _update_ema(ema, network, min(settings.ema, (1 + step) / (10 + step)))
                step += 1
                losses.append(value)
                now = time.monotonic()
                rate = (step - run_start_step) / max(now - started, 1e-9)
                progress.update(
                    task, completed=(now - started) if by_time else step, step=step,
                    loss=float(np.mean(losses[-50:])), rate=rate,
                )
                if not console.is_terminal and now - last_line > 30:  # logs get a line now and then
                    console.print(f"step {step}  loss {np.mean(losses[-50:]):.4f}  {rate:.1f} steps/s", highlight=False)
                    last_line = now
                if now - last_save > settings.checkpoint_seconds:
                    save_checkpoint(checkpoint_path, snapshot())
                    last_save, saved_step = now, step
        save_checkpoint(checkpoint_path, snapshot())
        finished = not stop.raised
        run = Run(out, ema, layout, config, motion.n_frames, step, device)
        write_json(out / STATS, layout.to_dict())
        write_json(
            out / CONFIG,
            {
                "clip": str(clip),
                "fps": motion.fps,
                "frames": motion.n_frames,
                "contacts": [layout.skeleton.point_names[p] for p in layout.contact_points],
                "model": config.to_dict(),
                "receptive_field": config.receptive_field,
                "parameters": network.parameter_count(),
                "train": asdict(settings),
                "steps_done": step,
                "seconds": elapsed_before + time.monotonic() - started,
                "device": device.type,
                "peak_memory_mb": _peak_memory_mb(device),
                "finished": finished,
                "sinmdm_version": __version__,
            },
        )
        plot_losses(losses, out / LOSS_PLOT)
        if finished:
            frames = min(motion.n_frames, round(PREVIEW_MAX_SECONDS * motion.fps))
            features = sample_features(run, 1, frames, seed=settings.seed)
            preview = clean_motions(run, motion, features, to_motions(run, features))[0]
            write_bvh(out / PREVIEW, preview)
            write_preview_video(motion, preview, out / PREVIEW_VIDEO)
        record_latest(out)
    return out, finished


def _peak_memory_mb(device: torch.device) -> float:
    """Peak GPU memory on CUDA, else the process's peak resident memory."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _update_ema(ema: torch.nn.Module, network: torch.nn.Module, decay: float) -> None:
    with torch.no_grad():
        for e, p in zip(ema.parameters(), network.parameters()):
            e.lerp_(p, 1 - decay)


def plot_losses(losses: list[float], path: Path) -> None:
    """The loss curve (raw and smoothed, log scale) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not losses:
        return
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
    steps = np.arange(1, len(losses) + 1)
    ax.plot(steps, losses, color="#bbbbbb", lw=0.6, label="per step")
    window = max(1, len(losses) // 50)
    smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
    ax.plot(steps[window - 1 :], smooth, color="#1f5fa8", lw=1.5, label=f"mean of {window}")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend(frameon=False)
    fig.tight_layout()
    with atomic_write(path, "wb") as out:
        fig.savefig(out, format="png")
    plt.close(fig)


def write_preview_video(clip: Motion, sample: Motion, path: Path) -> None:
    """The training clip (blue) beside a sample (orange), the first PREVIEW_SECONDS of each."""
    from .render import Scene, actor, render_video

    frames = round(PREVIEW_SECONDS * clip.fps)
    scenes = [
        Scene([actor(clip.crop(0, frames), style="given")], "training clip"),
        Scene([actor(sample.crop(0, frames), style="generated")], "sample"),
    ]
    render_video(scenes, path, clip.fps, size=PREVIEW_SIZE)


class _StopFlag:
    """SIGINT/SIGTERM ask the loop to stop after the current step (a second Ctrl-C
    interrupts at once)."""

    def __init__(self) -> None:
        self.raised = False

    def _handle(self, signum: int, frame: object) -> None:
        if self.raised and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.raised = True

    def __enter__(self) -> "_StopFlag":
        self._old = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc: object) -> None:
        for s, handler in self._old.items():
            signal.signal(s, handler)
