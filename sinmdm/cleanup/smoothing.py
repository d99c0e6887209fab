"""Savitzky-Golay smoothing of rotations and positions, as long as a sample needs to be no
jerkier than its clip."""

from __future__ import annotations

from dataclasses import replace
from typing import Optional

import numpy as np
from scipy.ndimage import correlate1d

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
    quat = savitzky_golay(quat, window, SMOOTH_ORDER)
    rotations = quaternion_to_matrix(quat / np.linalg.norm(quat, axis=-1, keepdims=True))
    still = np.setdiff1d(np.arange(motion.skeleton.n_joints), motion.skeleton.rotating_joints)
    rotations[:, still] = motion.rotations[:, still]
    translations = motion.translations.copy()
    moving = motion.skeleton.positioned_joints
    translations[:, moving] = savitzky_golay(motion.translations[:, moving], window, SMOOTH_ORDER)
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


def savitzky_golay(x: np.ndarray, window: int, order: int) -> np.ndarray:
    """``x`` smoothed along its first axis by a Savitzky-Golay filter of odd ``window``
    (at most len(x)) and polynomial ``order``; the first and last half windows take the
    polynomial fitted to the first and last window (scipy.signal's savgol_filter, mode
    "interp", whose module costs half a second of start-up for this one filter)."""
    half = window // 2
    basis = np.vander(np.arange(window, dtype=np.float64) - half, order + 1, increasing=True)
    ends = basis @ np.linalg.pinv(basis)  # row k: the fitted polynomial's value at position k of a window
    out = correlate1d(np.asarray(x, dtype=np.float64), ends[half], axis=0)  # right wherever a whole window fits
    out[:half] = np.tensordot(ends[:half], x[:window], axes=1)
    out[len(x) - half:] = np.tensordot(ends[window - half:], x[-window:], axes=1)
    return out


def odd(n: int) -> int:
    return n if n % 2 else n + 1
