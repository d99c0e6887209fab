"""Path following: the creature travels along a ground path while the model generates
its body, moving as its clip moves.

The root's travel is given at every sampling step: its velocity channels carry the
path's steps, and its heading (the yaw of its rotation; tilt and roll stay generated)
is turned to the path's direction minus the clip's own angle between heading and travel
(a dog faces where it goes, a crab walks sideways). The model sees a root that goes
where the path goes and picks the body that fits that speed and those turns; the
root's height is generated too. Where the path stops, a clip that rests somewhere lets
the model play its rest; one that never rests holds its calmest pose (given there, with
ramps in and out). After sampling and cleanup (which pins the feet), the root is put
exactly on the path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable, Optional

import numpy as np
import torch

from ..anim.motion import Motion
from ..anim.paths import GroundPath, Track, track
from ..anim.rotations import matrix_to_6d, sixd_to_matrix
from ..base.errors import SinmdmError
from ..diffusion.scheduler import Known
from ..model.features import FeatureLayout
from ..model.runs import Run
from ..sampling.sample import sample_features, to_motions
from .edit import fade, pin_trajectory, ramp_frames
from .generate import clean_motions

STRETCH_SECONDS = 1.0  # speeds are measured as distance covered over this long
REST_SPEED = 0.05  # body sizes per second: a stretch slower than this is at rest
MIN_STOP_SECONDS = 0.5  # a pause in the path shorter than this is not a stop
ANGLE_BINS = 72  # 5-degree bins for the clip's heading-travel angle
# Speeds this far outside the clip's range are warned about: a path a tenth faster
# than the clip's fastest stretch is still what it shows.
SPEED_MARGIN = 1.1


@dataclass(frozen=True)
class Travel:
    """How the training clips travel: ``angle`` (radians) the most common direction of
    travel relative to the heading; the speeds (units per second) of their slowest,
    median and fastest moving 1-s stretches (0 when they never travel); ``rests``
    whether they stand still for a stretch."""

    angle: float
    slowest: float
    typical: float
    fastest: float
    rests: bool

    @property
    def travels(self) -> bool:
        return self.fastest > 0

    def range_text(self) -> str:
        return f"{self.slowest:.3g} to {self.fastest:.3g} units/s (median {self.typical:.3g})"


def stretch_speeds(xz: np.ndarray, fps: float) -> np.ndarray:
    """Ground distance covered over each STRETCH_SECONDS window of ``xz`` (F, 2), per
    second (one value for a shorter path)."""
    width = max(1, min(round(STRETCH_SECONDS * fps), len(xz) - 1))
    if len(xz) < 2:
        return np.zeros(1)
    return np.linalg.norm(xz[width:] - xz[:-width], axis=-1) * fps / width


def clip_travel(layout: FeatureLayout, motions: list[Motion]) -> Travel:
    """The :class:`Travel` of the training ``motions`` (on ``layout``'s skeleton)."""
    rest = REST_SPEED * layout.skeleton.size
    speeds, angles, weights = [], [], []
    for motion in motions:
        xz = motion.world_positions()[:, layout.traj_joint][:, [0, 2]]
        stretch = stretch_speeds(xz, motion.fps)
        speeds.append(stretch)
        local = layout.encode(motion)[:, layout.slices["velocity"]]  # each frame's step, heading frame
        step = np.hypot(local[:, 0], local[:, 1])
        moving = np.zeros(len(step), dtype=bool)
        moving[: len(stretch)] = stretch > rest  # frames starting a moving stretch
        angles.append(np.arctan2(local[moving, 0], local[moving, 1]))
        weights.append(step[moving])
    speed = np.concatenate(speeds)
    moving = speed[speed > rest]
    angle = _common_angle(np.concatenate(angles), np.concatenate(weights))
    if not len(moving):
        return Travel(angle, 0.0, 0.0, 0.0, True)
    return Travel(angle, float(moving.min()), float(np.median(moving)), float(moving.max()), bool((speed <= rest).any()))


def _common_angle(angles: np.ndarray, weights: np.ndarray) -> float:
    """The mode of a weighted circular distribution (0 for none): the peak of a
    smoothed histogram, refined by the weighted circular mean within 30 degrees of it.
    A mode, not a mean: a crab walking left and right averages to walking forward."""
    if not len(angles) or weights.sum() <= 0:
        return 0.0
    edges = np.linspace(-math.pi, math.pi, ANGLE_BINS + 1)
    counts, _ = np.histogram(angles, edges, weights=weights)
    smooth = counts + 0.5 * (np.roll(counts, 1) + np.roll(counts, -1))
    peak = 0.5 * (edges[:-1] + edges[1:])[int(np.argmax(smooth))]
    near = np.abs(np.angle(np.exp(1j * (angles - peak)))) < math.radians(30)
    mean = np.sum(weights[near] * np.exp(1j * angles[near]))
    return float(np.angle(mean)) if abs(mean) > 0 else float(peak)


# ----------------------------------------------------------------------- timing
def speed_warning(path: GroundPath, travel: Travel, fps: float) -> Optional[str]:
    """Why the path's timing is outside what the clip shows, or None."""
    if path.times is None:
        return None
    timed = track(path, fps)
    speed = stretch_speeds(timed.xz, fps)
    if not travel.travels:
        if speed.max() > 0:
            return f"{path.name}: the clip never travels, but the path moves (up to {speed.max():.3g} units/s)"
        return None
    fast, slow = _too_fast(speed, travel), _too_slow(speed, travel)
    if fast:
        return f"{path.name}: the path moves at up to {speed.max():.3g} units/s, faster than the clip ({travel.range_text()})"
    if slow:
        return (f"{path.name}: the path moves at a median {_moving_median(speed, travel):.3g} units/s, slower than "
                f"the clip ({travel.range_text()})")
    return None


def fit_timing(path: GroundPath, travel: Travel, fps: float) -> GroundPath:
    """``path`` with its times scaled so that its speeds lie in the clip's range: its
    fastest stretch at most the clip's fastest, else its median moving speed at least
    the clip's slowest. A path without times is already at the clip's speed."""
    if path.times is None:
        return path
    if not travel.travels:
        raise SinmdmError(f"{path.name}: --fit: the clip never travels, so no timing of the path fits it")
    speed = stretch_speeds(track(path, fps).xz, fps)
    if _too_fast(speed, travel):
        return path.scaled(float(speed.max()) / travel.fastest)
    if _too_slow(speed, travel):
        return path.scaled(_moving_median(speed, travel) / travel.slowest)
    return path


def _moving_median(speed: np.ndarray, travel: Travel) -> float:
    moving = speed[speed > 0.5 * travel.slowest]
    return float(np.median(moving)) if len(moving) else 0.0


def _too_fast(speed: np.ndarray, travel: Travel) -> bool:
    return bool(speed.max() > SPEED_MARGIN * travel.fastest)


def _too_slow(speed: np.ndarray, travel: Travel) -> bool:
    median = _moving_median(speed, travel)
    return 0 < median < travel.slowest / SPEED_MARGIN


def path_track(run: Run, path: GroundPath, travel: Travel) -> Track:
    """``path`` timed at the model's rate: by its times, or at the clip's median speed."""
    if path.times is None and not travel.travels:
        raise SinmdmError(f"{path.name}: the clip never travels, so the path needs times (a t column) to be followed")
    return track(path, run.layout.fps, travel.typical if path.times is None else None)


# ------------------------------------------------------------------ the constraint
def stop_weights(timed: Track, rest_speed: float) -> np.ndarray:
    """(F,) 1 within each stop of the path (at least MIN_STOP_SECONDS slower than
    ``rest_speed``), rising from 0 over a ramp where it meets travel; 0 elsewhere."""
    still = np.r_[False, timed.speeds() < rest_speed, False]
    starts, ends = np.flatnonzero(np.diff(still.astype(int)) == 1), np.flatnonzero(np.diff(still.astype(int)) == -1)
    weights = np.zeros(timed.frames)
    ramp = ramp_frames(timed.fps)
    for start, end in zip(starts.tolist(), ends.tolist()):  # a few stops: each its own fade
        if end - start >= MIN_STOP_SECONDS * timed.fps:
            weights[start:end] = fade(end - start, ramp, fade_in=start > 0, fade_out=end < timed.frames)
    return weights


def rest_pose(layout: FeatureLayout, motions: list[Motion]) -> np.ndarray:
    """Normalised features (C,) of the training frame with the most contact points down,
    and of those the one whose body moves least relative to its root."""
    best, pose = -np.inf, np.zeros(layout.n_channels)
    for motion in motions:
        features = layout.encode(motion)
        world = motion.world_positions()
        local = world - world[:, layout.traj_joint : layout.traj_joint + 1]
        speed = np.linalg.norm(np.diff(local, axis=0), axis=-1).mean(axis=1)
        speed = np.append(speed, speed[-1:]) if len(speed) else np.zeros(1)
        score = features[:, layout.slices["contact"]].sum(axis=1) - speed / (speed.max() + 1e-12)
        if score.max() > best:
            best, pose = float(score.max()), features[int(np.argmax(score))]
    return layout.normalise(pose)


def follow_known(
    layout: FeatureLayout, timed: Track, angle: float, device: torch.device, hold: Optional[np.ndarray] = None
) -> Known:
    """What the sampler keeps: the root's velocity (the path's steps in the heading
    frame) at every frame, and its heading turned to the path's direction minus
    ``angle``. ``hold`` (normalised features, C) is a pose to stand in where the path
    stops (see :func:`stop_weights`; None: the model plays what it learned at rest)."""
    require_trajectory(layout)
    heading = timed.direction - angle
    step = np.diff(timed.xz, axis=0)
    step = np.concatenate([step, step[-1:]])
    sin, cos = np.sin(heading), np.cos(heading)
    local = np.stack([cos * step[:, 0] - sin * step[:, 1], sin * step[:, 0] + cos * step[:, 1]], -1)
    s = layout.slices
    raw = np.zeros((timed.frames, layout.n_channels))
    raw[:, s["velocity"]] = local
    reference = layout.normalise(raw)
    mask = np.zeros((timed.frames, layout.n_channels))
    mask[:, s["velocity"]] = 1.0
    if hold is not None:
        weight = stop_weights(timed, REST_SPEED * layout.skeleton.size)
        held = np.ones(layout.n_channels, dtype=bool)
        held[s["velocity"]] = False
        reference[np.ix_(weight > 0, held)] = hold[held]
        mask[:, held] = weight[:, None]
    return Known(
        mask=torch.as_tensor(mask, dtype=torch.float32, device=device),
        reference=torch.as_tensor(reference[None], dtype=torch.float32, device=device),
        project=_heading_lock(layout, heading, device),
    )


def require_trajectory(layout: FeatureLayout) -> None:
    if not layout.has_trajectory:
        raise SinmdmError("this skeleton has no root position channels, so it cannot travel along a path")
    if layout.skeleton.keypoints is not None:
        raise SinmdmError("a keypoint model has no rotations to turn its creature along a path: follow takes BVH models")


def _heading_lock(layout: FeatureLayout, heading: np.ndarray, device: torch.device) -> Optional[Callable]:
    """x0 -> x0 with the trajectory joint's yaw set to ``heading`` (F,) at every frame
    (None where the joint has no rotation channels: its heading never changes)."""
    rotating = layout.rot_joints.tolist()
    if layout.traj_joint not in rotating:
        return None
    start = layout.slices["rot"].start + 6 * rotating.index(layout.traj_joint)
    channels = slice(start, start + 6)

    def tensor(values: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(values, dtype=torch.float32, device=device)

    mean, std, frame = tensor(layout.mean[channels]), tensor(layout.std[channels]), tensor(layout.skeleton.frame)
    want = tensor(heading)[None]  # (1, F)
    axis = layout.heading_axis

    def project(x0: torch.Tensor) -> torch.Tensor:
        world = frame @ sixd_to_matrix(x0[..., channels] * std + mean)  # (B, F, 3, 3) in the Y-up world
        towards = world[..., :, axis]
        turn = want - torch.atan2(towards[..., 0], towards[..., 2])
        cos, sin = torch.cos(turn), torch.sin(turn)
        zero, one = torch.zeros_like(cos), torch.ones_like(cos)
        yaw = torch.stack([cos, zero, sin, zero, one, zero, -sin, zero, cos], dim=-1).reshape(*cos.shape, 3, 3)
        out = x0.clone()
        out[..., channels] = (matrix_to_6d(frame.T @ yaw @ world) - mean) / std
        return out

    return project


# ------------------------------------------------------------------------ sampling
def follow(
    run: Run,
    path: GroundPath,
    n: int,
    *,
    steps: int,
    seed: int,
    travel: Optional[Travel] = None,
    angle: Optional[float] = None,
    clean: bool = True,
    on_step: Optional[Callable[[int], None]] = None,
) -> tuple[list[Motion], Track]:
    """``n`` motions whose root travels along ``path`` (timed by :func:`path_track`),
    facing it at ``angle`` radians (default: the clip's own), and the timed path."""
    layout = run.layout
    require_trajectory(layout)
    travel = travel or clip_travel(layout, run.clip_set().motions)
    timed = path_track(run, path, travel)
    # A clip that never stands still teaches no standing: where the path stops, the
    # creature holds its calmest pose of the clip instead of walking on the spot.
    hold = None if travel.rests else rest_pose(layout, run.clip_set().motions)
    known = follow_known(layout, timed, travel.angle if angle is None else angle, run.device, hold)
    features = sample_features(run, n, timed.frames, steps=steps, seed=seed, plan=False, known=known, on_step=on_step)
    anchors = np.ones(timed.frames, dtype=bool)
    motions = [pin_trajectory(layout, m, timed.xz, anchors) for m in to_motions(run, features)]
    if clean:
        # Nothing is kept exactly, so cleanup smooths the root with the rest (kept exactly,
        # its jitter made the whole body 1.4-1.7 times as jerky as the clip); a given
        # array stops it gliding the root after the feet (which took it 0.7-0.8 body
        # sizes off the path). The smoothed root is then put back on the path and turned
        # back to the path's heading, which moves it by 0.0003 body sizes and 0.2 degrees
        # at most on Walk-In-Circle (docs/follow.md).
        nothing = np.zeros((timed.frames, layout.skeleton.n_joints))
        cleaned = clean_motions(run, None, features, motions, nothing)
        heading = timed.direction - (travel.angle if angle is None else angle)
        motions = [pin_trajectory(layout, face(layout, m, heading), timed.xz, anchors) for m in cleaned]
    return motions, timed


def face(layout: FeatureLayout, motion: Motion, heading: np.ndarray) -> Motion:
    """``motion`` with its trajectory joint turned about the up axis, frame by frame, to
    ``heading`` (F,) radians; its tilt is kept (a joint without rotation channels cannot turn)."""
    j = layout.traj_joint
    if j not in layout.rot_joints.tolist():
        return motion
    world_rot = motion.world()[0][:, j]
    turn = heading - layout.heading_angle(world_rot)
    cos, sin = np.cos(turn), np.sin(turn)
    yaw = np.zeros((len(turn), 3, 3))
    yaw[:, 0, 0], yaw[:, 0, 2], yaw[:, 1, 1], yaw[:, 2, 0], yaw[:, 2, 2] = cos, sin, 1.0, -sin, cos
    parent_rot, _ = motion.parent_transform(j)
    rotations = motion.rotations.copy()
    rotations[:, j] = np.swapaxes(parent_rot, -1, -2) @ yaw @ world_rot
    return replace(motion, rotations=rotations)


def root_given(layout: FeatureLayout, frames: int) -> np.ndarray:
    """(frames, J): the trajectory joint given, the rest generated (for colouring)."""
    given = np.zeros((frames, layout.skeleton.n_joints))
    given[:, layout.traj_joint] = 1.0
    return given
