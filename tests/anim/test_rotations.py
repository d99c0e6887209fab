"""Property tests for sinmdm.anim.rotations: scipy agreement, round trips, numpy/torch parity."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.transform import Rotation

from sinmdm.anim.rotations import (
    VALID_ORDERS,
    axis_angle_matrix,
    euler_to_matrix,
    matrix_to_6d,
    matrix_to_euler,
    matrix_to_quaternion,
    order_to_axes,
    quaternion_to_matrix,
    sixd_to_matrix,
    slerp,
    unwrap_euler,
)

TOL = 1e-9
ORDERS = sorted(VALID_ORDERS)
FAST = settings(max_examples=25, deadline=None)
FEW = settings(max_examples=15, deadline=None)

angle = st.floats(-2 * math.pi, 2 * math.pi, allow_nan=False, allow_infinity=False)
angle_triples = st.tuples(angle, angle, angle).map(np.array)
batch_shapes = st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple)


def _unit_quaternions(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """Unit quaternions (*shape, 4), each drawn from a box and kept away from the origin."""
    raw = arrays(np.float64, (*shape, 4), elements=st.floats(-1, 1, allow_nan=False))
    return raw.filter(lambda q: np.all(np.linalg.norm(q, axis=-1) > 0.1)).map(
        lambda q: q / np.linalg.norm(q, axis=-1, keepdims=True)
    )


def _rotations(shape: tuple[int, ...] = ()) -> st.SearchStrategy[np.ndarray]:
    """Rotation matrices (*shape, 3, 3) built by scipy from random unit quaternions."""
    return _unit_quaternions(shape).map(
        lambda q: Rotation.from_quat(q.reshape(-1, 4)).as_matrix().reshape(*shape, 3, 3)
    )


def _batched_rotations() -> st.SearchStrategy[np.ndarray]:
    return batch_shapes.flatmap(_rotations)


def _batched_angles() -> st.SearchStrategy[np.ndarray]:
    return batch_shapes.flatmap(
        lambda s: arrays(np.float64, (*s, 3), elements=st.floats(-2 * math.pi, 2 * math.pi, allow_nan=False))
    )


def _scipy_matrix(order: str, angles: np.ndarray) -> np.ndarray:
    return Rotation.from_euler(order, angles.reshape(-1, 3)).as_matrix().reshape(*angles.shape[:-1], 3, 3)


def _rotation_angle(q: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Arc between unit quaternions q and p on the short side (half the rotation angle
    between them), via atan2 so it stays accurate for tiny and large arcs alike."""
    sign = np.where((q * p).sum(axis=-1, keepdims=True) < 0, -1.0, 1.0)
    p = sign * p
    return 2 * np.arctan2(np.linalg.norm(q - p, axis=-1), np.linalg.norm(q + p, axis=-1))


def _same_up_to_sign(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.minimum(np.abs(a - b).max(axis=-1), np.abs(a + b).max(axis=-1))


# ----------------------------------------------------------------- conventions
def test_zxy_means_rz_rx_ry_with_right_handed_elementary_rotations():
    z, x, y = 0.3, -1.1, 2.0
    rz = np.array([[math.cos(z), -math.sin(z), 0], [math.sin(z), math.cos(z), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, math.cos(x), -math.sin(x)], [0, math.sin(x), math.cos(x)]])
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    got = euler_to_matrix(np.array([z, x, y]), order_to_axes("ZXY"))
    np.testing.assert_allclose(got, rz @ rx @ ry, atol=1e-12, rtol=0)


def test_order_to_axes_maps_letters_to_indices_case_insensitively():
    assert order_to_axes("ZXY").tolist() == [2, 0, 1]
    assert order_to_axes("xyx").tolist() == [0, 1, 0]


def test_valid_orders_are_the_twelve_euler_sequences():
    assert len(VALID_ORDERS) == 12
    assert {"XYZ", "ZXY", "ZYX", "XYX", "ZXZ", "YZY"} <= VALID_ORDERS
    assert not {"XXY", "XYY", "XY", "XYZX"} & VALID_ORDERS


# --------------------------------------------------------- euler <-> matrix
@pytest.mark.parametrize("order", ORDERS)
@FAST
@given(angles=angle_triples)
def test_euler_to_matrix_matches_scipy_intrinsic(order, angles):
    got = euler_to_matrix(angles, order_to_axes(order))
    np.testing.assert_allclose(got, Rotation.from_euler(order, angles).as_matrix(), atol=TOL, rtol=0)


def _middle_angle_clear_of_lock(matrices: np.ndarray, order: str, margin: float = 1e-6) -> bool:
    """True when no matrix is within ``margin`` of gimbal lock for ``order`` (that band
    has its own tests below)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        middle = Rotation.from_matrix(matrices.reshape(-1, 3, 3)).as_euler(order)[:, 1]
    if order[0] == order[2]:  # proper Euler: locked at 0 and pi
        return bool(np.all((middle > margin) & (middle < math.pi - margin)))
    return bool(np.all(np.abs(middle) < math.pi / 2 - margin))


@pytest.mark.parametrize("order", ORDERS)
@FAST
@given(matrix=_rotations())
def test_matrix_to_euler_round_trips_the_rotation(order, matrix):
    assume(_middle_angle_clear_of_lock(matrix, order))
    angles = matrix_to_euler(matrix, order)
    assert angles.shape == (3,)
    np.testing.assert_allclose(euler_to_matrix(angles, order_to_axes(order)), matrix, atol=TOL, rtol=0)


@pytest.mark.parametrize("order", ORDERS)
@FEW
@given(matrices=_rotations((2, 3)))
def test_matrix_to_euler_keeps_leading_dims(order, matrices):
    assume(_middle_angle_clear_of_lock(matrices, order))
    angles = matrix_to_euler(matrices, order)
    assert angles.shape == (2, 3, 3)
    np.testing.assert_allclose(euler_to_matrix(angles, order_to_axes(order)), matrices, atol=TOL, rtol=0)


def _lock_angles(order: str, first: float, offset: float, which: int, third: float) -> np.ndarray:
    """Angles whose middle one is ``offset`` away from a gimbal-lock value of ``order``."""
    locks = (-math.pi / 2, math.pi / 2) if order[0] != order[2] else (0.0, math.pi)
    return np.array([first, locks[which] + offset, third])


@pytest.mark.parametrize("order", ORDERS)
@FAST
@given(
    first=angle,
    third=angle,
    which=st.integers(0, 1),
    offset=st.one_of(
        st.just(0.0),
        st.floats(1e-6, 1e-2).flatmap(lambda m: st.sampled_from([m, -m])),
    ),
)
def test_matrix_to_euler_round_trips_at_and_near_gimbal_lock(order, first, third, which, offset):
    matrix = euler_to_matrix(_lock_angles(order, first, offset, which, third), order_to_axes(order))
    back = euler_to_matrix(matrix_to_euler(matrix, order), order_to_axes(order))
    np.testing.assert_allclose(back, matrix, atol=TOL, rtol=0)


@pytest.mark.parametrize("order", ORDERS)
@FEW
@given(
    first=angle,
    third=angle,
    which=st.integers(0, 1),
    offset=st.floats(1e-9, 1e-7).flatmap(lambda m: st.sampled_from([m, -m])),
)
@example(first=1.0, third=-2.0, which=1, offset=5e-8)
def test_matrix_to_euler_round_trips_within_1e7_of_gimbal_lock(order, first, third, which, offset):
    # The band scipy's as_euler treats as locked (|middle - lock| < 1e-7): it sets the
    # third angle to zero, which is only exact at the lock itself.
    matrix = euler_to_matrix(_lock_angles(order, first, offset, which, third), order_to_axes(order))
    back = euler_to_matrix(matrix_to_euler(matrix, order), order_to_axes(order))
    np.testing.assert_allclose(back, matrix, atol=TOL, rtol=0)


# ------------------------------------------------------------------------ 6D
@FAST
@given(matrices=_batched_rotations())
def test_6d_round_trip_is_identity_on_rotations(matrices):
    sixd = matrix_to_6d(matrices)
    assert sixd.shape == (*matrices.shape[:-2], 6)
    np.testing.assert_allclose(sixd_to_matrix(sixd), matrices, atol=TOL, rtol=0)


def test_6d_layout_is_first_column_then_second_column():
    matrix = np.arange(9.0).reshape(3, 3)
    assert matrix_to_6d(matrix).tolist() == [0.0, 3.0, 6.0, 1.0, 4.0, 7.0]


def _non_degenerate(v: np.ndarray) -> bool:
    a, b = v[:3], v[3:]
    na = np.linalg.norm(a)
    return bool(na > 0.1 and np.linalg.norm(b - (a @ b) / na**2 * a) > 0.1)


sixd_vectors = arrays(np.float64, 6, elements=st.floats(-10, 10, allow_nan=False)).filter(_non_degenerate)


@FAST
@given(sixd=sixd_vectors)
def test_sixd_to_matrix_gives_a_proper_rotation(sixd):
    m = sixd_to_matrix(sixd)
    np.testing.assert_allclose(m.T @ m, np.eye(3), atol=TOL, rtol=0)
    assert abs(np.linalg.det(m) - 1) < TOL


@FAST
@given(sixd=sixd_vectors)
def test_sixd_to_matrix_is_gram_schmidt_of_the_two_columns(sixd):
    m = sixd_to_matrix(sixd)
    a, b = sixd[:3], sixd[3:]
    np.testing.assert_allclose(m[:, 0], a / np.linalg.norm(a), atol=TOL, rtol=0)
    # the second column lies in span(a, b), on b's side of a
    assert abs(np.linalg.det(np.stack([a, b, m[:, 1]]))) < TOL * np.linalg.norm(a) * np.linalg.norm(b)
    assert m[:, 1] @ b > 0


# ---------------------------------------------------------- numpy <-> torch
@pytest.mark.parametrize("order", ORDERS)
@FEW
@given(angles=_batched_angles())
def test_euler_to_matrix_batched_numpy_torch_and_scipy_agree(order, angles):
    axes = order_to_axes(order)
    got_np = euler_to_matrix(angles, axes)
    got_t = euler_to_matrix(torch.from_numpy(angles), axes)
    assert isinstance(got_t, torch.Tensor) and got_t.dtype == torch.float64
    assert got_np.shape == got_t.shape == (*angles.shape[:-1], 3, 3)
    np.testing.assert_allclose(got_t.numpy(), got_np, atol=1e-12, rtol=0)
    np.testing.assert_allclose(got_np, _scipy_matrix(order, angles), atol=TOL, rtol=0)


@FAST
@given(
    orders=st.lists(st.sampled_from(ORDERS), min_size=1, max_size=5),
    frames=st.integers(1, 3),
    data=st.data(),
)
def test_euler_to_matrix_takes_a_different_order_per_joint(orders, frames, data):
    joints = len(orders)
    angles = data.draw(arrays(np.float64, (frames, joints, 3), elements=st.floats(-math.pi, math.pi)))
    axes = np.stack([order_to_axes(o) for o in orders])  # (J, 3)
    expected = np.stack([_scipy_matrix(o, angles[:, j]) for j, o in enumerate(orders)], axis=1)
    got_np = euler_to_matrix(angles, axes)
    got_t = euler_to_matrix(torch.from_numpy(angles), axes)
    np.testing.assert_allclose(got_np, expected, atol=TOL, rtol=0)
    np.testing.assert_allclose(got_t.numpy(), expected, atol=TOL, rtol=0)


@FAST
@given(matrices=_batched_rotations())
def test_matrix_to_6d_numpy_and_torch_agree(matrices):
    got_t = matrix_to_6d(torch.from_numpy(matrices))
    assert isinstance(got_t, torch.Tensor) and got_t.dtype == torch.float64
    np.testing.assert_array_equal(got_t.numpy(), matrix_to_6d(matrices))


@FAST
@given(
    sixd=batch_shapes.flatmap(
        lambda s: arrays(np.float64, (*s, 6), elements=st.floats(-10, 10, allow_nan=False)).filter(
            lambda v: all(_non_degenerate(row) for row in v.reshape(-1, 6))
        )
    )
)
def test_sixd_to_matrix_numpy_and_torch_agree_batched(sixd):
    got_np = sixd_to_matrix(sixd)
    got_t = sixd_to_matrix(torch.from_numpy(sixd))
    assert isinstance(got_t, torch.Tensor) and got_t.dtype == torch.float64
    assert got_np.shape == got_t.shape == (*sixd.shape[:-1], 3, 3)
    np.testing.assert_allclose(got_t.numpy(), got_np, atol=1e-12, rtol=0)


# --------------------------------------------------------------------- slerp
two_quaternion_batches = st.integers(1, 4).flatmap(
    lambda n: st.tuples(_unit_quaternions((n,)), _unit_quaternions((n,)))
)


@pytest.mark.parametrize("weight", [0.0, 1.0])
@FAST
@given(pair=two_quaternion_batches)
def test_slerp_at_its_ends_returns_the_endpoints(weight, pair):
    q0, q1 = pair
    out = slerp(q0, q1, np.full(len(q0), weight))
    assert np.all(_same_up_to_sign(out, q1 if weight else q0) < TOL)


@FAST
@given(pair=two_quaternion_batches)
def test_slerp_halfway_is_equally_far_from_both_ends(pair):
    q0, q1 = pair
    mid = slerp(q0, q1, np.full(len(q0), 0.5))
    np.testing.assert_allclose(_rotation_angle(mid, q0), _rotation_angle(mid, q1), atol=TOL, rtol=0)


@FAST
@given(pair=two_quaternion_batches, w=st.floats(0, 1))
def test_slerp_stays_on_the_shortest_arc(pair, w):
    q0, q1 = pair
    out = slerp(q0, q1, np.full(len(q0), w))
    np.testing.assert_allclose(np.linalg.norm(out, axis=-1), 1.0, atol=TOL, rtol=0)
    total = _rotation_angle(q0, q1)
    np.testing.assert_allclose(_rotation_angle(out, q0), w * total, atol=1e-8, rtol=0)
    np.testing.assert_allclose(_rotation_angle(out, q1), (1 - w) * total, atol=1e-8, rtol=0)


def test_slerp_between_a_quaternion_and_its_negation_stays_put():
    q = np.array([[0.5, -0.5, 0.5, 0.5]])
    out = slerp(q, -q, np.array([0.5]))
    assert _same_up_to_sign(out, q)[0] < TOL


# --------------------------------------------------------------- unwrapping
@pytest.mark.parametrize("order", ORDERS)
@FEW
@given(axis=arrays(np.float64, 3, elements=st.floats(-1, 1)), turns=st.floats(0.5, 3.0), seed=st.integers(0, 99))
def test_unwrapped_euler_curves_are_continuous_and_keep_the_rotation(order, axis, turns, seed):
    """A smooth path that turns several times, through every gimbal region, gives Euler
    curves without +-180 (or solution-flip) jumps that still describe the same rotations."""
    assume(np.linalg.norm(axis) > 0.2)
    frames = 400
    wobble = np.random.default_rng(seed).normal(size=3) * 0.3
    t = np.linspace(0, 1, frames)[:, None]
    rotvec = axis / np.linalg.norm(axis) * (2 * math.pi * turns) * t + wobble * np.sin(2 * math.pi * t)
    matrices = Rotation.from_rotvec(rotvec).as_matrix()
    angles = unwrap_euler(matrix_to_euler(matrices, order), order)
    np.testing.assert_allclose(euler_to_matrix(angles, order_to_axes(order)), matrices, atol=1e-9)
    step = np.abs(np.diff(angles, axis=0)).max(axis=0)
    # Away from the lock itself each frame moves a few degrees at most; passing right
    # through a lock may swing the first and third angle, but never by a whole half turn.
    assert step[1] < 0.2
    assert np.all(step < math.pi * 0.9)


@FAST
@given(q=batch_shapes.flatmap(_unit_quaternions))
def test_quaternions_and_matrices_match_scipy(q):
    scipy_matrix = Rotation.from_quat(q.reshape(-1, 4)).as_matrix().reshape(*q.shape[:-1], 3, 3)
    np.testing.assert_allclose(quaternion_to_matrix(q), scipy_matrix, atol=1e-12)
    back = matrix_to_quaternion(scipy_matrix)
    sign = np.where((back * q).sum(-1, keepdims=True) < 0, -1.0, 1.0)  # q and -q are one rotation
    np.testing.assert_allclose(sign * back, q, atol=1e-9)


def test_matrix_to_quaternion_is_stable_near_half_turns():
    """Half turns make the scalar part vanish: the method must pick another component."""
    for axis in np.eye(3):
        angle = np.pi - np.array([0.0, 1e-9, 1e-5])
        matrices = axis_angle_matrix(np.broadcast_to(axis, (3, 3)), angle)
        np.testing.assert_allclose(quaternion_to_matrix(matrix_to_quaternion(matrices)), matrices, atol=1e-12)
