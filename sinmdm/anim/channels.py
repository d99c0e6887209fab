"""A skeleton's BVH channel layout: which MOTION columns hold each joint's rotation and
position channels, in what order."""

from __future__ import annotations

from functools import cached_property

import numpy as np

from .rotations import order_to_axes

POSITION_CHANNELS = ("Xposition", "Yposition", "Zposition")
ROTATION_CHANNELS = ("Xrotation", "Yrotation", "Zrotation")


class ChannelLayout:
    """Mixed into :class:`~sinmdm.anim.skeleton.Skeleton`, which provides ``channels``
    (each joint's channel names) and ``n_joints``."""

    channels: tuple[tuple[str, ...], ...]
    n_joints: int

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

