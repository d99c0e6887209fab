"""Keypoint clips: joint positions per frame (F, J, 2 or 3), as pose estimation gives
them, with the bones as an edge list and no rotations.

Such a clip becomes a :class:`Motion` on a flat skeleton: joint 0 is the root joint
(given, or the most central one along the edges), every other joint hangs from it with
position channels only, so the model's features are the root's height and horizontal
velocity and every joint's position relative to the root, exactly as for a BVH's
position channels. The edges (:class:`KeypointSpec`) are kept for drawing, for the bone
lengths and for writing the file back in its own layout, axes and units. In 2D the
image's y axis is up (``y_down`` for image coordinates) and the depth is 0.

Missing values (NaN) are filled along time from the frames on either side, so every
frame has a pose; :func:`read_keypoint_clip` also says where they were (:func:`missing`),
and training leaves those values out of its loss.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..base.atomic import atomic_write
from ..base.errors import SinmdmError
from .body import calibrate
from .keypoint_spec import KeypointSpec
from .motion import Motion
from .skeleton import UP_FRAMES, Skeleton

SUFFIXES = (".npy", ".npz")
POSITION = ("Xposition", "Yposition", "Zposition")


@dataclass(frozen=True)
class KeypointOptions:
    """What a keypoint file may not say itself: its rate (a .npy has none), its bones
    (``edges``: "0-1,1-2,..." or a JSON file of pairs), its root joint (name or index),
    whether 2D y grows downwards, and a 3D file's up axis."""

    fps: Optional[float] = None
    edges: Optional[str] = None
    root: Optional[str] = None
    y_down: bool = False
    up: Optional[str] = None


def is_keypoint_file(path: Path) -> bool:
    return Path(path).suffix.lower() in SUFFIXES


def read_keypoints(path: Path, options: KeypointOptions = KeypointOptions()) -> Motion:
    """The clip in ``path`` (.npy: positions; .npz: ``positions``, ``fps``, ``edges``,
    optional ``names``, ``root`` and ``y_down``) as a Motion; one clear error for any bad
    file."""
    return read_keypoint_clip(path, options)[0]


def read_keypoint_clip(path: Path, options: KeypointOptions = KeypointOptions()) -> tuple[Motion, np.ndarray]:
    """:func:`read_keypoints`, and (F, J) where the file's values were missing, in the
    skeleton's joint order."""
    path = Path(path)
    data = _load(path)
    positions = data.get("positions")
    if positions is None:
        raise SinmdmError(f"{path}: no 'positions' array in it (an .npz needs positions, fps and edges)")
    fps = options.fps if "fps" not in data else float(np.asarray(data["fps"]).reshape(-1)[0])
    if fps is None:
        raise SinmdmError(f"{path}: no frame rate: give --fps")
    if options.edges is not None:
        edges = parse_edges(options.edges)
    elif "edges" in data:
        edges = [tuple(e) for e in np.asarray(data["edges"]).reshape(-1, 2).tolist()]
    else:
        raise SinmdmError(f"{path}: no bones: give --edges (\"0-1,1-2,...\" or a JSON file of pairs)")
    names = [str(n) for n in np.asarray(data["names"]).reshape(-1)] if "names" in data else None
    root = options.root if options.root is not None else (str(np.asarray(data["root"]).reshape(-1)[0]) if "root" in data else None)
    try:
        y_down = options.y_down or bool(np.asarray(data.get("y_down", False)).reshape(-1)[0])
        motion = keypoint_motion(np.asarray(positions), fps, edges, names, root, y_down, options.up, path.suffix.lower())
    except SinmdmError as exc:
        raise SinmdmError(f"{path}: {exc}") from None
    return motion, missing(np.asarray(positions, dtype=np.float64))[:, list(motion.skeleton.keypoints.order)]


def _load(path: Path) -> dict[str, np.ndarray]:
    if path.suffix.lower() not in SUFFIXES:
        raise SinmdmError(f"{path}: keypoints come as .npy or .npz")
    try:
        loaded = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise SinmdmError(f"{path}: no such file") from None
    except (OSError, ValueError) as exc:
        raise SinmdmError(f"{path}: not a numpy file ({exc})") from None
    if isinstance(loaded, np.ndarray):
        return {"positions": loaded}
    with loaded:
        return {k: loaded[k] for k in loaded.files}


def parse_edges(text: str) -> list[tuple[int, int]]:
    """``"0-1,1-2"``, or a JSON file holding a list of pairs."""
    if Path(text).suffix.lower() == ".json":
        try:
            pairs = json.loads(Path(text).read_text(encoding="utf-8"))
            return [(int(a), int(b)) for a, b in pairs]
        except FileNotFoundError:
            raise SinmdmError(f"--edges {text}: no such file") from None
        except (OSError, ValueError, TypeError) as exc:
            raise SinmdmError(f"--edges {text}: not a JSON list of [a, b] pairs ({exc})") from None
    try:
        return [(int(a), int(b)) for a, b in (part.split("-") for part in text.replace(" ", "").split(",") if part)]
    except ValueError:
        raise SinmdmError(f"--edges '{text}': write bones as joint index pairs, e.g. 0-1,1-2,1-3") from None


def keypoint_motion(
    positions: np.ndarray, fps: float, edges: Sequence[tuple[int, int]], names: Optional[Sequence[str]] = None,
    root: Optional[str] = None, y_down: bool = False, up: Optional[str] = None, suffix: str = ".npz",
) -> Motion:
    """The Motion of positions (F, J, 2|3) at ``fps`` with bones ``edges`` (file indices)."""
    if positions.ndim != 3 or positions.shape[2] not in (2, 3) or positions.shape[0] < 2 or positions.shape[1] < 2:
        raise SinmdmError(f"positions have shape {positions.shape}: expected (frames >= 2, joints >= 2, 2 or 3)")
    if not np.issubdtype(positions.dtype, np.number):
        raise SinmdmError(f"positions are {positions.dtype}, not numbers")
    if not (np.isfinite(fps) and fps > 0):
        raise SinmdmError(f"frame rate {fps} is not a positive number")
    frames, joints, dims = positions.shape
    positions = positions.astype(np.float64)
    if np.isinf(positions).any():
        raise SinmdmError("positions hold infinite values (missing values should be NaN)")
    empty = np.flatnonzero(np.isnan(positions).any(axis=2).all(axis=0))
    names = _names(names, joints)
    if len(empty):
        raise SinmdmError(f"joint {names[empty[0]]} has no value in any frame")
    edges = _check_edges(edges, joints)
    root_index = _root(root, names, edges, joints)
    order = [root_index] + [j for j in range(joints) if j != root_index]
    where = {j: k for k, j in enumerate(order)}
    file_world = _world(_filled(positions), dims, y_down)[:, order]  # the file's axes (2D: Y up)
    ends = file_world[:, [where[a] for a, _ in edges]] - file_world[:, [where[b] for _, b in edges]]
    spec = KeypointSpec(dims, tuple((where[a], where[b]) for a, b in edges), tuple(order),
                        tuple(np.median(np.linalg.norm(ends, axis=-1), axis=0).tolist()), y_down, suffix)
    axis = "y" if dims == 2 else up
    if axis is not None and axis not in UP_FRAMES:
        raise SinmdmError(f"unknown up axis '{axis}': use {' or '.join(UP_FRAMES)}")
    local = file_world - file_world[:, :1]
    local[:, 0] = file_world[:, 0]
    skeleton = Skeleton(
        names=tuple(names[j] for j in order), parents=np.array([-1] + [0] * (joints - 1), dtype=np.int64),
        offsets=np.concatenate([np.zeros((1, 3)), np.median(local[:, 1:], axis=0)]), channels=(POSITION,) * joints,
        end_site_parents=np.zeros(0, dtype=np.int64), end_site_offsets=np.zeros((0, 3)), keypoints=spec,
    )
    motion = Motion(skeleton, np.broadcast_to(np.eye(3), (frames, joints, 3, 3)).copy(), local, 1.0 / fps)
    return calibrate(motion, axis)


def _names(names: Optional[Sequence[str]], joints: int) -> list[str]:
    if names is None:
        return [f"joint{j}" for j in range(joints)]
    if len(names) != joints:
        raise SinmdmError(f"{len(names)} names for {joints} joints")
    clean = ["_".join(str(n).split()) or f"joint{j}" for j, n in enumerate(names)]
    if len(set(clean)) != len(clean):
        raise SinmdmError("joint names repeat: " + ", ".join(sorted({n for n in clean if clean.count(n) > 1})))
    return clean


def _check_edges(edges: Sequence[tuple[int, int]], joints: int) -> list[tuple[int, int]]:
    """The bones, refused when out of range, repeated, or closing a cycle."""
    if not edges:
        raise SinmdmError("no bones in the edge list")
    group = list(range(joints))

    def find(j: int) -> int:
        while group[j] != j:
            group[j] = group[group[j]]
            j = group[j]
        return j

    seen = set()
    for a, b in edges:
        if not (0 <= a < joints and 0 <= b < joints):
            raise SinmdmError(f"bone {a}-{b} names a joint outside 0..{joints - 1}")
        if a == b or (min(a, b), max(a, b)) in seen:
            raise SinmdmError(f"bone {a}-{b} joins a joint to itself or repeats a bone")
        seen.add((min(a, b), max(a, b)))
        if find(a) == find(b):
            raise SinmdmError(f"bone {a}-{b} closes a cycle: the bones must form a tree (or several)")
        group[find(a)] = find(b)
    return [(int(a), int(b)) for a, b in edges]


def _root(root: Optional[str], names: list[str], edges: list[tuple[int, int]], joints: int) -> int:
    """The given root (name or index), else the most central joint of the largest tree:
    the least eccentric (farthest joint fewest bones away), ties to the smaller total."""
    if root is not None:
        if root in names:
            return names.index(root)
        if root.isdigit() and int(root) < joints:
            return int(root)
        raise SinmdmError(f"root '{root}' is neither a joint name nor an index below {joints}")
    hops = np.full((joints, joints), np.inf)
    np.fill_diagonal(hops, 0)
    for a, b in edges:
        hops[a, b] = hops[b, a] = 1
    for k in range(joints):  # Floyd-Warshall, once per clip on a handful of joints
        hops = np.minimum(hops, hops[:, k : k + 1] + hops[k : k + 1, :])
    reach = np.isfinite(hops)
    largest = reach.sum(axis=1) == reach.sum(axis=1).max()
    eccentricity = np.where(largest, np.where(reach, hops, 0).max(axis=1), np.inf)
    total = np.where(reach, hops, 0).sum(axis=1)
    return int(np.lexsort((total, eccentricity))[0])


def _filled(positions: np.ndarray) -> np.ndarray:
    """Missing values filled along time from the frames on either side (held at the ends)."""
    if not np.isnan(positions).any():
        return positions
    frames = positions.shape[0]
    flat = positions.reshape(frames, -1)
    known = ~np.isnan(flat)
    index = np.where(known, np.arange(frames)[:, None], -1)
    before = np.maximum.accumulate(index, axis=0)
    after = np.flip(np.minimum.accumulate(np.flip(np.where(known, index, frames), axis=0), axis=0), axis=0)
    lo, hi = np.where(before < 0, after, before), np.where(after >= frames, before, after)
    cols = np.arange(flat.shape[1])
    span = np.maximum(hi - lo, 1)
    weight = np.where(hi > lo, (np.arange(frames)[:, None] - lo) / span, 0.0)
    filled = flat[lo, cols] * (1 - weight) + flat[hi, cols] * weight
    return filled.reshape(positions.shape)


def missing(positions: np.ndarray) -> np.ndarray:
    """(F, J) where a joint's position is missing (any coordinate NaN)."""
    return np.isnan(positions).any(axis=-1)


def resample_missing(gaps: np.ndarray, fps: float, to_fps: float) -> np.ndarray:
    """(F', J) ``gaps`` (F, J) at ``to_fps``, frame for frame as :meth:`Motion.resample`
    interpolates: a frame is missing where either frame it is made from is."""
    if abs(to_fps - fps) < 1e-6 * fps:
        return gaps
    count = int(np.floor((len(gaps) - 1) * to_fps / fps + 1e-6)) + 1
    t = np.arange(count) * (fps / to_fps)
    i0 = np.minimum(np.floor(t + 1e-9).astype(np.int64), len(gaps) - 1)
    i1 = np.minimum(i0 + 1, len(gaps) - 1)
    return gaps[i0] | (gaps[i1] & (t - i0 > 1e-9)[:, None])


def _world(positions: np.ndarray, dims: int, y_down: bool) -> np.ndarray:
    """(F, J, 3): 3D as it is; 2D (x, y) in a Y-up world at depth 0, y flipped for image axes."""
    if dims == 3:
        return positions
    y = -positions[..., 1] if y_down else positions[..., 1]
    return np.stack([positions[..., 0], y, np.zeros_like(y)], axis=-1)


def keypoint_positions(motion: Motion) -> np.ndarray:
    """(F, J, dims) in the file's joint order, axes and units."""
    spec = _spec(motion)
    file_world = motion.world_positions() @ motion.skeleton.frame  # the Y-up world back to the file's axes
    out = np.empty_like(file_world)
    out[:, list(spec.order)] = file_world
    if spec.dims == 3:
        return out
    return np.stack([out[..., 0], -out[..., 1] if spec.y_down else out[..., 1]], axis=-1)


def write_keypoints(path: Path, motion: Motion) -> None:
    """.npy: the positions (F, J, dims); .npz: positions, fps, edges, names and y_down
    (image axes), which reading it back needs."""
    spec = _spec(motion)
    positions = keypoint_positions(motion)
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise SinmdmError(f"{path}: a keypoint motion is written as .npy or .npz")
    names = np.empty(len(spec.order), dtype=object)
    names[list(spec.order)] = motion.skeleton.names
    edges = np.array([(spec.order[a], spec.order[b]) for a, b in spec.edges], dtype=np.int64)
    with atomic_write(path, "wb") as out:
        if suffix == ".npy":
            np.save(out, positions)
        else:
            np.savez(out, positions=positions, fps=np.float64(motion.fps), edges=edges, names=names.astype(str),
                     y_down=np.bool_(spec.y_down))


def fit_bone_lengths(motion: Motion) -> Motion:
    """A 3D keypoint motion with every bone at the clip's length: each joint moved along
    its bone from its (already fitted) tree parent, tree level by tree level."""
    spec = _spec(motion)
    if spec.dims != 3:
        return motion
    parents = spec.tree_parents()
    length = {frozenset(e): L for e, L in zip(spec.edges, spec.lengths)}
    world = motion.world_positions()
    fitted = world.copy()
    level = np.flatnonzero(parents < 0)
    while len(level):
        level = np.flatnonzero(np.isin(parents, level))
        if not len(level):
            break
        up = parents[level]
        bone = world[:, level] - world[:, up]
        norm = np.linalg.norm(bone, axis=-1, keepdims=True)
        target = np.array([length[frozenset((int(p), int(j)))] for p, j in zip(up, level)])
        fitted[:, level] = fitted[:, up] + bone / np.maximum(norm, 1e-12) * target[:, None]
    return from_world(motion, fitted)


def from_world(motion: Motion, world: np.ndarray) -> Motion:
    """``motion`` with its joints at ``world`` (F, J, 3) positions (Y-up world)."""
    file_world = world @ motion.skeleton.frame
    local = file_world - file_world[:, :1]
    local[:, 0] = file_world[:, 0]
    return replace(motion, translations=local)


def _spec(motion: Motion) -> KeypointSpec:
    if motion.skeleton.keypoints is None:
        raise SinmdmError("not a keypoint motion")
    return motion.skeleton.keypoints
