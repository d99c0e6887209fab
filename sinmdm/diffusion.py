"""Gaussian diffusion on normalised motion features: cosine schedule, x0 prediction, a
respaced sampler, and the hooks the editing applications need.

The denoiser D(x_t, t) predicts the clean sample x0. It is built from the network F as
``D = sqrt(a) * x_t + sqrt(1 - a) * F(x_t, t)`` (a = alpha-bar at t): at low noise x_t
already is almost x0 and the network only corrects it, at high noise D is F alone. The
loss is the x0 error weighted by ``1 / (1 - a)``, which is F's error with unit weight at
every noise level, so F is trained everywhere (a plain x0 loss would barely train it at
low noise). This is the EDM preconditioning (Karras et al. 2022) for unit data variance,
which the per-channel normalisation gives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F

TRAIN_STEPS = 1000

Network = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def cosine_alpha_bar(steps: int = TRAIN_STEPS, s: float = 0.008) -> np.ndarray:
    """alpha-bar at t = 0..steps-1 of the cosine schedule (Nichol & Dhariwal 2021), with
    each beta clipped at 0.999 as there."""
    f = np.cos((np.arange(steps + 1) / steps + s) / (1 + s) * math.pi / 2) ** 2
    betas = np.clip(1 - f[1:] / f[:-1], 0, 0.999)
    return np.cumprod(1 - betas)


@dataclass
class Known:
    """Values the sample must keep, in normalised feature space: ``mask`` (broadcastable to
    the sample, 1 = keep ``reference``, fractions blend) and ``reference``."""

    mask: torch.Tensor
    reference: torch.Tensor


@dataclass
class LowPass:
    """ILVR guidance: while the timestep is above ``until``, the low frequencies of the
    sample (averaged over ``factor`` frames) are replaced by those of the noised
    ``reference``."""

    reference: torch.Tensor
    factor: int = 2
    until: int = 20


class Diffusion:
    def __init__(self, steps: int = TRAIN_STEPS) -> None:
        self.steps = steps
        self.alpha_bar = torch.as_tensor(cosine_alpha_bar(steps), dtype=torch.float64)

    def _ab(self, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """alpha-bar at timesteps t (B,), shaped to broadcast against ``like`` (B, T, C)."""
        return self.alpha_bar.to(like.device)[t.cpu()].to(like.device, like.dtype).view(-1, 1, 1)

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        ab = self._ab(t, x0)
        return ab.sqrt() * x0 + (1 - ab).sqrt() * noise

    def predict_x0(self, network: Network, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        ab = self._ab(t, x_t)
        return ab.sqrt() * x_t + (1 - ab).sqrt() * network(x_t, t)

    def loss(self, network: Network, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Per-sample loss (B,): the x0 error weighted by 1/(1 - alpha-bar)."""
        x_t = self.q_sample(x0, t, noise)
        ab = self._ab(t, x0)
        target = (x0 - ab.sqrt() * x_t) / (1 - ab).sqrt()
        return (network(x_t, t) - target).pow(2).mean(dim=(1, 2))

    def timesteps(self, count: int) -> list[int]:
        """``count`` timesteps spread evenly over the schedule, from the noisiest down."""
        count = max(1, min(count, self.steps))
        return sorted({int(round(x)) for x in np.linspace(0, self.steps - 1, count)}, reverse=True)

    @torch.no_grad()
    def sample(
        self,
        network: Network,
        shape: tuple[int, int, int],
        steps: int,
        *,
        generator: Optional[torch.Generator] = None,
        device: torch.device | str = "cpu",
        eta: float = 1.0,
        noise: Optional[torch.Tensor] = None,
        known: Optional[Known] = None,
        guide: Optional[LowPass] = None,
        circular: bool = False,
        padding: int = 0,
        on_step: Optional[Callable[[int], None]] = None,
    ) -> torch.Tensor:
        """Draw samples (normalised features) with ``steps`` respaced steps.

        Each step predicts x0, enforces ``known`` values on it, and moves to the next
        timestep with the DDIM update (``eta`` = 1 adds the ancestral amount of fresh
        noise, 0 is deterministic). ``circular`` treats the sequence as a loop by padding
        it with ``padding`` frames from its other end before each network call.
        """
        x = noise if noise is not None else torch.randn(shape, generator=generator, device="cpu")
        x = x.to(device)
        schedule = self.timesteps(steps)
        for i, t in enumerate(schedule):
            t_prev = schedule[i + 1] if i + 1 < len(schedule) else -1
            tt = torch.full((shape[0],), t, dtype=torch.long, device=device)
            x0 = self.predict_x0(_wrapped(network, padding) if circular else network, x, tt)
            if known is not None:
                x0 = known.mask * known.reference + (1 - known.mask) * x0
            if t_prev < 0:
                x = x0
                break
            ab, ab_prev = float(self.alpha_bar[t]), float(self.alpha_bar[t_prev])
            eps = (x - math.sqrt(ab) * x0) / math.sqrt(1 - ab)
            sigma = eta * math.sqrt((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev))
            fresh = torch.randn(x.shape, generator=generator, device="cpu").to(device)
            x = math.sqrt(ab_prev) * x0 + math.sqrt(max(1 - ab_prev - sigma**2, 0.0)) * eps + sigma * fresh
            if guide is not None and t_prev > guide.until:
                ref_noise = torch.randn(x.shape, generator=generator, device="cpu").to(device)
                ref = self.q_sample(guide.reference.expand_as(x), torch.full_like(tt, t_prev), ref_noise)
                x = x - low_pass(x, guide.factor) + low_pass(ref, guide.factor)
            if on_step is not None:
                on_step(i)
        return x


def low_pass(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Average over ``factor`` frames and interpolate back: the slow part of (B, T, C)."""
    if factor <= 1:
        return x
    frames = x.shape[1]
    down = F.avg_pool1d(x.transpose(1, 2), factor, factor, ceil_mode=True, count_include_pad=False)
    return F.interpolate(down, size=frames, mode="linear", align_corners=False).transpose(1, 2)


def _wrapped(network: Network, padding: int) -> Network:
    """The network applied to a sequence closed into a loop."""

    def call(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        pad = min(padding, x.shape[1])
        looped = torch.cat([x[:, -pad:], x, x[:, :pad]], dim=1) if pad else x
        out = network(looped, t)
        return out[:, pad : pad + x.shape[1]] if pad else out

    return call
