"""Cleanup of one motion, step by step (docs/cleanup.md says what each step does and
bought): contacts, smoothing, the root, pins, lifts, a second pass, given parts
restored."""

from __future__ import annotations

from dataclasses import replace
from typing import Optional

import numpy as np

from ..anim.contacts import CONTACT_REACH, SPEED_LIMIT, Swings, point_speeds
from ..anim.keypoints import fit_bone_lengths
from ..anim.motion import Motion
from ..anim.rotations import matrix_to_quaternion, quaternion_to_matrix, slerp
from ..evaluation.metrics import jerk
from .ik import place
from .labels import MIN_CONTACT_SECONDS, drop_short_runs
from .limbs import Bend, effectors
from .pins import glide_root, lift_steps, pin_steps
from .smoothing import LAST_SMOOTH_SECONDS, SMOOTH_AIM, smooth, smoothing

LOOP_PAD_SECONDS = 2.0  # a loop is cleaned with this much of its other end on each side


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
    while free and lower than the clip ever has it at its speed (see :func:`lift_steps`).
    ``given`` (F, J) marks parts to keep exactly as they are (1 = keep); with any
    ``given`` (all zeros too) the root's path is the caller's, so the root is not glided
    after the feet (only smoothed, where not kept). A ``loop`` (the
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
    if motion.skeleton.keypoints:  # positions, no rotations: no IK; in 3D the bones keep their lengths
        cleaned = fit_bone_lengths(cleaned)
    elif contacts:
        cleaned = _hold_feet(motion, cleaned, seconds, contacts, contact, planted, given, drag, jerk_limit, swings, bends)
    if given is not None:
        cleaned = _restore(motion, cleaned, given)
    return cleaned


def _hold_feet(
    motion: Motion,
    cleaned: Motion,
    seconds: float,
    contacts: list[int],
    contact: np.ndarray,
    planted: np.ndarray,
    given: Optional[np.ndarray],
    drag: Optional[np.ndarray],
    jerk_limit: Optional[float],
    swings: Optional[Swings],
    bends: Optional[dict[int, Bend]],
) -> Motion:
    """Steps 1 and 3-6 on the smoothed motion (``seconds`` of smoothing): contacts, the
    root, pins, lifts and the second pass; arguments as :func:`cleanup`'s."""
    world = cleaned.world_points()  # IK on one limb never moves another's effector
    positions = world[:, contacts]
    size = motion.skeleton.size
    # A predicted contact counts only while the joint is down near where it rests.
    low = positions[..., 1] < planted[None] + CONTACT_REACH * size
    # A joint low and still in the output touches the floor whatever the model said
    # (the rule that labelled the training clip); pinning removes its slow drift.
    still = point_speeds(positions, motion.fps) < SPEED_LIMIT * size
    contact = drop_short_runs((contact | still) & low, max(1, round(MIN_CONTACT_SECONDS * motion.fps)))
    limbs = effectors(motion.skeleton, contacts)
    steps, room, shares = pin_steps(world, contacts, contact, planted, drag, limbs, motion, bends)
    if given is None:  # (an editing command's given root path stays as it is)
        cleaned = glide_root(cleaned, world, steps, shares)
        steps, room, _ = pin_steps(cleaned.world_points(), contacts, contact, planted, drag, limbs, motion, bends)
    cleaned = place(cleaned, steps)
    if swings is not None:
        lifts = lift_steps(cleaned, contacts, limbs, room, planted, swings, bends)
        cleaned = place(cleaned, lifts)
        steps += lifts
    # Smoothing after IK takes out the kinks IK leaves where pins fade, but drags pinned
    # feet along with the rest of the leg again; a second IK pass on the smoothed motion
    # (small, smooth corrections) puts them back. Where that pass leaves the sample
    # jerkier than the aim, a last, lighter smoothing takes its kinks out; it moves
    # the pinned feet a little, so it runs only where it is needed.
    cleaned = place(smooth(cleaned, seconds), steps)
    if jerk_limit is None or jerk(cleaned) > SMOOTH_AIM * jerk_limit:
        cleaned = smoothing(cleaned, jerk_limit, LAST_SMOOTH_SECONDS)[1]
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


def _restore(original: Motion, cleaned: Motion, given: np.ndarray) -> Motion:
    """Blend back to ``original`` by ``given`` (F, J): exact where it is 1."""
    w = np.clip(given, 0.0, 1.0)
    q = slerp(matrix_to_quaternion(cleaned.rotations), matrix_to_quaternion(original.rotations), w)
    rotations = np.where((w >= 1.0)[..., None, None], original.rotations, quaternion_to_matrix(q))
    translations = cleaned.translations + w[..., None] * (original.translations - cleaned.translations)
    translations = np.where((w >= 1.0)[..., None], original.translations, translations)
    return replace(cleaned, rotations=rotations, translations=translations)
