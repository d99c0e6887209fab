"""Foot contacts for any creature: which joints touch the floor, and when.

Y is up, as in every BVH convention we know of. All thresholds are fractions of the
skeleton height (per second for speeds), so they hold for a crab and a dragon alike.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import binary_erosion

from .motion import Motion
from .presets import RigPreset

HEIGHT_MARGIN = 0.04  # a contact joint is within this of its planted height...
SPEED_LIMIT = 0.15  # ...and slower than this (heights per second)
FLOOR_REACH = 0.12  # a candidate's planted height is within this of the floor
MIN_CONTACT_FRACTION = 0.1  # and it is in contact in at least this share of frames
PLANTED_PERCENTILE = 5.0  # the height a joint rests at, robust to a few glitched frames
DRAG_PERCENTILE = 98.0  # of a joint's speed along the floor: how fast the clip drags it
DRAG_HOLD_SECONDS = 0.07  # ...over frames it stays down at least this long before and after
DRAG_FLOOR = 0.5  # (of SPEED_LIMIT) a joint slower than this is never called dragged


def joint_speeds(positions: np.ndarray, fps: float) -> np.ndarray:
    """(F, K) speed of each joint, the last frame repeating the one before."""
    if len(positions) < 2:
        return np.zeros(positions.shape[:2])
    speed = np.linalg.norm(np.diff(positions, axis=0), axis=-1) * fps
    return np.concatenate([speed, speed[-1:]], axis=0)


def contact_labels(motion: Motion, joints: list[int]) -> np.ndarray:
    """(F, K) 0/1 contact labels: the joint rests near its planted height and barely moves."""
    if not joints:
        return np.zeros((motion.n_frames, 0))
    positions = motion.world_positions()[:, joints]
    return _in_contact(positions, motion.fps, motion.skeleton.height).astype(np.float64)


def planted_heights(motion: Motion, joints: list[int]) -> np.ndarray:
    """(K,) the height each joint rests at in ``motion`` (a low percentile of its Y)."""
    if not joints:
        return np.zeros(0)
    return np.percentile(motion.world_positions()[:, joints, 1], PLANTED_PERCENTILE, axis=0)


def drag_speeds(motion: Motion, joints: list[int], planted: np.ndarray) -> np.ndarray:
    """(K,) how fast each joint moves across the floor while it stays low (within
    HEIGHT_MARGIN of its ``planted`` height for DRAG_HOLD_SECONDS before and after) in
    ``motion``: the DRAG_PERCENTILE of its horizontal speed over those frames, in units per
    second, and at least DRAG_FLOOR * SPEED_LIMIT heights per second. Low for a creature
    that lifts its feet to move them; high for a dancer who slides them."""
    if not joints or motion.n_frames < 2:
        return np.zeros(len(joints))
    world = motion.world_positions()[:, joints]
    speed = np.linalg.norm(np.diff(world[..., [0, 2]], axis=0), axis=-1) * motion.fps
    low = world[1:, :, 1] < planted[None] + HEIGHT_MARGIN * motion.skeleton.height
    # A drag keeps the joint down: frames near where it touches down or lifts off (moving
    # fast as it crosses the band's edge) are not drags, so they do not count.
    hold = max(1, round(DRAG_HOLD_SECONDS * motion.fps))
    low = binary_erosion(low, structure=np.ones((2 * hold + 1, 1), dtype=bool), border_value=1)
    # Frames that are not low count as infinitely fast: the percentile is then over the
    # low frames only (and infinite for a joint never low, which never limits anything).
    ranked = np.sort(np.where(low, speed, np.inf), axis=0)
    count = low.sum(axis=0)
    at = np.clip(np.ceil(DRAG_PERCENTILE / 100 * count).astype(int) - 1, 0, len(speed) - 1)
    drag = np.where(count > 0, ranked[at, np.arange(len(joints))], np.inf)
    return np.maximum(drag, DRAG_FLOOR * SPEED_LIMIT * motion.skeleton.height)


def _in_contact(positions: np.ndarray, fps: float, height: float) -> np.ndarray:
    y = positions[..., 1]
    planted = np.percentile(y, PLANTED_PERCENTILE, axis=0)
    low = y < planted + HEIGHT_MARGIN * height
    slow = joint_speeds(positions, fps) < SPEED_LIMIT * height
    return low & slow


def detect_contact_joints(motion: Motion) -> list[int]:
    """End effectors that come down to the floor and stay still there for a while.

    Candidates are the joints without child joints (every limb ends in one); the floor is
    the lowest planted height among them. A candidate qualifies when its planted height is
    near the floor and it is in contact (low and slow) in at least 10% of the frames. An
    in-place clip (feet slide back under a still root) has no slow frames, so there the
    candidates near the floor that are low often enough are taken.
    """
    skeleton = motion.skeleton
    height = skeleton.height
    leaves = np.array([j for j in range(skeleton.n_joints) if not skeleton.children[j]], dtype=np.int64)
    tips = motion.world_positions()[:, leaves]
    planted = np.percentile(tips[..., 1], PLANTED_PERCENTILE, axis=0)
    near_floor = planted < planted.min() + FLOOR_REACH * height
    contact = _in_contact(tips, motion.fps, height).mean(axis=0) >= MIN_CONTACT_FRACTION
    if not np.any(near_floor & contact):
        low = tips[..., 1] < planted + HEIGHT_MARGIN * height
        contact = low.mean(axis=0) >= MIN_CONTACT_FRACTION
    return leaves[near_floor & contact].tolist()


def choose_contact_joints(
    motion: Motion, names: list[str] | None = None, preset: RigPreset | None = None
) -> tuple[list[int], str]:
    """Contact joints and where they came from: the user's names, else the rig preset's,
    else detected from the clip."""
    skeleton = motion.skeleton
    if names:
        return [skeleton.index(n) for n in names], "given"
    if preset is not None and preset.contacts:
        return preset.contact_joints(skeleton), f"preset {preset.name}"
    return detect_contact_joints(motion), "detected"
