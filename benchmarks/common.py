"""What the benchmark scripts share: the checkout on ``sys.path`` (so they run from a
checkout without installing), where the real clips are, and the clips the quality
benchmarks train on."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLIPS = {
    "salsa": "mixamo/Salsa-Dancing-6.bvh",
    "crab": "truebones/Crab-dance-long.bvh",
    "chicken": "truebones/Chicken_IdlePecking.bvh",
}


def data_dir() -> Path:
    """``$SINMDM_DATA`` or ``../shared/data`` beside the checkout; exits without them."""
    for c in (os.environ.get("SINMDM_DATA"), ROOT.parent / "shared" / "data"):
        if c and Path(c).is_dir():
            return Path(c)
    sys.exit("real clips not found: set SINMDM_DATA")
