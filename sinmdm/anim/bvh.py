"""BVH reading and writing for any topology (the text parser: :mod:`.bvh_parser`).

We do not use the ``bvh`` package (bvh-python 0.3): it raises IndexError when ``{`` sits
on the joint's own line, silently drops the last frame of a file without a trailing
newline (both checked), reads frames one joint at a time, and cannot write."""

from __future__ import annotations

from collections import deque
from pathlib import Path

import numpy as np

from ..base.atomic import atomic_write
from ..base.errors import BVHError, SinmdmError
from .body import calibrate
from .bvh_parser import parse_channels
from .motion import Motion
from .rotations import euler_to_matrix, matrix_to_euler, unwrap_euler
from .skeleton import POSITION_CHANNELS, Skeleton

CONVERT_FRAMES = 8192  # and turned into rotations this many frames at a time


# ------------------------------------------------------------------- reading
def read_bvh(path: str | Path, up: str | None = None) -> Motion:
    """Read a BVH file. Raises :class:`BVHError` naming the file and line on bad input.
    The skeleton knows the file's up axis (``up``, else detected) and the body's size
    (see :mod:`sinmdm.anim.body`)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise BVHError(path, "is a directory, not a BVH file") from None
    except FileNotFoundError:
        raise BVHError(path, "no such file") from None
    except OSError as exc:
        raise BVHError(path, f"cannot read: {exc.strerror or exc}") from None
    parsed = parse_channels(raw, path)
    del raw  # the file's bytes are not needed while the rows become rotations
    return calibrate(channels_to_motion(*parsed), up)


def parse_bvh(raw: bytes, path: str | Path = "<bvh>", up: str | None = None) -> Motion:
    """Parse the bytes of a BVH file; ``path`` is only used in error messages."""
    return calibrate(channels_to_motion(*parse_channels(raw, path)), up)


def channels_to_motion(skeleton: Skeleton, data: np.ndarray, frame_time: float) -> Motion:
    """A Motion from MOTION rows (F, C): Euler channels become matrices, position
    channels replace the joint's OFFSET components. Converted CONVERT_FRAMES at a time,
    so the temporaries of a long clip stay small."""
    frames = len(data)
    rotations = np.broadcast_to(np.eye(3), (frames, skeleton.n_joints, 3, 3)).copy()
    cols, axes = skeleton.rotation_columns
    if len(cols):
        for start in range(0, frames, CONVERT_FRAMES):
            part = slice(start, start + CONVERT_FRAMES)
            rotations[part, skeleton.rotating_joints] = euler_to_matrix(np.radians(data[part, cols]), axes)
    translations = np.broadcast_to(skeleton.offsets, (frames, skeleton.n_joints, 3)).copy()
    joint, axis, col = skeleton.position_columns
    translations[:, joint, axis] = data[:, col]
    return Motion(skeleton, rotations, translations, frame_time)


# ------------------------------------------------------------------- writing
def motion_to_channels(motion: Motion) -> np.ndarray:
    """MOTION rows (F, C) in degrees, Euler angles unwrapped over time."""
    skeleton = motion.skeleton
    data = np.zeros((motion.n_frames, skeleton.n_channels))
    cols, _ = skeleton.rotation_columns
    joints = skeleton.rotating_joints
    orders = np.array([skeleton.rotation_order(j) for j in joints.tolist()])
    for order in np.unique(orders).tolist():  # one scipy call per distinct order, not per joint
        sel = np.flatnonzero(orders == order)
        angles = matrix_to_euler(motion.rotations[:, joints[sel]], order)
        data[:, cols[sel]] = np.degrees(unwrap_euler(angles, order))
    joint, axis, col = skeleton.position_columns
    data[:, col] = motion.translations[:, joint, axis]
    return data


def write_bvh(path: str | Path, motion: Motion) -> None:
    """Write ``motion`` atomically in the layout Blender's line-based importer reads:
    one keyword per line, braces on their own lines, original names, order, channels,
    End Sites and the true frame time."""
    path = Path(path)
    skeleton = motion.skeleton
    # Lengths get enough decimals for 1e-7 of the skeleton's height at any scale; angles
    # in degrees need no scale.
    decimals = max(6, 7 - int(np.floor(np.log10(skeleton.size))))
    length = f"%.{decimals}f"
    fmt = []
    for chans in skeleton.channels:
        fmt += [length if c in POSITION_CHANNELS else "%.6f" for c in chans]
    data = motion_to_channels(motion)
    try:
        with atomic_write(path, "w", newline="\n", encoding="utf-8") as out:
            out.write(_hierarchy_text(skeleton, length))
            out.write(f"MOTION\nFrames: {motion.n_frames}\nFrame Time: {motion.frame_time:.9g}\n")
            if data.shape[1]:
                np.savetxt(out, data, fmt=fmt, delimiter=" ")
            else:
                out.write("\n" * motion.n_frames)
    except OSError as exc:
        raise SinmdmError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _hierarchy_text(skeleton: Skeleton, length: str) -> str:
    out = ["HIERARCHY"]
    # Each joint's End Sites in file order, with how many child joints come before each.
    ends: dict[int, deque[tuple[int, np.ndarray]]] = {}
    for parent, slot, offset in zip(skeleton.end_site_parents.tolist(), skeleton.end_site_slots.tolist(), skeleton.end_site_offsets):
        ends.setdefault(parent, deque()).append((slot, offset))
    written = np.zeros(skeleton.n_joints, dtype=np.int64)  # child joints written so far

    def vec(v: np.ndarray) -> str:
        return " ".join(length % x for x in v)

    def end_sites(j: int, up_to: float, pad: str) -> None:
        """Write joint ``j``'s End Sites that stand before child number ``up_to``."""
        queue = ends.get(j, deque())
        while queue and queue[0][0] <= up_to:
            offset = queue.popleft()[1]
            out.extend([f"{pad}End Site", f"{pad}{{", f"{pad}\tOFFSET {vec(offset)}", f"{pad}}}"])

    open_joints: list[int] = []

    def close(down_to: int) -> None:
        while len(open_joints) > down_to:
            j = open_joints.pop()
            end_sites(j, np.inf, "\t" * (len(open_joints) + 1))
            out.append("\t" * len(open_joints) + "}")

    for j in range(skeleton.n_joints):
        close(int(skeleton.depths[j]))
        pad = "\t" * len(open_joints)
        parent = int(skeleton.parents[j])
        if parent >= 0:
            end_sites(parent, written[parent], pad)
            written[parent] += 1
        keyword = "ROOT" if j == 0 else "JOINT"
        chans = skeleton.channels[j]
        out += [f"{pad}{keyword} {skeleton.names[j]}", f"{pad}{{", f"{pad}\tOFFSET {vec(skeleton.offsets[j])}"]
        out.append(f"{pad}\tCHANNELS {len(chans)}" + "".join(" " + c for c in chans))
        open_joints.append(j)
    close(0)
    return "\n".join(out) + "\n"
