"""Where feet go: pins over each contact run, the root carried over held feet, and free
feet lifted to the clip's swing heights."""

from __future__ import annotations

from dataclasses import replace
from typing import Optional

import numpy as np
from scipy.ndimage import convolve1d, gaussian_filter1d, maximum_filter1d

from ..anim.contacts import Swings, floor_speeds
from ..anim.curves import ease
from ..anim.motion import Motion
from .ik import Step
from .limbs import Bend, choose_bend
from .smoothing import odd

BLEND_SECONDS = 0.15  # a pin fades in and out over this long
LIFT_SECONDS = 0.2  # a foot raised off the floor rises and comes down over this long
LANDING = 0.4  # a raise fades out over this last share of a pin's fade in (and in over its fade out)
ALONG_FIRST = 0.4  # a foot landing from above is over its pin's spot for this last share of the fade
ROOT_SECONDS = 0.05  # the root's correction is smoothed over this long (a Gaussian's sigma): frame noise out, stops kept


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
        weights[:, k] = ease(1 - u)
        lift[:, k] = 1 - ease(1 - u / LANDING)
        move = held[runs[nearest]] - positions[:, k]
        along = weights[:, k]
        if drag is not None:
            path = positions[:, k, [0, 2]] + along[:, None] * move[:, [0, 2]]  # the usual fade
            glide = np.linalg.norm(np.gradient(path, axis=0), axis=-1) * fps
            side = 2 * runs[nearest] + (nearest > np.arange(frames))  # each run's fade in and fade out
            fastest = np.zeros(2 * len(counts))
            fade = (u > 0) & (u < 1)
            np.maximum.at(fastest, side[fade], glide[fade])
            first = ease(1 - (u - ALONG_FIRST) / (1 - ALONG_FIRST))
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


def pin_steps(
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
        plan.append((joint, chain, choose_bend(bends, skeleton, chain, joint), targets[:, 0], weight))
        shares.append(weight * (1 - lift[:, 0]))
    return plan, room, shares


def glide_root(motion: Motion, world: np.ndarray, plan: list[Step], shares: list[np.ndarray]) -> Motion:
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


def lift_steps(
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
    width = odd(round(LIFT_SECONDS * motion.fps))
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
        plan.append((joint, chain, choose_bend(bends, motion.skeleton, chain, joint), target, (raise_by > 0).astype(float)))
    return plan
