"""The one ramp every blend uses."""

from __future__ import annotations

import numpy as np


def ease(x: np.ndarray) -> np.ndarray:
    """0 -> 1 with zero slope at both ends (a half cosine), clamped outside [0, 1]."""
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(x, 0.0, 1.0))
