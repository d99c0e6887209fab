"""The noise schedule and the respaced sampling timesteps, in numpy alone (the
scheduler's maths; the settings are :class:`sinmdm.diffusion.config.DiffusionConfig`)."""

from __future__ import annotations

import math

import numpy as np


def cosine_alpha_bar(steps: int, s: float = 0.008) -> np.ndarray:
    """alpha-bar at t = 0..steps-1 of the cosine schedule (Nichol & Dhariwal 2021), with
    each beta clipped at 0.999 as there."""
    f = np.cos((np.arange(steps + 1) / steps + s) / (1 + s) * math.pi / 2) ** 2
    betas = np.clip(1 - f[1:] / f[:-1], 0, 0.999)
    return np.cumprod(1 - betas)


def linear_alpha_bar(steps: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> np.ndarray:
    """alpha-bar of plain DDPM's linear betas (Ho et al. 2020), scaled to ``steps``."""
    scale = 1000 / steps
    return np.cumprod(1 - np.linspace(scale * beta_start, scale * beta_end, steps))


def respaced(count: int, steps: int) -> list[int]:
    """``count`` timesteps spread evenly over the schedule, from the noisiest down."""
    count = max(1, min(count, steps))
    return sorted({int(round(x)) for x in np.linspace(0, steps - 1, count)}, reverse=True)


def ddim_coefficients(ab: float, ab_prev: float, eta: float) -> tuple[float, float, float]:
    """For one step from alpha-bar ``ab`` to ``ab_prev``: the factors of the predicted
    clean signal, of the implied noise, and of fresh noise (``eta`` = 1 is the ancestral
    amount, 0 is deterministic DDIM)."""
    sigma = eta * math.sqrt((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev))
    return math.sqrt(ab_prev), math.sqrt(max(1 - ab_prev - sigma**2, 0.0)), sigma
