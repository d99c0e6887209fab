"""Editing with a trained model: what each sampler application keeps from a reference
clip, and how the sampled result is put back together.

An application is an :class:`Edit`: the output length, the reference's features laid out
on the output's frames, and a mask saying how strongly each frame and channel must
follow them (1 = given, 0 = generated, fractions blend). The sampler enforces the mask on
its x0 prediction at every step. Given frames fade out over a short ramp where they meet
generated ones, so the two can meet smoothly; the frames outside the ramp are kept
exactly. After sampling, the root's horizontal path is re-integrated so that it passes
exactly through the reference's positions at every fully given frame and stays
continuous in between.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from ..anim.clipset import read_clip
from ..anim.curves import ease
from ..anim.motion import Motion
from ..anim.presets import RigPreset
from ..anim.skeleton import Skeleton
from ..base.errors import SinmdmError
from ..diffusion.scheduler import Known
from ..model.features import FeatureLayout
from ..model.runs import Run, parse_length
from ..sampling.sample import sample_features, to_motions
from .generate import clean_motions

RAMP_SECONDS = 0.25  # how long given frames take to fade into generated ones


@dataclass
class Edit:
    """What an application asks of the sampler, on the output's ``frames`` frames.

    ``reference`` (frames, C) normalised features, ``mask`` (frames, C) in [0, 1];
    ``source`` (frames,) the reference frame each output frame copies, -1 where none;
    ``anchors`` (frames,) True where the root's world position must equal the reference's.
    """

    reference: np.ndarray
    mask: np.ndarray
    source: np.ndarray
    anchors: np.ndarray

    @property
    def frames(self) -> int:
        return len(self.mask)

    def given_frames(self) -> np.ndarray:
        """Output frames kept exactly (fully given in every channel)."""
        return np.flatnonzero(self.mask.min(axis=1) >= 1.0)


# ----------------------------------------------------------------- the reference clip
def load_reference(run: Run, path: Optional[Path], what: str = "--ref") -> Motion:
    """The reference clip at the model's frame rate: a training clip named by ``path``
    (default: the first), or a BVH file (a keypoint model's: an .npz of its joints), after
    checking it has the model's skeleton, read in the model's up axis and measured by the
    model's body size (so samples and reference are judged alike)."""
    clips = run.clip_set()
    if path is None:
        return clips.motions[0]
    if str(path) in clips.names and not path.exists():
        return clips.motions[clips.index(str(path))]
    skeleton = run.layout.skeleton
    motion = read_clip(path, skeleton.up)[0].resample(run.layout.fps)
    difference = skeleton.difference(motion.skeleton)
    if difference:
        raise SinmdmError(f"{what} {path}: not the skeleton this model was trained on: {difference}")
    return replace(motion, skeleton=skeleton)


def encode_reference(layout: FeatureLayout, motion: Motion) -> np.ndarray:
    """Normalised features (F, C) of a clip on the model's skeleton."""
    return layout.normalise(layout.encode(motion))


def root_path(layout: FeatureLayout, motion: Motion) -> np.ndarray:
    """World X/Z (F, 2) of the trajectory joint (zeros for a rig without one)."""
    if not layout.has_trajectory:
        return np.zeros((motion.n_frames, 2))
    return motion.world_positions()[:, layout.traj_joint][:, [0, 2]]


# --------------------------------------------------------------------- parsing helpers
def parse_position(text: str, frames: int, what: str) -> int:
    """A frame position from a fraction (``0.25``, ``.5``, ``1.0``) of ``frames`` or a
    frame index (``40``), from 0 up to ``frames``."""
    text = text.strip()
    if not re.fullmatch(r"[0-9]*\.?[0-9]+", text):
        raise SinmdmError(f"{what} '{text}' is not understood: give a fraction (0.25) or a frame index (40)")
    value = float(text)
    frame = round(value * frames) if "." in text else int(value)
    if "." in text and value > 1:
        raise SinmdmError(f"{what} '{text}': a fraction must be between 0 and 1 (or give a whole frame index)")
    if frame > frames:
        raise SinmdmError(f"{what} '{text}' is past the reference's end (at most {frames})")
    return frame


def ramp_frames(fps: float) -> int:
    return max(1, round(RAMP_SECONDS * fps))


def fade(length: int, ramp: int, fade_in: bool, fade_out: bool) -> np.ndarray:
    """Weights (length,) of one given segment: 1 inside, rising from near 0 over ``ramp``
    frames at a side that meets generated frames. A segment shorter than two ramps fades
    over half of itself; a single frame stays 1."""
    weights = np.ones(length)
    ramp = min(ramp, (length - 1) // 2)
    if ramp < 1:
        return weights
    rise = ease(np.arange(1, ramp + 1) / (ramp + 1))
    if fade_in:
        weights[:ramp] = rise
    if fade_out:
        weights[length - ramp :] = rise[::-1]
    return weights


def _segments(source: np.ndarray) -> list[tuple[int, int]]:
    """Runs [start, end) of output frames that copy consecutive reference frames."""
    given = source >= 0
    follows = np.r_[False, given[1:] & given[:-1] & (np.diff(source) == 1)]  # frame i continues i - 1
    starts = np.flatnonzero(given & ~follows)
    ends = np.flatnonzero(given & ~np.r_[follows[1:], False]) + 1
    return list(zip(starts.tolist(), ends.tolist()))


def _temporal_edit(reference: np.ndarray, source: np.ndarray, ramp: int) -> Edit:
    """An edit that gives whole frames: output frame i copies reference frame source[i]."""
    frames = len(source)
    weights = np.zeros(frames)
    for start, end in _segments(source):
        weights[start:end] = fade(end - start, ramp, fade_in=start > 0, fade_out=end < frames)
    return _frame_edit(reference, source, weights)


def _frame_edit(reference: np.ndarray, source: np.ndarray, weights: np.ndarray) -> Edit:
    """Output frame i follows reference frame source[i] (-1: none) with weight[i] in every
    channel; the frames of weight 1 are given exactly and anchor the root."""
    features = np.zeros((len(source), reference.shape[1]))
    given = source >= 0
    features[given] = reference[source[given]]
    mask = np.repeat(weights[:, None], reference.shape[1], axis=1)
    exact = weights >= 1.0
    return Edit(features, mask, np.where(exact, source, -1), anchors=exact)


# ------------------------------------------------------------------------ applications
def expand_edit(layout: FeatureLayout, reference: Motion, prefix: int, suffix: int) -> Edit:
    """The reference in the middle, ``prefix`` new frames before it and ``suffix`` after."""
    if prefix < 0 or suffix < 0:
        raise SinmdmError("--prefix and --suffix must not be negative")
    source = np.concatenate([np.full(prefix, -1), np.arange(reference.n_frames), np.full(suffix, -1)])
    return _temporal_edit(encode_reference(layout, reference), source, ramp_frames(layout.fps))


def inbetween_edit(layout: FeatureLayout, reference: Motion, prefix: int, suffix: int, middle: int) -> Edit:
    """Keep reference frames [0, prefix) and [suffix, end); generate ``middle`` frames
    between them."""
    frames = reference.n_frames
    if not 0 <= prefix <= suffix <= frames:
        raise SinmdmError(f"--prefix ({prefix}) must come before --suffix ({suffix}) within the {frames} frames")
    if prefix == 0 and suffix == frames:
        raise SinmdmError("nothing is given: keep a prefix (--prefix) or a suffix (--suffix) of the reference")
    if middle < 1:
        raise SinmdmError("the generated middle must be at least one frame long")
    source = np.concatenate([np.arange(prefix), np.full(middle, -1), np.arange(suffix, frames)])
    return _temporal_edit(encode_reference(layout, reference), source, ramp_frames(layout.fps))


def keyframe_edit(layout: FeatureLayout, reference: Motion, keyframes: list[int]) -> Edit:
    """Keep single reference poses at ``keyframes``; generate every other frame."""
    frames = reference.n_frames
    bad = [k for k in keyframes if not 0 <= k < frames]
    if bad:
        raise SinmdmError(f"--keyframes {bad[0]} is outside the reference's frames 0..{frames - 1}")
    if not keyframes:
        raise SinmdmError("--keyframes needs at least one frame index")
    # A lone pose replaced in x0 is not enough: the sampler's neighbours do not bend to
    # it, and the motion pops at each key (seam jump 3.7 on Salsa, against 0.9 for the
    # clip itself). So each key also pulls the frames within one ramp of it towards the
    # reference's own frames there, with a weight falling from 1 to 0; only the key
    # itself is kept exactly.
    ramp = ramp_frames(layout.fps)
    offsets = np.arange(-ramp, ramp + 1)
    weight = 0.5 + 0.5 * np.cos(np.pi * offsets / (ramp + 1))
    best = np.zeros(frames)
    source = np.full(frames, -1)
    for key in keyframes:  # a few keys: each spreads over its own neighbourhood
        where = key + offsets
        inside = (where >= 0) & (where < frames) & (weight > best[np.clip(where, 0, frames - 1)])
        best[where[inside]] = weight[inside]
        source[where[inside]] = where[inside]
    best[keyframes] = 1.0
    return _frame_edit(encode_reference(layout, reference), source, best)


def compose_edit(layout: FeatureLayout, reference: Motion, joints: list[int]) -> Edit:
    """The ``joints`` follow the reference at every frame; everything else is generated.
    The root's trajectory (height and travel) is given when the trajectory joint is."""
    kept = set(joints)
    s = layout.slices
    channel_kept = np.zeros(layout.n_channels, dtype=bool)
    for i, j in enumerate(layout.rot_joints.tolist()):
        channel_kept[s["rot"].start + 6 * i : s["rot"].start + 6 * (i + 1)] = j in kept
    for i, j in enumerate(layout.pos_joints.tolist()):
        channel_kept[s["pos"].start + 3 * i : s["pos"].start + 3 * (i + 1)] = j in kept
    for i, p in enumerate(layout.contact_points.tolist()):
        channel_kept[s["contact"].start + i] = layout.skeleton.joint_of(p) in kept
    root_kept = layout.has_trajectory and layout.traj_joint in kept
    channel_kept[s["height"]] = root_kept
    channel_kept[s["velocity"]] = root_kept
    motion_kept = np.ones(layout.n_channels, dtype=bool)
    motion_kept[s["contact"]] = False  # a contact label is no motion of its own
    if not channel_kept[motion_kept].any():
        raise SinmdmError("--keep names no joint that moves in this model: nothing would follow the reference")
    if channel_kept.all():
        raise SinmdmError("--keep covers every joint that moves: nothing is left to generate")
    frames = reference.n_frames
    mask = np.repeat(channel_kept[None].astype(np.float64), frames, axis=0)
    source = np.arange(frames)
    return Edit(encode_reference(layout, reference), mask, source, anchors=np.full(frames, root_kept))


def joint_weights(layout: FeatureLayout, edit: Edit) -> np.ndarray:
    """(frames, J) how much of each joint's motion is given (1) or generated (0): the mean
    of the edit's mask over the joint's channels. Joints without channels of their own
    follow their parent; a root without any follows the frame's mean. For colouring."""
    s = layout.slices
    owner = np.full(layout.n_channels, -1)
    owner[s["rot"]] = np.repeat(layout.rot_joints, 6)
    owner[s["height"]] = layout.traj_joint
    owner[s["velocity"]] = layout.traj_joint
    owner[s["pos"]] = np.repeat(layout.pos_joints, 3)
    joints = layout.skeleton.n_joints
    seen = owner >= 0
    onehot = np.zeros((layout.n_channels, joints))
    onehot[np.flatnonzero(seen), owner[seen]] = 1.0
    counts = onehot.sum(axis=0)
    weights = edit.mask @ onehot / np.maximum(counts, 1.0)
    for j in np.flatnonzero(counts == 0):  # parents come before children in a BVH
        parent = layout.skeleton.parents[j]
        weights[:, j] = weights[:, parent] if parent >= 0 else edit.mask.mean(axis=1)
    return weights


def resolve_part(skeleton: Skeleton, text: str, preset: Optional[RigPreset]) -> list[int]:
    """Joints named by ``--keep``: comma-separated preset body parts (``upper_body``),
    joint names, or ``subtree:JOINT``; a keypoint skeleton's joints also by their index
    in its file, and its subtrees along its bones."""
    chosen: set[int] = set()
    for token in filter(None, (t.strip() for t in text.split(","))):
        if token.lower().startswith("subtree:"):
            joint = _joint(skeleton, token.split(":", 1)[1].strip(), preset)
            keypoints = skeleton.keypoints
            chosen.update(keypoints.subtree(joint) if keypoints else skeleton.subtree(joint))
        elif preset is not None and token in preset.parts:
            chosen.update(preset.part(skeleton, token))
        else:
            chosen.add(_joint(skeleton, token, preset))
    if not chosen:
        raise SinmdmError("--keep is empty: name a body part, joints, or subtree:JOINT")
    return sorted(chosen)


def _joint(skeleton: Skeleton, name: str, preset: Optional[RigPreset]) -> int:
    if skeleton.keypoints is not None and name.isdigit() and int(name) < skeleton.n_joints:
        return skeleton.keypoints.order.index(int(name))
    found = skeleton.find(name)
    if found is None:
        parts = f"body parts of preset '{preset.name}': {', '.join(sorted(preset.parts))}" if preset and preset.parts else "no rig preset with body parts matches this skeleton"
        raise SinmdmError(f"--keep: '{name}' is neither a joint of this skeleton nor a body part ({parts}); also accepted: subtree:JOINT")
    return found


# ------------------------------------------------------------------ putting it together
def pin_trajectory(layout: FeatureLayout, motion: Motion, targets: np.ndarray, anchors: np.ndarray) -> Motion:
    """Re-integrate the root's horizontal path so that it passes through ``targets``
    (F, 2) world X/Z at the ``anchors`` frames (F,) bool. The offset needed at each anchor
    is interpolated linearly over the frames between anchors and held before the first
    and after the last, so the path stays continuous where given and generated meet. With
    no anchor, the path starts at ``targets[0]``."""
    if not layout.has_trajectory:
        return motion
    path = root_path(layout, motion)
    frames = np.arange(motion.n_frames)
    if anchors.any():
        where = np.flatnonzero(anchors)
        error = targets[where] - path[where]
        offset = np.stack([np.interp(frames, where, error[:, k]) for k in range(2)], axis=-1)
    else:
        offset = np.broadcast_to(targets[0] - path[0], path.shape)
    return _shift_root(layout, motion, offset)


def _shift_root(layout: FeatureLayout, motion: Motion, offset: np.ndarray) -> Motion:
    """Move the trajectory joint by world X/Z ``offset`` (F, 2), through its (static)
    parent's frame (the file's axes for the root)."""
    world_offset = np.zeros((motion.n_frames, 3))
    world_offset[:, [0, 2]] = offset
    parent_rot, _ = motion.parent_transform(layout.traj_joint)
    world_offset = (np.swapaxes(parent_rot, -1, -2) @ world_offset[..., None])[..., 0]
    translations = motion.translations.copy()
    translations[:, layout.traj_joint] += world_offset
    return replace(motion, translations=translations)


def expand_request(
    layout: FeatureLayout, reference: Motion, length: Optional[str], prefix: Optional[str], suffix: Optional[str]
) -> Edit:
    """The expand edit for the command's ``--length``, ``--prefix`` and ``--suffix``
    (frames, seconds or a multiple of the reference; any of them may be missing): the
    total defaults to 2x, or to the reference plus both sides; the new frames are split
    evenly unless a side is given."""
    frames, fps = reference.n_frames, layout.fps
    before = parse_length(prefix, frames, fps, minimum=0, what="--prefix") if prefix else None
    after = parse_length(suffix, frames, fps, minimum=0, what="--suffix") if suffix else None
    if length is None and before is not None and after is not None:
        total = frames + before + after
    else:
        total = parse_length(length or "2x", frames, fps, what="--length")
    added = total - frames
    if added < 0:
        raise SinmdmError(f"--length {total} frames is shorter than the reference's {frames} frames")
    before = before if before is not None else (added // 2 if after is None else added - after)
    after = after if after is not None else added - before
    if before < 0 or after < 0 or before + after != added:
        raise SinmdmError(f"--prefix {before} and --suffix {after} frames do not add up to the {added} frames --length adds")
    return expand_edit(layout, reference, before, after)


def inbetween_request(
    layout: FeatureLayout, reference: Motion, prefix: str, suffix: str, length: Optional[str], keyframes: Optional[str]
) -> Edit:
    """The in-betweening edit for the command's options: keep the reference up to
    ``prefix`` and from ``suffix`` on (fractions or frame indices) with a middle of
    ``length``, or, with ``keyframes``, single poses at those frames."""
    frames = reference.n_frames
    if keyframes is not None:
        if length is not None:
            raise SinmdmError("--length does not apply to --keyframes: the output keeps the reference's frames")
        # Keys are frame indices, so a fraction spans 0 .. the last frame (1.0 = the last).
        keys = [parse_position(k, frames - 1, "--keyframes") for k in keyframes.split(",") if k.strip()]
        return keyframe_edit(layout, reference, sorted(set(keys)))
    start = parse_position(prefix, frames, "--prefix")
    end = parse_position(suffix, frames, "--suffix")
    middle = parse_length(length, frames, layout.fps, what="--length") if length else end - start
    return inbetween_edit(layout, reference, start, end, middle)

def reference_targets(layout: FeatureLayout, reference: Motion, edit: Edit) -> np.ndarray:
    """World X/Z (frames, 2) of the reference's root at each output frame that copies one
    (zeros elsewhere)."""
    path = root_path(layout, reference)
    targets = np.zeros((edit.frames, 2))
    given = edit.source >= 0
    targets[given] = path[edit.source[given]]
    return targets


def sample_edit(
    run: Run, reference: Motion, edit: Edit, n: int, *, steps: int, seed: int, clean: bool = True, pin: bool = True,
    on_step=None,
) -> list[Motion]:
    """Sample ``edit``, pin each result's root path to the reference's (unless not
    ``pin``: the model's own path, to measure how far it strays) and, with ``clean``,
    clean it up without touching the given parts."""
    known = Known(
        mask=torch.as_tensor(edit.mask[None], dtype=torch.float32, device=run.device),
        reference=torch.as_tensor(edit.reference[None], dtype=torch.float32, device=run.device),
    )
    features = sample_features(run, n, edit.frames, steps=steps, seed=seed, plan=False, known=known, on_step=on_step)
    if not pin:
        return to_motions(run, features)
    targets = reference_targets(run.layout, reference, edit)
    motions = [pin_trajectory(run.layout, motion, targets, edit.anchors) for motion in to_motions(run, features)]
    return clean_motions(run, reference, features, motions, joint_weights(run.layout, edit)) if clean else motions
