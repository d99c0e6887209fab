"""Motion features: exact round trips, heading invariance, statistics, resampling."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import synthetic_bvh
from scipy.spatial.transform import Rotation

from sinmdm.anim.bvh import parse_bvh, read_bvh, write_bvh
from sinmdm.anim.motion import Motion
from sinmdm.model.features import FeatureLayout, principal_axes


@pytest.fixture
def motion() -> Motion:
    return parse_bvh(synthetic_bvh(40, seed=3).encode())


def test_channel_map(motion):
    layout = FeatureLayout.from_motion(motion, [2, 7])
    s = layout.slices
    assert s["rot"] == slice(0, 6 * 7)  # seven joints rotate; "Fixed" has no channels
    assert s["height"].stop - s["height"].start == 1
    assert s["velocity"].stop - s["velocity"].start == 2
    assert layout.pos_joints.tolist() == [5]  # LeftFoot's position channels vary
    assert s["pos"].stop - s["pos"].start == 3
    assert s["contact"].stop - s["contact"].start == 2
    assert layout.n_channels == 42 + 1 + 2 + 3 + 2
    assert layout.encode(motion).shape == (40, layout.n_channels)


def test_features_to_bvh_reproduce_the_clip(motion, tmp_path):
    layout = FeatureLayout.from_motion(motion, [7])
    decoded = layout.decode(layout.encode(motion))
    write_bvh(tmp_path / "out.bvh", decoded)
    again = read_bvh(tmp_path / "out.bvh")
    err = np.abs(again.world_positions() - motion.world_positions()).max()
    assert err < 1e-4 * motion.skeleton.size


def test_constant_position_channels_are_stored_once(motion):
    still = motion.translations.copy()
    still[:, 5] = still[0, 5]
    layout = FeatureLayout.from_motion(Motion(motion.skeleton, motion.rotations, still, motion.frame_time), [])
    assert layout.pos_joints.tolist() == []
    np.testing.assert_allclose(layout.rest_translations[5], still[0, 5])


def test_velocity_is_in_the_heading_frame(motion):
    """Turning the whole motion about the vertical axis leaves the features unchanged."""
    turn = Rotation.from_euler("Y", 73, degrees=True).as_matrix()
    rotations = motion.rotations.copy()
    translations = motion.translations.copy()
    rotations[:, 0] = turn @ rotations[:, 0]
    translations[:, 0] = translations[:, 0] @ turn.T
    turned = Motion(motion.skeleton, rotations, translations, motion.frame_time)
    layout = FeatureLayout.from_motion(motion, [])
    a, b = layout.encode(motion), layout.encode(turned)
    s = layout.slices
    np.testing.assert_allclose(a[:, s["velocity"]], b[:, s["velocity"]], atol=1e-9)
    np.testing.assert_allclose(a[:, s["height"]], b[:, s["height"]], atol=1e-9)


def test_decode_starts_where_asked(motion):
    layout = FeatureLayout.from_motion(motion, [])
    features = layout.encode(motion)
    np.testing.assert_allclose(layout.decode(features).translations[0, 0, [0, 2]], motion.translations[0, 0, [0, 2]])
    np.testing.assert_allclose(layout.decode(features, start=[5.0, -2.0]).translations[0, 0, [0, 2]], [5.0, -2.0])


def test_normalisation_statistics(motion):
    layout = FeatureLayout.from_motion(motion, [7])
    features = layout.encode(motion)
    normalised = layout.normalise(features)
    np.testing.assert_allclose(normalised.mean(axis=0), 0, atol=1e-9)
    rot = layout.slices["rot"]
    # Rotations share one scale: unit RMS spread over all rotation channels together.
    assert len(set(layout.std[rot].round(12))) == 1
    np.testing.assert_allclose(np.sqrt((normalised[:, rot].std(axis=0) ** 2).mean()), 1, atol=1e-9)
    others = np.arange(layout.n_channels) >= rot.stop
    varying = others & (features.std(axis=0) > layout.std)
    np.testing.assert_allclose(normalised[:, varying].std(axis=0), 1, atol=1e-9)
    assert np.all(layout.std > 0)
    np.testing.assert_allclose(layout.denormalise(normalised), features, atol=1e-9)
    import torch

    t = layout.normalise(torch.as_tensor(features))
    np.testing.assert_allclose(t.numpy(), normalised, atol=1e-9)


def test_scale_does_not_change_normalised_features(motion):
    """The same motion on a skeleton ten times larger gives the same normalised features."""
    from sinmdm.anim.skeleton import Skeleton

    sk = motion.skeleton
    big = Skeleton(sk.names, sk.parents, sk.offsets * 10, sk.channels, sk.end_site_parents, sk.end_site_offsets * 10)
    scaled = Motion(big, motion.rotations, motion.translations * 10, motion.frame_time)
    a = FeatureLayout.from_motion(motion, [7])
    b = FeatureLayout.from_motion(scaled, [7])
    np.testing.assert_allclose(a.normalise(a.encode(motion)), b.normalise(b.encode(scaled)), atol=1e-7)


def test_layout_serialises_to_plain_types(motion):
    import json

    layout = FeatureLayout.from_motion(motion, [2, 7])
    again = FeatureLayout.from_dict(json.loads(json.dumps(layout.to_dict())))
    np.testing.assert_allclose(again.encode(motion), layout.encode(motion))
    assert again.slices == layout.slices


def test_resample_to_half_rate_keeps_every_other_frame():
    motion = parse_bvh(synthetic_bvh(41, frame_time="0.016667").encode())
    assert motion.fps == 60
    half = motion.resample(30)
    assert half.n_frames == 21 and half.frame_time == pytest.approx(1 / 30)
    np.testing.assert_allclose(half.world_positions(), motion.world_positions()[::2], atol=1e-9)
    assert motion.at_training_rate().fps == 30
    assert motion.at_training_rate(60) is motion


def test_resample_interpolates_between_frames():
    text = "HIERARCHY\nROOT r\n{\n OFFSET 0 0 0\n CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\n"
    text += " End Site\n {\n  OFFSET 1 0 0\n }\n}\nMOTION\nFrames: 3\nFrame Time: 0.1\n0 0 0 0 0 0\n2 0 0 90 0 0\n4 0 0 90 0 0\n"
    motion = parse_bvh(text.encode())
    double = motion.resample(20)
    assert double.n_frames == 5
    np.testing.assert_allclose(double.translations[:, 0, 0], [0, 1, 2, 3, 4])
    angle = Rotation.from_matrix(double.rotations[1, 0]).magnitude()
    assert angle == pytest.approx(np.pi / 4)


def test_principal_axes_keep_the_asked_variance():
    rng = np.random.default_rng(0)
    # Three strong directions and weak noise in twelve channels.
    signal = rng.normal(size=(200, 3)) @ rng.normal(size=(3, 12)) + 1e-3 * rng.normal(size=(200, 12))
    axes = principal_axes(signal, 0.999, limit=10)
    assert axes.shape == (12, 3)
    np.testing.assert_allclose(axes.T @ axes, np.eye(3), atol=1e-9)
    centred = signal - signal.mean(axis=0)
    kept = np.linalg.norm(centred @ axes) ** 2 / np.linalg.norm(centred) ** 2
    assert kept > 0.999
    assert principal_axes(signal, 1.0, limit=2).shape == (12, 2)
