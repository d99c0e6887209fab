"""Bone lengths of keypoint clips: a 3D skeleton's bones should keep the clip's lengths;
a 2D one's change with the view, so their spread is compared with the clip's."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

from ..anim.motion import Motion

SPREAD_FLOOR = 0.01


@dataclass
class BoneLengths:
    median_error: float  # mean over bones of |samples' median length / clip's - 1|
    worst_error: float  # over bones and sample frames, the largest |length / clip's median - 1|
    spread_ratio: float  # mean over bones of the samples' spread (10th to 90th percentile) over the clip's
    # (the clip's taken as at least SPREAD_FLOOR of its median: a rigid 3D bone does not divide by zero)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def bone_lengths(motion: Motion) -> np.ndarray:
    """(F, E) the length of each edge of a keypoint motion, frame by frame."""
    edges = np.array(motion.skeleton.keypoints.edges, dtype=np.int64)
    world = motion.world_positions()
    return np.linalg.norm(world[:, edges[:, 0]] - world[:, edges[:, 1]], axis=-1)


def compare_bones(clips: Sequence[Motion], samples: Sequence[Motion]) -> BoneLengths:
    """The samples' bone lengths against the clips'."""
    clip = np.concatenate([bone_lengths(c) for c in clips])
    ours = np.concatenate([bone_lengths(s) for s in samples])
    median = np.maximum(np.median(clip, axis=0), 1e-12)
    spread = np.maximum(np.subtract(*np.percentile(clip, [90, 10], axis=0)), SPREAD_FLOOR * median)
    return BoneLengths(
        median_error=float(np.mean(np.abs(np.median(ours, axis=0) / median - 1))),
        worst_error=float(np.max(np.abs(ours / median - 1))),
        spread_ratio=float(np.mean(np.subtract(*np.percentile(ours, [90, 10], axis=0)) / spread)),
    )
