"""A small BVH reader for Blender's Python (mathutils only, no numpy: Debian's Blender
ships none), and forward kinematics in the file's own axes.

sinmdm writes every BVH in the axes of the clip it learned from, and the clips the add-on
hands it are Blender's own exports (armature space, Z up), so a joint's world transform
here is its transform in the armature's space.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mathutils import Matrix, Vector

_AXES = {"Xrotation": "X", "Yrotation": "Y", "Zrotation": "Z"}
_POSITIONS = ("Xposition", "Yposition", "Zposition")


class BVHError(ValueError):
    """A file this reader cannot make sense of."""


@dataclass
class Joint:
    name: str
    parent: int
    offset: Vector
    channels: list[str] = field(default_factory=list)


@dataclass
class Clip:
    """Joints in file order, their channel values per frame, the frame time."""

    joints: list[Joint]
    frames: list[list[float]]
    frame_time: float

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time

    def pose(self, frame: int) -> list[tuple[Matrix, Vector]]:
        """Each joint's world rotation (3x3) and position at ``frame``: position channels
        replace the OFFSET's components, rotation channels apply in the order listed."""
        values = iter(self.frames[frame])
        out: list[tuple[Matrix, Vector]] = []
        for joint in self.joints:
            local_pos = joint.offset.copy()
            order, angles = "", []
            for channel in joint.channels:
                value = next(values)
                if channel in _POSITIONS:
                    local_pos[_POSITIONS.index(channel)] = value
                else:
                    order += _AXES[channel]
                    angles.append(value)
            rotation = Matrix.Identity(3)
            for axis, angle in zip(order, angles):  # intrinsic: R = R_first @ R_second @ ...
                rotation = rotation @ Matrix.Rotation(_radians(angle), 3, axis)
            if joint.parent < 0:
                out.append((rotation, local_pos))
            else:
                parent_rot, parent_pos = out[joint.parent]
                out.append((parent_rot @ rotation, parent_pos + parent_rot @ local_pos))
        return out


def _radians(degrees: float) -> float:
    return degrees * 0.017453292519943295


def read(path: str) -> Clip:
    """Read a BVH file (any joint tree, any channel order; End Sites are skipped)."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        tokens = handle.read().split()
    joints: list[Joint] = []
    stack: list[int] = []
    i, in_end = 0, 0
    try:
        if tokens[0] != "HIERARCHY":
            raise BVHError(f"{path}: not a BVH file (no HIERARCHY)")
        i = 1
        while tokens[i] != "MOTION":
            word = tokens[i]
            if word in ("ROOT", "JOINT"):
                joints.append(Joint(tokens[i + 1], stack[-1] if stack else -1, Vector()))
                i += 2
            elif word == "End":
                in_end, i = 1, i + 2
            elif word == "{":
                if in_end:
                    in_end += 1
                else:
                    stack.append(len(joints) - 1)
                i += 1
            elif word == "}":
                if in_end:
                    in_end = 0 if in_end == 2 else in_end - 1
                else:
                    stack.pop()
                i += 1
            elif word == "OFFSET":
                if not in_end:
                    joints[-1].offset = Vector(float(t) for t in tokens[i + 1 : i + 4])
                i += 4
            elif word == "CHANNELS":
                count = int(tokens[i + 1])
                joints[-1].channels = tokens[i + 2 : i + 2 + count]
                i += 2 + count
            else:
                raise BVHError(f"{path}: unexpected '{word}' in the hierarchy")
        count = int(tokens[i + 2])
        frame_time = float(tokens[i + 5])
        values = [float(t) for t in tokens[i + 6 :]]
    except (IndexError, ValueError) as exc:
        raise BVHError(f"{path}: cannot read: {exc}") from None
    width = sum(len(j.channels) for j in joints)
    if width == 0 or len(values) < count * width:
        raise BVHError(f"{path}: {len(values)} values for {count} frames of {width} channels")
    frames = [values[k * width : (k + 1) * width] for k in range(count)]
    return Clip(joints, frames, frame_time)
