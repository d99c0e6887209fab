"""Ground paths for ``sinmdm follow``: reading them (a CSV or JSON list of points, or a
BVH file's root), joining the points with a centripetal Catmull-Rom spline, and timing
the travel along that curve frame by frame.

A path's points are ground coordinates in the file's own axes (x and z for a Y-up clip,
x and y for a Z-up one), in the clip's units, and become X/Z of the Y-up world sinmdm
works in. Centripetal knots (Barry and Goldman's form with alpha = 1/2) keep the curve
from looping or cusping between points that are unevenly spaced.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Optional

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..base.errors import SinmdmError
from .skeleton import UP_FRAMES

CURVE_SAMPLES = 32  # curve points per spline segment, for arc length and tangents
# How long speeding up and slowing down take: the path's speed is smoothed over this
# (Gaussian sigma, seconds), so a stop in the points is a stop a body can make.
SPEED_SMOOTH_SECONDS = 0.2


@dataclass(frozen=True)
class GroundPath:
    """``points`` (P, 2) world X/Z; ``times`` (P,) seconds, increasing, or None when the
    creature should travel at its own speed; ``name`` for messages."""

    points: np.ndarray
    times: Optional[np.ndarray]
    name: str

    def scaled(self, factor: float) -> GroundPath:
        """The same path taking ``factor`` times as long."""
        return self if self.times is None else replace(self, times=self.times * factor)


@dataclass(frozen=True)
class Track:
    """A path timed at ``fps``: ``xz`` (F, 2) the root's place at each frame and
    ``direction`` (F,) the curve's direction there (radians about the up axis, as
    ``atan2(dx, dz)``; defined while stopped too); ``curve`` (M, 2) the whole curve."""

    xz: np.ndarray
    direction: np.ndarray
    curve: np.ndarray
    fps: float

    @property
    def frames(self) -> int:
        return len(self.xz)

    def speeds(self) -> np.ndarray:
        """(F,) ground speed, units per second (the last frame repeats the one before)."""
        step = np.linalg.norm(np.diff(self.xz, axis=0), axis=-1) * self.fps
        return np.append(step, step[-1:]) if len(step) else np.zeros(1)


# ------------------------------------------------------------------------- reading
def read_path(path: Path, up: str) -> GroundPath:
    """A path from a ``.csv``, ``.json`` or ``.bvh`` file; ``up`` is the model's up axis,
    which says which two columns are the ground."""
    path = Path(path)
    if not path.is_file():
        raise SinmdmError(f"{path}: {'is a directory, not a path file' if path.is_dir() else 'no such file'}")
    suffix = path.suffix.lower()
    if suffix == ".bvh":
        return _bvh_path(path)
    if suffix == ".json":
        return points_path(_json(path), up, str(path))
    if suffix == ".csv":
        return points_path(_csv_rows(path), up, str(path))
    raise SinmdmError(f"{path}: a path is a .csv, .json or .bvh file")


def read_path_list(path: Path, up: str) -> list[GroundPath]:
    """Several paths from one JSON file: a list whose items are lists of points."""
    data = _json(Path(path))
    if not isinstance(data, list) or not data or not all(isinstance(p, list) for p in data):
        raise SinmdmError(f"{path}: expected a JSON list of paths, each a list of {{\"t\", \"x\", \"z\"}} points")
    return [points_path(p, up, f"{path} (path {i})") for i, p in enumerate(data)]


def ground_axes(up: str) -> tuple[str, str]:
    """The file's two ground axes for an up axis: x and z for Y-up, x and y for Z-up."""
    return ("x", "z") if up == "y" else ("x", "y")


def points_path(rows: Any, up: str, name: str) -> GroundPath:
    """A path from a list of ``{"t", <ground axes>}`` mappings (``t`` in all or none),
    checked: at least 2 points, finite numbers, times increasing."""
    first, second = ground_axes(up)
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise SinmdmError(f"{name}: expected a list of points, each with '{first}' and '{second}' (and 't')")
    if len(rows) < 2:
        raise SinmdmError(f"{name}: a path needs at least 2 points, found {len(rows)}")
    keys = [{str(k).strip().lower(): v for k, v in r.items()} for r in rows]
    missing = [(i, a) for i, r in enumerate(keys) for a in (first, second) if a not in r]
    if missing:
        i, axis = missing[0]
        hint = " (this model's clip is Z-up: its ground is x and y)" if up == "z" and axis == "y" else ""
        raise SinmdmError(f"{name}: point {i} has no '{axis}'{hint}")
    timed = ["t" in r for r in keys]
    if any(timed) and not all(timed):
        raise SinmdmError(f"{name}: give 't' on every point or on none (point {timed.index(False)} has none)")
    columns = [first, second] + (["t"] if all(timed) else [])
    values = np.array([[_number(r[c], name, i, c) for c in columns] for i, r in enumerate(keys)])
    ground = np.zeros((len(values), 3))
    ground[:, "xyz".index(first)], ground[:, "xyz".index(second)] = values[:, 0], values[:, 1]
    points = (ground @ UP_FRAMES[up].T)[:, [0, 2]]
    times = values[:, 2] if all(timed) else None
    if times is not None:
        slower = np.flatnonzero(np.diff(times) <= 0)
        if len(slower):
            i = int(slower[0]) + 1
            raise SinmdmError(f"{name}: times must increase: point {i} has t = {times[i]:g} after {times[i - 1]:g}")
    return GroundPath(points, times, name)


def _number(value: Any, name: str, point: int, column: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SinmdmError(f"{name}: point {point}: {column} = {value!r} is not a number") from None
    if not math.isfinite(number):
        raise SinmdmError(f"{name}: point {point}: {column} = {value} is not a finite number")
    return number


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SinmdmError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SinmdmError(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise SinmdmError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None


def _csv_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV with a header line, as mappings (blank lines skipped)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SinmdmError(f"{path}: cannot read: {exc}") from None
    lines = [row for row in csv.reader(text.splitlines()) if any(cell.strip() for cell in row)]
    if not lines:
        raise SinmdmError(f"{path}: empty: expected a header line (t,x,z) and a point per line")
    header = [cell.strip().lower() for cell in lines[0]]
    if not {"x"} <= set(header):
        raise SinmdmError(f"{path}: the first line must be a header naming the columns, e.g. t,x,z")
    short = [i for i, row in enumerate(lines[1:], 2) if len(row) < len(header)]
    if short:
        raise SinmdmError(f"{path}:{short[0]}: fewer values than the header's {len(header)} columns")
    return [dict(zip(header, row)) for row in lines[1:]]


def _bvh_path(path: Path) -> GroundPath:
    """The root's ground path of a BVH file on any skeleton, one point per frame."""
    from .bvh import read_bvh

    motion = read_bvh(path)
    positioned = motion.skeleton.positioned_joints
    if not len(positioned):
        raise SinmdmError(f"{path}: no joint has position channels, so the file has no root path to follow")
    if motion.n_frames < 2:
        raise SinmdmError(f"{path}: a path needs at least 2 frames, found {motion.n_frames}")
    points = motion.world_positions()[:, positioned[0]][:, [0, 2]]
    return GroundPath(points, np.arange(motion.n_frames) / motion.fps, str(path))


# ---------------------------------------------------------------------- the curve
def catmull_rom(points: np.ndarray, samples: int = CURVE_SAMPLES) -> tuple[np.ndarray, np.ndarray]:
    """The centripetal Catmull-Rom curve through ``points`` (P, 2), with repeated
    consecutive points dropped: (M, 2) curve points and, for each of the P given points,
    the index of its curve point."""
    distinct = np.r_[True, np.linalg.norm(np.diff(points, axis=0), axis=-1) > 0]
    node = np.cumsum(distinct) - 1  # each given point's distinct point
    p = points[distinct]
    if len(p) < 2:
        return p.copy(), np.zeros(len(points), dtype=np.int64)
    # Phantom end points mirror the first and last segments, so the curve ends straight.
    ext = np.concatenate([2 * p[:1] - p[1:2], p, 2 * p[-1:] - p[-2:-1]])
    p0, p1, p2, p3 = ext[:-3], ext[1:-2], ext[2:-1], ext[3:]  # (S, 2) per segment
    knot = np.sqrt(np.maximum(np.linalg.norm(np.diff(ext, axis=0), axis=-1), 1e-12))  # |dP| ** 0.5
    t0 = np.zeros(len(p1))
    t1 = t0 + knot[:-2]
    t2 = t1 + knot[1:-1]
    t3 = t2 + knot[2:]
    u = t1[:, None] + (t2 - t1)[:, None] * (np.arange(samples) / samples)[None]  # (S, K)

    def mix(a, b, ta, tb):  # noqa: ANN001, ANN202 - the spline's recursive blend
        w = ((u - ta[:, None]) / (tb - ta)[:, None])[..., None]
        return (1 - w) * a + w * b

    a1 = mix(p0[:, None], p1[:, None], t0, t1)
    a2 = mix(p1[:, None], p2[:, None], t1, t2)
    a3 = mix(p2[:, None], p3[:, None], t2, t3)
    b1 = mix(a1, a2, t0, t2)
    b2 = mix(a2, a3, t1, t3)
    curve = np.concatenate([mix(b1, b2, t1, t2).reshape(-1, 2), p[-1:]])
    return curve, node * samples


def track(path: GroundPath, fps: float, speed: Optional[float] = None) -> Track:
    """``path`` timed at ``fps`` frames per second: by its own times, or at ``speed``
    units per second along the curve without them. Speed changes are smoothed over
    SPEED_SMOOTH_SECONDS (the travelled distance and the end stay as they were)."""
    curve, nodes = catmull_rom(path.points)
    arc = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(curve, axis=0), axis=-1))]
    length = float(arc[-1])
    if path.times is None:
        if speed is None or speed <= 0:
            raise ValueError("a path without times needs a positive speed")
        if length <= 0:
            raise SinmdmError(f"{path.name}: the path does not go anywhere: give times (a t column) to stand still")
        frames = max(2, round(length / speed * fps) + 1)
        steps = np.full(frames - 1, length / (frames - 1))
    else:
        times = path.times - path.times[0]
        frames = max(2, round(times[-1] * fps) + 1)
        travelled = np.interp(np.arange(frames) / fps, times, arc[nodes])
        steps = np.diff(travelled)
        sigma = SPEED_SMOOTH_SECONDS * fps
        if length > 0 and sigma > 0:
            smoothed = gaussian_filter1d(steps, sigma, mode="nearest")
            steps = smoothed * (length / max(float(smoothed.sum()), 1e-12))
    along = np.minimum(np.r_[0.0, np.cumsum(steps)], length)
    xz = np.stack([np.interp(along, arc, curve[:, k]) for k in range(2)], axis=-1)
    return Track(xz, _directions(curve, arc, along), curve, fps)


def _directions(curve: np.ndarray, arc: np.ndarray, along: np.ndarray) -> np.ndarray:
    """The curve's direction (radians, unwrapped) at arc lengths ``along``."""
    if len(curve) < 2:
        return np.zeros(len(along))
    step = np.diff(curve, axis=0)
    angle = np.unwrap(np.arctan2(step[:, 0], step[:, 1]))
    middle = 0.5 * (arc[1:] + arc[:-1])
    return np.interp(along, middle, angle)
