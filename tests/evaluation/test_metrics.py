"""Metrics on cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import synthetic_bvh

from sinmdm.anim.bvh import parse_bvh
from sinmdm.anim.motion import Motion
from sinmdm.anim.rotations import axis_angle_matrix
from sinmdm.evaluation.metrics import (
    coverage,
    distances,
    evaluate,
    foot_sliding,
    global_diversity,
    inter_sample_diversity,
    jerk,
    local_diversity,
    loop_seam_rank,
    loop_seam_step,
    motion_scale,
    replay_lengths,
    rotation_features,
    self_replay,
    window_sums,
)


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
    pieces = np.concatenate([clip[120:170], clip[10:90], clip[60:140]])  # pieces of at least 30 frames
    assert global_diversity(distances(clip, pieces), motion_scale(clip)) == pytest.approx(0, abs=1e-6)


def test_replays_last_as_long_as_the_pieces_of_the_clip_a_sample_plays():
    rng = np.random.default_rng(6)
    walk = np.cumsum(rng.normal(size=(300, 6)), axis=0)  # never repeats itself
    scale = motion_scale(walk)
    pieces = np.concatenate([walk[100:160], walk[20:100], walk[200:290]])  # 60, 80 and 90 frames
    lengths = replay_lengths(distances(walk, pieces), scale)
    # Each frame lies in the replay of its own piece (a window across a join may still
    # match for a few frames, never more: a frame that close to a join may lie in the
    # next piece's replay too).
    for start, size in ((0, 60), (60, 80), (140, 90)):
        inside = lengths[start + 5 : start + size - 5]
        assert np.all((inside >= size) & (inside <= size + 8))
    assert np.all(replay_lengths(distances(walk, walk), scale) == 300)  # a copy is one replay
    # Noise of the clip's own spread replays nothing.
    noise = rng.normal(size=(200, 6)) * walk.std(0) + walk.mean(0)
    assert replay_lengths(distances(walk, noise), scale).max() == 0
    # The clip against itself: only lags of a second and more count, and a random walk has none.
    assert self_replay(walk, scale) == (0.0, 0.0)


def test_a_cycle_replays_itself_for_all_but_one_period():
    frames = np.arange(300)[:, None]
    cycle = np.sin(2 * np.pi * frames / 40 + np.arange(6))  # a 40-frame cycle, 300 frames at 30 fps
    seconds, long_share = self_replay(cycle, motion_scale(cycle))
    assert seconds == pytest.approx(260 / 30, rel=0.05)  # every frame is in the copy one period away
    assert long_share == 1.0


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


def _swaying(frames: int, phase: float) -> Motion:
    """The spine swaying once over ``frames`` frames (the next frame would be the first)."""
    motion = _still(frames)
    rotations = np.broadcast_to(motion.rotations[:1], motion.rotations.shape).copy()
    angle = 0.6 * np.sin(2 * np.pi * np.arange(frames) / frames + phase)
    rotations[:, 1] = axis_angle_matrix(np.array([[1.0, 0.0, 0.0]]), angle)
    translations = np.broadcast_to(motion.translations[:1], motion.translations.shape).copy()
    return Motion(motion.skeleton, rotations, translations, motion.frame_time)


def test_a_seamless_loops_seam_ranks_among_its_steps_and_a_jump_ranks_first():
    seamless = _swaying(120, np.pi / 4)  # the seam falls where the sway is at 0.7 of its fastest
    assert 0.3 < loop_seam_rank(seamless) < 0.7
    assert loop_seam_step(seamless) == pytest.approx(np.sqrt(0.5) / np.median(np.abs(np.cos(np.linspace(0, 2 * np.pi, 120)))), rel=0.1)
    cut = seamless.crop(0, 90)  # three quarters of the sway: the loop jumps back
    assert loop_seam_rank(cut) == 1.0 and loop_seam_step(cut) > 10


def test_sliding_counts_only_low_frames():
    motion = _still()
    world = motion.world_positions()
    foot = motion.skeleton.index("RightFoot")
    planted = np.array([world[:, foot, 1].max() + 100.0])  # every frame counts as low
    assert foot_sliding(motion, [foot], planted, motion.skeleton.size, 0.04) > 0
    planted = np.array([world[:, foot, 1].min() - 100.0])  # no frame is low
    assert foot_sliding(motion, [foot], planted, motion.skeleton.size, 0.04) == 0


def test_evaluate_on_copies_reports_perfect_faithfulness():
    motion = _still(120)
    report = evaluate(motion, [motion, motion], [motion.skeleton.index("RightFoot")])
    assert report.coverage == 1.0 and report.global_diversity == pytest.approx(0, abs=1e-6)
    assert report.jerk_ratio == pytest.approx(1.0)
    assert report.inter_sample_diversity == 0
    assert report.replay_seconds == pytest.approx(motion.duration, abs=0.05) and report.replay_long_share == 1.0
    assert report.sliding_ratios == pytest.approx([1.0] * 4) or report.sliding == [0.0] * 4
    assert set(report.to_dict()) >= {"coverage", "jerk_ratio", "sliding_ratio", "sliding_ratios", "replay_seconds"}


def test_several_clips_are_scored_each_and_together_without_windows_across_them():
    a = parse_bvh(synthetic_bvh(90, seed=4, smooth=True).encode())
    b = parse_bvh(synthetic_bvh(60, seed=5, smooth=True).encode())
    b = Motion(a.skeleton, b.rotations, b.translations, b.frame_time)
    report = evaluate([a, b], [a, b], [])
    # Each sample is one clip: together they cover both; no window that would span the
    # two clips (which no sample plays) is counted.
    assert report.clip_coverage_together == [1.0, 1.0]
    assert report.clip_coverage[0][0] == 1.0 and report.clip_coverage[1][1] == 1.0
    assert report.clip_coverage[0][1] < 0.5 and report.clip_coverage[1][0] < 0.5
    assert report.coverage == pytest.approx(np.mean(report.clip_coverage, axis=0) @ [61, 31] / 92)
    assert report.jerk_input == pytest.approx((jerk(a) * 90 + jerk(b) * 60) / 150)
    one = evaluate(a, [a, b], [])
    assert one.clip_coverage_together == [1.0] and one.to_dict() == evaluate([a], [a, b], []).to_dict()
