"""Gaussian diffusion on normalised motion features: cosine schedule, x0 prediction, a
respaced sampler, and the hooks the editing applications need.

The network predicts the clean sample x0 directly and is trained with an MSE on it (as
SinMDM), optionally plus an alpha-bar-weighted MSE on its frame-to-frame differences.
One change matters a lot: the normalised features are multiplied by
``signal_scale`` (0.12) before noise is added. A frame has hundreds of strongly
correlated channels and the model sees many frames at once, so at unit scale the clip is
recognisable through almost any noise level and the whole generative decision is
squeezed into the last few percent of the schedule. Scaling the signal down shifts the
schedule's signal-to-noise ratio (Chen 2023, "On the importance of noise scheduling").
Measured on Salsa (4 CPU minutes each): jerk ratio 6.0 at scale 1, 3.4 at 0.3, 1.4 at
0.12; sliding ratio 2.0, 1.7, 1.2. An EDM-style skip (x0 = sqrt(a) x_t + sqrt(1-a) F)
was far worse (jerk ratio 70): the 128-wide network cannot cancel noise in all ~400
feature channels, so the skip passes it through. Even in the clip's principal subspace
(where that network denoises each level better than plain x0 prediction) EDM-style
preconditioning sampled with a jerk ratio of 26 on the chicken clip, against 1.6.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import torch
import torch.nn.functional as F

from .schedule import SIGNAL_SCALE, TRAIN_STEPS, cosine_alpha_bar, ddim_coefficients, respaced

Network = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


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
    """All inputs and outputs are in normalised feature units; the scaling by
    ``signal_scale`` happens inside."""

    def __init__(self, steps: int = TRAIN_STEPS, signal_scale: float = SIGNAL_SCALE) -> None:
        self.steps = steps
        self.scale = signal_scale
        self.alpha_bar = torch.as_tensor(cosine_alpha_bar(steps), dtype=torch.float64)

    def _ab(self, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """alpha-bar at timesteps t (B,), shaped to broadcast against ``like`` (B, T, C)."""
        return self.alpha_bar[t.cpu()].to(like.device, like.dtype).view(-1, 1, 1)

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """The noisy network input at t for clean features x0 (normalised units)."""
        ab = self._ab(t, x0)
        return ab.sqrt() * self.scale * x0 + (1 - ab).sqrt() * noise

    def predict_x0(self, network: Network, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The network's clean features (normalised units) from the noisy input x_t."""
        return network(x_t, t) / self.scale

    def loss(
        self,
        network: Network,
        x0: torch.Tensor,
        t: torch.Tensor,
        noise: torch.Tensor,
        velocity: float = 0.0,
        weights: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Per-sample loss (B,) in normalised units: the MSE of the predicted x0, plus
        ``velocity`` times the MSE of its frame-to-frame differences weighted by alpha-bar,
        so that clean-ish inputs, where jitter shows, are pushed to vary as the clip does
        and noisy ones are not over-penalised. ``weights`` (B, T) weigh the frames."""
        pred = self.predict_x0(network, self.q_sample(x0, t, noise), t)
        weights = torch.ones(x0.shape[:2], dtype=x0.dtype, device=x0.device) if weights is None else weights
        loss = ((pred - x0).pow(2).mean(dim=2) * weights).mean(dim=1)
        if velocity and x0.shape[1] > 1:
            step_error = (pred.diff(dim=1) - x0.diff(dim=1)).pow(2).mean(dim=2)
            step_weights = (weights[:, 1:] + weights[:, :-1]) / 2
            loss = loss + velocity * self._ab(t, x0).view(-1) * (step_error * step_weights).mean(dim=1)
        return loss

    def timesteps(self, count: int) -> list[int]:
        """``count`` timesteps spread evenly over the schedule, from the noisiest down."""
        return respaced(count, self.steps)

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
        model = _wrapped(network, padding) if circular else network
        for i, t in enumerate(schedule):
            t_prev = schedule[i + 1] if i + 1 < len(schedule) else -1
            tt = torch.full((shape[0],), t, dtype=torch.long, device=device)
            x0 = self.predict_x0(model, x, tt)
            if known is not None:
                x0 = known.mask * known.reference + (1 - known.mask) * x0
            if t_prev < 0:
                x = x0
                break
            # DDIM step in the scaled space the noise lives in.
            ab = float(self.alpha_bar[t])
            signal, noise_share, sigma = ddim_coefficients(ab, float(self.alpha_bar[t_prev]), eta)
            z0 = self.scale * x0
            eps = (x - math.sqrt(ab) * z0) / math.sqrt(1 - ab)
            fresh = torch.randn(x.shape, generator=generator, device="cpu").to(device)
            x = signal * z0 + noise_share * eps + sigma * fresh
            if guide is not None and t_prev > guide.until:
                ref_noise = torch.randn(x.shape, generator=generator, device="cpu").to(device)
                ref = self.q_sample(guide.reference.expand_as(x), torch.full_like(tt, t_prev), ref_noise)
                wrap = 2 * guide.factor if circular else 0  # a loop's slow motion runs on across its seam
                x = x - low_pass(x, guide.factor, wrap) + low_pass(ref, guide.factor, wrap)
            if on_step is not None:
                on_step(i)
        return x


def low_pass(x: torch.Tensor, factor: int, wrap: int = 0) -> torch.Tensor:
    """Average over ``factor`` frames and interpolate back: the slow part of (B, T, C).
    ``wrap`` > 0 treats the sequence as a loop, seen with that many frames of its other
    end on each side."""
    if factor <= 1:
        return x
    if wrap:
        wrap = min(wrap, x.shape[1])
        looped = torch.cat([x[:, -wrap:], x, x[:, :wrap]], dim=1)
        return low_pass(looped, factor)[:, wrap : wrap + x.shape[1]]
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
