"""Rotation conversions, batched over any leading axes, for numpy arrays and torch tensors.

Conventions:
- Matrices rotate column vectors: ``world = R @ local``.
- An Euler order is the order of the rotation channels in a BVH file, e.g. ``"ZXY"`` for
  ``Zrotation Xrotation Yrotation``, meaning ``R = Rz @ Rx @ Ry`` (intrinsic, as scipy's
  upper-case sequences). Angles are in radians unless a name says degrees.
- The 6D representation is the first two columns of the matrix (Zhou et al. 2019),
  laid out as ``[c0x, c0y, c0z, c1x, c1y, c1z]``.

Each function dispatches on its input type, so numpy and torch share one implementation.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

if TYPE_CHECKING:
    import torch

# torch is never imported here: a tensor can only exist once its caller has imported it,
# and commands that only read and write files start without torch's second of import.
Array = TypeVar("Array", np.ndarray, "torch.Tensor")

AXES = "XYZ"
# Sequences scipy (and any sane BVH) accepts: three distinct axes, or a repeated first
# and last axis (proper Euler angles).
VALID_ORDERS = frozenset(
    a + b + c
    for a in AXES
    for b in AXES
    for c in AXES
    if a != b and b != c and (a == c or len({a, b, c}) == 3)
)


LOCK_EPS = 1e-12  # below this the first Euler angle is undefined (gimbal lock)


def is_tensor(x: Any) -> bool:
    """Whether ``x`` is a torch tensor, without importing torch."""
    return type(x).__module__.partition(".")[0] == "torch"


def array_module(x: Any):  # noqa: ANN201 - returns a module
    """torch for a tensor, numpy for anything else."""
    return sys.modules["torch"] if is_tensor(x) else np


def as_like(value: np.ndarray, like: Array) -> Array:
    """``value`` as an array of ``like``'s kind (for a tensor: its dtype and device)."""
    if is_tensor(like):
        return sys.modules["torch"].as_tensor(value, dtype=like.dtype, device=like.device)
    return value


def order_to_axes(order: str) -> np.ndarray:
    """``"ZXY"`` -> ``[2, 0, 1]``."""
    return np.array([AXES.index(c) for c in order.upper()], dtype=np.int64)


def euler_to_matrix(angles: Array, axes: np.ndarray) -> Array:
    """Rotation matrices from Euler angles.

    angles: (..., 3) radians, one per channel in file order.
    axes: int array broadcastable to ``angles`` giving each channel's axis (0=X, 1=Y, 2=Z),
    so one call handles joints with different orders.

    The three elementary rotations are composed as quaternions: a few elementwise
    products instead of matrix products, four times faster (docs/decisions.md).
    """
    xp = array_module(angles)
    unit = np.eye(3)[np.asarray(axes)]  # (..., 3, 3) at the axes' own (small) shape
    unit = as_like(unit, angles)
    half = angles / 2
    cos, sin = xp.cos(half), xp.sin(half)
    quat = None
    for k in range(3):  # elementary rotations, composed left to right
        rot = xp.concatenate([sin[..., k, None] * unit[..., k, :], cos[..., k, None]], axis=-1)
        quat = rot if quat is None else quaternion_multiply(quat, rot)
    return quaternion_to_matrix(quat)


def quaternion_multiply(a: Array, b: Array) -> Array:
    """Hamilton product of scalar-last quaternions (..., 4): the rotation b, then a."""
    xp = array_module(a)
    ax, ay, az, aw = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    bx, by, bz, bw = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    return xp.stack(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ],
        axis=-1,
    )


def axis_angle_matrix(axis: Array, angle: Array) -> Array:
    """Rodrigues' formula for unit ``axis`` (..., 3) and ``angle`` (...)."""
    xp = array_module(angle)
    c = xp.cos(angle)[..., None, None]
    s = xp.sin(angle)[..., None, None]
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    zero = xp.zeros_like(x)
    skew = xp.stack(
        [
            xp.stack([zero, -z, y], axis=-1),
            xp.stack([z, zero, -x], axis=-1),
            xp.stack([-y, x, zero], axis=-1),
        ],
        axis=-2,
    )
    outer = axis[..., :, None] * axis[..., None, :]
    eye = as_like(np.eye(3), angle) if is_tensor(angle) else np.eye(3, dtype=angle.dtype)
    return c * eye + s * skew + (1 - c) * outer


def matrix_to_euler(matrix: np.ndarray, order: str) -> np.ndarray:
    """Euler angles (..., 3) in radians, in channel order, from matrices (..., 3, 3).

    Ranges as scipy's: the first and third angle in (-pi, pi], the middle one in
    [-pi/2, pi/2] (three distinct axes) or [0, pi] (first axis repeated). Not scipy's
    ``as_euler`` itself: within 1e-7 of gimbal lock it snaps to the lock and is off by up
    to ~1e-7. Here the first two angles come from atan2 of well-conditioned entries and
    the third is solved exactly from the rotation the first two leave over, so the round
    trip is exact at, near and away from the lock.
    """
    i, j, last = order_to_axes(order).tolist()
    proper = i == last
    k = 3 - i - j if proper else last
    sign = 1.0 if (j - i) % 3 == 1 else -1.0  # +1 when (i, j, k) is a cyclic order
    r = matrix
    if proper:
        b = np.arctan2(np.hypot(r[..., i, j], r[..., i, k]), r[..., i, i])
        y, x = r[..., j, i], -sign * r[..., k, i]
    else:
        b = np.arctan2(sign * r[..., i, k], np.hypot(r[..., i, i], r[..., i, j]))
        y, x = -sign * r[..., j, k], r[..., k, k]
    # At the lock both entries are rounding noise and atan2 of them is arbitrary: take 0
    # there (the third angle then carries the whole turn), as a smooth curve through the
    # lock would, instead of a split that breaks unwrapping over time.
    a = np.where(np.hypot(y, x) < LOCK_EPS, 0.0, np.arctan2(y, x))
    eye = np.eye(3)
    first_two = axis_angle_matrix(eye[i], a) @ axis_angle_matrix(eye[j], b)
    rest = np.swapaxes(first_two, -1, -2) @ r  # a rotation about the third axis alone
    p, q = (last + 1) % 3, (last + 2) % 3
    c = np.arctan2(rest[..., q, p] - rest[..., p, q], rest[..., p, p] + rest[..., q, q])
    return np.stack([a, b, c], axis=-1)


def matrix_to_6d(matrix: Array) -> Array:
    """(..., 3, 3) -> (..., 6): the first two columns."""
    xp = array_module(matrix)
    return xp.concatenate([matrix[..., :, 0], matrix[..., :, 1]], axis=-1)


def sixd_to_matrix(sixd: Array) -> Array:
    """(..., 6) -> (..., 3, 3) by Gram-Schmidt, so any 6 numbers give a valid rotation."""
    xp = array_module(sixd)
    a, b = sixd[..., :3], sixd[..., 3:]
    c0 = _normalise(a)
    c1 = _normalise(b - (c0 * b).sum(axis=-1, keepdims=True) * c0)
    c2 = _cross(c0, c1)
    return xp.stack([c0, c1, c2], axis=-1)


def _normalise(v: Array, eps: float = 1e-8) -> Array:
    xp = array_module(v)
    norm = xp.sqrt((v * v).sum(axis=-1, keepdims=True))
    return v / xp.clip(norm, eps, None)


def _cross(a: Array, b: Array) -> Array:
    if is_tensor(a):
        return sys.modules["torch"].linalg.cross(a, b, dim=-1)
    return np.cross(a, b)


def matrix_to_quaternion(matrix: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices -> (..., 4) unit quaternions, scalar last.

    Each of the four candidate rows below is the quaternion scaled by 4 times one of its
    components; the row whose own component is largest is the best conditioned, so it is
    the one kept (Shepperd's method, as scipy does, at a fraction of its overhead)."""
    m = matrix
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    candidates = np.stack(
        [
            np.stack([1 + m00 - m11 - m22, m01 + m10, m02 + m20, m21 - m12], axis=-1),
            np.stack([m01 + m10, 1 - m00 + m11 - m22, m12 + m21, m02 - m20], axis=-1),
            np.stack([m02 + m20, m12 + m21, 1 - m00 - m11 + m22, m10 - m01], axis=-1),
            np.stack([m21 - m12, m02 - m20, m10 - m01, 1 + m00 + m11 + m22], axis=-1),
        ],
        axis=-2,
    )  # (..., 4 candidates, 4)
    best = np.argmax(np.diagonal(candidates, axis1=-2, axis2=-1), axis=-1)
    quat = np.take_along_axis(candidates, best[..., None, None], axis=-2)[..., 0, :]
    return quat / np.linalg.norm(quat, axis=-1, keepdims=True)


def quaternion_to_matrix(quat: Array) -> Array:
    """(..., 4) scalar-last quaternions (normalised here) -> (..., 3, 3)."""
    xp = array_module(quat)
    q = quat / xp.sqrt((quat * quat).sum(axis=-1, keepdims=True))
    x, y, z, w = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    rows = [
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ]
    return xp.stack([xp.stack(row, axis=-1) for row in rows], axis=-2)


def slerp(q0: np.ndarray, q1: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Spherical interpolation of unit quaternions (..., 4) with weights w (...)."""
    dot = (q0 * q1).sum(axis=-1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)  # take the short way round
    dot = np.abs(dot).clip(None, 1.0)
    theta = np.arccos(dot)
    sin = np.sin(theta)
    w = w[..., None]
    near = sin < 1e-6  # nearly equal: linear interpolation is exact enough and stable
    safe = np.where(near, 1.0, sin)
    a = np.where(near, 1 - w, np.sin((1 - w) * theta) / safe)
    b = np.where(near, w, np.sin(w * theta) / safe)
    out = a * q0 + b * q1
    return out / np.linalg.norm(out, axis=-1, keepdims=True)


def unwrap_euler(angles: np.ndarray, order: str) -> np.ndarray:
    """Make Euler angles (F, ..., 3) in radians continuous over frames (axis 0).

    Every rotation has two Euler solutions, (a, b, c) and (a + pi, pi - b, c + pi) (or
    -b for proper Euler orders). scipy returns the one with the middle angle in its
    principal range, so a smooth turn through that range's edge makes a and c jump by pi.
    Such jumps are found without a loop: the frames after an odd number of them take the
    other solution; then each channel is unwrapped by whole turns.
    """
    if len(angles) < 2:
        return angles
    a, b, c = angles[..., 0], angles[..., 1], angles[..., 2]

    def wrapped(x: np.ndarray) -> np.ndarray:
        return np.abs((x + np.pi) % (2 * np.pi) - np.pi)

    jump = wrapped(np.diff(a, axis=0)) + wrapped(np.diff(c, axis=0)) > np.pi
    other = np.concatenate([np.zeros_like(jump[:1]), np.cumsum(jump, axis=0) % 2 == 1])
    proper = order[0] == order[2]
    b_other = -b if proper else np.pi - b
    flipped = np.stack([a + np.pi, b_other, c + np.pi], axis=-1)
    chosen = np.where(other[..., None], flipped, angles)
    return np.unwrap(chosen, axis=0)
