"""Integration: every real clip in ../shared/data (or $SINMDM_DATA) round-trips exactly."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import clip_params, require

from sinmdm.anim.bvh import read_bvh, write_bvh
from sinmdm.anim.contacts import choose_contacts
from sinmdm.anim.presets import match_preset
from sinmdm.model.features import FeatureLayout

CLIPS = clip_params()


@pytest.mark.parametrize("path", CLIPS)
def test_bvh_round_trip(path, tmp_path):
    motion = read_bvh(require(path))
    write_bvh(tmp_path / "out.bvh", motion)
    again = read_bvh(tmp_path / "out.bvh")
    assert again.skeleton.difference(motion.skeleton) is None
    assert again.skeleton.names == motion.skeleton.names
    assert again.skeleton.channels == motion.skeleton.channels
    np.testing.assert_array_equal(again.skeleton.end_site_parents, motion.skeleton.end_site_parents)
    assert again.n_frames == motion.n_frames
    assert again.frame_time == pytest.approx(motion.frame_time, rel=1e-6)
    err = np.abs(again.world_points() - motion.world_points()).max()
    assert err <= 1e-5 * motion.skeleton.size
    assert again.skeleton.up == motion.skeleton.up == "y"  # every shared clip is Y-up
    assert again.skeleton.size == pytest.approx(motion.skeleton.size, rel=1e-6)


@pytest.mark.parametrize("path", CLIPS)
def test_features_round_trip_through_bvh(path, tmp_path):
    motion = read_bvh(require(path)).at_training_rate()
    assert motion.fps <= 30
    joints, _ = choose_contacts(motion, None, match_preset(motion.skeleton))
    layout = FeatureLayout.from_motion(motion, joints)
    features = layout.encode(motion)
    assert np.all(np.isfinite(layout.normalise(features)))
    write_bvh(tmp_path / "out.bvh", layout.decode(features))
    again = read_bvh(tmp_path / "out.bvh")
    assert again.fps == motion.fps  # 0.033333 in the source is 1/30 in the output
    err = np.abs(again.world_positions() - motion.world_positions()).max()
    assert err <= 1e-4 * motion.skeleton.size


@pytest.mark.parametrize("path", CLIPS)
def test_every_clip_matches_a_preset_and_has_contacts(path):
    motion = read_bvh(require(path)).at_training_rate()
    preset = match_preset(motion.skeleton)
    assert preset is not None
    assert set(preset.parts)  # body parts resolve on the real skeleton
    for name in preset.parts:
        assert preset.part(motion.skeleton, name)
    assert preset.contact_points(motion.skeleton)


@pytest.mark.parametrize("path", CLIPS)
def test_detected_contacts_are_low_end_effectors(path):
    from sinmdm.anim.contacts import detect_contacts

    motion = read_bvh(require(path)).at_training_rate()
    found = detect_contacts(motion)
    assert found, "every shared clip stands on something"
    skeleton = motion.skeleton
    assert all(p >= skeleton.n_joints or not skeleton.children[p] for p in found)  # End Sites or limb ends
    world = motion.world_points()
    lowest = np.percentile(world[..., 1], 5, axis=0)
    assert np.all(lowest[found] < np.median(lowest))
