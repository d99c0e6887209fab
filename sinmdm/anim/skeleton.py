"""The skeleton of a clip: joint tree, offsets, End Sites and the BVH channel layout.

Joints are kept in file order (a depth-first pre-order, so every parent precedes its
children). Forward kinematics runs level by level over the tree depth, each level one
batched matrix product, so the cost in Python is the tree depth, never frames or joints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Optional

import numpy as np

from ..base.errors import SinmdmError
from .channels import POSITION_CHANNELS, ROTATION_CHANNELS, ChannelLayout
from .keypoint_spec import KeypointSpec
from .rotations import VALID_ORDERS, Array, array_module, as_like

# The file's up axis and the rotation taking its coordinates to the Y-up world every
# measurement uses (a Z-up file's (x, y, z) is (x, z, -y) there: right-handed, so a
# rotation, and the file's own channels are never changed).
UP_FRAMES = {
    "y": np.eye(3),
    "z": np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]]),
}
END_SITE = "End Site"
_END_SITE_NAME = re.compile(r"(.+?)\s+end\s*site(?:\s+(\d+))?", re.IGNORECASE)


def base_name(name: str) -> str:
    """A joint name without its namespace prefix: ``mixamorig7:Hips`` -> ``Hips``."""
    return name.rsplit(":", 1)[-1].rsplit("|", 1)[-1]


def _is_preorder(parents: list[int]) -> bool:
    """Whether every joint's parent is the joint before it or one of that one's ancestors."""
    open_path: list[int] = []
    for j, p in enumerate(parents):
        while open_path and open_path[-1] != p:
            open_path.pop()
        if p >= 0 and not open_path:
            return False
        open_path.append(j)
    return True


@dataclass(frozen=True, eq=False)
class Skeleton(ChannelLayout):
    """Joint names, parents (-1 for the root), rest offsets (J, 3), per-joint channel
    names in file order, and End Sites (their parent joint and offset).

    ``end_site_slots`` (E,) says where each End Site stands among its parent's children
    in the file: after that many of its child joints (default: after all of them).
    ``up`` is the file's up axis ("y" or "z"); ``measured_size`` the body size measured
    from a clip (see :mod:`sinmdm.anim.body`), 0 when none was measured. ``keypoints``:
    a skeleton made from joint positions (:mod:`sinmdm.anim.keypoints`), else None.

    *Points* are the joints followed by the End Sites (J + E of them): anything that can
    touch the floor, with :attr:`point_parents` and :attr:`point_names`.
    """

    names: tuple[str, ...]
    parents: np.ndarray
    offsets: np.ndarray
    channels: tuple[tuple[str, ...], ...]
    end_site_parents: np.ndarray
    end_site_offsets: np.ndarray
    end_site_slots: np.ndarray | None = None
    up: str = "y"
    measured_size: float = 0.0
    keypoints: Optional[KeypointSpec] = None

    def __post_init__(self) -> None:
        parents = self.parents
        if len(parents) == 0 or parents[0] != -1 or np.any(parents[1:] < 0) or np.any(parents[1:] >= np.arange(1, len(parents))):
            raise SinmdmError("a skeleton needs one root first and every parent before its children")
        if not _is_preorder(parents.tolist()):
            # BVH nesting, subtree() and the writer all rely on depth-first order.
            raise SinmdmError("a skeleton's joints must be in depth-first order (each subtree contiguous)")
        for j, chans in enumerate(self.channels):
            rot = "".join(c[0].upper() for c in chans if c in ROTATION_CHANNELS)
            pos = [c for c in chans if c in POSITION_CHANNELS]
            if rot and rot not in VALID_ORDERS:
                raise SinmdmError(
                    f"joint '{self.names[j]}' has rotation channels '{rot}'; "
                    "only 0 or 3 rotation channels in a valid Euler order are supported"
                )
            if len(set(pos)) != len(pos):
                raise SinmdmError(f"joint '{self.names[j]}' repeats a position channel")
        if len(set(self.names)) != len(self.names):
            dup = sorted({n for n in self.names if self.names.count(n) > 1})
            raise SinmdmError(f"duplicate joint names: {', '.join(dup)}")
        if np.any(self.end_site_parents < 0) or np.any(self.end_site_parents >= len(parents)):
            raise SinmdmError("an End Site below a joint the skeleton does not have")
        children = np.bincount(parents[1:], minlength=len(parents))[self.end_site_parents]
        slots = children if self.end_site_slots is None else np.asarray(self.end_site_slots, dtype=np.int64)
        if slots.shape != children.shape or np.any(slots < 0) or np.any(slots > children):
            raise SinmdmError("End Sites placed among children their parent does not have")
        object.__setattr__(self, "end_site_slots", slots.astype(np.int64))
        if self.up not in UP_FRAMES:
            raise SinmdmError(f"unknown up axis '{self.up}' (use {' or '.join(UP_FRAMES)})")
        if not (np.isfinite(self.measured_size) and self.measured_size >= 0):
            raise SinmdmError(f"a body size must be positive (or 0: not measured), got {self.measured_size}")

    # ----------------------------------------------------------------- structure
    @property
    def n_joints(self) -> int:
        return len(self.names)

    @cached_property
    def children(self) -> tuple[tuple[int, ...], ...]:
        kids: list[list[int]] = [[] for _ in self.names]
        for j, p in enumerate(self.parents.tolist()):
            if p >= 0:
                kids[p].append(j)
        return tuple(tuple(k) for k in kids)

    @cached_property
    def depths(self) -> np.ndarray:
        depth = np.zeros(self.n_joints, dtype=np.int64)
        for j, p in enumerate(self.parents.tolist()):  # parents precede children
            if p >= 0:
                depth[j] = depth[p] + 1
        return depth

    @cached_property
    def _levels(self) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
        """Joints grouped by depth, each joint's parent position within the level above,
        and the permutation that puts the concatenated levels back into joint order."""
        depth = self.depths
        levels = [np.flatnonzero(depth == d) for d in range(int(depth.max()) + 1)]
        slot = np.empty(self.n_joints, dtype=np.int64)
        for level in levels:
            slot[level] = np.arange(len(level))
        parent_slots = [slot[self.parents[level]] for level in levels[1:]]
        inverse = np.argsort(np.concatenate(levels), kind="stable")
        return levels, parent_slots, inverse

    def subtree(self, joint: int) -> list[int]:
        """``joint`` and all its descendants, in joint order (a pre-order subtree is contiguous)."""
        after = np.flatnonzero(self.depths[joint + 1 :] <= self.depths[joint])
        end = joint + 1 + int(after[0]) if len(after) else self.n_joints
        return list(range(joint, end))

    def index(self, name: str) -> int:
        """Index of a joint by exact name, or by name without prefix if that is unique."""
        if name in self._by_name:
            return self._by_name[name]
        matches = self._by_base.get(base_name(name).lower(), [])
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise SinmdmError(f"joint name '{name}' is ambiguous: {', '.join(self.names[m] for m in matches)}")
        raise SinmdmError(f"no joint named '{name}' in this skeleton")

    def find(self, name: str) -> int | None:
        """Like :meth:`index`, but None when there is no such joint."""
        try:
            return self.index(name)
        except SinmdmError:
            return None

    # ---------------------------------------------------------------- points
    @property
    def n_points(self) -> int:
        """Joints and End Sites."""
        return self.n_joints + len(self.end_site_parents)

    @cached_property
    def point_parents(self) -> np.ndarray:
        """(J + E,) the joint each point hangs from (-1 for the root)."""
        return np.concatenate([self.parents, self.end_site_parents]).astype(np.int64)

    @cached_property
    def drawn_parents(self) -> np.ndarray:
        """(J + E,) the point each drawn bone starts from (-1: none): the joint tree, or a
        keypoint skeleton's edges."""
        return self.keypoints.tree_parents() if self.keypoints else self.point_parents

    @cached_property
    def point_names(self) -> tuple[str, ...]:
        """Joint names, then ``"<joint> End Site"`` (numbered from 1 where a joint has several)."""
        counts = np.bincount(self.end_site_parents, minlength=self.n_joints)
        seen = np.zeros(self.n_joints, dtype=np.int64)
        ends = []
        for p in self.end_site_parents.tolist():
            seen[p] += 1
            ends.append(f"{self.names[p]} {END_SITE}" + (f" {seen[p]}" if counts[p] > 1 else ""))
        return self.names + tuple(ends)

    def point_index(self, name: str) -> int:
        """Index of a point by name: a joint as in :meth:`index`, or an End Site as
        ``"<joint> End Site"`` (``"<joint> End Site 2"`` for the second of several)."""
        if name in self._point_by_name:
            return self._point_by_name[name]
        end = _END_SITE_NAME.fullmatch(name.strip())
        if end is None:
            return self.index(name)
        joint = self.index(end.group(1))
        mine = np.flatnonzero(self.end_site_parents == joint)
        k = int(end.group(2) or 1) - 1
        if not 0 <= k < len(mine):
            raise SinmdmError(f"joint '{self.names[joint]}' has {len(mine)} End Site(s), so there is no '{name}'")
        return self.n_joints + int(mine[k])

    def point_offsets(self, points: np.ndarray) -> np.ndarray:
        """(K, 3) each point's offset from its parent in the rest pose."""
        return np.concatenate([self.offsets, self.end_site_offsets])[np.asarray(points, dtype=np.int64)]

    def subtree_points(self, joint: int) -> list[int]:
        """The points of ``joint``'s subtree: its joints, then the End Sites below them."""
        joints = self.subtree(joint)
        below = np.flatnonzero(np.isin(self.end_site_parents, joints)) + self.n_joints
        return joints + below.tolist()

    def joint_of(self, point: int) -> int:
        """The joint a point is, or the joint an End Site hangs from."""
        return point if point < self.n_joints else int(self.end_site_parents[point - self.n_joints])

    @cached_property
    def _point_by_name(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.point_names)}

    @cached_property
    def _by_name(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.names)}

    @cached_property
    def _by_base(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for i, n in enumerate(self.names):
            out.setdefault(base_name(n).lower(), []).append(i)
        return out

    # -------------------------------------------------------------- kinematics
    def forward_kinematics(self, rotations: Array, translations: Array) -> tuple[Array, Array]:
        """World rotations (..., J, 3, 3) and positions (..., J, 3) from local rotations
        (..., J, 3, 3) and local translations (..., J, 3). Works on numpy and torch alike."""
        xp = array_module(rotations)
        levels, parent_slots, inverse = self._levels
        g_rot = [rotations[..., levels[0], :, :]]
        g_pos = [translations[..., levels[0], :]]
        if self.up != "y":  # the world is Y-up whatever the file's axes
            frame = as_like(self.frame, rotations)
            g_rot[0] = frame @ g_rot[0]
            g_pos[0] = (frame @ g_pos[0][..., None])[..., 0]
        for level, parent in zip(levels[1:], parent_slots):
            prot = g_rot[-1][..., parent, :, :]
            g_pos.append(g_pos[-1][..., parent, :] + (prot @ translations[..., level, :, None])[..., 0])
            g_rot.append(prot @ rotations[..., level, :, :])
        world_rot = xp.concatenate(g_rot, axis=-3)[..., inverse, :, :]
        world_pos = xp.concatenate(g_pos, axis=-2)[..., inverse, :]
        return world_rot, world_pos

    def end_site_positions(self, world_rot: Array, world_pos: Array) -> Array:
        """World positions (..., E, 3) of the End Sites."""
        offsets = self.end_site_offsets
        offsets = as_like(offsets, world_rot)
        p = self.end_site_parents
        return world_pos[..., p, :] + (world_rot[..., p, :, :] @ offsets[:, :, None])[..., 0]

    def world_points(self, world_rot: Array, world_pos: Array) -> Array:
        """World positions (..., J + E, 3) of every point: joints, then End Sites."""
        ends = self.end_site_positions(world_rot, world_pos)
        return array_module(world_pos).concatenate([world_pos, ends], axis=-2)

    @property
    def frame(self) -> np.ndarray:
        """(3, 3) the rotation from the file's coordinates to the Y-up world."""
        return UP_FRAMES[self.up]

    def rest_positions(self) -> np.ndarray:
        """World positions of joints and End Sites (J + E, 3) in the rest pose."""
        rot = np.broadcast_to(np.eye(3), (self.n_joints, 3, 3))
        world_rot, world_pos = self.forward_kinematics(rot, self.offsets)
        return np.concatenate([world_pos, self.end_site_positions(world_rot, world_pos)])

    @cached_property
    def rest_height(self) -> float:
        """Extent of the rest pose along the up axis. A rest pose lying flat falls back to
        its largest extent, so it is never degenerate."""
        return extent_height(np.ptp(self.rest_positions(), axis=0))

    @property
    def size(self) -> float:
        """The body size every tolerance that scales with the creature uses: measured from
        the clip (:mod:`sinmdm.anim.body`) where it was, else the rest pose's height."""
        return self.measured_size if self.measured_size > 0 else self.rest_height

    # ------------------------------------------------------------ comparisons
    def difference(self, other: Skeleton) -> str | None:
        """None when both skeletons are the same, else one line naming what differs."""
        if self.up != other.up:
            return f"a different up axis ({other.up} where the model's is {self.up}; see --up)"
        if self.names != other.names:
            missing = [n for n in self.names if n not in other.names]
            extra = [n for n in other.names if n not in self.names]
            parts = []
            if missing:
                parts.append("missing joints " + ", ".join(missing[:8]))
            if extra:
                parts.append("unexpected joints " + ", ".join(extra[:8]))
            return "; ".join(parts) or "joints are in a different order"
        diff = [self.names[j] for j in range(self.n_joints) if self.parents[j] != other.parents[j]]
        if diff:
            return "different parents for joints " + ", ".join(diff[:8])
        tol = 1e-4 * max(self.size, other.size)
        if self.keypoints and other.keypoints:  # positions only: the bones are the edges, offsets mean nothing
            if set(map(frozenset, self.keypoints.edges)) != set(map(frozenset, other.keypoints.edges)):
                return "different bones"
        elif not (self.keypoints or other.keypoints):  # (one side: a keypoint run's own BVH copy of its clip)
            diff = [self.names[j] for j in np.flatnonzero(np.abs(self.offsets - other.offsets).max(axis=1) > tol)]
            if diff:
                return "different bone offsets for joints " + ", ".join(diff[:8])
        diff = [self.names[j] for j in range(self.n_joints) if self.channels[j] != other.channels[j]]
        if diff:
            return "different channels for joints " + ", ".join(diff[:8])
        if not np.array_equal(self.end_site_parents, other.end_site_parents):
            return "End Sites on different joints"
        moved = np.abs(self.end_site_offsets - other.end_site_offsets).max(axis=1, initial=0) > tol
        if np.any(moved):
            names = [self.names[j] for j in self.end_site_parents[moved]]
            return "different End Site offsets below joints " + ", ".join(names[:8])
        return None

    # ---------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        """Plain types only, so it can live in a ``weights_only`` checkpoint or JSON."""
        return {
            "names": list(self.names),
            "parents": self.parents.tolist(),
            "offsets": self.offsets.tolist(),
            "channels": [list(c) for c in self.channels],
            "end_site_parents": self.end_site_parents.tolist(),
            "end_site_offsets": self.end_site_offsets.tolist(),
            "end_site_slots": self.end_site_slots.tolist(),
            "up": self.up,
            "measured_size": self.measured_size,
            **({"keypoints": self.keypoints.to_dict()} if self.keypoints else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Skeleton:
        return cls(
            names=tuple(data["names"]),
            parents=np.asarray(data["parents"], dtype=np.int64),
            offsets=np.asarray(data["offsets"], dtype=np.float64).reshape(-1, 3),
            channels=tuple(tuple(c) for c in data["channels"]),
            end_site_parents=np.asarray(data["end_site_parents"], dtype=np.int64),
            end_site_offsets=np.asarray(data["end_site_offsets"], dtype=np.float64).reshape(-1, 3),
            # Runs written before these were recorded: End Sites after the children, Y up,
            # and the rest pose's height as the size.
            end_site_slots=None if data.get("end_site_slots") is None else np.asarray(data["end_site_slots"], dtype=np.int64),
            up=str(data.get("up", "y")),
            measured_size=float(data.get("measured_size", 0.0)),
            keypoints=KeypointSpec.from_dict(data["keypoints"]) if data.get("keypoints") else None,
        )


def extent_height(extent: np.ndarray) -> float:
    """A height from extents (..., 3) along X, Y (up) and Z: the Y extent, or the largest
    one where the body lies flat (Y under a tenth of it), so a scale is never degenerate."""
    largest = float(np.max(extent))
    if largest <= 0:
        return 1.0
    return float(extent[1]) if extent[1] >= 0.1 * largest else largest
