"""Contact joints for any number of legs, and rig presets."""

from __future__ import annotations

import numpy as np
import pytest

from sinmdm.anim.contacts import choose_contacts, contact_labels, detect_contacts
from sinmdm.anim.motion import Motion
from sinmdm.anim.presets import find_preset, load_preset, match_preset
from sinmdm.anim.skeleton import Skeleton
from sinmdm.base.errors import SinmdmError

POS = ("Xposition", "Yposition", "Zposition")
ROT = ("Zrotation", "Xrotation", "Yrotation")


def walker(legs: int, frames: int = 120, fps: float = 30.0) -> Motion:
    """A body walking along +X on ``legs`` straight legs (hip, knee, foot). Each foot
    alternates a planted phase (still in the world) and a swing phase in the air."""
    names, parents, offsets, channels = ["Body"], [-1], [[0, 1.0, 0]], [POS + ROT]
    for k in range(legs):
        z = (k - (legs - 1) / 2) * 0.3
        base = len(names)
        names += [f"Hip{k}", f"Knee{k}", f"Foot{k}"]
        parents += [0, base, base + 1]
        offsets += [[0, 0, z], [0, -0.5, 0], [0, -0.5, 0]]
        channels += [ROT, ROT, ROT]
    names.append("Tail")
    parents.append(0)
    offsets.append([-0.5, 0.2, 0])
    channels.append(ROT)
    skeleton = Skeleton(
        tuple(names), np.array(parents), np.array(offsets, float), tuple(channels),
        np.array([len(names) - 1]), np.array([[-0.3, 0, 0]]),
    )
    t = np.arange(frames) / fps
    speed = 0.5
    rotations = np.broadcast_to(np.eye(3), (frames, len(names), 3, 3)).copy()
    translations = np.broadcast_to(skeleton.offsets, (frames, len(names), 3)).copy()
    translations[:, 0, 0] = speed * t
    # Move each foot joint directly (its translation) so that it is planted half the time.
    period = 1.0
    for k in range(legs):
        phase = (t / period + k / legs) % 1.0
        stance = phase < 0.5
        # world x of the foot: during stance fixed at the step's start, during swing catching up
        step_start = np.floor(t / period + k / legs) * period * speed
        foot_x = np.where(stance, step_start, step_start + (phase - 0.5) * 2 * period * speed)
        lift = np.where(stance, 0.0, 0.2 * np.sin((phase - 0.5) * 2 * np.pi))
        foot = 1 + 3 * k
        translations[:, foot + 2, 0] = foot_x - speed * t
        translations[:, foot + 2, 1] = -0.5 + lift
    return Motion(skeleton, rotations, translations, 1 / fps)


@pytest.mark.parametrize("legs", [2, 4, 8])
def test_detects_the_feet_of_any_number_of_legs(legs):
    motion = walker(legs)
    found = detect_contacts(motion)
    assert [motion.skeleton.names[j] for j in found] == [f"Foot{k}" for k in range(legs)]


def test_labels_follow_stance_and_swing():
    motion = walker(2)
    labels = contact_labels(motion, [3, 6])
    assert 0.3 < labels.mean() < 0.6
    world = motion.world_positions()
    planted = world[:, 3, 1] < world[:, 3, 1].min() + 1e-6
    assert labels[planted, 0].mean() > 0.9
    assert labels[~planted, 0].mean() < 0.1


def test_a_flying_creature_has_no_false_contacts_on_its_tail():
    motion = walker(4)
    found = detect_contacts(motion)
    assert motion.skeleton.index("Tail") not in found


def test_user_names_override_presets_and_detection():
    motion = walker(2)
    joints, source = choose_contacts(motion, ["Knee0", "Foot1"])
    assert joints == [2, 6] and source == "given"
    with pytest.raises(SinmdmError, match="no joint named 'Paw'"):
        choose_contacts(motion, ["Paw"])
    joints, source = choose_contacts(motion)
    assert source == "detected"


def test_preset_matching_ignores_prefixes(tmp_path):
    names = ("rig:Hips", "rig:Spine", "rig:Leg", "rig:Foot")
    skeleton = Skeleton(
        names, np.array([-1, 0, 0, 2]), np.zeros((4, 3)), (POS + ROT, ROT, ROT, ROT), np.zeros(0, int), np.zeros((0, 3))
    )
    (tmp_path / "tiny.toml").write_text(
        'name = "tiny"\nmatch = ["Hips", "Foot"]\ncontacts = ["Foot"]\n'
        '[parts.legs]\nsubtrees = ["Leg"]\n[parts.core]\njoints = ["Hips"]\nsubtrees = ["Spine"]\n'
    )
    preset = load_preset(tmp_path / "tiny.toml")
    assert preset.matches(skeleton)
    assert preset.contact_points(skeleton) == [3]
    assert preset.part(skeleton, "legs") == [2, 3]
    assert preset.part(skeleton, "core") == [0, 1]
    with pytest.raises(SinmdmError, match="no body part 'wings'"):
        preset.part(skeleton, "wings")


def test_builtin_presets_load_and_are_unique():
    mixamo = find_preset("mixamo")
    assert "LeftToeBase" in mixamo.contacts and "upper_body" in mixamo.parts
    with pytest.raises(SinmdmError, match="no rig preset named"):
        find_preset("unicorn")


def test_no_preset_matches_an_unknown_creature():
    assert match_preset(walker(8).skeleton) is None


def test_broken_preset_file_is_a_clear_error(tmp_path):
    (tmp_path / "bad.toml").write_text("match = [")
    with pytest.raises(SinmdmError, match="not a valid preset"):
        load_preset(tmp_path / "bad.toml")
    (tmp_path / "empty.toml").write_text("name = 'x'")
    with pytest.raises(SinmdmError, match="missing"):
        load_preset(tmp_path / "empty.toml")
