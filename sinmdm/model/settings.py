"""A training run's settings. Torch-free, so `sinmdm train --help` shows the defaults
without importing torch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass
class TrainSettings:
    steps: Optional[int] = 1250  # about 6 minutes on a 2-core CPU
    minutes: Optional[float] = None  # a wall-clock budget instead of (or capping) steps
    batch: int = 16
    crop: int = 128  # frames per training crop: about two receptive fields
    lr: float = 1e-3
    warmup: int = 100
    weight_decay: float = 0.01
    ema: float = 0.999
    stretch: float = 0.0  # crops play at a random speed in [1 - stretch, 1 + stretch]
    seed: int = 0
    checkpoint_seconds: float = 60.0
    log_seconds: float = 30.0  # a progress line this often when the output is not a terminal
    width: int = 128
    blocks: int = 8
    window: Optional[int] = None  # frames each block attends to; None: see auto_window
    velocity: float = 10.0  # weight of the alpha-bar-weighted velocity loss
    variance: float = 0.999  # the network works in the clip's principal axes holding this share
    balance: bool = False  # several clips: draw each equally often (default: in proportion to its length)
    plain_ddpm: bool = False  # noise prediction, linear betas, unit scale: a comparison (benchmarks), not a choice
