"""What no learning gives, on the same clip (REFERENCE.md section 4, baseline (c)): the
clip cut into random 2-second pieces laid end to end, each cross-faded into the next over
0.5 s (slerped rotations, blended translations), with smooth per-joint rotation noise of
1.7 degrees RMS (a keypoint clip, without rotations: smooth noise on every joint's position
relative to the root, as far as 1.7 degrees moves a point half a body size away). Each piece's root starts where the previous one's ends (its horizontal
path is shifted, its heading is the clip's), so the pieces do not jump across the floor."""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np
from common import ROOT  # noqa: F401  (puts the checkout on sys.path first)
from scipy.ndimage import gaussian_filter1d

from sinmdm.anim.motion import Motion
from sinmdm.anim.rotations import axis_angle_matrix, matrix_to_quaternion, quaternion_to_matrix, slerp

PIECE_SECONDS, FADE_SECONDS, NOISE_DEGREES, NOISE_SECONDS = 2.0, 0.5, 1.7, 0.25


def pieces(clip: Motion | Sequence[Motion], frames: int, rng: np.random.Generator, noise: bool = True) -> Motion:
    """``frames`` frames of baseline (c) from ``clip`` (baseline (b) without ``noise``).
    Given several clips of one skeleton, each piece comes from one of them, drawn in
    proportion to the pieces it holds; the output starts with the first clip."""
    clips = [clip] if isinstance(clip, Motion) else list(clip)
    clip = clips[0]
    piece = min(round(PIECE_SECONDS * clip.fps), min(c.n_frames for c in clips))
    fade = min(round(FADE_SECONDS * clip.fps), piece // 2)
    quats = [matrix_to_quaternion(c.rotations) for c in clips]
    chance = np.array([c.n_frames - piece + 1 for c in clips], dtype=np.float64)
    chance /= chance.sum()
    root = clip.skeleton.positioned_joints[:1]
    out_q, out_t = quats[0][:piece].copy(), clip.translations[:piece].copy()
    while len(out_q) < frames + fade:
        k = int(rng.choice(len(clips), p=chance)) if len(clips) > 1 else 0
        start = int(rng.integers(0, clips[k].n_frames - piece + 1))
        q, t = quats[k][start : start + piece].copy(), clips[k].translations[start : start + piece].copy()
        # The new piece's root begins where the output is at the start of the fade.
        shift = out_t[-fade, root] - t[0, root]
        shift[..., "xyz".index(clip.skeleton.up)] = 0.0  # along the ground only
        t[:, root] += shift
        w = ((np.arange(fade) + 1) / (fade + 1))[:, None]
        q[:fade] = slerp(out_q[-fade:], q[:fade], np.broadcast_to(w, q[:fade].shape[:2]))
        t[:fade] = out_t[-fade:] + w[..., None] * (t[:fade] - out_t[-fade:])
        out_q, out_t = np.concatenate([out_q[:-fade], q]), np.concatenate([out_t[:-fade], t])
    rotations = quaternion_to_matrix(out_q[:frames])
    joints = clip.skeleton.rotating_joints
    if noise and len(joints):
        wobble = gaussian_filter1d(rng.normal(size=(frames, len(joints), 3)), NOISE_SECONDS * clip.fps, axis=0)
        wobble *= np.radians(NOISE_DEGREES) / np.sqrt(np.mean(np.sum(wobble**2, axis=-1)))
        angle = np.linalg.norm(wobble, axis=-1)
        rotations[:, joints] = rotations[:, joints] @ axis_angle_matrix(wobble / np.maximum(angle, 1e-12)[..., None], angle)
    elif noise:  # keypoints: the joints' positions about the root (a 2D clip's in its plane)
        others = np.arange(1, clip.skeleton.n_joints)
        shake = gaussian_filter1d(rng.normal(size=(frames, len(others), 3)), NOISE_SECONDS * clip.fps, axis=0)
        if clip.skeleton.keypoints is not None and clip.skeleton.keypoints.dims == 2:
            shake[..., 2] = 0.0
        shake *= np.radians(NOISE_DEGREES) * 0.5 * clip.skeleton.size / np.sqrt(np.mean(np.sum(shake**2, axis=-1)))
        out_t[:frames, others] += shake
    still = np.setdiff1d(np.arange(clip.skeleton.n_joints), clip.skeleton.rotating_joints)
    rotations[:, still] = np.eye(3)
    return replace(clip, rotations=rotations, translations=out_t[:frames])
