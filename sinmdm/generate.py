"""Sampling motions from a trained run."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch

from .cleanup import cleanup, hysteresis
from .contacts import drag_speeds, planted_heights
from .diffusion import Diffusion, Known, LowPass
from .errors import SinmdmError
from .motion import Motion
from .onnx_sampler import OnnxDenoiser, read_sidecar
from .onnx_sampler import sample as onnx_sample
from .runs import Run

DEFAULT_STEPS = 50
BATCH = 8


def sample_features(
    run: Run,
    n: int,
    frames: int,
    *,
    steps: int = DEFAULT_STEPS,
    seed: int = 0,
    loop: bool = False,
    eta: float = 1.0,
    known: Optional[Known] = None,
    guide: Optional[LowPass] = None,
    batch: int = BATCH,
    on_step: Optional[Callable[[int], None]] = None,
) -> torch.Tensor:
    """(n, frames, C) normalised features. The same seed gives the same samples on any
    device: all noise is drawn on the CPU from one generator, batch after batch."""
    diffusion = Diffusion()
    generator = torch.Generator().manual_seed(seed)
    channels = run.layout.n_channels
    out = []
    for start in range(0, n, batch):
        size = min(batch, n - start)
        out.append(
            diffusion.sample(
                run.network,
                (size, frames, channels),
                steps,
                generator=generator,
                device=run.device,
                eta=eta,
                known=known,
                guide=guide,
                circular=loop,
                padding=run.config.receptive_field,
                on_step=on_step,
            ).cpu()
        )
    return torch.cat(out)


def onnx_model_path(run: Run) -> Path:
    """Where `sinmdm export` writes a run's ONNX model by default."""
    return run.path / "model.onnx"


def sample_features_onnx(
    run: Run,
    n: int,
    frames: int,
    *,
    steps: int = DEFAULT_STEPS,
    seed: int = 0,
    loop: bool = False,
    batch: int = BATCH,
    on_step: Optional[Callable[[int], None]] = None,
    model: Optional[Path] = None,
) -> torch.Tensor:
    """As :func:`sample_features`, with the exported network run by onnxruntime and the
    loop in numpy (:mod:`sinmdm.onnx_sampler`). The noise is drawn from the same torch
    generator in the same order, so a seed gives the torch backend's motion."""
    model = model or onnx_model_path(run)
    sidecar = read_sidecar(model)
    if sidecar["trained_steps"] != run.step or sidecar["interface"]["channels"] != run.layout.n_channels:
        raise SinmdmError(
            f"{model}: exported from step {sidecar['trained_steps']} of training, but {run.path} is at step "
            f"{run.step}: export it again with `sinmdm export --model {run.path} --force`"
        )
    network = OnnxDenoiser(model)
    schedule = sidecar["schedule"]
    alpha_bar = np.asarray(schedule["alpha_bar"], dtype=np.float64)
    generator = torch.Generator().manual_seed(seed)

    def noise(shape: tuple[int, ...]) -> np.ndarray:
        return torch.randn(shape, generator=generator).numpy()

    out = []
    for start in range(0, n, batch):
        shape = (min(batch, n - start), frames, run.layout.n_channels)
        out.append(onnx_sample(
            network, alpha_bar, shape, steps, noise, signal_scale=schedule["signal_scale"],
            padding=sidecar["sampler"]["loop_padding"] if loop else 0, on_step=on_step,
        ))
    return torch.from_numpy(np.concatenate(out))


def to_motions(run: Run, normalised: torch.Tensor) -> list[Motion]:
    """Motions on the training skeleton from normalised features (n, frames, C)."""
    raw = run.layout.denormalise(normalised.double().numpy())
    return [run.layout.decode(x) for x in raw]


def clean_motions(
    run: Run, reference: Motion, normalised: torch.Tensor, motions: list[Motion], given: Optional[np.ndarray] = None
) -> list[Motion]:
    """Each motion cleaned (smoothed, feet pinned; see :mod:`sinmdm.cleanup`) with the
    contacts its own features predict, at the heights the feet rest at in ``reference``.
    ``given`` (frames, joints) marks parts to keep exactly."""
    contacts = run.layout.contact_joints.tolist()
    planted = planted_heights(reference, contacts)
    drag = drag_speeds(reference, contacts, planted)
    scores = run.layout.denormalise(normalised.double().numpy())[..., run.layout.slices["contact"]]
    fps = run.layout.fps
    return [cleanup(m, contacts, hysteresis(s, fps), planted, given, drag) for m, s in zip(motions, scores)]
