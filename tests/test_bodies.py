"""Real creatures as they come: End Site quirks, body size and contacts from the motion,
and Z-up files (unit tests on synthetic creatures built here and in creatures.py)."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest
from creatures import LEGS, dog_motion, paws, z_up

from sinmdm.anim.body import calibrate, detect_up, measure_size
from sinmdm.anim.bvh import parse_bvh, read_bvh, write_bvh
from sinmdm.anim.contacts import choose_contacts, contact_labels, detect_contacts, planted_heights
from sinmdm.anim.motion import Motion
from sinmdm.anim.skeleton import Skeleton
from sinmdm.apps.crowd import Placement, place
from sinmdm.base.errors import BVHError, SinmdmError
from sinmdm.cleanup.ik import solve_ik
from sinmdm.cleanup.limbs import Bend
from sinmdm.cleanup.pipeline import cleanup
from sinmdm.cli.app import run
from sinmdm.model.features import FeatureLayout

# A re-exported Truebones-style file: text after "End Site", two End Sites under one joint,
# End Sites before, between and after JOINT children, lower-case "End site", a "{" on the
# End Site's own line.
QUIRKS = """HIERARCHY
ROOT Hips
{
  OFFSET 0 10 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  End Site #name: BN_Belly
  {
    OFFSET 0 -2 0
  }
  JOINT Tail
  {
    OFFSET 0 0 -3
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site #name: BN_Tail_04
    {
      OFFSET 0 0 -2
    }
    end site
    {
      OFFSET 0 1 -2
    }
  }
  End Site BN_Mid {
    OFFSET 1 0 0
  }
  JOINT Head
  {
    OFFSET 0 0 3
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 0 1
    }
  }
  End Site
  {
    OFFSET -1 0 0
  }
}
MOTION
Frames: 3
Frame Time: 0.0333333
0 10 0 0 0 0 0 0 0 0 0 0
1 10 0 5 10 0 10 0 0 0 20 0
2 10 1 5 10 3 10 5 0 0 20 9
"""


def _structure(text: str) -> list[str]:
    """The hierarchy's keywords in order, each with its nesting depth (names and comments dropped)."""
    out, depth = [], 0
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        key = words[0].lower()
        if key in ("root", "joint"):
            out.append(f"{depth}:{key} {words[1]}")
        elif key == "end":
            out.append(f"{depth}:end")
        depth += line.count("{") - line.count("}")
        if key == "motion":
            break
    return out


def test_end_site_quirks_parse_and_every_end_site_is_written_back_where_it_was(tmp_path):
    motion = parse_bvh(QUIRKS.encode())
    skeleton = motion.skeleton
    assert skeleton.names == ("Hips", "Tail", "Head")
    assert skeleton.point_names[3:] == (
        "Hips End Site 1", "Tail End Site 1", "Tail End Site 2", "Hips End Site 2", "Head End Site", "Hips End Site 3",
    )
    write_bvh(tmp_path / "out.bvh", motion)
    written = (tmp_path / "out.bvh").read_text()
    assert _structure(written) == _structure(QUIRKS)
    again = read_bvh(tmp_path / "out.bvh")
    assert np.abs(again.world_points() - motion.world_points()).max() < 1e-9
    assert skeleton.point_index("Tail End Site 2") == 5 and skeleton.point_index("tail end site") == 4
    with pytest.raises(SinmdmError, match="has 1 End Site"):
        skeleton.point_index("Head End Site 2")


def test_an_end_site_that_is_not_one_is_still_refused_with_one_line():
    with pytest.raises(BVHError, match="expected 'End Site'"):
        parse_bvh(QUIRKS.replace("end site\n", "end sight\n").encode())
    with pytest.raises(BVHError, match="End Site inside an End Site"):
        parse_bvh(QUIRKS.replace("OFFSET 0 1 -2", "End Site\n{\nOFFSET 0 0 1\n}\nOFFSET 0 1 -2").encode())


def test_skeleton_refuses_end_sites_placed_among_children_it_does_not_have():
    sk = parse_bvh(QUIRKS.encode()).skeleton
    with pytest.raises(SinmdmError, match="End Sites placed"):
        replace(sk, end_site_slots=sk.end_site_slots + 5)


# ------------------------------------------------------------------ the dog
def _walking_extent(motion) -> float:
    """The dog's vertical extent while it trots (its first two seconds)."""
    points = motion.world_points()[:60]
    return float(np.median(np.ptp(points[..., 1], axis=1)))


def test_a_dog_lying_along_x_in_its_rest_pose_parses_round_trips_and_has_its_standing_size(tmp_path):
    write_bvh(tmp_path / "dog.bvh", dog_motion())
    dog = read_bvh(tmp_path / "dog.bvh")
    rest = np.ptp(dog.skeleton.rest_positions(), axis=0)
    assert rest[0] > 5 * rest[1]  # the rest pose lies along +X
    write_bvh(tmp_path / "again.bvh", dog)
    again = read_bvh(tmp_path / "again.bvh")
    assert np.abs(again.world_points() - dog.world_points()).max() < 1e-8 * dog.skeleton.size
    standing = _walking_extent(dog)
    assert dog.skeleton.size == pytest.approx(standing, rel=0.05)
    assert dog.skeleton.rest_height < 0.25 * standing  # what the rest pose would have said


def test_the_four_paws_of_the_sitting_dog_are_its_contacts():
    dog = calibrate(dog_motion())
    found = detect_contacts(dog)
    assert set(paws(dog.skeleton)) <= set(found)
    assert set(found) <= set(paws(dog.skeleton)) | {dog.skeleton.point_index("Tail1 End Site")}  # the tail lies on the floor
    planted = planted_heights(dog, found)
    assert np.abs(planted).max() < 0.01 * dog.skeleton.size


def test_the_most_distal_of_a_chain_is_kept():
    dog = calibrate(dog_motion())
    found = detect_contacts(dog)
    for leg in LEGS:  # the paw joint rests low too, but its End Site is the tip
        assert dog.skeleton.index(f"{leg}Paw") not in found


# ------------------------------------------------------------------- Z-up
def test_a_z_up_file_is_detected_from_the_root_travel_and_reads_like_the_y_up_one(tmp_path):
    y_dog = dog_motion(walk_seconds=6.0)
    write_bvh(tmp_path / "y.bvh", y_dog)
    write_bvh(tmp_path / "z.bvh", z_up(y_dog))
    y, z = read_bvh(tmp_path / "y.bvh"), read_bvh(tmp_path / "z.bvh")
    assert (y.skeleton.up, z.skeleton.up) == ("y", "z")
    assert "travels" in detect_up(z)[1]
    assert np.abs(z.world_points() - y.world_points()).max() < 1e-6 * y.skeleton.size
    assert z.skeleton.size == pytest.approx(y.skeleton.size, rel=1e-9)
    assert detect_contacts(z) == detect_contacts(y)


def test_without_clear_evidence_a_file_is_y_up_and_up_can_be_given():
    z_dog = z_up(dog_motion())  # walks too briefly to show which way is up
    assert detect_up(z_dog)[0] == "y"
    given = calibrate(z_dog, "z")
    assert given.skeleton.up == "z"
    assert given.skeleton.size == pytest.approx(calibrate(dog_motion()).skeleton.size, rel=1e-9)
    with pytest.raises(SinmdmError, match="unknown up axis 'x'"):
        calibrate(z_dog, "x")


def test_a_z_up_file_is_written_back_in_its_own_axes(tmp_path):
    z_dog = calibrate(z_up(dog_motion()), "z")
    write_bvh(tmp_path / "out.bvh", z_dog)
    rows = np.loadtxt(str(tmp_path / "out.bvh"), skiprows=(tmp_path / "out.bvh").read_text().splitlines().index("MOTION") + 3)
    np.testing.assert_allclose(rows[:, :3], z_dog.translations[:, 0], atol=1e-5)  # the root's height is its Z channel
    assert rows[:, 2].min() > 5.0


def test_features_of_a_z_up_file_are_those_of_the_y_up_one():
    y_dog = calibrate(dog_motion())
    z_dog = calibrate(z_up(dog_motion()), "z")
    contacts = paws(y_dog.skeleton)
    y_layout, z_layout = FeatureLayout.from_motion(y_dog, contacts), FeatureLayout.from_motion(z_dog, contacts)
    y_feat, z_feat = y_layout.encode(y_dog), z_layout.encode(z_dog)
    s = y_layout.slices
    tolerance = 1e-6 * y_dog.skeleton.size
    for name in ("height", "contact"):  # what the world says; local rotations are the file's own
        np.testing.assert_allclose(z_feat[:, s[name]], y_feat[:, s[name]], atol=tolerance)
    # The velocity is in the heading of a local axis, and the root's local axes differ.
    speed = [np.linalg.norm(f[:, s["velocity"]], axis=-1) for f in (y_feat, z_feat)]
    np.testing.assert_allclose(speed[1], speed[0], atol=tolerance)
    decoded = z_layout.decode(z_feat)
    assert np.abs(decoded.world_points() - z_dog.world_points()).max() < 1e-6 * z_dog.skeleton.size


def _jittered(motion, seed: int = 0):
    """``motion`` with smooth random wobble on every joint below the hips (feet slide)."""
    rng = np.random.default_rng(seed)
    frames, joints = motion.n_frames, motion.skeleton.n_joints
    angle = np.cumsum(rng.normal(0, 0.01, size=(frames, joints)), axis=0)
    c, s = np.cos(angle), np.sin(angle)
    turn = np.zeros((frames, joints, 3, 3))
    turn[..., 0, 0], turn[..., 0, 1], turn[..., 1, 0], turn[..., 1, 1], turn[..., 2, 2] = c, -s, s, c, 1.0
    turn[:, 0] = np.eye(3)
    return replace(motion, rotations=motion.rotations @ turn)


def test_cleanup_of_a_z_up_file_is_cleanup_of_the_y_up_one():
    y_clip = calibrate(dog_motion())
    noisy = _jittered(y_clip)
    z_noisy = calibrate(replace(z_up(noisy), frame_time=noisy.frame_time), "z")
    z_noisy = replace(z_noisy, skeleton=replace(z_noisy.skeleton, measured_size=y_clip.skeleton.size))
    contacts = paws(y_clip.skeleton)
    labels = contact_labels(y_clip, contacts) > 0.5
    planted = planted_heights(y_clip, contacts)
    y_clean = cleanup(noisy, contacts, labels, planted)
    z_clean = cleanup(z_noisy, contacts, labels, planted)
    moved = np.abs(y_clean.world_points() - noisy.world_points()).max()
    assert moved > 0.01 * y_clip.skeleton.size  # cleanup did something
    assert np.abs(z_clean.world_points() - y_clean.world_points()).max() < 1e-6 * y_clip.skeleton.size


def test_an_end_site_contact_is_placed_by_ik():
    dog = calibrate(dog_motion())
    tip = paws(dog.skeleton)[0]
    chain = [dog.skeleton.index(f"{LEGS[0]}{bone}") for bone in ("Upper", "Lower", "Paw")]
    target = dog.world_points()[:, tip] + [3.0, 0.0, -2.0]  # within the leg's reach
    placed = solve_ik(dog, tip, chain, Bend(chain[1]), target, np.ones(dog.n_frames, dtype=bool))
    assert np.abs(placed.world_points()[:, tip] - target).max() < 1e-6 * dog.skeleton.size


def test_a_crowd_placement_of_a_z_up_file_lands_where_the_y_up_one_does():
    y_dog = calibrate(dog_motion())
    z_dog = calibrate(z_up(dog_motion()), "z")
    spot = Placement(x=100.0, z=-50.0, heading=40.0, offset=0)
    y_layout, z_layout = FeatureLayout.from_motion(y_dog, []), FeatureLayout.from_motion(z_dog, [])
    y_placed, z_placed = place(y_layout, y_dog, spot), place(z_layout, z_dog, spot)
    assert np.abs(z_placed.world_points() - y_placed.world_points()).max() < 1e-6 * y_dog.skeleton.size


# ------------------------------------------------------------- size and keys
def test_size_and_up_travel_with_the_skeleton_and_old_runs_load():
    dog = calibrate(z_up(dog_motion()), "z")
    data = dog.skeleton.to_dict()
    again = Skeleton.from_dict(data)
    assert (again.up, again.measured_size) == ("z", dog.skeleton.size)
    np.testing.assert_array_equal(again.end_site_slots, dog.skeleton.end_site_slots)
    old = {k: v for k, v in data.items() if k not in ("up", "measured_size", "end_site_slots")}
    legacy = Skeleton.from_dict(old)
    assert legacy.up == "y" and legacy.size == legacy.rest_height


def test_size_of_a_flat_creature_falls_back_to_its_length():
    dog = dog_motion()
    skeleton = replace(dog.skeleton, offsets=dog.skeleton.offsets * [1, 0, 1], end_site_offsets=dog.skeleton.end_site_offsets * [1, 0, 1])
    still = np.broadcast_to(np.eye(3), dog.rotations.shape).copy()  # every bone along +X, on the ground
    flat = replace(dog, skeleton=skeleton, rotations=still, translations=dog.translations * [1, 0, 1])
    assert measure_size(flat) == pytest.approx(np.ptp(flat.world_points()[0, :, 0]), rel=1e-9)


def test_an_upright_rest_pose_the_clip_confirms_is_the_size_even_when_a_claw_is_raised():
    # A post standing 2.5 tall in its rest pose, with a horizontal feeler on top that it
    # raises straight up in a third of the frames (extent 3.5) and bends down in another.
    skeleton = Skeleton(
        ("Base", "Mid", "Top", "Feeler"), np.array([-1, 0, 1, 2]),
        np.array([(0, 0, 0), (0, 1, 0), (0, 1, 0), (0, 0.5, 0)], float),
        (("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation"), ("Zrotation", "Xrotation", "Yrotation"),
         ("Zrotation", "Xrotation", "Yrotation"), ("Zrotation", "Xrotation", "Yrotation")),
        np.array([3]), np.array([(1.0, 0, 0)]),
    )
    frames = 90
    rotations = np.broadcast_to(np.eye(3), (frames, 4, 3, 3)).copy()
    up = np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])  # +X to +Y about Z
    rotations[:30, 3] = up
    rotations[30:60, 2] = up.T  # the top bends over
    motion = Motion(skeleton, rotations, np.broadcast_to(skeleton.offsets, (frames, 4, 3)).copy(), 1 / 30)
    assert skeleton.rest_height == pytest.approx(2.5)
    assert np.ptp(motion.world_points()[:30, :, 1], axis=1).max() == pytest.approx(3.5)
    assert measure_size(motion) == pytest.approx(2.5)
    # Never as tall as its rest pose (bent over the whole clip): the clip's own height.
    rotations[:, 2], rotations[:, 3] = up.T, np.eye(3)
    bent = replace(motion, rotations=rotations)
    assert np.ptp(bent.world_points()[..., 1], axis=1).max() < 2.5
    assert measure_size(bent) == pytest.approx(np.ptp(bent.world_points()[0, :, 1]))


def test_contacts_are_named_by_end_site():
    dog = calibrate(dog_motion())
    points, source = choose_contacts(dog, ["FrontLeftPaw End Site", "Tail1"])
    assert source == "given" and points == [paws(dog.skeleton)[0], dog.skeleton.index("Tail1")]


# --------------------------------------------------------------------- CLI
def test_info_reports_the_up_axis_size_and_each_contact(tmp_path, capsys):
    write_bvh(tmp_path / "dog.bvh", z_up(dog_motion()))
    assert run(["info", str(tmp_path / "dog.bvh"), "--up", "z", "--no-tree"]) == 0
    out = capsys.readouterr().out
    assert "up axis         Z (given)" in out
    size = float(re.search(r"body size +([0-9.]+)", out).group(1))
    assert size == pytest.approx(_walking_extent(dog_motion()), rel=0.05)
    for leg in LEGS:
        assert re.search(rf"\n +{leg}Paw End Site +planted in \d+% of frames, rests at height", out)


def test_a_bad_up_axis_is_refused_by_its_type_and_writes_nothing(tmp_path, capsys):
    """--up is a choice: the command line refuses other axes (a usage error) before any work."""
    write_bvh(tmp_path / "dog.bvh", dog_motion())
    code = run(["convert", str(tmp_path / "dog.bvh"), str(tmp_path / "out.bvh"), "--up", "x"])
    err = capsys.readouterr().err
    assert code == 2 and "'x' is not one of 'y', 'z'" in err and "Traceback" not in err
    assert not (tmp_path / "out.bvh").exists()
    with pytest.raises(SinmdmError, match="unknown up axis 'x'"):  # the reader's own check, for callers of the API
        read_bvh(tmp_path / "dog.bvh", up="x")
