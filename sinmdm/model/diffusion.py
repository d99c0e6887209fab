"""Gaussian diffusion in torch on normalised motion features: the x0 training loss and the
sampling loop, both under a :class:`~sinmdm.diffusion.config.DiffusionConfig` (the step
itself is :class:`~sinmdm.diffusion.scheduler.DDIMScheduler`, shared with onnxruntime).

The network predicts the clean sample x0 and is trained with an MSE on it (as SinMDM),
plus an alpha-bar-weighted MSE on its frame-to-frame differences. Why x0 and why the
signal is scaled down: docs/decisions.md."""

from __future__ import annotations

from typing import Callable, Optional

import torch
import torch.nn.functional as F

from ..diffusion.config import DiffusionConfig
from ..diffusion.scheduler import DDIMScheduler, Known, LowPass, add_noise

Network = Callable[..., torch.Tensor]  # (x_t, t) -> x0, or (x_t, t, labels) -> x0


class Diffusion:
    """All inputs and outputs are in normalised feature units; the scaling by the config's
    ``signal_scale`` happens inside."""

    def __init__(self, config: Optional[DiffusionConfig] = None) -> None:
        self.config = config or DiffusionConfig()
        self.steps = self.config.train_steps
        self.scale = self.config.signal_scale
        self.alpha_bar = torch.as_tensor(self.config.alpha_bar(), dtype=torch.float64)

    def _ab(self, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """alpha-bar at timesteps t (B,), shaped to broadcast against ``like`` (B, T, C)."""
        return self.alpha_bar[t.cpu()].to(like.device, like.dtype).view(-1, 1, 1)

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """The noisy network input at t for clean features x0 (normalised units)."""
        return add_noise(torch, self._ab(t, x0), self.scale, x0, noise)

    def predict_x0(
        self, network: Network, x_t: torch.Tensor, t: torch.Tensor, labels: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """The network's clean features (normalised units) from the noisy input x_t
        (``labels`` (B, T): each frame's clip, for a network of several); a noise-predicting
        network's prediction is turned into it."""
        out = network(x_t, t) if labels is None else network(x_t, t, labels)
        if self.config.prediction == "eps":
            ab = self._ab(t, x_t)
            return (x_t - (1 - ab).sqrt() * out) / (ab.sqrt() * self.scale)
        return out / self.scale

    def loss(
        self,
        network: Network,
        x0: torch.Tensor,
        t: torch.Tensor,
        noise: torch.Tensor,
        velocity: float = 0.0,
        weights: Optional[torch.Tensor] = None,
        labels: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Per-sample loss (B,) in normalised units: the MSE of the predicted x0, plus
        ``velocity`` times the MSE of its frame-to-frame differences weighted by alpha-bar,
        so that clean-ish inputs, where jitter shows, are pushed to vary as the clip does
        and noisy ones are not over-penalised. ``weights`` (B, T) weigh the frames, or (B, T,
        C) each value (0: missing from the clip, left out). A noise-predicting network is
        trained on the MSE of the noise alone, as plain DDPM."""
        weights = torch.ones(x0.shape[:2], dtype=x0.dtype, device=x0.device) if weights is None else weights
        x_t = self.q_sample(x0, t, noise)
        if weights.dim() == 3:
            return self._value_loss(network, x0, x_t, t, noise, velocity, weights, labels)
        if self.config.prediction == "eps":
            eps = network(x_t, t) if labels is None else network(x_t, t, labels)
            return ((eps - noise).pow(2).mean(dim=2) * weights).mean(dim=1)
        pred = self.predict_x0(network, x_t, t, labels)
        loss = ((pred - x0).pow(2).mean(dim=2) * weights).mean(dim=1)
        if velocity and x0.shape[1] > 1:
            step_error = (pred.diff(dim=1) - x0.diff(dim=1)).pow(2).mean(dim=2)
            step_weights = (weights[:, 1:] + weights[:, :-1]) / 2
            loss = loss + velocity * self._ab(t, x0).view(-1) * (step_error * step_weights).mean(dim=1)
        return loss

    def _value_loss(
        self, network: Network, x0: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor, noise: torch.Tensor,
        velocity: float, weights: torch.Tensor, labels: Optional[torch.Tensor],
    ) -> torch.Tensor:
        """:meth:`loss` with a weight per value (B, T, C); a step between frames counts
        where both its values are known."""
        if self.config.prediction == "eps":
            eps = network(x_t, t) if labels is None else network(x_t, t, labels)
            return ((eps - noise).pow(2) * weights).mean(dim=(1, 2))
        pred = self.predict_x0(network, x_t, t, labels)
        loss = ((pred - x0).pow(2) * weights).mean(dim=(1, 2))
        if velocity and x0.shape[1] > 1:
            both = (weights[:, 1:] > 0) & (weights[:, :-1] > 0)
            step_weights = (weights[:, 1:] + weights[:, :-1]) / 2 * both
            step_error = (pred.diff(dim=1) - x0.diff(dim=1)).pow(2) * step_weights
            loss = loss + velocity * self._ab(t, x0).view(-1) * step_error.mean(dim=(1, 2))
        return loss

    def timesteps(self, count: int) -> list[int]:
        """``count`` timesteps spread evenly over the schedule, from the noisiest down."""
        scheduler = DDIMScheduler(self.config, torch)
        scheduler.set_timesteps(count)
        return scheduler.timesteps

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
        labels: Optional[torch.Tensor] = None,
        on_step: Optional[Callable[[int], None]] = None,
    ) -> torch.Tensor:
        """Draw samples (normalised features) with ``steps`` respaced steps of
        :meth:`DDIMScheduler.step`. ``circular`` treats the sequence as a loop by padding
        it with ``padding`` frames from its other end before each network call. Noise is
        drawn on the CPU from ``generator``, so a seed gives the same sample on any device.
        ``labels`` (B, T) tell a network of several clips each frame's clip."""
        x = noise if noise is not None else torch.randn(shape, generator=generator, device="cpu")
        x = x.to(device)
        scheduler = DDIMScheduler(self.config, torch, eta)
        scheduler.set_timesteps(steps)
        model = _wrapped(network, padding) if circular else network
        labels = None if labels is None else labels.to(device)

        def predict(x_t: torch.Tensor, t: int) -> torch.Tensor:
            return self.predict_x0(model, x_t, torch.full((shape[0],), t, dtype=torch.long, device=device), labels)

        def draw() -> torch.Tensor:
            return torch.randn(x.shape, generator=generator, device="cpu").to(device)

        wrap = 2 * guide.factor if circular and guide is not None else 0  # a loop's slow motion runs on across its seam
        return scheduler.denoise(predict, x, draw, known=known, guide=guide, low_pass=low_pass, wrap=wrap, on_step=on_step)


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

    def call(x: torch.Tensor, t: torch.Tensor, *labels: torch.Tensor) -> torch.Tensor:
        pad = min(padding, x.shape[1])
        if pad:
            x = torch.cat([x[:, -pad:], x, x[:, :pad]], dim=1)
            labels = tuple(torch.cat([y[:, -pad:], y, y[:, :pad]], dim=1) for y in labels)
        out = network(x, t, *labels)
        return out[:, pad : out.shape[1] - pad] if pad else out

    return call
