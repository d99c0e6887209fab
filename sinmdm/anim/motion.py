"""A motion: a skeleton plus per-frame local rotations and local translations."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..base.errors import SinmdmError
from .rotations import matrix_to_quaternion, quaternion_to_matrix, slerp
from .skeleton import Skeleton

# SinMDM's published setting: clips above this rate are brought down to it by default.
DEFAULT_MAX_FPS = 30.0


@dataclass(frozen=True, eq=False)
class Motion:
    """rotations: (F, J, 3, 3) local rotation of every joint (identity where a joint has no
    rotation channels). translations: (F, J, 3) local translation of every joint (its
    OFFSET, replaced per frame by its position channels where it has them)."""

    skeleton: Skeleton
    rotations: np.ndarray
    translations: np.ndarray
    frame_time: float

    def __post_init__(self) -> None:
        j = self.skeleton.n_joints
        if self.rotations.shape[1:] != (j, 3, 3) or self.translations.shape[1:] != (j, 3):
            raise ValueError("rotations/translations do not match the skeleton")
        if len(self.rotations) != len(self.translations):
            raise ValueError("rotations and translations have different frame counts")
        if not self.frame_time > 0:
            raise SinmdmError(f"frame time must be positive, got {self.frame_time}")

    @property
    def n_frames(self) -> int:
        return len(self.rotations)

    @property
    def fps(self) -> float:
        """Frames per second; a frame time written rounded (0.016667) counts as its
        whole rate (60), so 60 -> 30 keeps exactly every other frame."""
        fps = 1.0 / self.frame_time
        whole = round(fps)
        return float(whole) if whole > 0 and abs(fps - whole) < 2e-4 * fps else fps

    @property
    def length_text(self) -> str:
        """``"1 frame at 30 fps"``, ``"90 frames at 30 fps"``: for messages."""
        return f"{self.n_frames} frame{'' if self.n_frames == 1 else 's'} at {self.fps:g} fps"

    @property
    def duration(self) -> float:
        """Seconds from the first frame to the end of the last one."""
        return self.n_frames * self.frame_time

    def world(self) -> tuple[np.ndarray, np.ndarray]:
        """World rotations (F, J, 3, 3) and positions (F, J, 3)."""
        return self.skeleton.forward_kinematics(self.rotations, self.translations)

    def world_positions(self) -> np.ndarray:
        return self.world()[1]

    def parent_transform(self, joint: int) -> tuple[np.ndarray, np.ndarray]:
        """World rotation (F, 3, 3) and position (F, 3) of ``joint``'s parent; for the root,
        the file's axes in the world (no forward kinematics needed). A joint's new world
        transform is its local one in this frame."""
        parent = int(self.skeleton.parents[joint])
        if parent >= 0:
            world_rot, world_pos = self.world()
            return world_rot[:, parent], world_pos[:, parent]
        return np.broadcast_to(self.skeleton.frame, (self.n_frames, 3, 3)), np.zeros((self.n_frames, 3))

    def world_points(self) -> np.ndarray:
        """World positions (F, J + E, 3) of the joints, then the End Sites."""
        return self.skeleton.world_points(*self.world())

    def resample(self, fps: float) -> Motion:
        """The same motion at ``fps``: translations interpolated linearly, rotations by
        slerp. An integer ratio (60 -> 30) keeps exactly every other frame."""
        if not fps > 0:
            raise SinmdmError(f"fps must be positive, got {fps}")
        if abs(fps - self.fps) < 1e-6 * self.fps:
            return self
        count = int(np.floor((self.n_frames - 1) * fps / self.fps + 1e-6)) + 1
        t = np.arange(count) * (self.fps / fps)  # in source frames
        i0 = np.minimum(np.floor(t + 1e-9).astype(np.int64), self.n_frames - 1)
        i1 = np.minimum(i0 + 1, self.n_frames - 1)
        w = np.clip(t - i0, 0.0, 1.0)
        tr = self.translations
        translations = tr[i0] + (tr[i1] - tr[i0]) * w[:, None, None]
        quat = matrix_to_quaternion(self.rotations)
        wq = np.broadcast_to(w[:, None], (count, self.skeleton.n_joints))
        rotations = quaternion_to_matrix(slerp(quat[i0], quat[i1], wq))
        # Joints without rotation channels must stay exactly at identity.
        still = np.setdiff1d(np.arange(self.skeleton.n_joints), self.skeleton.rotating_joints)
        rotations[:, still] = np.eye(3)
        return replace(self, rotations=rotations, translations=translations, frame_time=1.0 / fps)

    def crop(self, start: int, frames: int) -> Motion:
        """``frames`` frames from ``start`` (fewer where the motion ends sooner)."""
        end = start + frames
        return replace(self, rotations=self.rotations[start:end], translations=self.translations[start:end])

    def at_training_rate(self, fps: float | None = None) -> Motion:
        """The rate the model sees: ``fps`` if given, else the native rate capped at 30."""
        target = fps if fps is not None else min(self.fps, DEFAULT_MAX_FPS)
        return self.resample(target)
