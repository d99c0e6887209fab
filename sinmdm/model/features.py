"""The model's per-frame feature vector and its inverse.

Channels, in order (F frames x C channels):
- ``rot``: 6D local rotation of every joint with rotation channels (the trajectory
  joint's rotation is global: its ancestors do not move);
- ``height``: the trajectory joint's height (along the world's up axis, whatever the
  file's; see :mod:`sinmdm.anim.body`);
- ``velocity``: its horizontal velocity per frame, expressed in its own heading frame so
  a motif means the same whichever way the creature faces; integrated back on decode;
- ``pos``: local translation of every other joint whose position channels vary;
  constant ones are stored once in the layout and not modelled;
- ``contact``: 0/1 foot-contact label of each contact point (a joint or an End Site).

The trajectory joint is the first joint with position channels (the root, or the child
of a 0-channel dummy root). Normalisation statistics are computed from the clip, with a
floor per kind of channel, so skeletons of any scale train alike. All rotation channels
share one scale (their RMS spread), so a barely moving finger does not weigh as much as
the spine (docs/decisions.md).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np

from ..anim.contacts import contact_labels
from ..anim.motion import Motion
from ..anim.rotations import Array, as_like, matrix_to_6d, sixd_to_matrix
from ..anim.skeleton import Skeleton

# Std floors: rotations are unitless, lengths are fractions of the body size,
# contacts are 0/1. A constant channel is then scaled by its floor instead of blowing up.
ROT_STD_FLOOR = 0.02
LENGTH_STD_FLOOR = 0.005
CONTACT_STD_FLOOR = 0.1
VARYING = 1e-5  # a position channel varies if its range exceeds this fraction of the body size


@dataclass(frozen=True, eq=False)
class FeatureLayout:
    skeleton: Skeleton
    rot_joints: np.ndarray
    traj_joint: int  # -1 when no joint has position channels
    heading_axis: int  # local axis of the trajectory joint whose heading defines "forward"
    pos_joints: np.ndarray
    contact_points: np.ndarray
    rest_translations: np.ndarray  # (J, 3) translations of the joints not modelled per frame
    start: np.ndarray  # (2,) the trajectory's X/Z at the first frame of the clip
    fps: float
    mean: np.ndarray
    std: np.ndarray

    # ----------------------------------------------------------- channel map
    @property
    def n_rot(self) -> int:
        return 6 * len(self.rot_joints)

    @property
    def has_trajectory(self) -> bool:
        return self.traj_joint >= 0

    @property
    def slices(self) -> dict[str, slice]:
        sizes = {
            "rot": self.n_rot,
            "height": 1 if self.has_trajectory else 0,
            "velocity": 2 if self.has_trajectory else 0,
            "pos": 3 * len(self.pos_joints),
            "contact": len(self.contact_points),
        }
        out, start = {}, 0
        for name, size in sizes.items():
            out[name] = slice(start, start + size)
            start += size
        return out

    @property
    def n_channels(self) -> int:
        return self.slices["contact"].stop

    # -------------------------------------------------------------- building
    @classmethod
    def from_motion(cls, motion: Motion, contact_points: list[int]) -> FeatureLayout:
        """The layout of ``motion`` (at the rate the model will see) and its statistics."""
        return cls.from_motions([motion], contact_points)

    @classmethod
    def from_motions(cls, motions: Sequence[Motion], contact_points: list[int]) -> FeatureLayout:
        """The layout of clips on one skeleton at one rate, with statistics over all their
        frames (each clip encoded on its own, so no velocity spans two clips); the
        trajectory starts where the first clip's does."""
        first = motions[0]
        skeleton = first.skeleton
        rotations = np.concatenate([m.rotations for m in motions])
        translations = np.concatenate([m.translations for m in motions])
        positioned = skeleton.positioned_joints
        traj = int(positioned[0]) if len(positioned) else -1
        moving = np.ptp(translations, axis=0).max(axis=-1) > VARYING * skeleton.size
        pos_joints = np.array([j for j in positioned.tolist() if j != traj and moving[j]], dtype=np.int64)
        layout = cls(
            skeleton=skeleton,
            rot_joints=skeleton.rotating_joints,
            traj_joint=traj,
            heading_axis=_heading_axis(skeleton.frame @ rotations[:, traj]) if traj >= 0 else 2,
            pos_joints=pos_joints,
            contact_points=np.asarray(contact_points, dtype=np.int64),
            rest_translations=translations.mean(axis=0),
            start=(skeleton.frame @ first.translations[0, traj])[[0, 2]] if traj >= 0 else np.zeros(2),
            fps=first.fps,
            mean=np.zeros(0),
            std=np.zeros(0),
        )
        features = np.concatenate([layout.encode(m) for m in motions])
        spread = features.std(axis=0)
        rot = layout.slices["rot"]
        if layout.n_rot:
            spread[rot] = np.sqrt(np.mean(spread[rot] ** 2))
        return replace(layout, mean=features.mean(axis=0), std=np.maximum(spread, layout._std_floor()))

    def known_channels(self, missing: np.ndarray) -> np.ndarray:
        """(F, C) which feature values rest on the file's own values, from (F, J) where a
        keypoint clip's joints were missing: a joint's position is known where it and the
        trajectory joint are, the trajectory's where it is (its velocity at a frame also
        needs the next one), a contact where its point is."""
        s = self.slices
        traj = missing[:, self.traj_joint] if self.has_trajectory else np.zeros(len(missing), dtype=bool)
        known = np.ones((len(missing), self.n_channels), dtype=bool)
        known[:, s["height"]] = ~traj[:, None]
        known[:, s["velocity"]] = ~(traj | np.concatenate([traj[1:], traj[-1:]]))[:, None]
        known[:, s["pos"]] = np.repeat(~(missing[:, self.pos_joints] | traj[:, None]), 3, axis=1)
        points = self.contact_points
        joints = points[points < self.skeleton.n_joints]  # End Sites are never missing
        known[:, s["contact"].start + np.flatnonzero(points < self.skeleton.n_joints)] = ~missing[:, joints]
        return known

    def _std_floor(self) -> np.ndarray:
        floor = np.full(self.n_channels, LENGTH_STD_FLOOR * self.skeleton.size)
        floor[self.slices["rot"]] = ROT_STD_FLOOR
        floor[self.slices["contact"]] = CONTACT_STD_FLOOR
        return floor

    # ------------------------------------------------------------ conversions
    def encode(self, motion: Motion) -> np.ndarray:
        """Raw (not normalised) features (F, C) of a motion on this layout's skeleton."""
        s = self.slices
        out = np.zeros((motion.n_frames, self.n_channels))
        out[:, s["rot"]] = matrix_to_6d(motion.rotations[:, self.rot_joints]).reshape(motion.n_frames, -1)
        if self.has_trajectory:
            frame = self.skeleton.frame  # the file's axes to the Y-up world
            path = motion.translations[:, self.traj_joint] @ frame.T
            out[:, s["height"]] = path[:, 1:2]
            step = np.diff(path[:, [0, 2]], axis=0)
            step = np.concatenate([step, step[-1:]]) if len(step) else np.zeros((1, 2))
            sin, cos = self._heading(frame @ motion.rotations[:, self.traj_joint])
            out[:, s["velocity"]] = np.stack([cos * step[:, 0] - sin * step[:, 1], sin * step[:, 0] + cos * step[:, 1]], -1)
        out[:, s["pos"]] = motion.translations[:, self.pos_joints].reshape(motion.n_frames, -1)
        out[:, s["contact"]] = contact_labels(motion, self.contact_points.tolist())
        return out

    def decode(self, features: np.ndarray, start: np.ndarray | None = None) -> Motion:
        """A Motion from raw features (F, C); the trajectory starts at ``start`` (X, Z),
        by default where the training clip started."""
        frames = len(features)
        s = self.slices
        skeleton = self.skeleton
        rotations = np.broadcast_to(np.eye(3), (frames, skeleton.n_joints, 3, 3)).copy()
        rotations[:, self.rot_joints] = sixd_to_matrix(features[:, s["rot"]].reshape(frames, -1, 6))
        translations = np.broadcast_to(self.rest_translations, (frames, skeleton.n_joints, 3)).copy()
        if self.has_trajectory:
            frame = self.skeleton.frame
            sin, cos = self._heading(frame @ rotations[:, self.traj_joint])
            local = features[:, s["velocity"]]
            step = np.stack([cos * local[:, 0] + sin * local[:, 1], -sin * local[:, 0] + cos * local[:, 1]], -1)
            origin = self.start if start is None else np.asarray(start, dtype=np.float64)
            xz = origin + np.concatenate([np.zeros((1, 2)), np.cumsum(step[:-1], axis=0)])
            path = np.stack([xz[:, 0], features[:, s["height"]][:, 0], xz[:, 1]], axis=-1)
            translations[:, self.traj_joint] = path @ frame  # back to the file's axes
        translations[:, self.pos_joints] = features[:, s["pos"]].reshape(frames, -1, 3)
        return Motion(skeleton, rotations, translations, 1.0 / self.fps)

    def heading_angle(self, world_rotation: np.ndarray) -> np.ndarray:
        """The yaw (radians, as ``atan2(x, z)``) of the heading axis of the trajectory
        joint's world rotations (F, 3, 3) in the Y-up world."""
        sin, cos = self._heading(world_rotation)
        return np.arctan2(sin, cos)

    def _heading(self, rotation: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sine and cosine of the yaw of the heading axis, from rotations (F, 3, 3)."""
        direction = rotation[:, :, self.heading_axis]
        norm = np.hypot(direction[:, 0], direction[:, 2])
        flat = norm < 1e-8  # the axis points straight up or down: no heading, keep world frame
        norm = np.where(flat, 1.0, norm)
        return np.where(flat, 0.0, direction[:, 0] / norm), np.where(flat, 1.0, direction[:, 2] / norm)

    def normalise(self, features: Array) -> Array:
        mean, std = self._stats_like(features)
        return (features - mean) / std

    def denormalise(self, features: Array) -> Array:
        mean, std = self._stats_like(features)
        return features * std + mean

    def _stats_like(self, x: Array) -> tuple[Array, Array]:
        return as_like(self.mean, x), as_like(self.std, x)

    # --------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        """Plain types only, for ``weights_only`` checkpoints and JSON sidecars."""
        return {
            "skeleton": self.skeleton.to_dict(),
            "rot_joints": self.rot_joints.tolist(),
            "traj_joint": self.traj_joint,
            "heading_axis": self.heading_axis,
            "pos_joints": self.pos_joints.tolist(),
            "contact_points": self.contact_points.tolist(),
            "rest_translations": self.rest_translations.tolist(),
            "start": self.start.tolist(),
            "fps": self.fps,
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureLayout:
        ints = {k: np.asarray(data[k], dtype=np.int64) for k in ("rot_joints", "pos_joints")}
        # Runs written before End Sites could be contacts named them contact joints (the
        # same indices: points start with the joints).
        ints["contact_points"] = np.asarray(data.get("contact_points", data.get("contact_joints")), dtype=np.int64)
        floats = {k: np.asarray(data[k], dtype=np.float64) for k in ("start", "mean", "std")}
        return cls(
            skeleton=Skeleton.from_dict(data["skeleton"]),
            traj_joint=int(data["traj_joint"]),
            heading_axis=int(data["heading_axis"]),
            rest_translations=np.asarray(data["rest_translations"], dtype=np.float64).reshape(-1, 3),
            fps=float(data["fps"]),
            **ints,
            **floats,
        )


def principal_axes(normalised: np.ndarray, variance: float, limit: int) -> np.ndarray:
    """(C, k) orthonormal directions holding ``variance`` of the spread of ``normalised``
    features (F, C) about their mean, with k at most ``limit``."""
    centred = normalised - normalised.mean(axis=0)
    _, values, axes = np.linalg.svd(centred, full_matrices=False)
    share = np.cumsum(values**2) / max(float((values**2).sum()), 1e-12)
    k = min(int(np.searchsorted(share, variance)) + 1, limit, len(values))
    return axes[:k].T.copy()


def _heading_axis(rotations: np.ndarray) -> int:
    """The local axis that stays most horizontal over the clip: its yaw is the heading."""
    vertical = np.abs(rotations[:, 1, :]).mean(axis=0)  # |Y component| of each local axis
    return int(np.argmin(vertical))
