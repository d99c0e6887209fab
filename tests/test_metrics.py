"""Metrics on cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import synthetic_bvh

from sinmdm.bvh import parse_bvh
from sinmdm.metrics import (
    coverage,
    distances,
    evaluate,
    foot_sliding,
    global_diversity,
    inter_sample_diversity,
    jerk,
    local_diversity,
    motion_scale,
    reassembled,
    rotation_features,
    window_sums,
)
from sinmdm.motion import Motion


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    motion = parse_bvh(synthetic_bvh(200, seed=4, smooth=True).encode())
    return rotation_features(motion)


def test_window_sums_match_a_direct_sum():
    d = np.random.default_rng(0).random((12, 17))
    w = window_sums(d, 5)
    assert w.shape == (8, 13)
    assert w[3, 7] == pytest.approx(sum(d[3 + k, 7 + k] for k in range(5)))


def test_a_copy_of_the_input_covers_everything_and_is_not_new(clip):
    scale = motion_scale(clip)
    d = distances(clip, clip)
    assert coverage(d, scale) == {0.25: 1.0, 0.5: 1.0, 1.0: 1.0}
    assert global_diversity(d, scale) == pytest.approx(0, abs=1e-6)
    assert local_diversity(d, scale) == pytest.approx(0, abs=1e-6)


def test_a_reassembly_of_the_input_has_no_global_diversity(clip):
    pieces = reassembled(clip, 2 * len(clip), np.random.default_rng(1))
    assert len(pieces) == 2 * len(clip)
    assert global_diversity(distances(clip, pieces), motion_scale(clip)) == pytest.approx(0, abs=1e-6)


def test_noise_covers_nothing_and_is_far_from_the_input(clip):
    scale = motion_scale(clip)
    noise = np.random.default_rng(2).normal(size=(2 * len(clip), clip.shape[1])) * clip.std(0) * 3 + clip.mean(0)
    d = distances(clip, noise)
    assert coverage(d, scale)[0.5] < 0.05
    assert global_diversity(d, scale) > 0.5


def test_global_diversity_is_the_best_split_into_long_segments():
    """Two input segments, each matched exactly, and one frame off by 1.0: the cost is
    that frame's 1.0 spread over the sample."""
    rng = np.random.default_rng(3)
    source = rng.normal(size=(100, 4)) * 10
    sample = np.concatenate([source[60:95], source[10:50]])
    sample[40] += [1.0, 0, 0, 0]
    d = distances(source, sample)
    assert global_diversity(d, 1.0, min_segment=30) == pytest.approx(1.0 / len(sample), rel=1e-3)
    # Segments shorter than the minimum cannot be matched on their own.
    short = np.concatenate([source[60:70], source[10:50]])
    assert global_diversity(distances(source, short), 1.0, min_segment=30) > 0.1


def test_inter_sample_diversity(clip):
    assert inter_sample_diversity([clip, clip], 1.0) == 0
    shifted = clip + np.eye(clip.shape[1])[0]
    assert inter_sample_diversity([clip, shifted, clip], 1.0) == pytest.approx(2 / 3)


def _still(frames: int = 40) -> Motion:
    return parse_bvh(synthetic_bvh(frames, seed=5, smooth=True).encode())


def test_jerk_of_constant_velocity_is_zero_and_grows_with_shaking():
    motion = _still()
    steady = Motion(motion.skeleton, np.broadcast_to(motion.rotations[:1], motion.rotations.shape).copy(),
                    np.broadcast_to(motion.translations[:1], motion.translations.shape).copy(), motion.frame_time)
    steady.translations[:, 0] = np.arange(motion.n_frames)[:, None] * [0.1, 0, 0] + [0, 10, 0]
    assert jerk(steady) == pytest.approx(0, abs=1e-6)
    shaky = Motion(steady.skeleton, steady.rotations, steady.translations.copy(), steady.frame_time)
    shaky.translations[::2, 0, 1] += 0.5
    assert jerk(shaky) > 1


def test_sliding_counts_only_low_frames():
    motion = _still()
    world = motion.world_positions()
    foot = motion.skeleton.index("RightFoot")
    planted = np.array([world[:, foot, 1].max() + 100.0])  # every frame counts as low
    assert foot_sliding(motion, [foot], planted, motion.skeleton.size) > 0
    planted = np.array([world[:, foot, 1].min() - 100.0])  # no frame is low
    assert foot_sliding(motion, [foot], planted, motion.skeleton.size) == 0


def test_evaluate_on_copies_reports_perfect_faithfulness():
    motion = _still(120)
    report = evaluate(motion, [motion, motion], [motion.skeleton.index("RightFoot")])
    assert report.coverage == 1.0 and report.global_diversity == pytest.approx(0, abs=1e-6)
    assert report.jerk_ratio == pytest.approx(1.0)
    assert report.inter_sample_diversity == 0
    assert set(report.to_dict()) >= {"coverage", "jerk_ratio", "sliding_ratio", "diversity_ratio"}
