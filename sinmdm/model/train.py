"""Training on one clip (or several of one skeleton): random crops, AdamW, an EMA of the
weights, periodic atomic checkpoints, resume, and a clean stop on Ctrl-C or SIGTERM. :class:`TrainState` is what a
checkpoint holds; :class:`TrainLoop` runs one small step at a time (as
openai/improved-diffusion's ``TrainLoop``). How the defaults were chosen:
docs/decisions.md."""

from __future__ import annotations

import math
import signal
import time
from dataclasses import replace
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..anim.bvh import write_bvh
from ..anim.clipset import ClipSet, read_clips
from ..anim.contacts import choose_contacts
from ..anim.keypoints import KeypointOptions, is_keypoint_file
from ..anim.presets import resolve_preset
from ..base.atomic import atomic_write
from ..base.errors import SinmdmError
from ..diffusion.config import PLAIN_DDPM
from .checkpoint import load_checkpoint
from .crops import CropSampler
from .diffusion import Diffusion
from .features import FeatureLayout, principal_axes
from .network import ModelConfig
from .records import write_records
from .runs import CHECKPOINT, clip_files, record_latest, run_lock
from .settings import TrainSettings
from .state import TrainState, update_ema

WIDEST_WINDOW = ModelConfig.window  # the model's own default window is the widest
LABEL_DROP = 0.1  # several clips: the share of crops trained without their clip's label


def auto_window(frames: int, blocks: int) -> int:
    """The widest odd window, up to WIDEST_WINDOW and at least 3, whose receptive field is
    at most half the clip: on a short clip a wider field would see the whole clip at
    once and replay it."""
    widest = int(1 + (frames / 2 - 1) / blocks)
    odd = widest if widest % 2 else widest - 1
    return max(3, min(WIDEST_WINDOW, odd))


class TrainLoop:
    """Runs :class:`TrainState` forward: ``run_step`` draws a batch, ``forward_backward``
    computes the loss and its gradients, ``optimize`` updates the weights and the EMA, and
    ``save`` writes the checkpoint; ``run`` repeats them until a limit or a stop."""

    def __init__(self, state: TrainState, crops: CropSampler, checkpoint: Path, device: torch.device) -> None:
        self.state, self.crops, self.checkpoint, self.device = state, crops, checkpoint, device
        self.diffusion = Diffusion(state.diffusion)
        self.started = time.monotonic()
        self.saved_step = state.step  # a resumed run's checkpoint is good

    def run_step(self) -> float:
        s = self.state
        for group in s.optimizer.param_groups:
            group["lr"] = s.settings.lr * min(1.0, (s.step + 1) / s.settings.warmup)
        value = self.forward_backward()
        self.optimize()
        s.losses.append(value)
        return value

    def forward_backward(self) -> float:
        s = self.state
        x0, weights, labels = self.crops(s.settings.batch, s.generator)
        t = torch.randint(0, self.diffusion.steps, (s.settings.batch,), generator=s.generator).to(self.device)
        noise = torch.randn(x0.shape, generator=s.generator).to(self.device)
        if s.config.labels:  # some crops unlabelled, so the network also learns "any clip"
            unlabelled = (torch.rand(s.settings.batch, generator=s.generator) < LABEL_DROP).to(self.device)
            labels = labels.masked_fill(unlabelled[:, None], s.config.labels)
        else:
            labels = None
        loss = self.diffusion.loss(s.network, x0, t, noise, velocity=s.settings.velocity, weights=weights,
                                   labels=labels).mean()
        value = loss.item()
        if not math.isfinite(value):  # checked before the update, so no bad weights are saved
            saved = self.saved_step
            kept = f"the checkpoint of step {saved} in {self.checkpoint} is kept" if saved else "no checkpoint was saved"
            raise SinmdmError(f"training diverged: the loss is {value} at step {s.step + 1}; {kept}")
        s.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        return value

    def optimize(self) -> None:
        s = self.state
        torch.nn.utils.clip_grad_norm_(s.network.parameters(), 1.0)
        s.optimizer.step()
        update_ema(s.ema, s.network, min(s.settings.ema, (1 + s.step) / (10 + s.step)))
        s.step += 1

    def seconds(self) -> float:
        """Training time of the whole run, earlier sessions included."""
        return self.state.seconds + (time.monotonic() - self.started)

    def save(self) -> None:
        self.state.save(self.checkpoint, self.seconds())
        self.saved_step = self.state.step

    def run(self, console: Console) -> bool:
        """Train until the settings' steps or minutes run out (True) or a stop is asked
        for (False); checkpoints every ``checkpoint_seconds`` and at the end."""
        s = self.state
        total = s.settings.steps if s.settings.steps is not None else math.inf
        deadline = self.started + 60 * s.settings.minutes if s.settings.minutes else math.inf
        first, last_save, last_line = s.step, self.started, self.started
        by_time = total == math.inf
        s.network.train()
        with _StopFlag() as stop, _progress(console) as progress:
            task = progress.add_task("train", total=60 * s.settings.minutes if by_time else total,
                                     completed=0 if by_time else s.step, step=s.step, loss=float("nan"), rate=0.0)
            while s.step < total and time.monotonic() < deadline and not stop.raised:
                self.run_step()
                now = time.monotonic()
                rate, loss = (s.step - first) / max(now - self.started, 1e-9), float(np.mean(s.losses[-50:]))
                progress.update(task, completed=(now - self.started) if by_time else s.step, step=s.step, loss=loss, rate=rate)
                if not console.is_terminal and now - last_line > s.settings.log_seconds:  # logs get a line now and then
                    left = min((total - s.step) / max(rate, 1e-9), deadline - now)
                    eta = f"  ETA {_clock(left)}" if math.isfinite(left) else ""
                    console.print(f"step {s.step}  loss {loss:.4f}  {rate:.1f} steps/s{eta}", highlight=False)
                    last_line = now
                if now - last_save > s.settings.checkpoint_seconds:
                    self.save()
                    last_save = now
        self.save()
        return not stop.raised


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("step {task.fields[step]}"), BarColumn(), TextColumn("loss {task.fields[loss]:.4f}"),
        TextColumn("{task.fields[rate]:.1f} steps/s"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        console=console, transient=False,
    )


def _start(
    paths: list[Path], out: Path, settings: TrainSettings, device: torch.device, fps: Optional[float],
    contacts: Optional[list[str]], preset: Optional[str], up: Optional[str], resume: bool, force: bool,
    keypoints: Optional[KeypointOptions],
) -> tuple[ClipSet, TrainState]:
    """The clips at their training rate and the state to train: restored from the run's
    checkpoint (``resume``), or new."""
    if resume:
        saved = load_checkpoint(out / CHECKPOINT, device)
        layout = FeatureLayout.from_dict(saved["layout"])
        clips = read_clips(paths, layout.skeleton.up, layout.fps, keypoints)
        diff = layout.skeleton.difference(clips.motions[0].skeleton)
        if diff:
            raise SinmdmError(f"{paths[0]}: not the clip this run was trained on: {diff}")
        names = list(saved.get("clips") or clips.names)
        if list(clips.names) != names:
            raise SinmdmError(f"this run was trained on the clips {', '.join(names)}; resume it with those, in that order")
        own = TrainSettings(**saved["settings"])
        settings = replace(own, steps=settings.steps, minutes=settings.minutes, log_seconds=settings.log_seconds)
        # the size it was trained with
        clips = ClipSet(clips.names, tuple(replace(m, skeleton=layout.skeleton) for m in clips.motions), clips.missing)
        return clips, TrainState.restore(saved, settings, device)
    clips = read_clips(paths, up, fps, keypoints)
    if (out / CHECKPOINT).exists() and not force:
        raise SinmdmError(
            f"{out} already holds a trained run: pass --resume to continue it, --force to start again, or choose --out"
        )
    joints, _ = choose_contacts(clips.joined(), contacts, resolve_preset(clips.motions[0].skeleton, preset))
    layout = FeatureLayout.from_motions(clips.motions, joints)
    basis = None
    if settings.variance < 1:
        features = np.concatenate([layout.normalise(layout.encode(m)) for m in clips.motions])
        axes = principal_axes(features, settings.variance, settings.width)
        basis = torch.as_tensor(axes, dtype=torch.float32) if axes.shape[1] < layout.n_channels else None
    window = settings.window or auto_window(clips.shortest, settings.blocks)
    config = ModelConfig(layout.n_channels, width=settings.width, blocks=settings.blocks, window=window,
                         rank=0 if basis is None else basis.shape[1], labels=len(paths) if len(paths) > 1 else 0)
    state = TrainState.create(config, basis, settings, layout, int(clips.bounds[-1]), device,
                              PLAIN_DDPM if settings.plain_ddpm else None)
    state.clips = list(clips.names)
    return clips, state


def _check_length(paths: list[Path], clips: ClipSet, config: ModelConfig) -> None:
    for path, motion in zip(paths, clips.motions):
        if motion.n_frames < config.receptive_field:
            raise SinmdmError(
                f"{path}: {motion.length_text} is shorter than the model's "
                f"receptive field ({config.receptive_field} frames); try fewer --blocks or a higher --fps"
            )


def train(
    clips: Path | Sequence[Path],
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
    keypoints: Optional[KeypointOptions] = None,
) -> tuple[Path, bool]:
    """Train on one clip, or on several clips of one skeleton together, into the run
    folder ``out``. Returns the folder and whether the run finished (False when it was
    stopped and left resumable). ``force`` starts afresh over an existing run; the folder
    is locked against a second training meanwhile. ``up`` is the clips' up axis (default:
    detected on the first; see :mod:`sinmdm.anim.body`). The preview is made after
    training, by :func:`sinmdm.apps.preview.write_preview`. ``keypoints`` says what
    keypoint clips (.npy, .npz) do not say themselves."""
    console = console or Console(stderr=True)
    paths = [clips] if isinstance(clips, Path) else list(clips)
    clip_set, state = _start(paths, out, settings, device, fps, contacts, preset, up, resume, force, keypoints)
    _check_length(paths, clip_set, state.config)
    with run_lock(out):
        if not resume:
            _copy_clips(paths, clip_set, out)
        raw = np.concatenate([state.layout.encode(m) for m in clip_set.motions])
        known = None
        if clip_set.missing is not None:  # keypoints the file did not have are left out of the loss
            gaps = np.concatenate(clip_set.missing)
            known = torch.as_tensor(state.layout.known_channels(gaps), device=device)
            console.print(f"missing values: {gaps.mean():.1%} of the joints' positions, filled in time and left out of "
                          "the loss")
        crops = CropSampler(torch.as_tensor(raw, dtype=torch.float32, device=device), state.layout,
                            min(state.settings.crop, clip_set.shortest), state.settings.stretch,
                            clip_set.bounds.tolist(), state.settings.balance, known)
        _describe(console, paths, clip_set, state, crops.crop, device)
        loop = TrainLoop(state, crops, out / CHECKPOINT, device)
        finished = loop.run(console)
        write_records(out, paths, clip_set, state, loop.seconds(), finished, device)
        record_latest(out)
    return out, finished


def _copy_clips(paths: list[Path], clips: ClipSet, out: Path) -> None:
    """The run's own copies of its clips (see :func:`sinmdm.model.runs.clip_files`); a
    keypoint clip's as the BVH of its position channels at the training rate."""
    out.mkdir(parents=True, exist_ok=True)
    for path, target, motion in zip(paths, clip_files(out, clips.names), clips.motions):
        target.parent.mkdir(parents=True, exist_ok=True)
        if is_keypoint_file(path):
            write_bvh(target, motion)
            continue
        with atomic_write(target, "wb") as copy_out:
            copy_out.write(path.read_bytes())


def _describe(
    console: Console, paths: list[Path], clips: ClipSet, state: TrainState, crop: int, device: torch.device
) -> None:
    layout, config = state.layout, state.config
    fps = layout.fps
    contact_names = ", ".join(layout.skeleton.point_names[p] for p in layout.contact_points) or "none"
    if len(paths) == 1:
        console.print(f"[bold]{paths[0].name}[/]: {clips.motions[0].length_text}, {layout.n_channels} feature channels, "
                      f"contacts: {contact_names}")
    else:
        share = "each clip drawn equally often" if state.settings.balance else "each clip drawn in proportion to its length"
        console.print(f"[bold]{len(paths)} clips[/] at {fps:g} fps ({share}), {layout.n_channels} feature channels, "
                      f"contacts: {contact_names}")
        for name, motion in zip(clips.names, clips.motions):
            console.print(f"  {name}: {motion.n_frames} frames ({motion.duration:.1f} s)")
    console.print(
        f"model: {state.network.parameter_count() / 1e6:.2f} M parameters, {config.blocks} blocks, window {config.window}, "
        f"receptive field {config.receptive_field} frames ({config.receptive_field / fps:.2f} s), "
        f"{config.rank or config.channels} feature directions; "
        f"crops of {crop} frames, batch {state.settings.batch}, on {device.type}"
    )
    if state.step:
        console.print(f"resuming at step {state.step}")


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


def _clock(seconds: float) -> str:
    """h:mm:ss, as the progress bar shows a time left."""
    whole = max(0, round(seconds))
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"
