"""Sampling motions from a trained run."""

from __future__ import annotations

from typing import Callable, Optional

import torch

import numpy as np

from .cleanup import cleanup, hysteresis
from .contacts import planted_heights
from .diffusion import Diffusion, Known, LowPass
from .motion import Motion
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
    scores = run.layout.denormalise(normalised.double().numpy())[..., run.layout.slices["contact"]]
    fps = run.layout.fps
    return [cleanup(m, contacts, hysteresis(s, fps), planted, given) for m, s in zip(motions, scores)]
