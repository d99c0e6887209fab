"""Savitzky-Golay smoothing of rotations and positions, as long as a sample needs to be no
jerkier than its clip."""

from __future__ import annotations

from dataclasses import replace
from typing import Optional

import numpy as np
from scipy.signal import savgol_filter

from ..anim.motion import Motion
from ..anim.rotations import matrix_to_quaternion, quaternion_to_matrix
from ..evaluation.metrics import jerk

SMOOTH_SECONDS = (0.1, 0.15, 0.2, 0.3)  # Savitzky-Golay windows: the shortest that...
SMOOTH_AIM = 0.9  # ...leaves a sample no jerkier than this share of the clip (IK adds some back)
SMOOTH_ORDER = 3
LAST_SMOOTH_SECONDS = (0.15, 0.2)  # the smoothing after the last IK pass, where it is needed


def smooth(motion: Motion, seconds: float = SMOOTH_SECONDS[-1]) -> Motion:
    """Savitzky-Golay smoothing of every rotation and position channel over time."""
    window = odd(round(seconds * motion.fps))
    if motion.n_frames <= window or window <= SMOOTH_ORDER:
        return motion
    quat = matrix_to_quaternion(motion.rotations)  # (F, J, 4)
    # q and -q are one rotation: flip signs so each joint's quaternion is continuous.
    flip = np.cumsum((quat[1:] * quat[:-1]).sum(-1) < 0, axis=0) % 2 == 1
    quat[1:][flip] *= -1
    quat = savgol_filter(quat, window, SMOOTH_ORDER, axis=0, mode="interp")
    rotations = quaternion_to_matrix(quat / np.linalg.norm(quat, axis=-1, keepdims=True))
    still = np.setdiff1d(np.arange(motion.skeleton.n_joints), motion.skeleton.rotating_joints)
    rotations[:, still] = motion.rotations[:, still]
    translations = motion.translations.copy()
    moving = motion.skeleton.positioned_joints
    translations[:, moving] = savgol_filter(motion.translations[:, moving], window, SMOOTH_ORDER, axis=0, mode="interp")
    return replace(motion, rotations=rotations, translations=translations)


def smoothing(
    motion: Motion, jerk_limit: Optional[float], windows: tuple[float, ...] = SMOOTH_SECONDS
) -> tuple[float, Motion]:
    """The smoothing window for ``motion`` and ``motion`` smoothed with it: the shortest of
    ``windows`` (seconds) whose result is less jerky than SMOOTH_AIM * ``jerk_limit`` (the
    clip's own jerk, see :func:`sinmdm.evaluation.metrics.jerk`), else the longest. A sample as smooth
    as its clip keeps its sharp motion; a jittery one is smoothed as much as it needs."""
    for seconds in windows[:-1] if jerk_limit is not None else ():
        smoothed = smooth(motion, seconds)
        if jerk(smoothed) <= SMOOTH_AIM * jerk_limit:
            return seconds, smoothed
    return windows[-1], smooth(motion, windows[-1])


def odd(n: int) -> int:
    return n if n % 2 else n + 1
