"""Several clips of one creature, learned together: their names, the check that they share
one skeleton, and their frames laid end to end."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..base.errors import SinmdmError
from .bvh import read_bvh
from .keypoints import KeypointOptions, is_keypoint_file, read_keypoint_clip, resample_missing
from .motion import Motion

NAME = re.compile(r"[A-Za-z0-9_.-]+")


@dataclass(frozen=True, eq=False)
class ClipSet:
    """Named clips on one skeleton (the first clip's, so one body size) at one rate.
    ``missing``: for keypoint clips, (frames, joints) where each clip's file had no value."""

    names: tuple[str, ...]
    motions: tuple[Motion, ...]
    missing: Optional[tuple[np.ndarray, ...]] = None

    def __post_init__(self) -> None:
        if not self.names or len(self.names) != len(self.motions):
            raise ValueError("a ClipSet needs one name per motion, and at least one")

    @property
    def bounds(self) -> np.ndarray:
        """(clips + 1,) where each clip starts in the frames laid end to end, and the end."""
        return np.concatenate([[0], np.cumsum([m.n_frames for m in self.motions])]).astype(np.int64)

    @property
    def shortest(self) -> int:
        return min(m.n_frames for m in self.motions)

    def index(self, name: str) -> int:
        """The position of the clip called ``name``; a clear error naming the clips if none."""
        if name not in self.names:
            raise SinmdmError(f"no clip called '{name}' in this run: its clips are {', '.join(self.names)}")
        return self.names.index(name)

    def select(self, names: Optional[Sequence[str]]) -> list[int]:
        """Positions of the named clips (all of them for None), in the order given."""
        if not names:
            return list(range(len(self.names)))
        chosen = [self.index(n) for n in names]
        if len(set(chosen)) != len(chosen):
            raise SinmdmError(f"--clips names a clip twice: {', '.join(names)}")
        return chosen

    def joined(self) -> Motion:
        """The clips one after another as one motion, each clip's root moved along the
        ground so that it starts where the previous one ended (heights and headings are
        the clips' own). For statistics over all the clips (rest heights, speeds), not for
        playing: the poses jump where clips meet."""
        if len(self.motions) == 1:
            return self.motions[0]
        first = self.motions[0]
        skeleton = first.skeleton
        root = skeleton.positioned_joints[:1]
        ground = [i for i in range(3) if i != "xyz".index(skeleton.up)]
        parts = [first.translations]
        for motion in self.motions[1:]:
            t = motion.translations.copy()
            t[:, root, ground] += parts[-1][-1, root, ground] - t[0, root, ground]
            parts.append(t)
        rotations = np.concatenate([m.rotations for m in self.motions])
        return replace(first, rotations=rotations, translations=np.concatenate(parts))


def clip_names(paths: Sequence[Path]) -> list[str]:
    """Each clip's name: its file stem, with characters other than letters, digits, '.',
    '-' and '_' made '_', and a second clip of the same stem called ``stem-2``."""
    names: list[str] = []
    for path in paths:
        stem = "".join(c if NAME.fullmatch(c) else "_" for c in path.stem) or "clip"
        name, k = stem, 1
        while name in names:
            k += 1
            name = f"{stem}-{k}"
        names.append(name)
    return names


def read_clip(path: Path, up: Optional[str], keypoints: Optional[KeypointOptions] = None) -> tuple[Motion, np.ndarray]:
    """A BVH clip, or a keypoint clip (.npy, .npz; see :mod:`sinmdm.anim.keypoints`), and
    (frames, joints) where its file had no value (never, for a BVH)."""
    if is_keypoint_file(path):
        return read_keypoint_clip(path, replace(keypoints or KeypointOptions(), up=up))
    motion = read_bvh(path, up=up)
    return motion, np.zeros((motion.n_frames, motion.skeleton.n_joints), dtype=bool)


def read_clips(
    paths: Sequence[Path], up: Optional[str], fps: Optional[float], keypoints: Optional[KeypointOptions] = None
) -> ClipSet:
    """The clips at one training rate (``fps``, else the first clip's capped at 30; see
    :meth:`Motion.at_training_rate`), refused unless they share the first one's skeleton.
    ``keypoints`` says what keypoint files do not (their rate among it)."""
    read, gaps = read_clip(paths[0], up, keypoints)
    first = read.at_training_rate(fps)
    motions, missing = [first], [resample_missing(gaps, read.fps, first.fps)]
    for path in paths[1:]:
        read, gaps = read_clip(path, first.skeleton.up, keypoints)
        motion = read.resample(first.fps)
        missing.append(resample_missing(gaps, read.fps, first.fps))
        difference = first.skeleton.difference(motion.skeleton)
        if difference:
            raise SinmdmError(f"{path}: not on the skeleton of {paths[0]}: {difference}")
        motions.append(replace(motion, skeleton=first.skeleton))
    return ClipSet(tuple(clip_names(paths)), tuple(motions), tuple(missing) if any(m.any() for m in missing) else None)
