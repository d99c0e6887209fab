"""Synthetic creatures built in the tests: a dog whose rest pose lies along +X (bones point
forward, as MotionBuilder-style rigs have it) that trots and then sits with its tail on the
floor, and the same motion as a Z-up file."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from sinmdm.anim.motion import Motion
from sinmdm.anim.skeleton import Skeleton

POS = ("Xposition", "Yposition", "Zposition")
ROT = ("Zrotation", "Xrotation", "Yrotation")
UP = np.array([0.0, 1.0, 0.0])
FORWARD = np.array([0.0, 0.0, 1.0])  # the dog walks along world +Z
FPS = 30.0
UPPER, LOWER, PAW_HEIGHT, TOE = 20.0, 20.0, 3.0, 4.0  # leg bones; the paw joint's height; the toe's reach
LEGS = ("FrontLeft", "FrontRight", "HindLeft", "HindRight")
# Y-up coordinates -> Z-up coordinates: (x, y, z) -> (x, -z, y).
TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def dog_skeleton() -> Skeleton:
    """Hips (root) - Spine - Chest - Neck - Head (+ End Site); four legs of three joints,
    each paw with an End Site at its toe; Tail - Tail1 (+ End Site). Every bone lies along
    +X in the rest pose; the legs hang from their girdles a little below and to the side."""
    names = ["Hips", "Spine", "Chest", "Neck", "Head"]
    parents = [-1, 0, 1, 2, 3]
    offsets = [(0, 0, 0), (15, 0, 0), (15, 0, 0), (6, 0, 0), (8, 0, 0)]
    ends, end_offsets = [4], [(8, 0, 0)]
    for leg in LEGS:
        girdle = 2 if leg.startswith("Front") else 0
        side = 5.0 if leg.endswith("Left") else -5.0
        base = len(names)
        names += [f"{leg}Upper", f"{leg}Lower", f"{leg}Paw"]
        parents += [girdle, base, base + 1]
        offsets += [(0, -8, side), (UPPER, 0, 0), (LOWER, 0, 0)]
        ends.append(base + 2)
        end_offsets.append((np.hypot(TOE, PAW_HEIGHT), 0, 0))
    names += ["Tail", "Tail1"]
    parents += [0, len(names) - 2]
    offsets += [(0, 0, 0), (12, 0, 0)]
    ends.append(len(names) - 1)
    end_offsets.append((10, 0, 0))
    channels = tuple(POS + ROT if j == 0 else ROT for j in range(len(names)))
    return Skeleton(
        tuple(names), np.array(parents), np.array(offsets, float), channels, np.array(ends), np.array(end_offsets, float)
    )


def _frame(direction: np.ndarray, up: np.ndarray = UP) -> np.ndarray:
    """(..., 3, 3) world rotations whose +X is ``direction`` (..., 3) and +Y leans to ``up``."""
    x = direction / np.linalg.norm(direction, axis=-1, keepdims=True)
    z = np.cross(x, up)
    z /= np.maximum(np.linalg.norm(z, axis=-1, keepdims=True), 1e-12)
    return np.stack([x, np.cross(z, x), z], axis=-1)


def _sagittal(direction: np.ndarray) -> np.ndarray:
    """(F, 3, 3) world rotations whose +X is ``direction`` (F, 3), a direction in the plane
    the legs swing in, and whose +Z points to the dog's side (never degenerate)."""
    x = direction / np.linalg.norm(direction, axis=-1, keepdims=True)
    z = np.broadcast_to(np.cross(FORWARD, UP), x.shape)
    return np.stack([x, np.cross(z, x), z], axis=-1)


def _knee(hip: np.ndarray, paw: np.ndarray, bend: np.ndarray) -> np.ndarray:
    """Two-bone IK: the knee between ``hip`` and ``paw`` (F, 3), bending towards ``bend`` (3,)."""
    reach = paw - hip
    d = np.clip(np.linalg.norm(reach, axis=-1, keepdims=True), 1e-6, UPPER + LOWER - 1e-6)
    axis = reach / d
    along = (UPPER**2 - LOWER**2 + d**2) / (2 * d)
    out = np.sqrt(np.maximum(UPPER**2 - along**2, 0.0))
    side = bend[None] - (axis @ bend)[:, None] * axis
    side /= np.linalg.norm(side, axis=-1, keepdims=True)
    return hip + along * axis + out * side


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def dog_motion(walk_seconds: float = 2.0, sit_seconds: float = 3.0) -> Motion:
    """The dog trots along +Z for ``walk_seconds`` (diagonal pairs of paws planted in turn),
    stops, lowers its hips over 0.5 s and sits with all four paws and its tail on the floor."""
    skeleton = dog_skeleton()
    walk, settle = round(walk_seconds * FPS), round(0.5 * FPS)
    frames = walk + settle + round(sit_seconds * FPS)
    t = np.arange(frames) / FPS
    speed, period = 40.0, 0.8
    sit = np.clip((np.arange(frames) - walk) / settle, 0.0, 1.0)
    sit = 0.5 - 0.5 * np.cos(np.pi * sit)  # 0 trotting .. 1 sitting
    pitch = np.radians(35.0) * sit  # the spine rises towards the chest as the dog sits
    spine_dir = np.cos(pitch)[:, None] * FORWARD + np.sin(pitch)[:, None] * UP
    hips = (speed * np.minimum(t, walk_seconds))[:, None] * FORWARD + (36.0 * (1 - sit) + 10.0 * sit)[:, None] * UP
    chest = hips + 30.0 * spine_dir
    world = {"Hips": _frame(spine_dir), "Spine": _frame(spine_dir)}
    world["Chest"] = _frame(np.broadcast_to(FORWARD + UP, (frames, 3)))
    world["Neck"] = _frame(np.broadcast_to(FORWARD + 0.2 * UP, (frames, 3)))
    world["Head"] = _frame(np.broadcast_to(FORWARD - 0.6 * UP, (frames, 3)))
    first = np.arange(frames) >= walk
    for leg in LEGS:
        front, left = leg.startswith("Front"), leg.endswith("Left")
        top = (chest, world["Chest"]) if front else (hips, world["Hips"])
        girdle = top[0] + top[1] @ skeleton.offsets[skeleton.index(f"{leg}Upper")]
        # Trot: diagonal pairs in phase. A paw is planted under its girdle for the first
        # half of each period and swings one stride forward in the second; once the dog
        # has stopped, it stays where its last swing lands.
        shift = 0.5 if front == left else 0.0
        cycle = t / period + shift
        phase = cycle % 1.0
        stance_start = (np.floor(cycle) - shift) * period
        planted_at = speed * (stance_start + 0.25 * period) + (30.0 if front else 0.0)
        along = planted_at + np.where(phase < 0.5, 0.0, speed * period * (phase - 0.5) * 2)
        lift = np.where(phase < 0.5, 0.0, 6.0 * np.sin(2 * np.pi * (phase - 0.5)))
        landed = int(np.flatnonzero(first & (phase < 0.5))[0])
        along[landed:], lift[landed:] = along[landed], 0.0
        paw = along[:, None] * FORWARD + (PAW_HEIGHT + lift)[:, None] * UP + girdle[:, [0]] * [1, 0, 0]
        knee = _knee(girdle, paw, -FORWARD if front else FORWARD)
        world[f"{leg}Upper"] = _sagittal(knee - girdle)
        world[f"{leg}Lower"] = _sagittal(paw - knee)
        world[f"{leg}Paw"] = _frame(np.broadcast_to(TOE * FORWARD - PAW_HEIGHT * UP, (frames, 3)))
    # The tail: level behind the hips while trotting; sitting, it lies on the floor.
    tail_dir = _unit(-FORWARD + (0.3 * (1 - sit) - 0.9 * sit)[:, None] * UP)
    world["Tail"] = _frame(tail_dir)
    tail1 = np.clip((hips + 12.0 * tail_dir)[:, 1], 0.0, 10.0)
    lying = (-FORWARD * np.sqrt(100.0 - tail1**2)[:, None] - UP * tail1[:, None]) / 10.0  # the tip on the floor
    world["Tail1"] = _frame(_unit((1 - sit)[:, None] * -FORWARD + sit[:, None] * lying))

    rotations = np.empty((frames, skeleton.n_joints, 3, 3))
    for j, name in enumerate(skeleton.names):
        parent = skeleton.parents[j]
        above = np.eye(3) if parent < 0 else world[skeleton.names[parent]]
        rotations[:, j] = np.swapaxes(above, -1, -2) @ world[name]
    translations = np.broadcast_to(skeleton.offsets, (frames, skeleton.n_joints, 3)).copy()
    translations[:, 0] = hips
    return Motion(skeleton, rotations, translations, 1.0 / FPS)


def z_up(motion: Motion) -> Motion:
    """The same motion in a Z-up file: every offset, translation and rotation re-expressed
    with Z as the vertical (world positions turn by TO_Z_UP)."""
    sk = motion.skeleton
    skeleton = replace(sk, offsets=sk.offsets @ TO_Z_UP.T, end_site_offsets=sk.end_site_offsets @ TO_Z_UP.T)
    return Motion(skeleton, TO_Z_UP @ motion.rotations @ TO_Z_UP.T, motion.translations @ TO_Z_UP.T, motion.frame_time)


def paws(skeleton: Skeleton) -> list[int]:
    """The points of the four paw tips (End Sites)."""
    return [skeleton.point_index(f"{leg}Paw End Site") for leg in LEGS]
