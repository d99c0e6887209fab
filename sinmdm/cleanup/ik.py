"""Inverse kinematics for any limb: a two-bone solve generalised to chains, batched over
frames, with soft reach and the clip's bend side."""

from __future__ import annotations

from dataclasses import replace
from typing import Optional

import numpy as np

from ..anim.motion import Motion
from ..anim.rotations import axis_angle_matrix
from ..anim.skeleton import Skeleton
from .limbs import Bend, angle

# IK: point, chain, bend, targets (F, 3), and how far (F,) in [0, 1] to take the point from where it is to them
Step = tuple[int, list[int], Optional[Bend], np.ndarray, np.ndarray]


def solve_ik(
    motion: Motion, point: int, chain: list[int], bend: Optional[Bend], target: np.ndarray, active: np.ndarray
) -> Motion:
    """Bend and swing the ``chain`` so ``point`` (a joint or an End Site) reaches ``target``
    (F, 3) on the ``active`` frames (F,) bool, batched over those frames.

    Two-bone IK generalised to any chain: the ``bend`` joint bends in the plane the limb
    already bends in (so a knee stays a hinge), to the side its hinge says, until the
    limb's reach equals the distance to the target (law of cosines); then the chain's
    first joint swings the limb by the smallest rotation that points it at the target.
    Exact for targets the limb reaches bent no straighter than the clip bends it; beyond
    that the reach is eased (soft IK): the limb falls short of a far target rather than
    snapping straight.
    A chain of one joint only swings.
    """
    if not chain or not active.any():
        return motion
    skeleton = motion.skeleton
    frames = np.flatnonzero(active)
    rotations = motion.rotations.copy()
    local = rotations[frames]
    trans = motion.translations[frames]
    parent = int(skeleton.parents[chain[0]])
    # The limb hangs from ``parent``: its world transform, from the root down (not the
    # whole skeleton's forward kinematics, which was most of cleanup's time).
    lineage = _path(skeleton, int(np.flatnonzero(skeleton.parents < 0)[0]), parent)
    world = np.broadcast_to(skeleton.frame, (len(frames), 3, 3))
    lineage_rot, lineage_pos = _chain_fk(local, trans, lineage, world, np.zeros((len(frames), 3)))
    parent_rot, parent_pos = lineage_rot[:, -1], lineage_pos[:, -1]
    joint = skeleton.joint_of(point)
    path = _path(skeleton, chain[0], joint)  # chain[0] .. joint, every joint on the way
    end_site = skeleton.point_offsets([point])[0] if point != joint else None  # its offset from ``joint``
    goal = target[frames]

    def fk():
        rot, pos = _chain_fk(local, trans, path, parent_rot, parent_pos)
        if end_site is not None:
            pos = np.concatenate([pos, (pos[:, -1] + rot[:, -1] @ end_site)[:, None]], axis=1)
        return rot, pos

    def turn_joint(at: int, turn: np.ndarray, world_rot: np.ndarray) -> None:
        above = world_rot[:, at - 1] if at > 0 else parent_rot
        # World rotation turn @ W_j, written as a local rotation under the same parent.
        local[:, path[at]] = np.swapaxes(above, -1, -2) @ turn @ above @ local[:, path[at]]

    if bend is not None:
        world_rot, world_pos = fk()
        knee = path.index(bend.joint)
        turn_joint(knee, _knee_turn(world_rot, world_pos, knee, goal, bend), world_rot)
    world_rot, world_pos = fk()
    turn_joint(0, _rotation_between(world_pos[:, -1] - world_pos[:, 0], goal - world_pos[:, 0]), world_rot)
    rotations[frames] = local
    return replace(motion, rotations=rotations)


def _knee_turn(world_rot: np.ndarray, world_pos: np.ndarray, knee: int, goal: np.ndarray, bend: Bend) -> np.ndarray:
    """(F, 3, 3) the world rotation at the chain's ``knee`` (its index on the path) that
    makes the limb reach as far as ``goal`` (F, 3) is from its root, in the plane it bends
    in and to the side its hinge says (law of cosines, with soft reach)."""
    root, mid, tip = world_pos[:, 0], world_pos[:, knee], world_pos[:, -1]
    upper, lower = root - mid, tip - mid
    a, b = np.linalg.norm(upper, axis=-1), np.linalg.norm(lower, axis=-1)
    reach = _soft_reach(np.linalg.norm(goal - root, axis=-1), a, b, bend.straightest)
    reach = np.maximum(reach, np.abs(a - b) + 1e-6 * (a + b))
    wanted = np.arccos(np.clip((a**2 + b**2 - reach**2) / np.maximum(2 * a * b, 1e-12), -1.0, 1.0))
    now = angle(upper, lower)  # interior angle: pi when straight
    axis = np.cross(upper, lower)
    size = np.linalg.norm(axis, axis=-1)
    flat = size <= 1e-9 * np.maximum(a * b, 1e-12)  # a straight limb has no plane of its own
    if bend.hinge is not None:
        # Turning about the hinge opens the limb, and past straight bends it backwards:
        # a limb bent backwards (or straight) comes back the long way round.
        hinge = world_rot[:, knee - 1] @ bend.hinge  # (a bend joint is never the chain's first)
        backwards = flat | ((axis * hinge).sum(-1) < 0)
        axis = np.where(backwards[:, None], hinge, axis)
        size = np.where(backwards, 1.0, size)
        now = np.where(backwards, 2 * np.pi - now, now)
        flat = np.zeros_like(flat)
    turn = np.where(flat, 0.0, wanted - now)
    return axis_angle_matrix(axis / np.maximum(size, 1e-12)[:, None], turn)


def _soft_reach(reach: np.ndarray, a: np.ndarray, b: np.ndarray, straightest: float) -> np.ndarray:
    """``reach`` for a limb of segments ``a`` and ``b``: unchanged as far as the limb
    reaches bent at ``straightest`` (as straight as the clip has it), eased beyond that
    towards the limb's full length, which it approaches exponentially with no kink (soft
    IK): a target further away is fallen short of, not snapped straight to."""
    far = a + b
    start = np.sqrt(a**2 + b**2 - 2 * a * b * np.cos(min(straightest, np.pi)))
    soft = np.maximum(far - start, 1e-9 * far)
    start = far - soft
    return np.where(reach > start, start + soft * (1 - np.exp(-np.maximum(reach - start, 0.0) / soft)), reach)


def _rotation_between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(F, 3, 3) the smallest rotations taking directions ``u`` to ``v`` (F, 3)."""
    axis = np.cross(u, v)
    size = np.linalg.norm(axis, axis=-1)
    theta = np.where(size > 1e-12, angle(u, v), 0.0)
    return axis_angle_matrix(axis / np.maximum(size, 1e-12)[:, None], theta)


def _path(skeleton: Skeleton, top: int, joint: int) -> list[int]:
    path = [joint]
    while path[-1] != top:
        path.append(int(skeleton.parents[path[-1]]))
    return path[::-1]


def _chain_fk(local: np.ndarray, trans: np.ndarray, path: list[int], rot0: np.ndarray, pos0: np.ndarray):
    """World rotations and positions (F, len(path), ...) along ``path`` under a parent
    with world rotation ``rot0`` and position ``pos0``."""
    rots, poss = [], []
    rot, pos = rot0, pos0
    for j in path:
        pos = pos + (rot @ trans[:, j, :, None])[..., 0]
        rot = rot @ local[:, j]
        rots.append(rot)
        poss.append(pos)
    return np.stack(rots, axis=1), np.stack(poss, axis=1)


def place(motion: Motion, plan: list[Step]) -> Motion:
    """``motion`` with each planned effector moved towards its targets by IK, in plan order."""
    for point, chain, bend, target, weight in plan:
        partly = (weight > 0) & (weight < 1)
        if partly.any():  # from where the point is now, after the steps before
            target = target.copy()
            now = motion.world_points()[partly, point]
            target[partly] = now + weight[partly, None] * (target[partly] - now)
        motion = solve_ik(motion, point, chain, bend, target, weight > 0)
    return motion
