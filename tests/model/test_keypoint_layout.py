"""A keypoint clip through the layers above its reading: its features are the joints'
positions about the root and the root's path, and the metrics compare positions."""

from __future__ import annotations

import numpy as np

from sinmdm.anim.keypoints import keypoint_motion
from sinmdm.evaluation.bones import bone_lengths, compare_bones
from sinmdm.evaluation.metrics import metric_features
from sinmdm.model.features import FeatureLayout

EDGES = [(0, 1), (1, 2), (0, 3), (3, 4), (0, 5), (5, 6)]


def stick(frames: int = 60, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.array([[0, 1, 0], [0, 1.5, 0], [0, 1.8, 0], [0.2, 0.5, 0], [0.2, 0, 0], [-0.2, 0.5, 0], [-0.2, 0, 0]])
    wave = 0.1 * np.sin(np.arange(frames)[:, None, None] / 5 + rng.uniform(0, 6, (1, 7, 3)))
    return base + wave + np.array([0.02, 0, 0]) * np.arange(frames)[:, None, None]


def test_features_round_trip_and_metrics_use_positions():
    motion = keypoint_motion(stick(), 30.0, EDGES)
    layout = FeatureLayout.from_motion(motion, [])
    assert layout.n_rot == 0 and layout.slices["pos"].stop - layout.slices["pos"].start == 3 * 6
    np.testing.assert_allclose(layout.decode(layout.encode(motion)).world_positions(), motion.world_positions(), atol=1e-9)
    features = metric_features(motion)
    assert features.shape == (60, 21) and np.abs(features[:, :3]).max() == 0  # the root, about itself


def test_bone_comparison_sees_stretched_bones():
    clip = keypoint_motion(stick(), 30.0, EDGES)
    assert bone_lengths(clip).shape == (60, 6)
    same = compare_bones([clip], [clip])
    assert same.median_error == 0 and abs(same.spread_ratio - 1) < 1e-9
    longer = keypoint_motion(1.1 * stick(), 30.0, EDGES)
    longer = type(clip)(clip.skeleton, longer.rotations, longer.translations, longer.frame_time)
    assert abs(compare_bones([clip], [longer]).median_error - 0.1) < 1e-6


def test_missing_joints_hide_their_channels_and_the_roots_hide_the_path():
    motion = keypoint_motion(stick(), 30.0, EDGES)
    layout = FeatureLayout.from_motion(motion, [4])
    gaps = np.zeros((60, 7), dtype=bool)
    gaps[10, 0] = True  # the root (trajectory) joint
    gaps[20, 4] = True
    known = layout.known_channels(gaps)
    s = layout.slices
    assert not known[10, s["height"]].any() and not known[[9, 10], s["velocity"]].any() and known[11, s["velocity"]].all()
    assert not known[10, s["pos"]].any()  # every position is about the root
    k = int(np.flatnonzero(layout.pos_joints == 4)[0])
    assert not known[20, s["pos"]][3 * k : 3 * k + 3].any() and known[20, s["pos"]].sum() == 3 * (len(layout.pos_joints) - 1)
    # unknown: frame 10's height, velocity and positions, frame 9's velocity, frame 20's joint and its contact
    assert not known[20, s["contact"]].any() and known.sum() == known.size - (1 + 2 + 18) - 2 - (3 + 1)


def test_values_left_out_of_the_loss_do_not_count():
    import torch

    from sinmdm.model.diffusion import Diffusion

    diffusion = Diffusion()
    x0 = torch.randn(2, 8, 5)
    weights = torch.ones(2, 8, 5)
    weights[0, 3, 2] = 0.0
    t = torch.tensor([10, 500])
    noise = torch.randn(2, 8, 5)

    def blind(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:  # predicts zeros whatever it sees
        return torch.zeros_like(x_t)

    changed = x0.clone()
    changed[0, 3, 2] = 100.0
    base = diffusion.loss(blind, x0, t, noise, velocity=10.0, weights=weights)
    assert torch.allclose(base, diffusion.loss(blind, changed, t, noise, velocity=10.0, weights=weights))
    full = diffusion.loss(blind, x0, t, noise, velocity=10.0, weights=torch.ones(2, 8))
    assert torch.allclose(full, diffusion.loss(blind, x0, t, noise, velocity=10.0, weights=torch.ones(2, 8, 5)))
