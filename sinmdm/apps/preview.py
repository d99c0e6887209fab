"""A trained run's preview: one cleaned sample as long as the clip (preview.bvh) and a
video of it beside the clip (preview.gif), made after training."""

from __future__ import annotations

from pathlib import Path

from ..anim.bvh import write_bvh
from ..anim.keypoints import write_keypoints
from ..anim.motion import Motion
from ..model.runs import PREVIEW, PREVIEW_VIDEO, Run
from ..render.figures import Scene, actor
from ..render.render import render_video
from ..sampling.sample import sample_features, to_motions
from .generate import clean_motions

PREVIEW_SECONDS = 10.0  # preview.gif shows this much of the clip and of a sample
PREVIEW_MAX_SECONDS = 30.0  # preview.bvh is as long as the clip, up to this (a long clip's would take minutes)
PREVIEW_SIZE = "640x320"


def write_preview(run: Run, seed: int = 0) -> tuple[Path, Path]:
    """Sample, clean and write the preview of ``run``; returns the BVH and the video."""
    clip = run.clip()
    frames = min(clip.n_frames, round(PREVIEW_MAX_SECONDS * clip.fps))
    features = sample_features(run, 1, frames, seed=seed)
    preview = clean_motions(run, None, features, to_motions(run, features))[0]
    keypoints = run.layout.skeleton.keypoints
    path = run.path / PREVIEW
    if keypoints:  # no rotations to write: the file's own kind
        path = path.with_suffix(keypoints.suffix)
        write_keypoints(path, preview)
    else:
        write_bvh(path, preview)
    write_preview_video(run.clip_set().motions[0], preview, run.path / PREVIEW_VIDEO)
    return path, run.path / PREVIEW_VIDEO


def write_preview_video(clip: Motion, sample: Motion, path: Path) -> None:
    """The training clip (blue) beside a sample (orange), the first PREVIEW_SECONDS of each."""
    frames = round(PREVIEW_SECONDS * clip.fps)
    scenes = [
        Scene([actor(clip.crop(0, frames), style="given")], "training clip"),
        Scene([actor(sample.crop(0, frames), style="generated")], "sample"),
    ]
    render_video(scenes, path, clip.fps, size=PREVIEW_SIZE)
