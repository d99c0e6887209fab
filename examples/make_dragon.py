"""Build examples/dragon.bvh: a winged, four-legged, long-tailed dragon that walks, takes
off, flies, lands and walks again, procedurally and deterministically.

    python examples/make_dragon.py [--out examples/dragon.bvh] [--seconds 24] [--seed 7] [--walk-only]

The rig has 43 joints (spine, a neck chain with head and jaw, a six-bone tail, four legs
with feet and toes, wings with three finger bones each) plus End Sites; Y is up, +Z is
forward, units are centimetres. The motion has motifs worth learning and is never a
plain loop: every wing beat has its own strength (some are glides), the walk's speed
and heading wander, and the head looks around and the jaw snaps at random moments.
Feet are planted: every stance holds the foot at one point on the floor and the legs
reach it by two-bone inverse kinematics, so the clip itself does not slide.
``--walk-only`` makes the same dragon walk without flying, on the same skeleton: content
for `sinmdm transfer`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from sinmdm.anim.bvh import write_bvh  # noqa: E402
from sinmdm.anim.motion import Motion  # noqa: E402
from sinmdm.anim.rotations import axis_angle_matrix  # noqa: E402
from sinmdm.anim.skeleton import Skeleton  # noqa: E402

FPS = 30
ROOT_CHANNELS = ("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation")
JOINT_CHANNELS = ("Zrotation", "Xrotation", "Yrotation")

# (name, parent, offset from the parent). Legs hang straight down in the rest pose and the
# wings stretch out sideways, so "rest" is a dragon standing with open wings.
BONES: list[tuple[str, str | None, tuple[float, float, float]]] = [
    ("Hips", None, (0, 72, 0)),
    ("Spine1", "Hips", (0, 2, 25)),
    ("Spine2", "Spine1", (0, 1, 25)),
    ("Chest", "Spine2", (0, 0, 25)),
    ("Neck1", "Chest", (0, 12, 18)),
    ("Neck2", "Neck1", (0, 12, 14)),
    ("Neck3", "Neck2", (0, 12, 12)),
    ("Head", "Neck3", (0, 8, 10)),
    ("Jaw", "Head", (0, -4, 6)),
    ("Tail1", "Hips", (0, 0, -22)),
    ("Tail2", "Tail1", (0, 0, -25)),
    ("Tail3", "Tail2", (0, 0, -24)),
    ("Tail4", "Tail3", (0, 0, -22)),
    ("Tail5", "Tail4", (0, 0, -20)),
    ("Tail6", "Tail5", (0, 0, -18)),
]
for side, x in (("Left", 1.0), ("Right", -1.0)):
    BONES += [
        (f"{side}UpperArm", "Chest", (14 * x, -8, 8)),
        (f"{side}Forearm", f"{side}UpperArm", (0, -34, 0)),
        (f"{side}FrontFoot", f"{side}Forearm", (0, -32, 0)),
        (f"{side}FrontToe", f"{side}FrontFoot", (0, -5, 10)),
        (f"{side}Thigh", "Hips", (14 * x, -5, 0)),
        (f"{side}Shin", f"{side}Thigh", (0, -35, 0)),
        (f"{side}HindFoot", f"{side}Shin", (0, -35, 0)),
        (f"{side}HindToe", f"{side}HindFoot", (0, -5, 12)),
        (f"{side}WingArm", "Chest", (10 * x, 10, -4)),
        (f"{side}WingForearm", f"{side}WingArm", (40 * x, 0, 0)),
        (f"{side}WingHand", f"{side}WingForearm", (45 * x, 0, 0)),
        (f"{side}WingFinger1", f"{side}WingHand", (4 * x, 0, 2)),
        (f"{side}WingFinger2", f"{side}WingHand", (4 * x, 0, -2)),
        (f"{side}WingFinger3", f"{side}WingHand", (2 * x, 0, -4)),
    ]
END_SITES: dict[str, tuple[float, float, float]] = {"Head": (0, 2, 30), "Jaw": (0, -2, 26), "Tail6": (0, 0, -16)}
for side, x in (("Left", 1.0), ("Right", -1.0)):
    END_SITES |= {
        f"{side}FrontToe": (0, 0, 8),
        f"{side}HindToe": (0, 0, 8),
        f"{side}WingFinger1": (75 * x, 0, 20),
        f"{side}WingFinger2": (65 * x, 0, -25),
        f"{side}WingFinger3": (40 * x, 0, -50),
    }
# Leg chains: (upper joint, knee joint, foot joint, toe joint, which way the knee bends).
LEGS = [
    (f"{side}{upper}", f"{side}{knee}", f"{side}{foot}", f"{side}{toe}", bend)
    for side in ("Left", "Right")
    for upper, knee, foot, toe, bend in (("UpperArm", "Forearm", "FrontFoot", "FrontToe", -1.0), ("Thigh", "Shin", "HindFoot", "HindToe", 1.0))
]
# A lateral-sequence walk: left hind, left front, right hind, right front, a quarter apart.
GAIT_PHASE = {"LeftThigh": 0.0, "LeftUpperArm": 0.25, "RightThigh": 0.5, "RightUpperArm": 0.75}
DUTY = 0.7  # share of a stride a foot is on the ground
STEP_HZ = 0.9
TOE_DROP = 5.0  # the foot joint's height above the floor when the toe is flat on it


def skeleton() -> Skeleton:
    # BVH nests every joint inside its parent, so the joints go in depth-first order.
    bones: list[tuple[str, str | None, tuple[float, float, float]]] = []
    todo = [b for b in BONES if b[1] is None]
    while todo:
        bone = todo.pop()
        bones.append(bone)
        todo += [b for b in reversed(BONES) if b[1] == bone[0]]
    names = tuple(name for name, _, _ in bones)
    parents = np.array([-1 if p is None else names.index(p) for _, p, _ in bones])
    ends = list(END_SITES)
    return Skeleton(
        names=names,
        parents=parents,
        offsets=np.array([o for _, _, o in bones], dtype=float),
        channels=tuple(ROOT_CHANNELS if p is None else JOINT_CHANNELS for _, p, _ in bones),
        end_site_parents=np.array([names.index(n) for n in ends]),
        end_site_offsets=np.array([END_SITES[n] for n in ends], dtype=float),
    )


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def rot(axis: int, degrees: np.ndarray | float) -> np.ndarray:
    """Rotations about one axis (0=X, 1=Y, 2=Z), one per angle."""
    angle = np.radians(np.asarray(degrees, dtype=float))
    return axis_angle_matrix(np.broadcast_to(np.eye(3)[axis], angle.shape + (3,)), angle)


def from_to(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotations taking unit vectors a onto b (never opposite here)."""
    axis = np.cross(a, b)
    sin = np.linalg.norm(axis, axis=-1)
    cos = np.sum(a * b, axis=-1)
    safe = np.where(sin[..., None] > 1e-12, axis / np.maximum(sin, 1e-12)[..., None], np.array([1.0, 0, 0]))
    return axis_angle_matrix(safe, np.arctan2(sin, cos))


def bumps(rng: np.random.Generator, t: np.ndarray, every: float, width: tuple[float, float]) -> np.ndarray:
    """Random smooth events: sum of raised-cosine bumps at Poisson times, each with a
    random signed size in [0.4, 1]; 0 between them."""
    out = np.zeros_like(t)
    start = rng.exponential(every)
    while start < t[-1]:
        w = rng.uniform(*width)
        size = rng.uniform(0.4, 1.0) * rng.choice([-1.0, 1.0])
        x = (t - start) / w
        out += size * np.where((x > 0) & (x < 1), 0.5 - 0.5 * np.cos(2 * np.pi * x), 0.0)
        start += w + rng.exponential(every)
    return out


def dragon(seconds: float = 24.0, seed: int = 7, walk_only: bool = False) -> Motion:
    rng = np.random.default_rng(seed)
    skel = skeleton()
    idx = {n: i for i, n in enumerate(skel.names)}
    frames = int(round(seconds * FPS))
    t = np.arange(frames) / FPS
    dt = 1.0 / FPS

    # Flight weight: two flights with 1.5 s take-offs and landings, their times jittered.
    fly = np.zeros(frames)
    for start, end in ((0.23, 0.46), (0.64, 0.86)):
        a, b = (start + rng.uniform(-0.02, 0.02)) * seconds, (end + rng.uniform(-0.02, 0.02)) * seconds
        fly = np.maximum(fly, smoothstep((t - a) / 1.5) * (1 - smoothstep((t - b) / 1.5)))
    if walk_only:
        fly[:] = 0.0

    # Wing beats: each beat has its own strength; some are glides.
    beat_hz = 1.3 + 0.15 * np.sin(2 * np.pi * t / 7.0)
    beat = np.cumsum(beat_hz) * dt
    strengths = np.where(rng.random(int(beat[-1]) + 3) < 0.2, rng.uniform(5, 12, int(beat[-1]) + 3), rng.uniform(28, 58, int(beat[-1]) + 3))
    k = np.floor(beat).astype(int)
    amp = strengths[k] + (strengths[k + 1] - strengths[k]) * smoothstep(beat - k)
    flap = np.sin(2 * np.pi * beat)  # +1 at the top of the beat

    # Root path: the heading wanders (more in flight), speed grows in flight.
    turn = (1 - fly) * (12 * np.sin(2 * np.pi * t / 9.0 + 0.5)) + fly * (35 * np.sin(2 * np.pi * t / 6.5))
    turn += 10 * bumps(rng, t, 4.0, (1.5, 3.0))
    heading = np.cumsum(np.radians(turn)) * dt  # degrees per second -> radians
    speed = 65 + 10 * np.sin(2 * np.pi * t / 5.3) + fly * 200
    forward = np.stack([np.sin(heading), np.zeros(frames), np.cos(heading)], axis=-1)
    position = np.cumsum(speed[:, None] * forward, axis=0) * dt
    step = np.cumsum(np.full(frames, STEP_HZ)) * dt
    altitude = smoothstep(fly * 1.25) * 170 + fly * (amp / 45) * 8 * np.cos(2 * np.pi * beat)
    position[:, 1] = 70 + (1 - fly) * 1.5 * np.cos(4 * np.pi * step) + altitude
    bank = -np.clip(np.gradient(heading, dt), -1.0, 1.0) * 15 * fly
    pitch = -fly * (8 + 3 * flap) + 6 * np.gradient(fly, dt)

    rotations = np.broadcast_to(np.eye(3), (frames, skel.n_joints, 3, 3)).copy()
    yaw = rot(1, np.degrees(heading))
    rotations[:, 0] = yaw @ rot(0, pitch) @ rot(2, bank)

    # Body: a sway with the stride on the ground, an undulation with the beats in the air.
    for j, name in enumerate(("Spine1", "Spine2", "Chest")):
        rotations[:, idx[name]] = rot(1, (1 - fly) * 3 * np.sin(2 * np.pi * step + j)) @ rot(0, fly * 3 * np.sin(2 * np.pi * beat - j))
    look = 35 * bumps(rng, t, 3.0, (0.8, 1.6))
    nod = 20 * bumps(rng, t, 5.0, (0.6, 1.2))
    for name, share in (("Neck1", 0.2), ("Neck2", 0.3), ("Neck3", 0.3), ("Head", 0.2)):
        bob = (1 - fly) * 4 * np.sin(4 * np.pi * step) + fly * 25 + fly * 4 * np.sin(2 * np.pi * beat + 1)
        rotations[:, idx[name]] = rot(1, share * look) @ rot(0, share * (bob + nod))
    rotations[:, idx["Jaw"]] = rot(0, 30 * np.abs(bumps(rng, t, 4.0, (0.3, 0.6))))
    for i in range(1, 7):
        wave = (1 - fly) * (4 + 2 * i) * np.sin(2 * np.pi * step - 0.7 * i)
        lift = fly * (3 * np.sin(2 * np.pi * beat - 0.8 * i) - 2) - (1 - fly) * 2
        rotations[:, idx[f"Tail{i}"]] = rot(1, wave - 0.4 * turn * fly) @ rot(0, lift)

    # Wings: folded along the back on the ground, beating in the air.
    shuffle = 25 * np.abs(bumps(rng, t, 6.0, (0.8, 1.4)))  # the occasional stretch on the ground
    for side, s in (("Left", 1.0), ("Right", -1.0)):
        open_ = np.clip(fly * 1.3 + shuffle / 60, 0, 1)
        sweep = (1 - open_) * 75 + 8 * flap * fly  # folds the arm back
        raise_ = (1 - open_) * 10 + fly * (amp * flap + 10)
        rotations[:, idx[f"{side}WingArm"]] = rot(1, s * sweep) @ rot(2, s * raise_)
        lag = fly * amp * 0.45 * np.sin(2 * np.pi * beat - 0.9)
        rotations[:, idx[f"{side}WingForearm"]] = rot(1, -s * (1 - open_) * 150) @ rot(2, s * lag)
        spread = open_ * (10 + 6 * np.cos(2 * np.pi * beat))
        rotations[:, idx[f"{side}WingHand"]] = rot(1, s * (1 - open_) * 100) @ rot(2, s * lag * 0.6)
        for f in range(1, 4):
            rotations[:, idx[f"{side}WingFinger{f}"]] = rot(1, s * (f - 2) * (spread - 12) * (1 - 0.7 * (1 - open_)))

    translations = np.broadcast_to(skel.offsets, (frames, skel.n_joints, 3)).copy()
    translations[:, 0] = position
    world_rot, world_pos = skel.forward_kinematics(rotations, translations)

    # Legs: planted footholds on the ground, tucked up in flight, reached by 2-bone IK.
    down = np.array([0.0, -1.0, 0.0])
    for upper, knee, foot, toe, bend in LEGS:
        u, kn, f, to = idx[upper], idx[knee], idx[foot], idx[toe]
        hip = world_pos[:, u]
        rest = skel.rest_positions()[u] - skel.offsets[0]  # the limb's root, from the hips
        nominal = np.array([1.1 * rest[0], 0.0, rest[2] + (4.0 if bend < 0 else -4.0)])
        phase = step + GAIT_PHASE[upper]
        cycle = np.floor(phase).astype(int)
        # One foothold per stride: where the nominal foot point is at mid-stance.
        first, last = cycle.min() - 1, cycle.max() + 2
        mid_t = (np.arange(first, last + 1) + DUTY / 2 - GAIT_PHASE[upper]) / STEP_HZ
        mid_heading = np.interp(mid_t, t, heading)
        mid_pos = np.stack([np.interp(mid_t, t, position[:, a]) for a in range(3)], axis=-1)
        hold = mid_pos + nominal[0] * np.stack([np.cos(mid_heading), 0 * mid_heading, -np.sin(mid_heading)], -1)
        hold += nominal[2] * np.stack([np.sin(mid_heading), 0 * mid_heading, np.cos(mid_heading)], -1)
        hold[:, 1] = TOE_DROP
        frac = phase - cycle
        swing = np.clip((frac - DUTY) / (1 - DUTY), 0, 1)
        s = smoothstep(swing)
        here, there = hold[cycle - first], hold[cycle - first + 1]
        ground = here + (there - here) * s[:, None]
        ground[:, 1] += 14 * np.sin(np.pi * swing)
        ground_heading = np.interp(cycle + s, np.arange(first, last + 1), np.unwrap(mid_heading))
        tucked = position + (yaw @ np.array([rest[0], -25.0, rest[2] + (-30.0 if bend > 0 else 5.0)]))
        w = smoothstep(fly * 1.6)[:, None]
        target = ground * (1 - w) + tucked * w
        # Two-bone IK: the knee in the plane of the target and the bend direction.
        a, b = np.linalg.norm(skel.offsets[kn]), np.linalg.norm(skel.offsets[f])
        reach = target - hip
        dist = np.clip(np.linalg.norm(reach, axis=-1), abs(a - b) + 1e-3, 0.995 * (a + b))
        d = reach / np.linalg.norm(reach, axis=-1, keepdims=True)
        pole = bend * forward
        pole = pole - np.sum(pole * d, -1, keepdims=True) * d
        pole /= np.linalg.norm(pole, axis=-1, keepdims=True)
        cos_a = (a * a + dist * dist - b * b) / (2 * a * dist)
        knee_pos = hip + a * (cos_a[:, None] * d + np.sqrt(1 - cos_a**2)[:, None] * pole)
        ankle = hip + dist[:, None] * d
        parent_rot = world_rot[:, skel.parents[u]]
        upper_world = from_to(parent_rot @ down, (knee_pos - hip) / a) @ parent_rot
        knee_world = from_to(upper_world @ down, (ankle - knee_pos) / b) @ upper_world
        toe_down = 15 * np.sin(np.pi * swing) * (1 - w[:, 0]) + 55 * w[:, 0]
        foot_world = rot(1, np.degrees(ground_heading * (1 - w[:, 0]) + heading * w[:, 0])) @ rot(0, toe_down)
        rotations[:, u] = np.swapaxes(parent_rot, -1, -2) @ upper_world
        rotations[:, kn] = np.swapaxes(upper_world, -1, -2) @ knee_world
        rotations[:, f] = np.swapaxes(knee_world, -1, -2) @ foot_world
        rotations[:, to] = rot(0, -10 * np.sin(np.pi * swing) * (1 - w[:, 0]))
    return Motion(skel, rotations, translations, 1.0 / FPS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "dragon.bvh")
    parser.add_argument("--seconds", type=float, default=24.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--walk-only", action="store_true", help="walk the whole time, never take off")
    args = parser.parse_args()
    motion = dragon(args.seconds, args.seed, args.walk_only)
    write_bvh(args.out, motion)
    print(f"{args.out}: {motion.skeleton.n_joints} joints, {motion.length_text}")


if __name__ == "__main__":
    main()
