"""What is drawn: actors (a motion, its colours and contacts), their colour families, and
the scenes they stand in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from ..anim.contacts import choose_contacts, contact_labels
from ..anim.motion import Motion
from ..anim.presets import resolve_preset

# Colour families: a few shades each, so individuals in one scene can be told apart.
GIVEN = ("#2f6db5", "#4a8fd6", "#1d4f8a", "#6aa6e0")


GENERATED = ("#e0702a", "#c4521b", "#f0913f", "#a8431a")


PLAIN = ("#3d4653", "#5b6675", "#2a313b", "#727e8e")


STYLES = {"given": GIVEN, "generated": GENERATED, "plain": PLAIN}


BACKGROUND = "#f6f5f1"


@dataclass
class Actor:
    """One figure: ``points`` (F, P, 3) world positions of its joints and End Sites;
    ``parents`` (P,) the point each bone starts from (-1: no bone); ``given`` (F, P) how
    much of the bone ending at each point is given (0 generated .. 1 given), or None for
    a single ``style``; ``contacts`` (F, P) True where a point rests on the floor; ``size``
    the body size (:attr:`sinmdm.anim.skeleton.Skeleton.size`); ``flat``: a 2D keypoint
    clip, drawn face on."""

    points: np.ndarray
    parents: np.ndarray
    given: Optional[np.ndarray]
    contacts: np.ndarray
    size: float
    style: str = "plain"
    shade: int = 0
    flat: bool = False

    @property
    def frames(self) -> int:
        return len(self.points)


def actor(motion: Motion, *, given: Optional[np.ndarray] = None, style: str = "plain", shade: int = 0) -> Actor:
    """An :class:`Actor` for ``motion``. ``given`` (F, J) per joint, as :func:`edit.joint_weights`
    makes it: a bone is coloured by the joint whose rotation orients it (its start)."""
    skeleton = motion.skeleton
    world_rot, world_pos = motion.world()
    points = skeleton.world_points(world_rot, world_pos)
    parents = skeleton.drawn_parents
    bone_given = None
    if given is not None:
        if given.shape != (motion.n_frames, skeleton.n_joints):
            raise ValueError("given must be (frames, joints)")
        bone_given = np.where(parents >= 0, given[:, np.maximum(parents, 0)], given[:, [0]])
    feet, _ = choose_contacts(motion, None, resolve_preset(skeleton, None))
    contacts = np.zeros(points.shape[:2], dtype=bool)
    contacts[:, feet] = contact_labels(motion, feet) > 0.5
    flat = skeleton.keypoints is not None and skeleton.keypoints.dims == 2
    return Actor(points, parents, bone_given, contacts, skeleton.size, style, shade, flat)


def bone_colours(a: Actor) -> np.ndarray:
    """(F or 1, B, 4) RGBA of the actor's bones: its style's shade, or given/generated
    blended by how much of each bone is given."""
    from matplotlib.colors import to_rgba

    bones = np.flatnonzero(a.parents >= 0)
    if a.given is None:
        family = STYLES[a.style]
        return np.broadcast_to(to_rgba(family[a.shade % len(family)]), (1, len(bones), 4)).copy()
    given = np.array(to_rgba(GIVEN[a.shade % len(GIVEN)]))
    generated = np.array(to_rgba(GENERATED[a.shade % len(GENERATED)]))
    w = np.clip(a.given[:, bones], 0.0, 1.0)[..., None]
    return w * given + (1 - w) * generated


# ----------------------------------------------------------------------------- output
@dataclass
class Scene:
    """What one panel shows: its actors, a title, optionally a caption per frame (say,
    which clip a span of a --sequence plays) and ground paths drawn on the floor, each
    (M, 2) world X/Z points (the paths of `sinmdm follow`)."""

    actors: list[Actor]
    title: str = ""
    captions: Optional[Sequence[str]] = None
    paths: Sequence[np.ndarray] = ()


def floor_height(actors: Sequence[Actor]) -> float:
    """The floor height: where the lowest point rests in most frames (robust to jumps)."""
    lowest = np.concatenate([a.points[..., 1].min(axis=1) for a in actors])
    return float(np.percentile(lowest, 5))


def scene_scale(actors: Sequence[Actor]) -> float:
    """The median body size of the actors."""
    return float(max(np.median([a.size for a in actors]), 1e-6))
