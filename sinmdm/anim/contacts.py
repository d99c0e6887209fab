"""Foot contacts for any creature: which points touch the floor, and when.

A contact is a *point* of the skeleton (a joint or an End Site: a paw's tip is usually an
End Site), indexed as in :attr:`sinmdm.anim.skeleton.Skeleton.point_names`. Heights are along
the world's up axis (Y; a Z-up file is turned to it, see :mod:`sinmdm.anim.body`), and every
threshold is a fraction of the body size (per second for speeds), so they hold for a crab
and a dragon alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import binary_erosion

from .motion import Motion
from .presets import RigPreset

CONTACT_REACH = 0.04  # a contact point is within this of its planted height...
SPEED_LIMIT = 0.15  # ...and slower than this (body sizes per second)
FLOOR_REACH = 0.12  # a candidate's planted height is within this of the floor
MIN_CONTACT_FRACTION = 0.1  # and it is in contact in at least this share of frames
PLANTED_PERCENTILE = 5.0  # the height a point rests at, robust to a few glitched frames
DRAG_PERCENTILE = 98.0  # of a point's speed along the floor: how fast the clip drags it
DRAG_HOLD_SECONDS = 0.07  # ...over frames it stays down at least this long before and after
DRAG_FLOOR = 0.5  # (of SPEED_LIMIT) a point slower than this is never called dragged
RISE_PERCENTILE = 95.0  # of a point's vertical speed in the clip: how fast a lift may raise it


def point_speeds(positions: np.ndarray, fps: float) -> np.ndarray:
    """(F, K) speed of each point, the last frame repeating the one before."""
    if len(positions) < 2:
        return np.zeros(positions.shape[:2])
    speed = np.linalg.norm(np.diff(positions, axis=0), axis=-1) * fps
    return np.concatenate([speed, speed[-1:]], axis=0)


def contact_labels(motion: Motion, points: list[int]) -> np.ndarray:
    """(F, K) 0/1 contact labels: the point rests near its planted height and barely moves."""
    if not points:
        return np.zeros((motion.n_frames, 0))
    positions = motion.world_points()[:, points]
    return _in_contact(positions, motion.fps, motion.skeleton.size).astype(np.float64)


def planted_heights(motion: Motion, points: list[int]) -> np.ndarray:
    """(K,) the height each point rests at in ``motion`` (a low percentile of its height):
    each its own, as paws and a lying tail rest at different heights, and the floor under
    a mocap stage is rarely at 0."""
    if not points:
        return np.zeros(0)
    return np.percentile(motion.world_points()[:, points, 1], PLANTED_PERCENTILE, axis=0)


def drag_speeds(motion: Motion, points: list[int], planted: np.ndarray) -> np.ndarray:
    """(K,) how fast each point moves across the floor while it stays low (within
    CONTACT_REACH of its ``planted`` height for DRAG_HOLD_SECONDS before and after) in
    ``motion``: the DRAG_PERCENTILE of its horizontal speed over those frames, in units per
    second, and at least DRAG_FLOOR * SPEED_LIMIT body sizes per second. Low for a creature
    that lifts its feet to move them; high for a dancer who slides them."""
    if not points or motion.n_frames < 2:
        return np.zeros(len(points))
    world = motion.world_points()[:, points]
    speed = np.linalg.norm(np.diff(world[..., [0, 2]], axis=0), axis=-1) * motion.fps
    low = world[1:, :, 1] < planted[None] + CONTACT_REACH * motion.skeleton.size
    # A drag keeps the point down: frames near where it touches down or lifts off (moving
    # fast as it crosses the band's edge) are not drags, so they do not count.
    hold = max(1, round(DRAG_HOLD_SECONDS * motion.fps))
    low = binary_erosion(low, structure=np.ones((2 * hold + 1, 1), dtype=bool), border_value=1)
    # Frames that are not low count as infinitely fast: the percentile is then over the
    # low frames only (and infinite for a point never low, which never limits anything).
    ranked = np.sort(np.where(low, speed, np.inf), axis=0)
    count = low.sum(axis=0)
    at = np.clip(np.ceil(DRAG_PERCENTILE / 100 * count).astype(int) - 1, 0, len(speed) - 1)
    drag = np.where(count > 0, ranked[at, np.arange(len(points))], np.inf)
    return np.maximum(drag, DRAG_FLOOR * SPEED_LIMIT * motion.skeleton.size)


@dataclass
class Swings:
    """How low each contact point ever is in the clip when it moves along the floor at
    a given speed or faster: ``floors`` (S, K), above its planted height, at ``speeds``
    (S, K) ascending (units and units per second). A sample's point lower than its floor
    at its speed moves faster than the clip ever moves it at that height: it skates."""

    speeds: np.ndarray
    floors: np.ndarray
    rise: np.ndarray  # (K,) how fast each point rises or falls in the clip (RISE_PERCENTILE, units per second)

    def floor(self, speed: np.ndarray) -> np.ndarray:
        """(F, K) the floor at each point's ``speed`` (F, K), held flat beyond the clip's speeds."""
        return np.stack([np.interp(speed[:, k], self.speeds[:, k], self.floors[:, k]) for k in range(speed.shape[1])], -1)


def floor_speeds(positions: np.ndarray, fps: float) -> np.ndarray:
    """(F, K) speed of each point along the floor (central differences)."""
    if len(positions) < 2:
        return np.zeros(positions.shape[:2])
    return np.linalg.norm(np.gradient(positions[..., [0, 2]], axis=0), axis=-1) * fps


def swing_floors(motion: Motion, points: list[int], planted: np.ndarray) -> Swings:
    """Each point's :class:`Swings` in ``motion``: at each of its speeds along the floor,
    the lowest it is (above ``planted`` (K,)) over the frames it moves that fast or
    faster, so the floor never falls as the speed rises."""
    world = motion.world_points()[:, points]
    speed = floor_speeds(world, motion.fps)
    height = world[..., 1] - planted[None]
    order = np.argsort(speed, axis=0, kind="stable")
    ranked = np.take_along_axis(speed, order, axis=0)
    lowest = np.minimum.accumulate(np.take_along_axis(height, order, axis=0)[::-1], axis=0)[::-1]
    vertical = np.abs(np.gradient(height, axis=0)) * motion.fps if len(height) > 1 else np.zeros_like(height)
    return Swings(speeds=ranked, floors=lowest, rise=np.percentile(vertical, RISE_PERCENTILE, axis=0))


def _in_contact(positions: np.ndarray, fps: float, size: float) -> np.ndarray:
    """(F, K) whether each point is low (near its planted height) and slow."""
    y = positions[..., 1]
    planted = np.percentile(y, PLANTED_PERCENTILE, axis=0)
    low = y < planted + CONTACT_REACH * size
    slow = point_speeds(positions, fps) < SPEED_LIMIT * size
    return low & slow


def detect_contacts(motion: Motion) -> list[int]:
    """Points that rest on the ground in the clip, the most distal of each chain.

    A point qualifies when it is in contact (low near its own planted height and slow) in
    at least MIN_CONTACT_FRACTION of the frames, and rests low on the body: over its
    contact frames, at the PLANTED_PERCENTILE of its height above the body's lowest point
    in the same frame, it is within FLOOR_REACH of it. Measured frame by frame, so a paw
    counts when the dog stands on it even if, lying, its elbows sink lower (mocap floors
    are not flat, and every contact rests at a height of its own). Of a chain of
    qualifying points (a wrist, its paw's End Site) only the most distal is kept. An
    in-place clip (feet slide back under a still root) has no slow frames at its feet, so
    where no point is ever both slow and low on the body, low is enough.
    """
    skeleton = motion.skeleton
    size = skeleton.size
    world = motion.world_points()
    height = world[..., 1]
    above_lowest = height - height.min(axis=1, keepdims=True)
    planted = np.percentile(height, PLANTED_PERCENTILE, axis=0)
    low = height < planted + CONTACT_REACH * size
    # An End Site at its joint's own position (Truebones writes many) adds nothing to it.
    distinct = np.linalg.norm(skeleton.point_offsets(np.arange(skeleton.n_points)), axis=-1) > 1e-6 * size
    distinct[: skeleton.n_joints] = True
    found = np.zeros(skeleton.n_points, dtype=bool)
    for down in (low & (point_speeds(world, motion.fps) < SPEED_LIMIT * size), low):  # in place: low only
        often = down.mean(axis=0) >= MIN_CONTACT_FRACTION
        # The PLANTED_PERCENTILE of each point's height above the lowest, over the frames
        # it is down (the others sort last as infinite).
        ranked = np.sort(np.where(down, above_lowest, np.inf), axis=0)
        at = np.clip(np.ceil(PLANTED_PERCENTILE / 100 * down.sum(axis=0)).astype(int) - 1, 0, None)
        resting = ranked[at, np.arange(skeleton.n_points)]
        found = often & (resting < FLOOR_REACH * size) & distinct
        if found.any():
            break
    # A point whose descendant also qualifies is not the end of its chain.
    above = np.zeros_like(found)
    for point in np.flatnonzero(found).tolist():  # up each found point's line of ancestors
        parent = int(skeleton.point_parents[point])
        while parent >= 0:
            above[parent] = True
            parent = int(skeleton.point_parents[parent])
    return np.flatnonzero(found & ~above).tolist()


def choose_contacts(
    motion: Motion, names: list[str] | None = None, preset: RigPreset | None = None
) -> tuple[list[int], str]:
    """Contact points and where they came from: the user's names, else the rig preset's,
    else detected from the clip."""
    skeleton = motion.skeleton
    if names:
        return [skeleton.point_index(n) for n in names], "given"
    if preset is not None and preset.contacts:
        return preset.contact_points(skeleton), f"preset {preset.name}"
    return detect_contacts(motion), "detected"
