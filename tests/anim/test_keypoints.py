"""Keypoint clips: reading .npy/.npz joint positions into a flat position skeleton and
writing them back in the file's own layout, the root choice, the bone-length fit, and
one clear error for every kind of bad file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sinmdm.anim.keypoints import (
    KeypointOptions,
    fit_bone_lengths,
    keypoint_motion,
    keypoint_positions,
    missing,
    parse_edges,
    read_keypoints,
    write_keypoints,
)
from sinmdm.base.errors import SinmdmError

# A stick figure: pelvis(0) - chest(1) - head(2); hips to knees to feet on both sides.
EDGES = [(0, 1), (1, 2), (0, 3), (3, 4), (0, 5), (5, 6)]
NAMES = ["pelvis", "chest", "head", "knee_l", "foot_l", "knee_r", "foot_r"]


def walker(frames: int = 60, dims: int = 3, seed: int = 0) -> np.ndarray:
    """(frames, 7, dims) a figure stepping along x, bones of fixed length."""
    t = np.arange(frames) / 30.0
    swing = 0.4 * np.sin(2 * np.pi * t)
    pelvis = np.stack([0.5 * t, 1.0 + 0.02 * np.cos(4 * np.pi * t), 0 * t], -1)
    out = np.zeros((frames, 7, 3))
    out[:, 0] = pelvis
    out[:, 1] = pelvis + [0, 0.5, 0]
    out[:, 2] = out[:, 1] + [0, 0.3, 0]
    for side, (knee, foot, sign) in enumerate(((3, 4, 1), (5, 6, -1))):
        angle = sign * swing
        out[:, knee] = pelvis + 0.5 * np.stack([np.sin(angle), -np.cos(angle), 0 * t + 0.2 * sign], -1) / np.hypot(1, 0.2)
        out[:, foot] = out[:, knee] + 0.5 * np.stack([np.sin(angle / 2), -np.cos(angle / 2), 0 * t], -1)
    out += np.random.default_rng(seed).normal(0, 1e-3, out.shape)
    return out[..., :dims]


@pytest.mark.parametrize("dims, y_down", [(3, False), (2, False), (2, True)])
def test_positions_come_back_in_the_files_layout(dims, y_down, tmp_path):
    positions = walker(dims=dims) * (-1 if y_down else 1) ** np.arange(dims)  # image y grows down
    motion = keypoint_motion(positions, 30.0, EDGES, NAMES, y_down=y_down, suffix=".npz")
    assert motion.skeleton.names[0] == "pelvis"  # the most central joint leads
    np.testing.assert_allclose(keypoint_positions(motion), positions, atol=1e-9)
    if dims == 2:  # y up in the world the model sees, whatever the file's image axes
        assert motion.world_positions()[:, 2, 1].mean() > motion.world_positions()[:, 4, 1].mean()
    write_keypoints(tmp_path / "out.npz", motion)
    back = read_keypoints(tmp_path / "out.npz")  # an .npz says itself whether its y points down
    np.testing.assert_allclose(keypoint_positions(back), positions, atol=1e-9)
    with np.load(tmp_path / "out.npz") as saved:
        assert sorted(saved.files) == ["edges", "fps", "names", "positions", "y_down"]
        assert list(saved["names"]) == NAMES and saved["edges"].tolist() == [list(e) for e in EDGES]


def test_a_npy_needs_its_rate_and_bones_from_options(tmp_path):
    np.save(tmp_path / "dance.npy", walker(dims=2))
    (tmp_path / "edges.json").write_text(json.dumps(EDGES))
    motion = read_keypoints(tmp_path / "dance.npy", KeypointOptions(fps=25.0, edges=str(tmp_path / "edges.json")))
    assert motion.fps == 25.0 and motion.skeleton.keypoints.suffix == ".npy"
    assert parse_edges("0-1, 1-2,0-3") == [(0, 1), (1, 2), (0, 3)]


def test_the_root_is_the_most_central_joint_unless_given():
    chain = np.cumsum(np.ones((4, 5, 3)), axis=1)
    edges = [(0, 1), (1, 2), (2, 3), (3, 4)]
    assert keypoint_motion(chain, 30, edges).skeleton.names[0] == "joint2"
    assert keypoint_motion(chain, 30, edges, root="4").skeleton.names[0] == "joint4"
    named = keypoint_motion(chain, 30, edges, names=list("abcde"), root="b")
    assert named.skeleton.names[0] == "b"
    forest = keypoint_motion(chain, 30, [(0, 1), (3, 4)])  # two trees: the drawn bones stay apart
    assert forest.skeleton.drawn_parents.tolist() == [-1, 0, -1, -1, 3]


@pytest.mark.parametrize("positions, edges, match", [
    (np.zeros((10, 3)), EDGES, "shape"),
    (np.zeros((10, 7, 4)), EDGES, "shape"),
    (np.zeros((1, 7, 3)), EDGES, "shape"),
    (walker(), [(0, 9)], "outside"),
    (walker(), [(0, 1), (1, 2), (2, 0)], "cycle"),
    (walker(), [(1, 1)], "itself"),
    (walker(), [], "no bones"),
    (np.where(np.arange(7)[None, :, None] == 4, np.nan, walker()), EDGES, "foot_l has no value"),
    (np.where(np.arange(7)[None, :, None] == 4, np.inf, walker()), EDGES, "infinite"),
])
def test_bad_clips_get_one_clear_error(positions, edges, match):
    with pytest.raises(SinmdmError, match=match):
        keypoint_motion(positions, 30.0, edges, NAMES)


def test_bad_files_get_one_clear_error(tmp_path):
    np.save(tmp_path / "a.npy", walker())
    with pytest.raises(SinmdmError, match="no frame rate"):
        read_keypoints(tmp_path / "a.npy", KeypointOptions(edges="0-1"))
    with pytest.raises(SinmdmError, match="no bones"):
        read_keypoints(tmp_path / "a.npy", KeypointOptions(fps=30))
    with pytest.raises(SinmdmError, match="not understood|index pairs"):
        read_keypoints(tmp_path / "a.npy", KeypointOptions(fps=30, edges="a-b"))
    (tmp_path / "b.npy").write_text("not numpy")
    with pytest.raises(SinmdmError, match="not a numpy file"):
        read_keypoints(tmp_path / "b.npy", KeypointOptions(fps=30, edges="0-1"))
    np.savez(tmp_path / "c.npz", fps=30.0)
    with pytest.raises(SinmdmError, match="no 'positions'"):
        read_keypoints(tmp_path / "c.npz")
    with pytest.raises(SinmdmError, match="no such file"):
        read_keypoints(tmp_path / "missing.npz")


def test_missing_values_are_filled_along_time_and_known():
    positions = walker()
    positions[10:15, 4] = np.nan
    positions[0:3, 2, 1] = np.nan
    motion = keypoint_motion(positions, 30.0, EDGES, NAMES)
    filled = keypoint_positions(motion)
    assert np.isfinite(filled).all()
    t = np.arange(9, 16)  # linear between the known frames on either side
    expected = positions[9, 4] + (positions[15, 4] - positions[9, 4]) * ((t - 9) / 6)[:, None]
    np.testing.assert_allclose(filled[9:16, 4], expected, atol=1e-9)
    assert missing(positions).sum() == 5 + 3


def test_bone_lengths_are_fitted_in_3d_only():
    motion = keypoint_motion(walker(), 30.0, EDGES, NAMES)
    clip = np.array(motion.skeleton.keypoints.lengths)
    stretched = fit_bone_lengths(motion)
    world = stretched.world_positions()
    lengths = np.linalg.norm(world[:, [a for a, _ in stretched.skeleton.keypoints.edges]]
                             - world[:, [b for _, b in stretched.skeleton.keypoints.edges]], axis=-1)
    np.testing.assert_allclose(lengths, np.broadcast_to(clip, lengths.shape), rtol=1e-9)
    assert np.abs(world - motion.world_positions()).max() < 0.01  # only along the bones
    flat = keypoint_motion(walker(dims=2), 30.0, EDGES, NAMES)
    assert fit_bone_lengths(flat) is flat
