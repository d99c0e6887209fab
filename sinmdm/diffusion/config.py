"""How a model was trained and so how it must be sampled: saved in every checkpoint and
ONNX sidecar, and read back by every sampler."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..base.errors import SinmdmError
from .schedule import cosine_alpha_bar, linear_alpha_bar


@dataclass(frozen=True)
class DiffusionConfig:
    """``signal_scale`` multiplies the normalised features before noise is added: a frame
    has hundreds of correlated channels, so at unit scale the clip shows through almost any
    noise and every generative decision is squeezed into the last steps (Chen 2023). The
    reasons for 0.12: docs/decisions.md. :data:`PLAIN_DDPM` (noise prediction on linear
    betas at unit scale) is there to compare with, not to use."""

    train_steps: int = 1000
    signal_scale: float = 0.12
    schedule: str = "cosine"
    prediction: str = "x0"

    def __post_init__(self) -> None:
        if self.schedule not in ("cosine", "linear") or self.prediction not in ("x0", "eps"):
            raise SinmdmError(
                f"unsupported diffusion: {self.schedule} schedule predicting {self.prediction} "
                "(this version samples cosine or linear schedules predicting x0 or the noise)"
            )
        if self.train_steps < 2 or not self.signal_scale > 0:
            raise SinmdmError(f"invalid diffusion settings: {self.to_dict()}")

    def alpha_bar(self) -> np.ndarray:
        """alpha-bar at t = 0 .. train_steps - 1, in float64."""
        return (cosine_alpha_bar if self.schedule == "cosine" else linear_alpha_bar)(self.train_steps)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "DiffusionConfig":
        """``None`` (a checkpoint written before the config was saved) is the default,
        which is what such checkpoints were trained with."""
        if data is None:
            return cls()
        known = {k: data[k] for k in ("train_steps", "signal_scale", "schedule", "prediction") if k in data}
        return cls(int(known.pop("train_steps", 1000)), float(known.pop("signal_scale", 0.12)), **known)


PLAIN_DDPM = DiffusionConfig(signal_scale=1.0, schedule="linear", prediction="eps")
