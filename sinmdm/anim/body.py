"""The body's frame: which axis of a file is up, and how big the creature is.

Both are measured from the motion, not the rest pose: a MotionBuilder dog's rest pose lies
along +X and a Truebones chicken's lies flat, so the rest pose says little about either.

Up. BVH files are Y-up by convention, but Blender's exporter and some converters (AMASS
through smpl2bvh) write Z-up ones. Gravity leaves one mark on a clip that nothing else
does: a creature travels across the up axis, a long way along the ground and at one
height. So when the root goes TRAVEL_BODIES body extents or more along one of Y and Z,
and TRAVEL_RATIO times as far as along the other, the other is up. Anything else stays
Y-up, the far more common convention, and ``--up z`` says otherwise on every command that
reads a clip. Cues that look at the pose (the body taller along Z, its lowest points more
level along Z) were tried and turned a creature long along Z into a Z-up one (a dog facing
+Z, or a crowd member turned that way), so they are not used.

Size. How tall the body stands. The rest pose says so when it is an upright pose of the
creature, and the clip confirms it: the body's vertical extent (joints and End Sites)
reaches the rest pose's height in some frame, and is no taller than it in at least 5% of
the frames. Otherwise (a MotionBuilder dog's rest pose lies along +X: 22 units for a dog
that stands 65; a Bandai-Namco rest pose is 100 units for a 150-unit person) the size is
the 95th percentile over frames of the vertical extent: how tall the body stands in the
clip, robust to a few glitched frames, and still its standing height when it sits or
lies for most of the clip. The rest pose comes first because the motion's extent also
measures what the body does: the crab's dance raises its claws to 1.9 times its rest
height (0.84 against 0.445), and a cleanup scaled by that pinned more and cost 9 points
of coverage instead of 2 (docs/bodies.md). A body flat along the up axis (a snake) falls
back to its largest extent, as :func:`sinmdm.anim.skeleton.extent_height` says.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..base.errors import SinmdmError
from .motion import Motion
from .skeleton import UP_FRAMES, extent_height

SAMPLE_FRAMES = 2000  # measured on at most this many evenly spaced frames (memory stays small)
SIZE_PERCENTILE = 95.0
REST_CONFIRMED = 5.0  # (percent of frames) the body is no taller than the rest pose in at least this many
TRAVEL_BODIES = 2.0
TRAVEL_RATIO = 4.0


def _sample(motion: Motion) -> Motion:
    step = max(1, -(-motion.n_frames // SAMPLE_FRAMES))
    return replace(motion, rotations=motion.rotations[::step], translations=motion.translations[::step])


def detect_up(motion: Motion) -> tuple[str, str]:
    """The up axis of ``motion``'s file ("y" or "z") and the evidence, in words."""
    sampled = _sample(motion)
    skeleton = replace(sampled.skeleton, up="y")  # the file's own axes
    world_rot, world_pos = skeleton.forward_kinematics(sampled.rotations, sampled.translations)
    extent = np.ptp(skeleton.world_points(world_rot, world_pos), axis=1)  # (F, 3)
    body = float(np.median(np.linalg.norm(extent, axis=-1)))
    if body > 0:
        travel = np.ptp(world_pos[:, 0], axis=0) / body
        for up, ground in ((1, 2), (2, 1)):
            if travel[ground] >= TRAVEL_BODIES and travel[ground] >= TRAVEL_RATIO * travel[up]:
                return "yz"[up - 1], (
                    f"the root travels {travel[ground]:.1f} body lengths along {'YZ'[ground - 1]} "
                    f"and {travel[up]:.1f} along {'YZ'[up - 1]}"
                )
    return "y", "the default: the root does not travel far enough to show it; give --up z for a Z-up file"


def measure_size(motion: Motion) -> float:
    """The body size (see the module's docstring) in the file's units."""
    sampled = _sample(motion)
    extent = np.ptp(sampled.skeleton.world_points(*sampled.world()), axis=1)  # (F, 3), Y up
    rest = sampled.skeleton.rest_height
    if np.percentile(extent[:, 1], REST_CONFIRMED) <= rest <= extent[:, 1].max():
        return rest
    return extent_height(np.percentile(extent, SIZE_PERCENTILE, axis=0))


def calibrate(motion: Motion, up: str | None = None) -> Motion:
    """``motion`` on a skeleton that knows its up axis (``up``, else detected) and its
    body size (measured)."""
    if up is not None and up not in UP_FRAMES:
        raise SinmdmError(f"unknown up axis '{up}': use {' or '.join(UP_FRAMES)}")
    axis = up or detect_up(motion)[0]
    framed = replace(motion, skeleton=replace(motion.skeleton, up=axis, measured_size=0.0))
    size = measure_size(framed)
    return replace(framed, skeleton=replace(framed.skeleton, measured_size=size))
