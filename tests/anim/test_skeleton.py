"""Unit tests for sinmdm.anim.skeleton on tiny skeletons built by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from sinmdm.anim.skeleton import Skeleton
from sinmdm.base.errors import SinmdmError

ROOT6 = ("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation")
ZXY = ("Zrotation", "Xrotation", "Yrotation")

# Elementary rotations by +90 degrees, written out (columns are the images of x, y, z).
RX90 = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])
RY90 = np.array([[0.0, 0, 1], [0, 1, 0], [-1, 0, 0]])
RZ90 = np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])


def make(
    names,
    parents,
    offsets,
    channels=None,
    end_site_parents=(),
    end_site_offsets=(),
) -> Skeleton:
    n = len(names)
    if channels is None:
        channels = [ROOT6] + [ZXY] * (n - 1)
    return Skeleton(
        names=tuple(names),
        parents=np.array(parents, dtype=np.int64),
        offsets=np.array(offsets, dtype=np.float64).reshape(n, 3),
        channels=tuple(tuple(c) for c in channels),
        end_site_parents=np.array(end_site_parents, dtype=np.int64),
        end_site_offsets=np.array(end_site_offsets, dtype=np.float64).reshape(-1, 3),
    )


def tree(prefix: str = "") -> Skeleton:
    """Hips -> Spine -> Head, and Hips -> Leg; End Sites on Head and Leg.

    Depths are 0, 1, 2, 1, so joint order (0, 1, 2, 3) differs from level order (0, 1, 3, 2).
    """
    return make(
        [f"{prefix}Hips", f"{prefix}Spine", f"{prefix}Head", f"{prefix}Leg"],
        [-1, 0, 1, 0],
        [(1, 2, 3), (0, 1, 0), (1, 0, 1), (0, 0, 2)],
        end_site_parents=[2, 3],
        end_site_offsets=[(0, 1, 0), (0, -1, 0)],
    )


# The pose used for forward kinematics: root at (1, 2, 3) turned +90 deg about Y, Spine
# turned +90 deg about Z, Head +90 deg about X, Leg unrotated.
POSE_ROT = np.stack([RY90, RZ90, RX90, np.eye(3)])
POSE_TRANS = np.array([(1.0, 2, 3), (0, 1, 0), (1, 0, 1), (0, 0, 2)])
# Worked out by hand:
#   Hips  = (1, 2, 3)
#   Spine = Hips + Ry (0, 1, 0) = (1, 3, 3)
#   Head  = Spine + Ry Rz (1, 0, 1) = Spine + Ry (0, 1, 1) = Spine + (1, 1, 0) = (2, 4, 3)
#   Leg   = Hips + Ry (0, 0, 2) = Hips + (2, 0, 0) = (3, 2, 3)
#   Head End Site = Head + Ry Rz Rx (0, 1, 0) = Head + Ry Rz (0, 0, 1) = Head + (1, 0, 0) = (3, 4, 3)
#   Leg End Site  = Leg + Ry (0, -1, 0) = (3, 1, 3)
POSE_POS = np.array([(1.0, 2, 3), (1, 3, 3), (2, 4, 3), (3, 2, 3)])
POSE_END = np.array([(3.0, 4, 3), (3, 1, 3)])
# Ry Rz: x -> y, y -> z, z -> x
SPINE_WORLD_ROT = np.array([[0.0, 0, 1], [1, 0, 0], [0, 1, 0]])
# Rest pose (identity rotations, translations = offsets), also by hand.
REST_POS = np.array([(1.0, 2, 3), (1, 3, 3), (2, 3, 4), (1, 2, 5)])
REST_END = np.array([(2.0, 4, 4), (1, 1, 5)])


# -------------------------------------------------------------- kinematics
def test_forward_kinematics_numpy_matches_hand_computed_positions():
    world_rot, world_pos = tree().forward_kinematics(POSE_ROT, POSE_TRANS)
    np.testing.assert_allclose(world_pos, POSE_POS, atol=1e-12, rtol=0)
    np.testing.assert_allclose(world_rot[0], RY90, atol=1e-12, rtol=0)
    np.testing.assert_allclose(world_rot[1], SPINE_WORLD_ROT, atol=1e-12, rtol=0)
    np.testing.assert_allclose(world_rot[3], RY90, atol=1e-12, rtol=0)


def test_forward_kinematics_torch_matches_hand_computed_positions():
    world_rot, world_pos = tree().forward_kinematics(torch.from_numpy(POSE_ROT), torch.from_numpy(POSE_TRANS))
    assert isinstance(world_pos, torch.Tensor) and world_pos.dtype == torch.float64
    np.testing.assert_allclose(world_pos.numpy(), POSE_POS, atol=1e-12, rtol=0)
    np.testing.assert_allclose(world_rot[1].numpy(), SPINE_WORLD_ROT, atol=1e-12, rtol=0)


def test_forward_kinematics_with_batch_dims_numpy_and_torch_agree():
    sk = tree()
    rest_rot = np.broadcast_to(np.eye(3), (4, 3, 3))
    frames_rot = np.stack([POSE_ROT, rest_rot, POSE_ROT])  # (F=3, J, 3, 3)
    frames_trans = np.stack([POSE_TRANS, sk.offsets, POSE_TRANS])
    rot = np.stack([frames_rot, frames_rot[::-1]])  # (B=2, F=3, J, 3, 3)
    trans = np.stack([frames_trans, frames_trans[::-1]])
    expected = np.stack([POSE_POS, REST_POS, POSE_POS])

    world_rot, world_pos = sk.forward_kinematics(rot, trans)
    assert world_rot.shape == (2, 3, 4, 3, 3) and world_pos.shape == (2, 3, 4, 3)
    np.testing.assert_allclose(world_pos[0], expected, atol=1e-12, rtol=0)
    np.testing.assert_allclose(world_pos[1], expected[::-1], atol=1e-12, rtol=0)

    t_rot, t_pos = sk.forward_kinematics(torch.from_numpy(rot), torch.from_numpy(trans))
    np.testing.assert_allclose(t_pos.numpy(), world_pos, atol=1e-12, rtol=0)
    np.testing.assert_allclose(t_rot.numpy(), world_rot, atol=1e-12, rtol=0)


def test_forward_kinematics_numpy_and_torch_agree_on_random_poses():
    sk = tree()
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(5, 4, 3, 3)))
    rot = q * np.sign(np.linalg.det(q))[..., None, None]  # proper rotations
    trans = rng.normal(size=(5, 4, 3))
    n_rot, n_pos = sk.forward_kinematics(rot, trans)
    t_rot, t_pos = sk.forward_kinematics(torch.from_numpy(rot), torch.from_numpy(trans))
    np.testing.assert_allclose(t_pos.numpy(), n_pos, atol=1e-12, rtol=0)
    np.testing.assert_allclose(t_rot.numpy(), n_rot, atol=1e-12, rtol=0)


def test_end_site_positions_match_hand_computed_positions():
    sk = tree()
    world_rot, world_pos = sk.forward_kinematics(POSE_ROT, POSE_TRANS)
    np.testing.assert_allclose(sk.end_site_positions(world_rot, world_pos), POSE_END, atol=1e-12, rtol=0)


def test_end_site_positions_torch_with_batch_dims():
    sk = tree()
    rot = torch.from_numpy(np.stack([POSE_ROT, POSE_ROT]))
    trans = torch.from_numpy(np.stack([POSE_TRANS, POSE_TRANS]))
    ends = sk.end_site_positions(*sk.forward_kinematics(rot, trans))
    assert isinstance(ends, torch.Tensor) and ends.shape == (2, 2, 3)
    np.testing.assert_allclose(ends.numpy(), np.stack([POSE_END, POSE_END]), atol=1e-12, rtol=0)


def test_rest_positions_are_joints_then_end_sites():
    np.testing.assert_allclose(tree().rest_positions(), np.concatenate([REST_POS, REST_END]), atol=1e-12, rtol=0)


# ------------------------------------------------------------------ height
def test_rest_height_is_the_y_extent_of_the_rest_pose_including_end_sites():
    # joints alone span y 2..3; the End Sites stretch that to 1..4
    assert tree().rest_height == pytest.approx(3.0, abs=1e-12)


def test_rest_height_of_a_skeleton_lying_flat_along_x_is_its_length():
    sk = make(["A", "B", "C"], [-1, 0, 1], [(0, 0, 0), (2, 0, 0), (3, 0, 0)], end_site_parents=[2], end_site_offsets=[(1, 0, 0)])
    assert sk.rest_height == pytest.approx(6.0, abs=1e-12)


def test_rest_height_falls_back_to_the_largest_extent_when_y_is_under_a_tenth():
    sk = make(["A", "B"], [-1, 0], [(0, 0, 0), (0, 0.2, 5)])  # y 0.2, z 5
    assert sk.rest_height == pytest.approx(5.0, abs=1e-12)


def test_rest_height_of_a_single_point_is_one():
    assert make(["A"], [-1], [(4, 5, 6)]).rest_height == 1.0


# --------------------------------------------------------------- structure
def test_children():
    assert tree().children == ((1, 3), (2,), (), ())


def test_depths():
    assert tree().depths.tolist() == [0, 1, 2, 1]


@pytest.mark.parametrize("joint, expected", [(0, [0, 1, 2, 3]), (1, [1, 2]), (2, [2]), (3, [3])])
def test_subtree_is_the_joint_and_its_descendants(joint, expected):
    assert tree().subtree(joint) == expected


@pytest.mark.parametrize(
    "name, expected",
    [("rig:Spine", 1), ("Spine", 1), ("spine", 1), ("HEAD", 2), ("other:Leg", 3), ("Armature|Hips", 0)],
)
def test_index_by_exact_or_unprefixed_case_insensitive_name(name, expected):
    assert tree(prefix="rig:").index(name) == expected


def test_index_of_a_missing_joint_raises_and_find_returns_none():
    sk = tree()
    with pytest.raises(SinmdmError, match="Tail"):
        sk.index("Tail")
    assert sk.find("Tail") is None
    assert sk.find("Leg") == 3


def test_index_of_an_ambiguous_name_raises_naming_the_candidates():
    sk = make(["Root", "left:Hand", "right:Hand"], [-1, 0, 0], np.zeros((3, 3)))
    with pytest.raises(SinmdmError, match="ambiguous") as info:
        sk.index("Hand")
    assert "left:Hand" in str(info.value) and "right:Hand" in str(info.value)
    assert sk.index("right:Hand") == 2  # an exact name is never ambiguous


def test_index_prefers_an_exact_name_over_case_insensitive_matches():
    sk = make(["Root", "Hand", "hand"], [-1, 0, 0], np.zeros((3, 3)))
    assert sk.index("hand") == 2
    with pytest.raises(SinmdmError, match="ambiguous"):
        sk.index("HAND")


# ---------------------------------------------------------- channel layout
def mixed() -> Skeleton:
    """0-, 3- and 6-channel joints, several rotation orders, a position-only joint."""
    channels = [
        ROOT6,  # Hips: columns 0-5, rotations ZXY at 3, 4, 5
        (),  # Fixed: no channels
        ("Yrotation", "Xrotation", "Zrotation"),  # Spine: columns 6-8
        ("Zposition", "Yposition", "Xposition"),  # Slider: columns 9-11, positions only
        ("Xposition", "Yposition", "Zposition", "Xrotation", "Zrotation", "Yrotation"),  # Foot: 12-17
        ("Zrotation", "Xrotation", "Zrotation"),  # Twist: 18-20, proper Euler
    ]
    names = ["Hips", "Fixed", "Spine", "Slider", "Foot", "Twist"]
    return make(names, [-1, 0, 0, 2, 3, 4], np.ones((6, 3)), channels)


def test_rotation_order_per_joint():
    sk = mixed()
    assert [sk.rotation_order(j) for j in range(6)] == ["ZXY", "", "YXZ", "", "XZY", "ZXZ"]


def test_rotating_joints_skip_joints_without_rotation_channels():
    assert mixed().rotating_joints.tolist() == [0, 2, 4, 5]


def test_rotation_columns_and_axes():
    cols, axes = mixed().rotation_columns
    assert cols.tolist() == [[3, 4, 5], [6, 7, 8], [15, 16, 17], [18, 19, 20]]
    assert axes.tolist() == [[2, 0, 1], [1, 0, 2], [0, 2, 1], [2, 0, 2]]


def test_rotation_columns_of_a_skeleton_without_rotations_are_empty():
    sk = make(["A", "B"], [-1, 0], np.ones((2, 3)), [("Xposition", "Yposition", "Zposition"), ()])
    cols, axes = sk.rotation_columns
    assert cols.shape == axes.shape == (0, 3)


def test_position_columns_are_joint_axis_column_triplets():
    joint, axis, col = mixed().position_columns
    assert joint.tolist() == [0, 0, 0, 3, 3, 3, 4, 4, 4]
    assert axis.tolist() == [0, 1, 2, 2, 1, 0, 0, 1, 2]
    assert col.tolist() == [0, 1, 2, 9, 10, 11, 12, 13, 14]


def test_channel_counts_and_offsets():
    sk = mixed()
    assert sk.n_channels == 21
    assert sk.channel_offsets.tolist() == [0, 6, 6, 9, 12, 18]
    assert sk.positioned_joints.tolist() == [0, 3, 4]


# -------------------------------------------------------------- validation
def test_duplicate_names_are_rejected():
    with pytest.raises(SinmdmError, match="duplicate joint names: Spine"):
        make(["Hips", "Spine", "Spine"], [-1, 0, 1], np.zeros((3, 3)))


@pytest.mark.parametrize(
    "rotations",
    [
        ("Xrotation", "Yrotation"),
        ("Zrotation",),
        ("Xrotation", "Xrotation", "Yrotation"),
        ("Xrotation", "Yrotation", "Zrotation", "Xrotation"),
    ],
    ids=["two", "one", "repeated-axis", "four"],
)
def test_rotation_channels_other_than_a_valid_euler_order_are_rejected(rotations):
    with pytest.raises(SinmdmError, match="'Spine'"):
        make(["Hips", "Spine"], [-1, 0], np.zeros((2, 3)), [ROOT6, ("Xposition", *rotations)])


def test_repeated_position_channel_is_rejected():
    with pytest.raises(SinmdmError, match="'Hips' repeats a position channel"):
        make(["Hips"], [-1], np.zeros((1, 3)), [("Xposition", "Xposition", *ZXY)])


@pytest.mark.parametrize(
    "parents",
    [[-1, 2, 0], [0, -1, 1], [-1, -1, 0], [-1, 1, 1], []],
    ids=["parent-after-child", "root-not-first", "two-roots", "own-parent", "empty"],
)
def test_bad_parent_arrays_are_rejected(parents):
    n = len(parents)
    with pytest.raises(SinmdmError, match="parent before its children"):
        make([f"J{i}" for i in range(n)], parents, np.zeros((n, 3)), [ZXY] * n)


def test_joints_out_of_depth_first_order_are_rejected():
    # Hips -> Spine, Hips -> Leg, then Spine -> Head: Spine's subtree is not contiguous,
    # so the file it would write nests Head under Leg.
    with pytest.raises(SinmdmError, match="depth-first order"):
        make(["Hips", "Spine", "Leg", "Head"], [-1, 0, 0, 1], np.zeros((4, 3)))
    make(["Hips", "Spine", "Head", "Leg"], [-1, 0, 1, 0], np.zeros((4, 3)))  # the same tree in order


# ------------------------------------------------------------- comparisons
def test_difference_of_equal_skeletons_is_none():
    assert tree().difference(tree()) is None


def test_difference_ignores_offset_noise_below_the_tolerance():
    other = tree()
    other.offsets[2, 0] += 1e-7  # tolerance is 1e-4 of the height (3)
    assert tree().difference(other) is None


def test_difference_names_the_joint_whose_offset_changed():
    other = tree()
    other.offsets[2] = (1, 0, 1.5)
    message = tree().difference(other)
    assert message is not None and "Head" in message
    assert "Spine" not in message and "Leg" not in message


def test_difference_names_a_renamed_joint():
    a = tree()
    b = make(["Hips", "Spine", "Skull", "Leg"], a.parents, a.offsets, end_site_parents=[2, 3], end_site_offsets=a.end_site_offsets)
    message = a.difference(b)
    assert message is not None and "Head" in message and "Skull" in message


def test_difference_names_a_joint_with_a_different_parent():
    a = make(["A", "B", "C"], [-1, 0, 1], np.ones((3, 3)))
    b = make(["A", "B", "C"], [-1, 0, 0], np.ones((3, 3)))
    message = a.difference(b)
    assert message is not None and "C" in message and "B" not in message.split("joints", 1)[1]


def test_difference_names_a_joint_with_different_channels():
    a = tree()
    channels = list(a.channels)
    channels[3] = ("Xrotation", "Yrotation", "Zrotation")
    b = make(a.names, a.parents, a.offsets, channels, a.end_site_parents, a.end_site_offsets)
    message = a.difference(b)
    assert message is not None and "Leg" in message


def test_difference_names_the_joint_whose_end_site_moved():
    a = tree()
    b = make(a.names, a.parents, a.offsets, a.channels, a.end_site_parents, [(0, 1, 0), (0, -5, 0)])
    message = a.difference(b)
    assert message is not None and "Leg" in message and "Head" not in message


def test_difference_notices_end_sites_on_other_joints():
    a = tree()
    b = make(a.names, a.parents, a.offsets, a.channels, [1, 3], a.end_site_offsets)
    assert a.difference(b) is not None


# ---------------------------------------------------------- serialisation
def test_to_dict_from_dict_round_trip_through_json():
    sk = tree(prefix="rig:")
    back = Skeleton.from_dict(json.loads(json.dumps(sk.to_dict())))
    assert back.difference(sk) is None
    assert back.names == sk.names and back.channels == sk.channels
    for field in ("parents", "offsets", "end_site_parents", "end_site_offsets"):
        mine, theirs = getattr(sk, field), getattr(back, field)
        assert theirs.dtype == mine.dtype
        np.testing.assert_array_equal(theirs, mine)


def test_to_dict_from_dict_round_trip_without_end_sites():
    sk = make(["A", "B"], [-1, 0], [(0, 0, 0), (0, 1, 0)])
    back = Skeleton.from_dict(sk.to_dict())
    assert back.end_site_parents.shape == (0,) and back.end_site_offsets.shape == (0, 3)
    assert back.difference(sk) is None


# -------------------------------------------------------------- deep chain
DEPTH = 2000


def chain() -> Skeleton:
    offsets = np.tile([0.5, 1.0, 0.0], (DEPTH, 1))
    offsets[0] = 0
    return make([f"J{i}" for i in range(DEPTH)], np.arange(DEPTH) - 1, offsets, end_site_parents=[DEPTH - 1], end_site_offsets=[(0, 1, 0)])


def test_deep_chain_rest_positions():
    sk = chain()
    rest = sk.rest_positions()
    assert rest.shape == (DEPTH + 1, 3)
    np.testing.assert_allclose(rest[DEPTH - 1], [0.5 * (DEPTH - 1), DEPTH - 1, 0], atol=1e-9, rtol=0)
    np.testing.assert_allclose(rest[DEPTH], [0.5 * (DEPTH - 1), DEPTH, 0], atol=1e-9, rtol=0)
    assert sk.rest_height == pytest.approx(DEPTH)
    assert sk.depths[-1] == DEPTH - 1
    assert sk.subtree(0) == list(range(DEPTH))


def test_deep_chain_forward_kinematics_with_rotations():
    # Every joint turns by theta about Z, so joint k's offset is seen through Rz(k theta):
    # joint j sits at sum_{k=1..j} Rz(k theta) o.
    sk = chain()
    theta = 0.01
    c, s = math.cos(theta), math.sin(theta)
    rz = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    rot = np.broadcast_to(rz, (2, DEPTH, 3, 3))  # two identical frames
    trans = np.broadcast_to(sk.offsets, (2, DEPTH, 3))
    _, pos = sk.forward_kinematics(rot, trans)
    k = np.arange(1, DEPTH) * theta
    expected_last = [np.sum(0.5 * np.cos(k) - np.sin(k)), np.sum(0.5 * np.sin(k) + np.cos(k)), 0.0]
    np.testing.assert_allclose(pos[:, -1], [expected_last, expected_last], atol=1e-8, rtol=0)
    _, t_pos = sk.forward_kinematics(torch.from_numpy(np.ascontiguousarray(rot)), torch.from_numpy(np.ascontiguousarray(trans)))
    np.testing.assert_allclose(t_pos.numpy(), pos, atol=1e-8, rtol=0)
