"""Clean motion for any creature: planted feet and no jitter.

Each pass is vectorised over frames; loops run only over contact joints and their runs.

1. Contacts. The model's per-frame contact features are thresholded with hysteresis (on
   above 0.6, off below 0.4) so a label does not flicker; a joint that is low and slow in
   the output (the rule that labelled the training clip) is in contact too. A contact
   counts only while the joint is within 4% of the body size of where it rests, and
   contacts shorter than 0.1 s are dropped.
2. Smoothing. A cubic Savitzky-Golay filter runs over every joint's rotation
   (quaternions made sign-continuous over time, renormalised after) and over position
   channels. A cubic fit keeps the shape of sharp, intentional motion far better than a
   moving average of the same width and removes frame-to-frame jitter. Its window is
   the shortest of 0.1, 0.15, 0.2 and 0.3 s that leaves the sample less jerky than 0.9 of the
   clip (the longest when nothing does): a sample already as smooth as its clip keeps
   its sharp motion.
3. The root. On each frame, the root's step along the floor loses the mean step of the
   feet held there (smoothed over 0.05 s), so a body that skates over planted feet is
   carried by its root, whose path is no part of a pose, rather than held by bending
   every leg (Kovar et al. 2002 adjust the root for the same reason). Skipped when an
   editing command gives parts to keep.
4. Foot pinning. During each contact run the contact joint is held at one world
   position, the run's mean (never below its planted height, where it rests in the
   training clip), blending in and out over 0.15 s, or over half the gap to the next
   run where that is shorter (so the target never jumps from one pin to the next); at
   every frame it is kept above its planted height. A fade that would carry the foot
   along the floor faster than the clip ever drags it lands from above: the foot is over
   its pin's spot for the last 40% of the fade and only comes down there. Inverse
   kinematics (two-bone IK generalised to any chain, batched over frames) moves the
   limb: the chain from the contact joint up to where the limb leaves the body (the
   first ancestor whose parent has several children), bent at the joint that splits it
   into the most even pair of long segments (a knee, never a short foot bone), to the
   side the clip bends it, exactly up to the clip's straightest and eased towards
   straight beyond (soft IK), so a knee never snaps straight or bends backwards. A
   contact joint below another (a toe below a foot) is placed only as far as the one
   above it is free, and then by the leg.
5. Lifting. A free contact point lower than the training clip (almost) ever has it at
   its speed along the floor (:class:`sinmdm.anim.contacts.Swings`: per point, the lowest
   the clip has it in each band of speeds) is carried up to that height: a foot moving
   like a swing is as high as the clip's swings at that speed, and a dancer who slides
   her feet keeps sliding them. The raise is spread over 0.2 s, so the foot steps rather
   than hops, and fades out over the last 40% of a pin's fade, where the foot comes down
   on its pin. A joint that step 4 only kept off the floor is free here, not pinned.
6. The smoothing pass runs once more, and the IK of steps 4 and 5 again after it (the
   smoothing drags pinned feet along with the leg; the second IK pass puts them back).
   Where that pass leaves the sample jerkier than 0.9 of the clip, a last smoothing of
   0.15 or 0.2 s takes out its kinks.

Given parts (frames or joints an editing command kept from the reference) are put back
exactly at the end, so cleanup never changes them. A loop is cleaned with 2 s of its
other end on each side, so every step above sees across its seam. What each choice
bought, measured, is in docs/cleanup.md.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import numpy as np
from scipy.ndimage import convolve1d, gaussian_filter1d, maximum_filter1d
from scipy.signal import savgol_filter

from ..anim.contacts import SPEED_LIMIT, Swings, floor_speeds, point_speeds
from ..anim.motion import Motion
from ..anim.rotations import axis_angle_matrix, matrix_to_quaternion, quaternion_to_matrix, slerp
from ..anim.skeleton import Skeleton
from ..evaluation.metrics import jerk

CONTACT_ON, CONTACT_OFF = 0.6, 0.4  # hysteresis thresholds on the contact features
MIN_CONTACT_SECONDS = 0.1  # shorter contacts are noise
CONTACT_REACH = 0.04  # contacts higher than this (of the body size) above the planted height are not
SMOOTH_SECONDS = (0.1, 0.15, 0.2, 0.3)  # Savitzky-Golay windows: the shortest that...
SMOOTH_AIM = 0.9  # ...leaves a sample no jerkier than this share of the clip (IK adds some back)
SMOOTH_ORDER = 3
LAST_SMOOTH_SECONDS = (0.15, 0.2)  # the smoothing after the last IK pass, where it is needed
BLEND_SECONDS = 0.15  # a pin fades in and out over this long
LIFT_SECONDS = 0.2  # a foot raised off the floor rises and comes down over this long
LANDING = 0.4  # a raise fades out over this last share of a pin's fade in (and in over its fade out)
ALONG_FIRST = 0.4  # a foot landing from above is over its pin's spot for this last share of the fade
LOOP_PAD_SECONDS = 2.0  # a loop is cleaned with this much of its other end on each side
ROOT_SECONDS = 0.05  # the root's correction is smoothed over this long (a Gaussian's sigma): frame noise out, stops kept
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


# IK: point, chain, bend, targets (F, 3), and how far (F,) in [0, 1] to take the point from where it is to them
Step = tuple[int, list[int], Optional[Bend], np.ndarray, np.ndarray]


def hysteresis(probability: np.ndarray, fps: float) -> np.ndarray:
    """(F, K) bool contacts from per-frame contact scores (F, K): on above CONTACT_ON, off
    below CONTACT_OFF, in between as before; runs shorter than MIN_CONTACT_SECONDS go."""
    frames, _ = probability.shape
    event = np.where(probability > CONTACT_ON, 1, np.where(probability < CONTACT_OFF, 0, -1))
    # The state at each frame is the last event at or before it (the first frame decides
    # by 0.5 when it has none).
    event[0] = np.where(event[0] >= 0, event[0], probability[0] >= 0.5)
    last = np.where(event >= 0, np.arange(frames)[:, None], 0)
    np.maximum.accumulate(last, axis=0, out=last)
    state = np.take_along_axis(event, last, axis=0).astype(bool)
    return _drop_short_runs(state, max(1, round(MIN_CONTACT_SECONDS * fps)))


def _drop_short_runs(state: np.ndarray, shortest: int) -> np.ndarray:
    """``state`` (F, K) without its runs of True shorter than ``shortest`` frames."""
    change = np.diff(np.pad(state.astype(np.int8), ((1, 1), (0, 0))), axis=0).T  # (K, F + 1)
    k, starts = np.nonzero(change == 1)  # joint-major order, so starts and ends pair up
    _, ends = np.nonzero(change == -1)
    short = ends - starts < shortest
    marks = np.zeros(change.shape, dtype=np.int64)
    np.add.at(marks, (k[short], starts[short]), 1)
    np.add.at(marks, (k[short], ends[short]), -1)
    return state & ~(np.cumsum(marks, axis=1)[:, :-1].T > 0)


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
        out[point] = Bend(joint, float(_angle(upper, lower).max()), hinge)
    return out


def smooth(motion: Motion, seconds: float = SMOOTH_SECONDS[-1]) -> Motion:
    """Savitzky-Golay smoothing of every rotation and position channel over time."""
    window = _odd(round(seconds * motion.fps))
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


def _odd(n: int) -> int:
    return n if n % 2 else n + 1


def pin_targets(
    positions: np.ndarray, contact: np.ndarray, planted: np.ndarray, fps: float, drag: Optional[np.ndarray] = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each contact joint should be (F, K, 3), how strongly (F, K) in [0, 1], and how
    far a lift may raise it (F, K) in [0, 1]: 0 while held, 1 while free.

    A contact run holds the joint at the run's mean position, never below the ``planted``
    height (K,); at every frame the joint is kept above that height too. Around a run the
    hold fades over BLEND_SECONDS, and a lift fades out over the last LANDING of it. A fade
    that would carry the joint along the floor faster than ``drag`` (K,), how fast the clip
    ever drags it, lands from above instead: it holds the pin's spot horizontally over the
    last ALONG_FIRST of the fade, so the joint gets there while it may still be lifted and
    then comes straight down (or goes straight up), never skating into its pin."""
    frames, joints = contact.shape
    targets = positions.copy()
    weights = np.zeros((frames, joints))
    lift = np.ones((frames, joints))
    blend = max(1, round(BLEND_SECONDS * fps))
    for k in range(joints):
        if not contact[:, k].any():
            continue
        runs = np.cumsum(np.diff(np.concatenate([[0], contact[:, k].astype(np.int8)])) == 1) * contact[:, k]
        counts = np.bincount(runs, minlength=runs.max() + 1)
        held = np.stack([np.bincount(runs, positions[:, k, a], minlength=len(counts)) for a in (0, 1, 2)], -1)
        held = held / np.maximum(counts, 1)[:, None]
        distance, nearest, gap = _nearest_run(contact[:, k])
        # 0 in the run, 1 where its fade ends: after BLEND_SECONDS, or halfway to the next
        # run, so neighbouring fades meet at 0 and the target never jumps between runs.
        u = np.where(contact[:, k], 0.0, distance / np.maximum(np.minimum(blend + 1, gap / 2), 1))
        weights[:, k] = _ease(1 - u)
        lift[:, k] = 1 - _ease(1 - u / LANDING)
        move = held[runs[nearest]] - positions[:, k]
        along = weights[:, k]
        if drag is not None:
            path = positions[:, k, [0, 2]] + along[:, None] * move[:, [0, 2]]  # the usual fade
            glide = np.linalg.norm(np.gradient(path, axis=0), axis=-1) * fps
            side = 2 * runs[nearest] + (nearest > np.arange(frames))  # each run's fade in and fade out
            fastest = np.zeros(2 * len(counts))
            fade = (u > 0) & (u < 1)
            np.maximum.at(fastest, side[fade], glide[fade])
            first = _ease(1 - (u - ALONG_FIRST) / (1 - ALONG_FIRST))
            along = np.where(fastest[side] > drag[k], first, along)
        targets[:, k] = positions[:, k] + move * np.stack([along, weights[:, k], along], -1)
        weights[:, k] = np.maximum(weights[:, k], along)
    below = targets[..., 1] < planted[None]
    targets[..., 1] = np.maximum(targets[..., 1], planted[None])
    return targets, np.where(below, 1.0, weights), lift


def _nearest_run(contact: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each frame of ``contact`` (F,) bool: how far the nearest contact frame is, its
    index, and how long the gap between the runs around it is (inf at either end)."""
    frames = np.arange(len(contact))
    before = np.maximum.accumulate(np.where(contact, frames, -(10**9)))
    after = np.minimum.accumulate(np.where(contact, frames, 10**9)[::-1])[::-1]
    to_before, to_after = (frames - before).astype(float), (after - frames).astype(float)
    to_before[before < 0] = np.inf
    to_after[after >= len(contact)] = np.inf
    nearest = np.where(to_before <= to_after, before, after)
    return np.minimum(to_before, to_after), nearest, to_before + to_after


def _ease(x: np.ndarray) -> np.ndarray:
    """0 -> 1 with zero slope at both ends (a half cosine), clamped outside [0, 1]."""
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(x, 0.0, 1.0))


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
        root, mid, tip = world_pos[:, 0], world_pos[:, knee], world_pos[:, -1]
        upper, lower = root - mid, tip - mid
        a, b = np.linalg.norm(upper, axis=-1), np.linalg.norm(lower, axis=-1)
        reach = _soft_reach(np.linalg.norm(goal - root, axis=-1), a, b, bend.straightest)
        reach = np.maximum(reach, np.abs(a - b) + 1e-6 * (a + b))
        wanted = np.arccos(np.clip((a**2 + b**2 - reach**2) / np.maximum(2 * a * b, 1e-12), -1.0, 1.0))
        now = _angle(upper, lower)  # interior angle: pi when straight
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
        turn_joint(knee, axis_angle_matrix(axis / np.maximum(size, 1e-12)[:, None], turn), world_rot)
    world_rot, world_pos = fk()
    turn_joint(0, _rotation_between(world_pos[:, -1] - world_pos[:, 0], goal - world_pos[:, 0]), world_rot)
    rotations[frames] = local
    return replace(motion, rotations=rotations)


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


def _angle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.arctan2(np.linalg.norm(np.cross(u, v), axis=-1), (u * v).sum(-1))


def _rotation_between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(F, 3, 3) the smallest rotations taking directions ``u`` to ``v`` (F, 3)."""
    axis = np.cross(u, v)
    size = np.linalg.norm(axis, axis=-1)
    angle = np.where(size > 1e-12, _angle(u, v), 0.0)
    return axis_angle_matrix(axis / np.maximum(size, 1e-12)[:, None], angle)


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


def cleanup(
    motion: Motion,
    contacts: list[int],
    contact: np.ndarray,
    planted: np.ndarray,
    given: Optional[np.ndarray] = None,
    drag: Optional[np.ndarray] = None,
    jerk_limit: Optional[float] = None,
    loop: bool = False,
    swings: Optional[Swings] = None,
    bends: Optional[dict[int, Bend]] = None,
) -> Motion:
    """The cleaned motion: smoothed (as much as it needs to be less jerky than
    ``jerk_limit``, see :func:`smoothing`; fully without one), with each ``contacts``
    point pinned while ``contact`` (F, K) bool says it touches the floor at its
    ``planted`` (K,) height, its pins landing from above where coming in along the floor
    would be faster than ``drag`` (K,) (units per second; see
    :func:`sinmdm.anim.contacts.drag_speeds`), and, where ``swings`` is given, carried up
    while free and lower than the clip ever has it at its speed (see :func:`_lift_plan`).
    ``given`` (F, J) marks parts to keep exactly as they are (1 = keep). A ``loop`` (the
    last frame flows into the first) is cleaned with a copy of its end before it and of
    its start after it, so every step sees across the seam, and stays seamless. ``bends``
    (see :func:`limb_bends`) says how the clip bends each limb; without, IK bends each
    limb in the plane it is already bent in, as far as straight."""
    if loop:
        pad = min(motion.n_frames, max(1, round(LOOP_PAD_SECONDS * motion.fps)))
        around = _looped(motion, pad)
        tiled = np.concatenate([contact[-pad:], contact, contact[:pad]])
        held = None if given is None else np.concatenate([given[-pad:], given, given[:pad]])
        cleaned = cleanup(around, contacts, tiled, planted, held, drag, jerk_limit, False, swings, bends)
        return cleaned.crop(pad, motion.n_frames)
    seconds, cleaned = smoothing(motion, jerk_limit)
    if contacts:
        world = cleaned.world_points()  # IK on one limb never moves another's effector
        positions = world[:, contacts]
        size = motion.skeleton.size
        # A predicted contact counts only while the joint is down near where it rests.
        low = positions[..., 1] < planted[None] + CONTACT_REACH * size
        # A joint low and still in the output touches the floor whatever the model said
        # (the rule that labelled the training clip); pinning removes its slow drift.
        still = point_speeds(positions, motion.fps) < SPEED_LIMIT * size
        contact = _drop_short_runs((contact | still) & low, max(1, round(MIN_CONTACT_SECONDS * motion.fps)))
        limbs = effectors(motion.skeleton, contacts)
        plan, room, shares = _pin_plan(world, contacts, contact, planted, drag, limbs, motion, bends)
        if given is None:  # (an editing command's given root path stays as it is)
            cleaned = _glide_root(cleaned, world, plan, shares)
            plan, room, _ = _pin_plan(cleaned.world_points(), contacts, contact, planted, drag, limbs, motion, bends)
        cleaned = _place(cleaned, plan)
        if swings is not None:
            lifts = _lift_plan(cleaned, contacts, limbs, room, planted, swings, bends)
            cleaned = _place(cleaned, lifts)
            plan += lifts
        # Smoothing after IK takes out the kinks IK leaves where pins fade, but drags pinned
        # feet along with the rest of the leg again; a second IK pass on the smoothed motion
        # (small, smooth corrections) puts them back. Where that pass leaves the sample
        # jerkier than the aim, a last, lighter smoothing takes its kinks out; it moves
        # the pinned feet a little, so it runs only where it is needed.
        cleaned = _place(smooth(cleaned, seconds), plan)
        if jerk_limit is None or jerk(cleaned) > SMOOTH_AIM * jerk_limit:
            cleaned = smoothing(cleaned, jerk_limit, LAST_SMOOTH_SECONDS)[1]
    if given is not None:
        cleaned = _restore(motion, cleaned, given)
    return cleaned


def _looped(motion: Motion, pad: int) -> Motion:
    """``motion`` with its last ``pad`` frames before it and its first ``pad`` after it,
    the copies moved along the floor so the root goes on at its seam velocity (a loop's
    root path does not close, its motion does)."""
    frames = motion.n_frames
    trans = motion.translations
    shift = np.zeros_like(trans[0])
    for root in motion.skeleton.positioned_joints[:1]:  # the trajectory joint, when it moves
        step = trans[-1, root] - trans[-2, root] if frames > 1 else np.zeros(3)
        shift[root] = trans[-1, root] + step - trans[0, root]
        shift[root, "xyz".index(motion.skeleton.up)] = 0.0  # along the floor only
    index = np.concatenate([np.arange(frames - pad, frames), np.arange(frames), np.arange(pad)])
    offset = np.zeros((len(index),) + trans.shape[1:])
    offset[:pad] = -shift
    offset[pad + frames :] = shift
    return replace(motion, rotations=motion.rotations[index], translations=trans[index] + offset)


def _pin_plan(
    world: np.ndarray,
    contacts: list[int],
    contact: np.ndarray,
    planted: np.ndarray,
    drag: Optional[np.ndarray],
    limbs: list[tuple[int, list[int], list[int]]],
    motion: Motion,
    bends: Optional[dict[int, Bend]] = None,
) -> tuple[list[Step], np.ndarray, list[np.ndarray]]:
    """IK steps that pin each limb's effector (see :func:`pin_targets`), feet before toes,
    for joints at ``world`` positions (F, J, 3); how far a lift may raise each contact
    joint (F, K); and how fully each step holds its effector on its pins (F,) per step."""
    positions = world[:, contacts]
    skeleton = motion.skeleton
    hold = np.zeros(contact.shape)  # how strongly each contact joint is placed so far
    room = np.ones(contact.shape)  # how far a lift may raise each contact joint (0 = held)
    plan, shares = [], []
    for joint, group, chain in limbs:
        if joint == contacts[group[0]]:
            k = group[0]
            limit = None if drag is None else drag[[k]]
            pins = pin_targets(positions[:, [k]], contact[:, [k]], planted[[k]], motion.fps, limit)
        else:  # the foot above side-by-side toes: held while most of them touch
            touching = contact[:, group].mean(axis=1, keepdims=True) >= 0.5
            limit = None if drag is None else drag[group].min(keepdims=True)
            pins = pin_targets(world[:, [joint]], touching, np.full(1, -np.inf), motion.fps, limit)
        targets, weights, lift = pins
        # A toe below a held foot moves with the foot: it is placed only as far as the
        # foot is free (standing on tiptoe), and by the leg rather than by the foot, so
        # the leg passes from the foot's pin to the toe's without a jump.
        above = [i for i, c in enumerate(contacts) if c in chain]
        weight = (weights[:, 0] > 0) * (1 - hold[:, above].max(axis=1, initial=0.0))
        hold[:, group] = np.maximum(hold[:, group], weights)
        room[:, group] = np.minimum(room[:, group], lift)
        plan.append((joint, chain, _bend(bends, skeleton, chain, joint), targets[:, 0], weight))
        shares.append(weight * (1 - lift[:, 0]))
    return plan, room, shares


def _glide_root(motion: Motion, world: np.ndarray, plan: list[Step], shares: list[np.ndarray]) -> Motion:
    """``motion`` with the root's steps along the floor less the mean step of the effectors
    the ``plan`` holds on each frame (at ``world`` positions, weighted by ``shares``, how
    fully each step holds its effector), smoothed over ROOT_SECONDS: a body that skates
    over planted feet is carried by its root, whose path is no part of a pose, instead of
    bending every leg (Kovar et al. 2002 adjust the root for the same reason). The change
    is to the root's velocity, so its path is free to end elsewhere; height is left to the
    pins, since a walker's root rises and falls over feet that stand still."""
    skeleton = motion.skeleton
    root = int(skeleton.positioned_joints[0]) if len(skeleton.positioned_joints) else -1
    above, j = [], root
    while j >= 0 and skeleton.parents[j] >= 0:
        j = int(skeleton.parents[j])
        above.append(j)
    if root < 0 or np.isin(above, skeleton.rotating_joints).any():
        return motion  # no trajectory joint, or one under a rotating parent: no world path to change
    step = np.zeros((motion.n_frames - 1, 3))
    weight = np.zeros(motion.n_frames - 1)
    for (joint, _, _, _, _), share in zip(plan, shares):
        held = np.minimum(share[1:], share[:-1])  # held at both ends of the step
        step += held[:, None] * np.diff(world[:, joint], axis=0)
        weight += held
    if not (weight > 1e-6).any():
        return motion
    skate = step / np.maximum(weight, 1e-6)[:, None] * np.minimum(weight, 1.0)[:, None]
    skate[:, 1] = 0.0
    skate = gaussian_filter1d(skate, ROOT_SECONDS * motion.fps, axis=0, mode="nearest")
    offset = -np.concatenate([np.zeros((1, 3)), np.cumsum(skate, axis=0)])
    translations = motion.translations.copy()
    translations[:, root] += offset @ skeleton.frame  # from the world into the file's axes
    return replace(motion, translations=translations)


def _lift_plan(
    motion: Motion,
    contacts: list[int],
    limbs: list[tuple[int, list[int], list[int]]],
    room: np.ndarray,
    planted: np.ndarray,
    swings: Swings,
    bends: Optional[dict[int, Bend]] = None,
) -> list[Step]:
    """IK steps that carry free contact points which skate (lower than the clip ever
    has them at their speed along the floor; see :class:`sinmdm.anim.contacts.Swings`) up to
    the clip's floor at that speed, so a foot moving like a swing is as high as the clip's
    swings. The raise spreads over LIFT_SECONDS around the frames that need it, so the
    foot rises and comes down instead of hopping, scaled by ``room`` (F, K): 0 where a
    pin holds the point, 1 where it is free (see :func:`pin_targets`)."""
    world = motion.world_points()
    positions = world[:, contacts]
    height = positions[..., 1] - planted[None]
    floor = swings.floor(floor_speeds(positions, motion.fps))
    need = np.where(room > 0, np.maximum(floor - height, 0.0), 0.0)
    width = _odd(round(LIFT_SECONDS * motion.fps))
    # A running maximum then a weighted mean over the same width: every frame that needs
    # a raise gets all of it, and the frames around it part of it. A Hann window's weights
    # round the raise's start and end, where a plain mean's straight ramps would kink.
    window = np.hanning(width + 2)[1:-1]
    need = convolve1d(maximum_filter1d(need, width, axis=0), window / window.sum(), axis=0, mode="nearest") * room
    # A foot leaving a pin (or coming down on one) rises no faster than the clip's feet do.
    held = room <= 0
    gap = np.stack([_nearest_run(held[:, k])[0] for k in range(len(contacts))], -1)  # frames to the nearest held one
    free = ~held & np.isfinite(gap)
    need[free] = np.minimum(need[free], (swings.rise[None] / motion.fps * gap)[free])
    plan = []
    for joint, group, chain in limbs:
        raise_by = need[:, group].max(axis=1)
        if not chain or not (raise_by > 0).any():
            continue
        target = world[:, joint].copy()
        target[:, 1] += raise_by
        plan.append((joint, chain, _bend(bends, motion.skeleton, chain, joint), target, (raise_by > 0).astype(float)))
    return plan


def _bend(bends: Optional[dict[int, Bend]], skeleton: Skeleton, chain: list[int], point: int) -> Optional[Bend]:
    """How IK bends the limb of ``point``: as the clip does where ``bends`` says, else at
    its :func:`bend_joint` with no limits."""
    if bends is not None and point in bends:
        return bends[point]
    joint = bend_joint(skeleton, chain, point)
    return None if joint is None else Bend(joint)


def _place(motion: Motion, plan: list[Step]) -> Motion:
    """``motion`` with each planned effector moved towards its targets by IK, in plan order."""
    for point, chain, bend, target, weight in plan:
        partly = (weight > 0) & (weight < 1)
        if partly.any():  # from where the point is now, after the steps before
            target = target.copy()
            now = motion.world_points()[partly, point]
            target[partly] = now + weight[partly, None] * (target[partly] - now)
        motion = solve_ik(motion, point, chain, bend, target, weight > 0)
    return motion


def _restore(original: Motion, cleaned: Motion, given: np.ndarray) -> Motion:
    """Blend back to ``original`` by ``given`` (F, J): exact where it is 1."""
    w = np.clip(given, 0.0, 1.0)
    q = slerp(matrix_to_quaternion(cleaned.rotations), matrix_to_quaternion(original.rotations), w)
    rotations = np.where((w >= 1.0)[..., None, None], original.rotations, quaternion_to_matrix(q))
    translations = cleaned.translations + w[..., None] * (original.translations - cleaned.translations)
    translations = np.where((w >= 1.0)[..., None], original.translations, translations)
    return replace(cleaned, rotations=rotations, translations=translations)
