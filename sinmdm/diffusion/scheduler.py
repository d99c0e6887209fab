"""The sampler step, written once for torch tensors and numpy arrays (in the style of the
diffusers schedulers: ``set_timesteps``, then ``step`` per network call). The torch loop
(:mod:`sinmdm.model.diffusion`) and the onnxruntime one (:mod:`sinmdm.sampling.onnx_sampler`)
differ only in how they call the network, draw noise and low-pass a sequence."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Optional

from .config import DiffusionConfig
from .schedule import ddim_coefficients, respaced

Array = Any  # a torch.Tensor or a numpy array: only arithmetic, indexing and xp.sqrt are used
LowPassFn = Callable[[Array, int, int], Array]  # (x, factor, wrap) -> the slow part of x


@dataclass
class Known:
    """Values the sample must keep (inpainting): ``mask`` (broadcastable to the sample;
    1 keeps ``reference``, fractions blend) and ``reference``, in normalised units.
    ``project``, when given, then maps every clean prediction onto a constraint that is
    no fixed value (say, a heading the root must keep whatever its tilt)."""

    mask: Array
    reference: Array
    project: Optional[Callable[[Array], Array]] = None


@dataclass
class LowPass:
    """ILVR guidance: while the next timestep is above ``until``, the sample's frequencies
    slower than ``factor`` frames are replaced by those of the noised ``reference``.
    ``weight`` (broadcastable to the sample, from 0 to 1; None is 1 everywhere) says how
    much of them each frame takes: where it is 0, the model moves freely."""

    reference: Array
    factor: int = 2
    until: int = 20
    weight: Optional[Array] = None


def add_noise(xp: Any, alpha_bar: Array, signal_scale: float, x0: Array, noise: Array) -> Array:
    """The noisy input at alpha-bar ``alpha_bar`` (an array of the sample's type and
    precision, broadcastable) for clean normalised features ``x0``."""
    return xp.sqrt(alpha_bar) * signal_scale * x0 + xp.sqrt(1 - alpha_bar) * noise


class DDIMScheduler:
    """Respaced DDIM on an x0-predicting model. ``xp`` is the array module (torch or
    numpy); ``eta`` = 1 adds the ancestral amount of fresh noise, 0 is deterministic."""

    def __init__(self, config: DiffusionConfig, xp: Any, eta: float = 1.0) -> None:
        self.config, self.xp, self.eta = config, xp, eta
        self.alpha_bar64 = config.alpha_bar()  # the update's coefficients, as Python floats
        self.alpha_bar = xp.asarray(self.alpha_bar64, dtype=xp.float32)  # noising, in the sample's precision
        self.timesteps: list[int] = []

    def set_timesteps(self, count: int) -> None:
        """``count`` timesteps spread evenly over the schedule, from the noisiest down."""
        self.timesteps = respaced(count, self.config.train_steps)

    def step(
        self,
        x0: Array,
        index: int,
        sample: Array,
        draw: Callable[[], Array],
        *,
        known: Optional[Known] = None,
        guide: Optional[LowPass] = None,
        low_pass: Optional[LowPassFn] = None,
        wrap: int = 0,
    ) -> Array:
        """The sample at the next timestep, from the sample at ``timesteps[index]`` and the
        network's clean prediction ``x0`` (normalised units); after the last timestep, x0
        itself. ``draw`` returns fresh standard noise of the sample's shape; ``guide``
        needs ``low_pass``; ``wrap`` is the frames a loop is seen with across its seam."""
        if known is not None:
            x0 = known.mask * known.reference + (1 - known.mask) * x0
            if known.project is not None:
                x0 = known.project(x0)
        if index + 1 >= len(self.timesteps):
            return x0
        t, t_prev = self.timesteps[index], self.timesteps[index + 1]
        ab = float(self.alpha_bar64[t])
        signal, noise_share, sigma = ddim_coefficients(ab, float(self.alpha_bar64[t_prev]), self.eta)
        # The update runs in the scaled space the noise lives in.
        z0 = self.config.signal_scale * x0
        eps = (sample - math.sqrt(ab) * z0) / math.sqrt(1 - ab)
        x = signal * z0 + noise_share * eps + sigma * draw()
        if guide is not None and t_prev > guide.until:
            assert low_pass is not None, "low-pass guidance needs a low_pass function"
            ref = add_noise(self.xp, self.alpha_bar[t_prev], self.config.signal_scale, guide.reference, draw())
            if guide.weight is None:
                x = x - low_pass(x, guide.factor, wrap) + low_pass(ref, guide.factor, wrap)
            else:
                x = x + guide.weight * (low_pass(ref, guide.factor, wrap) - low_pass(x, guide.factor, wrap))
        return x

    def denoise(
        self,
        predict: Callable[[Array, int], Array],
        sample: Array,
        draw: Callable[[], Array],
        *,
        known: Optional[Known] = None,
        guide: Optional[LowPass] = None,
        low_pass: Optional[LowPassFn] = None,
        wrap: int = 0,
        on_step: Optional[Callable[[int], None]] = None,
    ) -> Array:
        """The whole loop from the noise ``sample``: ``predict(x, t)`` is the network's x0;
        ``on_step(i)`` is called after every step but the last."""
        for i, t in enumerate(self.timesteps):
            sample = self.step(predict(sample, t), i, sample, draw, known=known, guide=guide, low_pass=low_pass, wrap=wrap)
            if on_step is not None and i + 1 < len(self.timesteps):
                on_step(i)
        return sample
