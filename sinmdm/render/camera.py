"""The perspective camera (Y up): a fixed one framing every actor, or one following the
actors' smoothed root path from the side."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..base.errors import SinmdmError
from .figures import Actor

CAMERAS = ("follow", "fixed")


FOV = math.radians(35.0)  # vertical field of view


FOLLOW_SECONDS = 0.6  # the follow camera smooths the root's path over about this long


# ----------------------------------------------------------------------------- camera
@dataclass
class Camera:
    """A perspective camera looking at ``target`` (F, 3) from ``distance`` away, at a fixed
    azimuth (degrees about Y, 0 = looking down -Z) and elevation (degrees above the floor)."""

    target: np.ndarray
    distance: float
    azimuth: float
    elevation: float
    floor: float = 0.0  # height of the ground it draws

    def basis(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows right, up, forward of the view, and the offset from target to eye."""
        az, el = math.radians(self.azimuth), math.radians(self.elevation)
        back = np.array([math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az)])
        forward = -back
        right = np.cross(forward, [0.0, 1.0, 0.0])
        right /= np.linalg.norm(right)
        up = np.cross(right, forward)
        return np.stack([right, up, forward]), back * self.distance

    def project(self, points: np.ndarray, frame: int | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Screen coordinates (..., 2) with the panel's half-height = 1, and depth (...).
        ``points`` (..., 3) at ``frame`` (or (F, ..., 3) with a frame index array)."""
        rows, eye = self.basis()
        target = self.target[np.minimum(frame, len(self.target) - 1)]  # held after its last frame
        extra = points.ndim - target.ndim
        eye_at = (target + eye).reshape(target.shape[:-1] + (1,) * extra + (3,))
        view = (points - eye_at) @ rows.T
        depth = view[..., 2]
        focal = 1.0 / math.tan(FOV / 2)
        safe = np.where(depth > 1e-6 * self.distance, depth, np.nan)  # behind the eye: not drawn
        return view[..., :2] * (focal / safe[..., None]), depth


def make_camera(
    actors: Sequence[Actor],
    floor: float,
    mode: str,
    fps: float,
    aspect: float,
    azimuth: Optional[float] = None,
    elevation: float = 20.0,
) -> Camera:
    """Frame every actor of a panel ``aspect`` wide per unit of height: ``follow`` tracks
    their mean root smoothly at a fixed distance; ``fixed`` sees everything they do over
    the whole clip. Either way the distance is fitted so the figures fill the view."""
    if mode not in CAMERAS:
        raise SinmdmError(f"unknown --camera '{mode}': use {' or '.join(CAMERAS)}")
    frames = max(a.frames for a in actors)
    points = np.concatenate([padded(a.points, frames) for a in actors], axis=1)  # (F, P, 3)
    roots = np.stack([padded(a.points[:, 0], frames) for a in actors], axis=1).mean(axis=1)  # (F, 3)
    lo, hi = points.min(axis=(0, 1)), points.max(axis=(0, 1))
    lo[1] = min(lo[1], floor)
    if all(a.flat for a in actors):  # 2D keypoints live in the X-Y plane: look at it face on
        azimuth, elevation = azimuth or 0.0, 0.0
    if azimuth is None:
        azimuth = _side_view(roots, hi[1] - lo[1])
    if mode == "fixed":
        target = np.broadcast_to(0.5 * (lo + hi), (frames, 3)).copy()
    else:
        target = gaussian_filter1d(roots, max(FOLLOW_SECONDS * fps / 2, 1e-3), axis=0, mode="nearest")
    target[:, 1] = 0.5 * (lo[1] + hi[1])
    # Start from the distance at which a sphere around everything fits, then centre the
    # projected points (about 60 sampled frames) and move in until they fill 90% of the view.
    reach = max(float(np.linalg.norm(points - target[:, None], axis=-1).max()), 0.5 * (hi[1] - lo[1]), 1e-6)
    camera = Camera(target, reach / math.sin(FOV / 2), azimuth, elevation, floor)
    sampled = np.arange(0, frames, max(1, frames // 60))
    rows, _ = camera.basis()
    focal = 1.0 / math.tan(FOV / 2)
    for _ in range(5):
        screen, _ = camera.project(points[sampled], sampled)
        if np.isnan(screen).any():  # a point behind the eye: back off
            camera.distance *= 1.5
            continue
        low = np.percentile(screen.min(axis=1), 2, axis=0)
        high = np.percentile(screen.max(axis=1), 98, axis=0)
        centre = 0.5 * (low + high)
        camera.target = camera.target + (centre[0] * rows[0] + centre[1] * rows[1]) * camera.distance / focal
        extent = max(0.5 * (high[0] - low[0]) / aspect, 0.5 * (high[1] - low[1]))
        camera.distance *= max(extent / 0.9, 0.3)
    return camera


def _side_view(roots: np.ndarray, height: float) -> float:
    """Azimuth that sees the main direction of travel from three-quarters side on, or a
    three-quarters view when the actors stay in place."""
    flat = roots[:, [0, 2]] - roots[:, [0, 2]].mean(axis=0)
    if len(flat) < 2 or np.ptp(flat, axis=0).max() < 0.5 * max(height, 1e-9):
        return 35.0
    _, _, vt = np.linalg.svd(flat, full_matrices=False)
    along = math.degrees(math.atan2(vt[0, 0], vt[0, 1]))  # azimuth of the travel direction
    return along + 90.0 - 30.0


def padded(values: np.ndarray, frames: int) -> np.ndarray:
    """``values`` (F, ...) held at its last frame up to ``frames``."""
    if len(values) >= frames:
        return values[:frames]
    return np.concatenate([values, np.repeat(values[-1:], frames - len(values), axis=0)])
