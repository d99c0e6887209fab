"""Limbs of any skeleton: the chain IK may rotate for each contact point, the joint it
bends at, and how the clip bends it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..anim.motion import Motion
from ..anim.skeleton import Skeleton

DIGIT_REACH = 0.25  # (of the body size) branches shorter than this are toes of one foot, not limbs
HINGE_AGREEMENT = 0.5  # a clip whose bend axes (unit) average at least this long bends its limb one way


@dataclass(frozen=True)
class Bend:
    """How IK bends a limb: at ``joint`` (see :func:`bend_joint`), never straighter than
    ``straightest`` (its largest interior angle in the clip, radians), and to the side
    ``hinge`` says (the clip's bend axis in the frame of the bone above the joint) where
    the clip bends it one way."""

    joint: int
    straightest: float = np.pi
    hinge: Optional[np.ndarray] = None


def limb_chain(skeleton: Skeleton, point: int, contacts: list[int]) -> list[int]:
    """Joints IK may rotate to move ``point`` (a joint or an End Site), limb root first:
    its ancestors up to where the limb leaves the body, i.e. below the first ancestor that
    also carries other contact points and reaches them over more than DIGIT_REACH of the
    body size (the pelvis carries the other leg; a bird's foot carries its toes, which are
    short, so the chain goes on up the leg). The root, which carries the whole body, and
    joints without rotation channels are left out."""
    rotating = set(skeleton.rotating_joints.tolist())
    reach = _reach(skeleton)
    mine = {point}
    chain = []
    j = int(skeleton.point_parents[point])
    while j >= 0 and skeleton.parents[j] >= 0:
        chain.append(j)
        parent = int(skeleton.parents[j])
        below = set(skeleton.subtree_points(parent)) & set(contacts)
        if below - mine - set(skeleton.subtree_points(j)) and max(reach(parent, c) for c in below) > DIGIT_REACH * skeleton.size:
            break
        j = parent
    return [c for c in reversed(chain) if c in rotating]


def _reach(skeleton: Skeleton):
    """reach(top, point): the rest-pose length of the bones from ``top`` down to ``point``."""
    rest = skeleton.rest_positions()
    parents = skeleton.point_parents
    bone = np.linalg.norm(rest - rest[np.maximum(parents, 0)], axis=-1)

    def reach(top: int, point: int) -> float:
        total = 0.0
        while point != top and point >= 0:
            total += float(bone[point])
            point = int(parents[point])
        return total

    return reach


def effectors(skeleton: Skeleton, contacts: list[int]) -> list[tuple[int, list[int], list[int]]]:
    """The points IK places, the contact points (indices into ``contacts``) each one
    stands for, and its limb chain. A limb with one contact joint, or with contacts one
    below the other (a foot and its toe), places each. A limb whose contacts are side by
    side (a bird's toes) places the joint they hang from, so the toes keep their shape."""
    chains = [limb_chain(skeleton, c, contacts) for c in contacts]
    limbs: dict[int, list[int]] = {}
    for k, chain in enumerate(chains):
        limbs.setdefault(chain[0] if chain else -1 - k, []).append(k)
    out = []
    for group in limbs.values():
        points = [contacts[k] for k in group]
        common = _common_ancestor(skeleton, points)
        if len(group) == 1 or common in points:
            out += [(contacts[k], [k], chains[k]) for k in group]
        else:
            out.append((common, group, limb_chain(skeleton, common, contacts)))
    return sorted(out, key=lambda e: _depth(skeleton, e[0]))  # feet before toes


def _depth(skeleton: Skeleton, point: int) -> int:
    joint = skeleton.joint_of(point)
    return int(skeleton.depths[joint]) + (point != joint)


def _common_ancestor(skeleton: Skeleton, points: list[int]) -> int:
    def ancestors(p: int) -> list[int]:
        line = []
        while p >= 0:
            line.append(p)
            p = int(skeleton.point_parents[p])
        return line[::-1]

    lines = [ancestors(p) for p in points]
    common = lines[0][0]
    for level in zip(*lines):
        if len(set(level)) > 1:
            break
        common = level[0]
    return common


def bend_joint(skeleton: Skeleton, chain: list[int], point: int) -> Optional[int]:
    """The chain joint that bends the limb (a knee): the one splitting the limb from the
    chain's first joint to ``point`` into the most even pair of long segments, so a short
    foot or toe bone is never used as the lever. None for a chain of one joint."""
    if len(chain) < 2:
        return None
    rest = skeleton.rest_positions()
    top, tip = rest[chain[0]], rest[point]
    balance = [min(np.linalg.norm(rest[m] - top), np.linalg.norm(tip - rest[m])) for m in chain[1:]]
    return chain[1 + int(np.argmax(balance))]


def limb_bends(motion: Motion, limbs: list[tuple[int, list[int], list[int]]]) -> dict[int, Bend]:
    """Each limb's :class:`Bend` (by its effector point) as ``motion``, the training clip,
    bends it: a knee the clip never straightens fully is never straightened by IK, and
    one the clip always bends forwards is never bent backwards."""
    skeleton = motion.skeleton
    rot, pos = motion.world()
    points = skeleton.world_points(rot, pos)
    out = {}
    for point, _, chain in limbs:
        joint = bend_joint(skeleton, chain, point)
        if joint is None:
            continue
        upper, lower = points[:, chain[0]] - points[:, joint], points[:, point] - points[:, joint]
        axis = np.cross(upper, lower)
        axis /= np.maximum(np.linalg.norm(axis, axis=-1, keepdims=True), 1e-12)
        local = (np.swapaxes(rot[:, skeleton.parents[joint]], -1, -2) @ axis[..., None])[..., 0].mean(axis=0)
        agreement = np.linalg.norm(local)
        hinge = local / agreement if agreement >= HINGE_AGREEMENT else None
        out[point] = Bend(joint, float(angle(upper, lower).max()), hinge)
    return out


def choose_bend(bends: Optional[dict[int, Bend]], skeleton: Skeleton, chain: list[int], point: int) -> Optional[Bend]:
    """How IK bends the limb of ``point``: as the clip does where ``bends`` says, else at
    its :func:`bend_joint` with no limits."""
    if bends is not None and point in bends:
        return bends[point]
    joint = bend_joint(skeleton, chain, point)
    return None if joint is None else Bend(joint)


def angle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Angles (F,) between vectors u and v (F, 3), in radians; robust near 0 and pi."""
    return np.arctan2(np.linalg.norm(np.cross(u, v), axis=-1), (u * v).sum(-1))

