"""The skeleton of a clip: joint tree, offsets, End Sites and the BVH channel layout.

Joints are kept in file order (a depth-first pre-order, so every parent precedes its
children). Forward kinematics runs level by level over the tree depth, each level one
batched matrix product, so the cost in Python is the tree depth, never frames or joints.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import torch

from .errors import SinmdmError
from .rotations import VALID_ORDERS, Array, order_to_axes

POSITION_CHANNELS = ("Xposition", "Yposition", "Zposition")
ROTATION_CHANNELS = ("Xrotation", "Yrotation", "Zrotation")


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
class Skeleton:
    """Joint names, parents (-1 for the root), rest offsets (J, 3), per-joint channel
    names in file order, and End Sites (their parent joint and offset)."""

    names: tuple[str, ...]
    parents: np.ndarray
    offsets: np.ndarray
    channels: tuple[tuple[str, ...], ...]
    end_site_parents: np.ndarray
    end_site_offsets: np.ndarray

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

    @cached_property
    def _by_name(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.names)}

    @cached_property
    def _by_base(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for i, n in enumerate(self.names):
            out.setdefault(base_name(n).lower(), []).append(i)
        return out

    # ---------------------------------------------------------- channel layout
    def rotation_order(self, joint: int) -> str:
        """``"ZXY"`` for ``Zrotation Xrotation Yrotation``; ``""`` without rotation channels."""
        return "".join(c[0].upper() for c in self.channels[joint] if c in ROTATION_CHANNELS)

    @cached_property
    def rotating_joints(self) -> np.ndarray:
        """Joints that have rotation channels."""
        return np.array([j for j in range(self.n_joints) if self.rotation_order(j)], dtype=np.int64)

    @cached_property
    def channel_offsets(self) -> np.ndarray:
        """Column of each joint's first channel in a MOTION row."""
        counts = np.array([len(c) for c in self.channels], dtype=np.int64)
        return np.concatenate([[0], np.cumsum(counts)[:-1]])

    @property
    def n_channels(self) -> int:
        return sum(len(c) for c in self.channels)

    @cached_property
    def rotation_columns(self) -> tuple[np.ndarray, np.ndarray]:
        """For rotating joints: MOTION columns (R, 3) and axes (R, 3) of their rotation channels."""
        cols, axes = [], []
        for j in self.rotating_joints.tolist():
            chans = self.channels[j]
            k = [i for i, c in enumerate(chans) if c in ROTATION_CHANNELS]
            cols.append(self.channel_offsets[j] + np.array(k))
            axes.append(order_to_axes(self.rotation_order(j)))
        shape = (len(cols), 3)
        return (
            np.array(cols, dtype=np.int64).reshape(shape),
            np.array(axes, dtype=np.int64).reshape(shape),
        )

    @cached_property
    def position_columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every position channel as (joint, axis, MOTION column) triplets."""
        joint, axis, col = [], [], []
        for j, chans in enumerate(self.channels):
            for i, c in enumerate(chans):
                if c in POSITION_CHANNELS:
                    joint.append(j)
                    axis.append(POSITION_CHANNELS.index(c))
                    col.append(self.channel_offsets[j] + i)
        return tuple(np.array(v, dtype=np.int64) for v in (joint, axis, col))  # type: ignore[return-value]

    @cached_property
    def positioned_joints(self) -> np.ndarray:
        """Joints with at least one position channel, in joint order."""
        return np.unique(self.position_columns[0])

    # -------------------------------------------------------------- kinematics
    def forward_kinematics(self, rotations: Array, translations: Array) -> tuple[Array, Array]:
        """World rotations (..., J, 3, 3) and positions (..., J, 3) from local rotations
        (..., J, 3, 3) and local translations (..., J, 3). Works on numpy and torch alike."""
        xp = torch if isinstance(rotations, torch.Tensor) else np
        levels, parent_slots, inverse = self._levels
        g_rot = [rotations[..., levels[0], :, :]]
        g_pos = [translations[..., levels[0], :]]
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
        if isinstance(world_rot, torch.Tensor):
            offsets = torch.as_tensor(offsets, dtype=world_rot.dtype, device=world_rot.device)
        p = self.end_site_parents
        return world_pos[..., p, :] + (world_rot[..., p, :, :] @ offsets[:, :, None])[..., 0]

    def rest_positions(self) -> np.ndarray:
        """World positions of joints and End Sites (J + E, 3) in the rest pose."""
        rot = np.broadcast_to(np.eye(3), (self.n_joints, 3, 3))
        world_rot, world_pos = self.forward_kinematics(rot, self.offsets)
        return np.concatenate([world_pos, self.end_site_positions(world_rot, world_pos)])

    @cached_property
    def height(self) -> float:
        """Extent of the rest pose along the up axis (Y), the scale every tolerance uses.

        A creature lying flat in its rest pose falls back to its largest extent, so the
        scale is never degenerate.
        """
        extent = np.ptp(self.rest_positions(), axis=0)
        largest = float(extent.max())
        if largest <= 0:
            return 1.0
        return float(extent[1]) if extent[1] >= 0.1 * largest else largest

    # ------------------------------------------------------------ comparisons
    def difference(self, other: Skeleton) -> str | None:
        """None when both skeletons are the same, else one line naming what differs."""
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
        tol = 1e-4 * max(self.height, other.height)
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
        )
