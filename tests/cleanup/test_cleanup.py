"""Cleanup on synthetic creatures with 2, 4 and 8 legs: sliding feet get pinned, bones
keep their lengths, the rest of the body barely moves, given parts stay exact."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from sinmdm.anim.bvh import parse_bvh
from sinmdm.anim.contacts import SPEED_LIMIT, Swings, drag_speeds, swing_floors
from sinmdm.anim.motion import Motion
from sinmdm.anim.rotations import axis_angle_matrix
from sinmdm.cleanup.ik import solve_ik
from sinmdm.cleanup.labels import hysteresis
from sinmdm.cleanup.limbs import bend_joint, effectors, limb_bends, limb_chain
from sinmdm.cleanup.pins import ALONG_FIRST, BLEND_SECONDS, pin_steps, pin_targets
from sinmdm.cleanup.pipeline import cleanup
from sinmdm.cleanup.smoothing import smooth
from sinmdm.evaluation.metrics import jerk, loop_seam_step

FRAMES = 60
SPEED = 0.05  # units per frame the body drifts forward while the legs stay still: sliding


def creature(legs: int, frames: int = FRAMES, dummy_root: bool = False) -> Motion:
    """A body with ``legs`` legs (hip, knee, foot, toe tip) around it; its feet rest on
    the floor (y = 0) and the body drifts forward, so every planted foot slides. With
    ``dummy_root`` the body hangs from a 0-channel root, as some exporters write it."""
    lines = ["HIERARCHY"] + (["ROOT World", "{", "OFFSET 0 0 0", "CHANNELS 0", "JOINT Body"] if dummy_root else ["ROOT Body"])
    lines += ["{", "OFFSET 0 0 0", "CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation"]
    lines += ["JOINT Head", "{", "OFFSET 0 2 0", "CHANNELS 3 Zrotation Xrotation Yrotation", "End Site", "{", "OFFSET 0 1 0", "}", "}"]
    for i in range(legs):
        x, z = math.cos(2 * math.pi * i / legs), math.sin(2 * math.pi * i / legs)
        lines += [
            f"JOINT Hip{i}", "{", f"OFFSET {2 * x:.6f} 0 {2 * z:.6f}", "CHANNELS 3 Zrotation Xrotation Yrotation",
            f"JOINT Knee{i}", "{", f"OFFSET {3 * x:.6f} 3 {3 * z:.6f}", "CHANNELS 3 Zrotation Xrotation Yrotation",
            f"JOINT Foot{i}", "{", f"OFFSET {x:.6f} -8 {z:.6f}", "CHANNELS 3 Zrotation Xrotation Yrotation",
            "End Site", "{", "OFFSET 0 0 0.5", "}", "}", "}", "}",
        ]
    lines += ["}"] * (2 if dummy_root else 1) + ["MOTION", f"Frames: {frames}", "Frame Time: 0.0333333"]
    channels = 6 + 3 + 9 * legs
    for t in range(frames):
        row = np.zeros(channels)
        row[0:3] = [SPEED * t, 5.0, 0.0]
        lines.append(" ".join(f"{v:.6f}" for v in row))
    return parse_bvh(("\n".join(lines) + "\n").encode())


def feet(motion: Motion) -> list[int]:
    return [j for j, name in enumerate(motion.skeleton.names) if name.startswith("Foot")]


def alternating_contacts(legs: int, frames: int = FRAMES) -> np.ndarray:
    """Legs in two groups, each planted for half the clip in turn."""
    contact = np.zeros((frames, legs), dtype=bool)
    contact[5:28, 0::2] = True
    contact[32:55, 1::2] = True
    return contact


def horizontal_speed(motion: Motion, joints: list[int]) -> np.ndarray:
    xz = motion.world_positions()[:, joints][..., [0, 2]]
    return np.linalg.norm(np.diff(xz, axis=0), axis=-1) * motion.fps  # (F-1, K)


@pytest.mark.parametrize("legs", [2, 4, 8])
def test_sliding_feet_are_pinned_on_any_number_of_legs(legs):
    motion = creature(legs)
    joints = feet(motion)
    contact = alternating_contacts(legs)
    cleaned = cleanup(motion, joints, contact, planted=np.zeros(legs))
    before, after = horizontal_speed(motion, joints), horizontal_speed(cleaned, joints)
    # Inside each contact (away from the smoothing at its ends) the foot stands still.
    core = np.zeros((FRAMES - 1, legs), dtype=bool)
    core[10:23, 0::2] = True
    core[37:50, 1::2] = True
    assert before[core].mean() == pytest.approx(SPEED * motion.fps, rel=0.05)
    assert after[core].max() < 0.02 * before[core].mean()


@pytest.mark.parametrize("legs", [2, 8])
def test_bone_lengths_do_not_change(legs):
    motion = creature(legs)
    cleaned = cleanup(motion, feet(motion), alternating_contacts(legs), planted=np.zeros(legs))
    parents = motion.skeleton.parents
    child = np.flatnonzero(parents >= 0)

    def lengths(m: Motion) -> np.ndarray:
        p = m.world_positions()
        return np.linalg.norm(p[:, child] - p[:, parents[child]], axis=-1)

    np.testing.assert_allclose(lengths(cleaned), lengths(motion), atol=1e-9)


def test_the_rest_of_the_body_keeps_its_pose_and_the_root_stands_over_planted_feet():
    motion = creature(4)
    contact = alternating_contacts(4)
    cleaned = cleanup(motion, feet(motion), contact, planted=np.zeros(4))
    height = motion.skeleton.size
    body = [motion.skeleton.index(n) for n in ["Head"] + [f"Hip{i}" for i in range(4)]]

    def around_root(m: Motion) -> np.ndarray:
        p = m.world_positions()
        return p[:, body] - p[:, [0]]

    # The head and the hips keep their places on the body (legs bend below the hips)...
    np.testing.assert_allclose(around_root(cleaned), around_root(motion), atol=1e-9 * height)
    # ...the body stands still over its planted feet, and drifts on between stands (where
    # the pins fade, partly held).
    root = horizontal_speed(cleaned, [0])[:, 0]
    assert root[10:23].max() < 0.02 * SPEED * motion.fps
    assert root[37:50].max() < 0.02 * SPEED * motion.fps
    assert root[[0, 29, 30, 58]].min() > 0.4 * SPEED * motion.fps
    free = cleanup(motion, feet(motion), np.zeros((FRAMES, 4), dtype=bool), planted=np.zeros(4))
    np.testing.assert_allclose(free.world_positions()[:, 0], motion.world_positions()[:, 0], atol=1e-12)


def test_a_body_skating_over_planted_feet_is_carried_by_its_root_not_by_bending_its_legs():
    motion = creature(4)
    height = motion.skeleton.size
    translations = motion.translations.copy()
    translations[:, 0, 0] = 2 * height * np.linspace(-1, 1, FRAMES)  # four body sizes over the clip
    drifting = replace(motion, translations=translations)
    joints = feet(drifting)
    cleaned = cleanup(drifting, joints, np.ones((FRAMES, 4), dtype=bool), planted=np.zeros(4))
    assert horizontal_speed(cleaned, joints)[5:-5].max() < 0.01 * horizontal_speed(drifting, joints).mean()
    legs = [j for j, n in enumerate(drifting.skeleton.names) if n.startswith(("Hip", "Knee"))]
    turned = np.einsum("fjab,fjab->fj", cleaned.rotations[:, legs], drifting.rotations[:, legs])  # trace
    angle = np.degrees(np.arccos(np.clip((turned - 1) / 2, -1, 1)))
    assert angle.max() < 0.5  # IK alone could not reach that far


def test_a_trajectory_joint_under_a_still_dummy_root_carries_the_body_too():
    """Exporters often put the moving hips under a 0-channel root: the hips' path is the
    one to correct."""
    nested = creature(4, dummy_root=True)
    translations = nested.translations.copy()
    translations[:, 1, 0] = nested.skeleton.size * np.linspace(-1, 1, FRAMES)
    drifting = replace(nested, translations=translations)
    joints = feet(drifting)
    cleaned = cleanup(drifting, joints, np.ones((FRAMES, 4), dtype=bool), planted=np.zeros(4))
    assert horizontal_speed(cleaned, joints)[5:-5].max() < 0.01 * horizontal_speed(drifting, joints).mean()
    legs = [j for j, n in enumerate(drifting.skeleton.names) if n.startswith(("Hip", "Knee"))]
    np.testing.assert_allclose(cleaned.rotations[:, legs], drifting.rotations[:, legs], atol=1e-6)


def test_the_root_rises_and_falls_over_planted_feet_as_it_did():
    """Only the root's steps along the floor follow the feet: a walker's root bobs over
    feet that stand still, so its height is the pins' to keep, by bending the legs."""
    motion = creature(2)
    translations = motion.translations.copy()
    translations[:, 0, 1] += 0.3 * np.sin(2 * np.pi * np.arange(FRAMES) / 20)
    bobbing = replace(motion, translations=translations)
    cleaned = cleanup(bobbing, feet(bobbing), np.ones((FRAMES, 2), dtype=bool), planted=np.zeros(2))
    smoothed = cleanup(bobbing, feet(bobbing), np.zeros((FRAMES, 2), dtype=bool), planted=np.zeros(2))  # no pins
    np.testing.assert_allclose(cleaned.world_positions()[:, 0, 1], smoothed.world_positions()[:, 0, 1], atol=1e-9)


def test_a_loops_root_correction_wraps_around_its_seam():
    motion = creature(2)  # drifting too fast for its feet to count as still
    contact = np.zeros((FRAMES, 2), dtype=bool)
    contact[:15] = True  # a stand at the start only: the root stops there

    def seam(loop: bool) -> float:
        cleaned = cleanup(motion, feet(motion), contact, planted=np.zeros(2), loop=loop)
        step = np.diff(cleaned.world_positions()[:, 0, 0])
        return abs(step[-1] - step[0])  # the root's steps on either side of the seam

    assert seam(loop=False) > 0.8 * SPEED  # standing on one side of the seam, drifting on the other
    assert seam(loop=True) < 0.5 * SPEED  # eased across it


def walking_loop(frames: int = 80) -> tuple[Motion, np.ndarray]:
    """A seamless loop of the two-legged creature: its head nods through two whole cycles
    (the seam at a turn) and one leg swings with it, while the body drifts on over its
    feet, which stand across the seam and once more in between (the root can carry the
    drift, but not the swinging leg, so the legs bend to hold their pins)."""
    motion = creature(2, frames)
    phase = 2 * np.pi * np.arange(frames) / frames * 2 + np.pi / 2
    rotations = motion.rotations.copy()
    nod = 0.3 * np.sin(phase)
    rotations[:, motion.skeleton.index("Head")] = axis_angle_matrix(np.broadcast_to([0.0, 0.0, 1.0], (frames, 3)), nod)
    swing = 0.2 * np.sin(2 * np.pi * np.arange(frames) / frames)  # once a loop, fastest at the seam
    rotations[:, motion.skeleton.index("Hip0")] = axis_angle_matrix(np.broadcast_to([0.0, 0.0, 1.0], (frames, 3)), swing)
    contact = np.zeros((frames, 2), dtype=bool)
    contact[-15:] = contact[:15] = True  # longer than the root can follow
    contact[30:50] = True
    return replace(motion, rotations=rotations), contact


def test_a_cleaned_loop_stays_seamless():
    """Every step (smoothing, contact runs, pins, lifts, the root's correction) sees across the
    seam: the step from the last frame to the first stays like any other step."""
    motion, contact = walking_loop()
    assert loop_seam_step(motion) < 1.5  # seamless before cleanup
    swings = Swings(speeds=np.array([[0.0, 0.0], [100.0, 100.0]]), floors=np.full((2, 2), 0.02 * motion.skeleton.size), rise=np.full(2, np.inf))
    args = (motion, feet(motion), contact, np.zeros(2))
    assert loop_seam_step(cleanup(*args, swings=swings, loop=False)) > 3  # the ends pinned apart
    looped = cleanup(*args, swings=swings, loop=True)
    assert looped.n_frames == motion.n_frames
    assert loop_seam_step(looped) < 1.5


def test_pinning_a_jittery_sample_adds_little_jerk_to_what_smoothing_leaves():
    """IK's corrections start and stop where pins fade; the passes after it take those
    kinks out, so a pinned sample ends up about as smooth as the same smoothing leaves it
    with nothing pinned."""
    frames = 120
    motion = creature(4, frames)
    rng = np.random.default_rng(0)
    shake = axis_angle_matrix(np.broadcast_to([1.0, 0.0, 0.0], (frames, motion.skeleton.n_joints, 3)),
                              rng.normal(0.0, 0.01, (frames, motion.skeleton.n_joints)))
    jittery = replace(motion, rotations=motion.rotations @ shake)
    contact = np.zeros((frames, 4), dtype=bool)
    contact[10:50, 0::2] = contact[60:100, 1::2] = True
    cleaned = cleanup(jittery, feet(motion), contact, np.zeros(4), jerk_limit=1.0)
    assert horizontal_speed(cleaned, feet(motion))[15:45, 0::2].max() < 0.1 * SPEED * motion.fps  # pinned
    unpinned = smooth(smooth(jittery))  # the two smoothing passes, no IK between
    assert jerk(cleaned) < 1.25 * jerk(unpinned)


def test_feet_are_kept_above_the_floor():
    motion = creature(2)
    translations = motion.translations.copy()
    translations[:, 0, 1] -= 0.5  # the body sinks half a unit
    low = replace(motion, translations=translations)
    joints = feet(low)
    assert low.world_positions()[:, joints, 1].max() < 0  # sunk into the floor
    cleaned = cleanup(low, joints, np.zeros((FRAMES, 2), dtype=bool), planted=np.zeros(2))
    assert cleaned.world_positions()[:, joints, 1].min() > -1e-3 * motion.skeleton.size


def test_drag_speed_is_how_fast_the_clip_moves_a_low_joint_along_the_floor():
    motion = creature(2)  # feet on the floor, carried forward at SPEED per frame
    joints = feet(motion) + [motion.skeleton.index("Head")]
    drag = drag_speeds(motion, joints, planted=np.zeros(3))
    np.testing.assert_allclose(drag[:2], SPEED * motion.fps, rtol=1e-6)
    assert drag[2] == np.inf  # never near the floor: nothing to compare with


def test_touching_down_fast_is_not_a_drag():
    motion = creature(2)
    height = motion.skeleton.size
    translations = motion.translations.copy()
    # The feet swing in fast and high, touch down at frame 20 and then stand still: the
    # frame that crosses into the contact band is fast, but the clip never drags a foot.
    translations[:, 0, 0] = np.minimum(0.5 * (np.arange(FRAMES) - 20), 0.0)
    translations[:20, 0, 1] += 0.2 * height
    landing = replace(motion, translations=translations)
    drag = drag_speeds(landing, feet(landing), planted=np.zeros(2))
    assert drag.max() == pytest.approx(0.5 * SPEED_LIMIT * height)  # the floor, not the 15 units/s touch-down


def test_a_foot_arriving_fast_comes_down_on_its_pin_from_above():
    fps, frames = 30.0, 60
    positions = np.zeros((frames, 1, 3))
    positions[:30, 0, 0] = 0.2 * (np.arange(30) - 30)  # skates in at 6 units/s, then stands
    contact = np.zeros((frames, 1), dtype=bool)
    contact[30:] = True
    blend = round(BLEND_SECONDS * fps)
    landing = np.arange(30 - int(ALONG_FIRST * (blend + 1)), 30)  # the fade's last share
    targets, weights, lift = pin_targets(positions, contact, np.zeros(1), fps, drag=np.ones(1))
    np.testing.assert_allclose(targets[landing, 0, 0], 0.0, atol=1e-12)  # over its spot before it lands
    assert (lift[contact[:, 0], 0] == 0).all() and (lift[: 30 - blend, 0] == 1).all()
    # A clip that drags its feet this fast anyway: the usual fade, sliding in.
    slides, _, _ = pin_targets(positions, contact, np.zeros(1), fps, drag=np.full(1, 10.0))
    assert np.abs(slides[landing, 0, 0]).min() > 1e-3


def test_fades_between_close_contacts_do_not_jump():
    fps, frames, step = 30.0, 44, 0.1
    positions = np.zeros((frames, 1, 3))
    positions[:, 0, 0] = step * np.arange(frames)  # moving on throughout: two pins far apart
    contact = np.zeros((frames, 1), dtype=bool)
    contact[10:20] = contact[24:34] = True  # a gap of 4 frames, shorter than two fades
    targets, _, _ = pin_targets(positions, contact, np.full(1, -np.inf), fps)
    jumps = np.abs(np.diff(targets[:, 0, 0]))
    assert jumps.max() < 5 * step  # both fades reach 0 where they meet; no switch between pins


def swings_at(height: float, legs: int) -> Swings:
    """A clip whose feet are at least ``height`` up whenever they move along the floor."""
    return Swings(speeds=np.array([[0.0] * legs, [100.0] * legs]), floors=np.full((2, legs), height), rise=np.full(legs, np.inf))


def test_free_feet_dragged_along_the_floor_are_carried_as_high_as_the_clips_swings():
    motion = creature(4)  # no contact labelled; every foot slides along the floor
    joints = feet(motion)
    free = np.zeros((FRAMES, 4), dtype=bool)
    size = motion.skeleton.size
    dragging_clip = cleanup(motion, joints, free, planted=np.zeros(4), swings=swings_at(0.0, 4))
    assert np.abs(dragging_clip.world_positions()[:, joints, 1]).max() < 1e-6 * size  # left on the floor
    for height in (0.06, 0.15):  # as high as the clip's own swings at that speed, whatever the height
        lifted = cleanup(motion, joints, free, planted=np.zeros(4), swings=swings_at(height * size, 4))
        assert lifted.world_positions()[:, joints, 1].min() > height * size * (1 - 1e-6)  # stepping, not skating
        moved = np.linalg.norm(lifted.world_positions() - motion.world_positions(), axis=-1).max(axis=0)
        assert moved[motion.skeleton.index("Head")] < 1e-9  # only the legs move


def test_a_foot_leaving_its_pin_rises_no_faster_than_the_clips_feet():
    motion = creature(2)  # feet carried along the floor
    joints = feet(motion)
    size = motion.skeleton.size
    contact = np.zeros((FRAMES, 2), dtype=bool)
    contact[:30] = True  # standing, then skating off
    swings = swings_at(0.2 * size, 2)
    rise = 0.5 * size  # units per second: 0.2 of the size takes 0.4 s
    swings.rise = np.full(2, rise)
    cleaned = cleanup(motion, joints, contact, planted=np.zeros(2), swings=swings)
    height = cleaned.world_positions()[:, joints, 1]
    climb = np.diff(height, axis=0) * motion.fps
    assert climb.max() < 1.2 * rise  # (the last IK pass on the smoothed legs adds a little)
    assert height[-5:].min() > 0.2 * size * (1 - 1e-6)  # and it does get up there
    fast = cleanup(motion, joints, contact, planted=np.zeros(2), swings=swings_at(0.2 * size, 2))
    assert (np.diff(fast.world_positions()[:, joints, 1], axis=0) * motion.fps).max() > 2 * rise  # unlimited: a jump


def test_swing_floors_are_how_low_the_clip_has_a_foot_at_each_speed():
    motion = creature(2)
    size = motion.skeleton.size
    translations = motion.translations.copy()
    fast = np.arange(FRAMES) >= FRAMES // 2  # slow along the floor, then fast and high
    translations[:, 0, 0] = np.cumsum(np.where(fast, 0.1, 0.005))
    bob = 0.1 * (np.arange(FRAMES) % 3)  # fast steps at 0.1, 0.2 and 0.3 of the body size, in turn
    translations[:, 0, 1] += np.where(fast, (0.1 + bob) * size, 0.0)
    clip = replace(motion, translations=translations)
    swings = swing_floors(clip, feet(clip), planted=np.zeros(2))
    slow_speed, fast_speed = 0.005 * clip.fps, 0.1 * clip.fps
    floors = swings.floor(np.array([[slow_speed, slow_speed], [fast_speed, fast_speed]]))
    np.testing.assert_allclose(floors[0], 0.0, atol=1e-9)
    np.testing.assert_allclose(floors[1], 0.1 * size, rtol=1e-6)  # the lowest of its fast steps, not a typical one
    assert np.all(np.diff(swings.floors, axis=0) >= 0)  # a faster foot is never let lower


def test_feet_low_and_still_in_the_output_are_pinned_though_not_predicted():
    motion = creature(4)
    height = motion.skeleton.size
    translations = motion.translations.copy()
    creep = 0.3 * SPEED_LIMIT * height / motion.fps  # per frame: slow enough to be a contact
    translations[:, 0, 0] = creep * np.arange(FRAMES)
    slow = replace(motion, translations=translations)
    joints = feet(slow)
    cleaned = cleanup(slow, joints, np.zeros((FRAMES, 4), dtype=bool), planted=np.zeros(4))
    before, after = horizontal_speed(slow, joints), horizontal_speed(cleaned, joints)
    assert before.mean() == pytest.approx(creep * motion.fps, rel=0.05)
    assert after[5:-5].max() < 0.02 * before.mean()  # held in place, the whole clip one contact


def test_a_dragged_foot_that_was_only_kept_off_the_floor_is_lifted_too():
    motion = creature(2)  # feet carried forward along the floor, too fast to be a contact
    translations = motion.translations.copy()
    translations[:, 0, 1] -= 0.5  # and sunk into it
    low = replace(motion, translations=translations)
    joints = feet(low)
    height = 0.1 * motion.skeleton.size
    cleaned = cleanup(low, joints, np.zeros((FRAMES, 2), dtype=bool), planted=np.zeros(2), swings=swings_at(height, 2))
    assert cleaned.world_positions()[:, joints, 1].min() > height * (1 - 1e-6)  # swinging, not on the floor


def test_given_frames_and_joints_stay_exact():
    motion = creature(4)
    given = np.zeros((FRAMES, motion.skeleton.n_joints))
    given[:20] = 1.0  # the first 20 frames entirely
    given[20:25] = 0.5  # a ramp
    given[:, motion.skeleton.index("Knee1")] = 1.0  # and one joint throughout
    cleaned = cleanup(motion, feet(motion), alternating_contacts(4), planted=np.zeros(4), given=given)
    assert np.array_equal(cleaned.rotations[:20], motion.rotations[:20])
    assert np.array_equal(cleaned.translations[:20], motion.translations[:20])
    knee = motion.skeleton.index("Knee1")
    assert np.array_equal(cleaned.rotations[:, knee], motion.rotations[:, knee])
    assert not np.array_equal(cleaned.rotations[30:], motion.rotations[30:])  # the rest was cleaned


def test_hysteresis_does_not_flicker_and_drops_blips():
    t = np.arange(90)
    score = np.where((t >= 20) & (t < 60), 0.8, 0.2) + 0.15 * np.sin(t * 2.7)  # noisy around 0.5 at times
    score[45:48] = 0.45  # a dip that stays above the off threshold
    score[75:77] = 0.9  # a 2-frame blip
    contact = hysteresis(score[:, None], fps=30.0)[:, 0]
    assert contact[20:60].all() and not contact[:19].any() and not contact[61:].any()


def toe_of(motion: Motion, foot: int) -> int:
    skeleton = motion.skeleton
    return next(p for p in range(skeleton.n_joints, skeleton.n_points) if skeleton.point_parents[p] == foot)


def test_a_toe_takes_over_from_its_foots_pin_without_a_jump():
    motion = creature(1)
    foot = feet(motion)[0]
    contacts = [foot, toe_of(motion, foot)]
    contact = np.zeros((FRAMES, 2), dtype=bool)
    contact[5:25, 0] = True  # the heel rises while the toe stays down
    contact[18:45, 1] = True
    limbs = effectors(motion.skeleton, contacts)
    plan, _, _ = pin_steps(motion.world_points(), contacts, contact, np.zeros(2), None, limbs, motion)
    point, taken = plan[1][0], plan[1][4]
    assert point == contacts[1]
    assert taken[35] == 1.0 and taken[10] == 0.0  # the toe is placed once the foot is free, not before
    # ...and takes over as the foot's hold fades (a switch would yank the leg in one frame);
    # it lets go at the end of its own fade, where its targets are where it is anyway.
    handover = taken[: 45 + round(BLEND_SECONDS * motion.fps)]
    assert np.abs(np.diff(handover)).max() < 0.5 and ((handover > 0) & (handover < 1)).sum() >= 3


def bent_leg(knee_degrees: float, frames: int = 10) -> tuple[Motion, int, int, list[int]]:
    """creature(1) with its knee turned by ``knee_degrees`` about the axis it bends on."""
    motion = creature(1, frames)
    names = motion.skeleton.names
    knee, foot = names.index("Knee0"), names.index("Foot0")
    rotations = motion.rotations.copy()
    rotations[:, knee] = axis_angle_matrix(np.array([[0.0, 0.0, 1.0]]), np.radians([knee_degrees]))
    return replace(motion, rotations=rotations), knee, foot, limb_chain(motion.skeleton, foot, [foot])


def knee_side(motion: Motion, chain: list[int], knee: int, foot: int) -> np.ndarray:
    world = motion.world_positions()
    return np.cross(world[:, chain[0]] - world[:, knee], world[:, foot] - world[:, knee])[:, 2]


def test_ik_bends_a_knee_to_the_side_the_clip_does_and_no_straighter():
    clip, knee, foot, chain = bent_leg(0.0)  # bent at rest; the clip never straightens it
    bend = limb_bends(clip, [(foot, [0], chain)])[foot]
    assert bend.joint == knee and bend.hinge is not None
    side = np.sign(knee_side(clip, chain, knee, foot)[0])
    # A sample whose knee bends backwards: IK brings it round to the clip's side.
    backwards, *_ = bent_leg(-60.0)
    assert (np.sign(knee_side(backwards, chain, knee, foot)) == -side).all()
    world = backwards.world_positions()
    hip, way = world[:, chain[0]], world[:, foot] - world[:, chain[0]]
    rest = np.linalg.norm(clip.world_positions()[0, foot] - clip.world_positions()[0, chain[0]])
    target = hip + 0.8 * rest * way / np.linalg.norm(way, axis=-1, keepdims=True)  # bent more than the clip
    placed = solve_ik(backwards, foot, chain, bend, target, np.ones(len(target), dtype=bool))
    assert (np.sign(knee_side(placed, chain, knee, foot)) == side).all()
    assert np.allclose(placed.world_positions()[:, foot], target, atol=1e-6)
    # As straight as the clip bends it, IK is exact; beyond, it eases towards straight and
    # falls short of a target out of reach rather than snapping the knee straight.
    straightest = hip + rest * way / np.linalg.norm(way, axis=-1, keepdims=True)
    exact = solve_ik(backwards, foot, chain, bend, straightest, np.ones(len(hip), dtype=bool)).world_positions()
    assert np.allclose(exact[:, foot], straightest, atol=1e-6)
    skeleton = clip.skeleton
    full = sum(np.linalg.norm(skeleton.offsets[j]) for j in (knee, foot))
    stretched = solve_ik(backwards, foot, chain, bend, hip + 3.0 * way, np.ones(len(hip), dtype=bool)).world_positions()
    reached = np.linalg.norm(stretched[:, foot] - hip, axis=-1)
    assert (reached > rest).all() and (reached < full).all()


def test_soft_ik_straightens_a_limb_smoothly_as_its_target_moves_away():
    clip, knee, foot, chain = bent_leg(0.0, frames=200)
    bend = limb_bends(clip, [(foot, [0], chain)])[foot]
    world = clip.world_positions()
    hip, tip = world[:, chain[0]], world[:, foot]
    stretch = np.linspace(0.8, 2.5, len(hip))[:, None]  # past the reach of the limb, straight
    placed = solve_ik(clip, foot, chain, bend, hip + stretch * (tip - hip), np.ones(len(hip), dtype=bool))
    reached = np.linalg.norm(placed.world_positions()[:, foot] - hip, axis=-1)
    # The reach grows with no kink: its second difference stays as small as the target's
    # steps allow (a hard clamp at full reach turns it at once).
    assert np.abs(np.diff(reached, n=2)).max() < 0.1 * np.abs(np.diff(reached)).max()


def test_limb_chain_stops_where_the_limb_leaves_the_body():
    motion = creature(2)
    skeleton = motion.skeleton
    foot = skeleton.index("Foot0")
    chain = limb_chain(skeleton, foot, feet(motion))
    assert [skeleton.names[j] for j in chain] == ["Hip0", "Knee0"]
    assert skeleton.names[bend_joint(skeleton, chain, foot)] == "Knee0"
    head = skeleton.index("Head")
    assert limb_chain(skeleton, head, feet(motion)) == []  # hangs off the root: nothing to bend


def test_smoothing_removes_jitter_and_keeps_a_smooth_motion():
    motion = creature(2, frames=90)
    rng = np.random.default_rng(0)
    swing = np.radians(30) * np.sin(np.arange(90) / 8.0)
    rotations = motion.rotations.copy()
    knee = motion.skeleton.index("Knee0")
    c, s = np.cos(swing), np.sin(swing)
    rotations[:, knee] = np.stack([np.stack([c, -s, 0 * c], -1), np.stack([s, c, 0 * c], -1), np.stack([0 * c, 0 * c, 1 + 0 * c], -1)], -2)
    smooth_motion = replace(motion, rotations=rotations)
    noise = np.radians(3) * rng.standard_normal(90)
    cn, sn = np.cos(swing + noise), np.sin(swing + noise)
    noisy_rot = rotations.copy()
    noisy_rot[:, knee] = np.stack([np.stack([cn, -sn, 0 * cn], -1), np.stack([sn, cn, 0 * cn], -1), np.stack([0 * cn, 0 * cn, 1 + 0 * cn], -1)], -2)
    noisy = replace(motion, rotations=noisy_rot)

    def angle(m: Motion) -> np.ndarray:
        return np.arctan2(m.rotations[:, knee, 1, 0], m.rotations[:, knee, 0, 0])

    assert np.abs(angle(smooth(noisy)) - swing).std() < 0.5 * noise.std()  # jitter reduced
    assert np.abs(angle(smooth(smooth_motion)) - swing).max() < np.radians(0.5)  # smooth motion kept

