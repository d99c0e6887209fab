"""Path following on a real clip (Walk-In-Circle) with a model trained for seconds: the
clip's own heading-travel angle is learned from it, the root keeps to the path and its
heading, a stop in the path is held still (the clip never rests), and another
skeleton's BVH serves as a path."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import data_dir, require

from sinmdm.anim.bvh import read_bvh
from sinmdm.anim.paths import GroundPath, read_path
from sinmdm.apps.edit import root_path
from sinmdm.apps.follow import clip_travel, follow
from sinmdm.model.runs import Run
from sinmdm.model.settings import TrainSettings
from sinmdm.model.train import train

TINY = dict(width=48, blocks=4, batch=8, crop=64, warmup=10, checkpoint_seconds=1e9)


@pytest.fixture(scope="module")
def walk(tmp_path_factory) -> Run:
    clip = require(data_dir()) / "mixamo" / "Walk-In-Circle.bvh"
    out, finished = train(clip, tmp_path_factory.mktemp("walk") / "run", TrainSettings(steps=60, **TINY),
                          device=torch.device("cpu"))
    assert finished
    return Run.load(out, torch.device("cpu"))


def _angles(run: Run, motion) -> np.ndarray:
    """Per frame, the angle between the root's heading and its travel over 0.5 s."""
    layout = run.layout
    xz = root_path(layout, motion)
    gap = round(0.5 * layout.fps)
    step = xz[gap:] - xz[:-gap]
    heading = layout.heading_angle(motion.world()[0][:, layout.traj_joint])[:-gap]
    return np.angle(np.exp(1j * (np.arctan2(step[:, 0], step[:, 1]) - heading)))


def test_the_clip_is_followed_facing_as_it_walks_and_stops_are_held(walk: Run) -> None:
    travel = clip_travel(walk.layout, walk.clip_set().motions)
    clip_angle = float(np.median(_angles(walk, walk.clip())))
    assert abs(math.degrees(travel.angle - clip_angle)) < 10  # the walk's own relation, whatever axis is "heading"
    assert not travel.rests and 60 < travel.typical < 110  # a Mixamo walk: about 85 cm/s
    v = travel.typical
    path = GroundPath(np.array([[0.0, 0.0], [3 * v, 0.0], [3 * v, 0.0], [3 * v, 3 * v]]), np.array([0.0, 3.0, 5.0, 8.0]), "p")
    motions, timed = follow(walk, path, 2, steps=10, seed=0, travel=travel)
    size, fps = walk.layout.skeleton.size, walk.layout.fps
    stop = slice(round(3.5 * fps), round(4.5 * fps))
    for motion in motions:
        assert np.abs(root_path(walk.layout, motion) - timed.xz).max() < 1e-6 * size
        moving = np.r_[timed.speeds() > 0.5 * v][: -round(0.5 * fps)]
        assert np.degrees(np.abs(np.angle(np.exp(1j * (_angles(walk, motion)[moving] - travel.angle))))).max() < 20
        world = motion.world_positions()
        body = world - world[:, :1]
        speed = np.linalg.norm(np.diff(body, axis=0), axis=-1).mean(axis=1) * fps / size
        assert speed[stop].mean() < 0.2 * speed[: round(2 * fps)].mean()  # standing, not walking on the spot


def test_another_skeletons_bvh_is_a_path(walk: Run) -> None:
    other = require(data_dir()) / "xia" / "normal.bvh"
    path = read_path(other, walk.layout.skeleton.up)
    motions, timed = follow(walk, path, 1, steps=5, seed=0)
    source = read_bvh(other)
    assert timed.frames == round((source.n_frames - 1) / source.fps * walk.layout.fps) + 1
    assert np.allclose(root_path(walk.layout, motions[0])[[0, -1]], source.world_positions()[[0, -1], 0][:, [0, 2]])
