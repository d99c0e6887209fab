"""Crowds: many individuals from one model, laid out on the ground.

Each individual is an independent sample, turned to a random heading and moved to its
place by changing only the root's channels, so importing every BVH into a DCC shows the
crowd as laid out, on the unchanged skeleton.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any, Callable, Optional

import numpy as np

from ..anim.keypoints import from_world
from ..anim.motion import Motion
from ..base.errors import SinmdmError
from ..evaluation.metrics import diversity_between
from ..model.features import FeatureLayout
from ..model.runs import Run
from ..sampling.defaults import SPACING_SIZES
from ..sampling.plan import Plan
from ..sampling.sample import sample_features, to_motions
from .generate import clean_motions

LAYOUTS = ("grid", "random")


@dataclass(frozen=True)
class Placement:
    x: float
    z: float
    heading: float  # degrees about the vertical axis
    offset: int  # frames skipped at the start of the individual's sample

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def body_size(layout: FeatureLayout) -> float:
    """The larger of the body size and the rest pose's horizontal extent."""
    extent = np.ptp(layout.skeleton.rest_positions(), axis=0)
    return float(max(layout.skeleton.size, extent[0], extent[2]))


def positions(n: int, layout: str, spacing: float, rng: np.random.Generator) -> np.ndarray:
    """(n, 2) ground positions centred on the origin, at least ``spacing`` apart: a square
    grid, or random points in a square sized for about half the grid's density."""
    if spacing <= 0:
        raise SinmdmError(f"--spacing must be positive, got {spacing}")
    if layout == "grid":
        side = math.ceil(math.sqrt(n))
        index = np.arange(n)
        grid = np.stack([index % side, index // side], axis=-1).astype(np.float64)
        rows = math.ceil(n / side)
        return (grid - [(side - 1) / 2, (rows - 1) / 2]) * spacing
    if layout != "random":
        raise SinmdmError(f"unknown --layout '{layout}': use {' or '.join(LAYOUTS)}")
    # Dart throwing: each individual takes the first of a batch of candidates that keeps
    # the spacing; the square grows when it gets too crowded.
    half = 0.5 * spacing * math.sqrt(2.0 * n)
    placed = np.zeros((0, 2))
    while len(placed) < n:
        candidates = rng.uniform(-half, half, size=(64, 2))
        if len(placed):
            gaps = np.linalg.norm(candidates[:, None] - placed[None], axis=-1).min(axis=1)
            candidates = candidates[gaps >= spacing]
        if len(candidates):
            placed = np.concatenate([placed, candidates[:1]])
        else:
            half *= 1.1
    return placed


def placements(
    n: int, layout: str, spacing: float, max_offset: int, rng: np.random.Generator
) -> list[Placement]:
    where = positions(n, layout, spacing, rng)
    headings = rng.uniform(-180.0, 180.0, size=n)
    offsets = rng.integers(0, max_offset + 1, size=n)
    return [Placement(float(p[0]), float(p[1]), float(h), int(o)) for p, h, o in zip(where, headings, offsets)]


def require_root(layout: FeatureLayout) -> None:
    """A placement is written into the root's position channels: fail early without them."""
    if not layout.has_trajectory:
        raise SinmdmError("this skeleton has no root position channels, so a crowd's placement cannot be written into its BVH")


def place(layout: FeatureLayout, motion: Motion, placement: Placement) -> Motion:
    """The motion turned by the placement's heading about its first root position and
    moved there, by changing the trajectory joint's rotation and translation only (a
    keypoint motion, which has no rotations, by moving every joint)."""
    require_root(layout)
    j = layout.traj_joint
    angle = math.radians(placement.heading)
    turn = np.array([[math.cos(angle), 0.0, math.sin(angle)], [0.0, 1.0, 0.0], [-math.sin(angle), 0.0, math.cos(angle)]])
    world_rot, world_pos = motion.world()
    start = world_pos[0, j] * [1.0, 0.0, 1.0]
    if motion.skeleton.keypoints is not None:
        return from_world(motion, (world_pos - start) @ turn.T + [placement.x, 0.0, placement.z])
    new_pos = (turn @ (world_pos[:, j] - start)[..., None])[..., 0] + [placement.x, 0.0, placement.z]
    new_rot = turn @ world_rot[:, j]
    rotations, translations = motion.rotations.copy(), motion.translations.copy()
    # The new world transform in the (static) parent's frame, or the file's axes for the root.
    parent_rot, parent_pos = motion.parent_transform(j)
    inverse = np.swapaxes(parent_rot, -1, -2)
    new_rot = inverse @ new_rot
    new_pos = (inverse @ (new_pos - parent_pos)[..., None])[..., 0]
    rotations[:, j] = new_rot
    translations[:, j] = new_pos
    return replace(motion, rotations=rotations, translations=translations)


@dataclass
class Crowd:
    """The individuals, placed, with the record crowd.json holds; ``diversity`` is measured
    before placement (a heading is not a difference in motion)."""

    individuals: list[Motion]
    record: dict[str, Any]
    diversity: float


def _clip_of(plan: bool | Plan, sample: int) -> dict[str, str]:
    """``{"clip": name}`` where the plan gives the individual one clip to play."""
    name = plan.clip_of(sample) if isinstance(plan, Plan) else None
    return {"clip": name} if name else {}


def make_crowd(
    run: Run,
    n: int,
    frames: int,
    *,
    layout: str,
    spacing: Optional[float],
    time_offset: float,
    seed: int,
    steps: int,
    plan: bool | Plan = True,
    cleanup: bool = True,
    on_step: Optional[Callable[[int], None]] = None,
) -> Crowd:
    """``n`` individuals of ``frames`` frames, each sampled long enough to start up to
    ``time_offset`` seconds into its motion, placed by ``layout`` at least ``spacing`` apart
    (default: SPACING_SIZES body sizes) at random headings."""
    require_root(run.layout)
    fps = run.layout.fps
    rng = np.random.default_rng(seed)
    spots = placements(n, layout, spacing or SPACING_SIZES * body_size(run.layout), round(time_offset * fps), rng)
    keypoints = run.layout.skeleton.keypoints
    if keypoints is not None and keypoints.dims == 2:  # a flat crowd: side by side in the image's plane, facing as drawn
        gap = spacing or SPACING_SIZES * body_size(run.layout)
        spots = [replace(p, x=(i - (n - 1) / 2) * gap, z=0.0, heading=0.0) for i, p in enumerate(spots)]
    longest = frames + max(p.offset for p in spots)
    features = sample_features(run, n, longest, steps=steps, seed=seed, plan=plan, on_step=on_step)
    motions = to_motions(run, features)
    if cleanup:
        motions = clean_motions(run, None, features, motions)
    individuals = [m.crop(p.offset, frames) for m, p in zip(motions, spots)]
    diversity = diversity_between(run.clip(), individuals)
    record = {
        "model": str(run.path),
        "seed": seed,
        "frames": frames,
        "fps": fps,
        "layout": layout,
        "inter_sample_diversity": None if np.isnan(diversity) else diversity,
        "individuals": [{"file": f"crowd_{i}.bvh", "sample": i, **_clip_of(plan, i), **p.to_dict()}
                        for i, p in enumerate(spots)],
    }
    return Crowd([place(run.layout, m, p) for m, p in zip(individuals, spots)], record, diversity)
