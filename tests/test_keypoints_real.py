"""Keypoint clips made from a real dance (Salsa's joint positions, 20 joints, in 3D and
projected to 2D), trained for seconds: written samples keep the file's layout, 3D bones
keep the clip's lengths, 2D samples stay in their plane, and holes in the clip do not
stop training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import data_dir, require

from sinmdm.anim.bvh import read_bvh
from sinmdm.anim.keypoints import keypoint_positions, read_keypoints
from sinmdm.apps.generate import generate
from sinmdm.evaluation.bones import compare_bones
from sinmdm.model.runs import Run
from sinmdm.model.settings import TrainSettings
from sinmdm.model.train import train

JOINTS = ("Hips", "Spine", "Spine2", "Neck", "Head", "HeadTop_End", "LeftArm", "LeftForeArm", "LeftHand", "RightArm",
          "RightForeArm", "RightHand", "LeftUpLeg", "LeftLeg", "LeftFoot", "LeftToeBase", "RightUpLeg", "RightLeg",
          "RightFoot", "RightToeBase")
TINY = dict(steps=40, width=48, blocks=4, batch=8, crop=64, warmup=10, checkpoint_seconds=1e9)


def salsa_positions() -> tuple[np.ndarray, list[tuple[int, int]]]:
    motion = read_bvh(require(data_dir()) / "mixamo" / "Salsa-Dancing-6.bvh").at_training_rate(30.0)
    names = [n.rsplit(":", 1)[-1] for n in motion.skeleton.names]
    index = [names.index(j) for j in JOINTS]
    edges = []
    for k, j in enumerate(index):
        p = motion.skeleton.parents[j]
        while p >= 0 and p not in index:
            p = motion.skeleton.parents[p]
        if p >= 0:
            edges.append((index.index(int(p)), k))
    return motion.world_positions()[:, index], edges


def trained(folder: Path, positions: np.ndarray, edges: list[tuple[int, int]]) -> tuple[Path, Run]:
    clip = folder / "dance.npz"
    np.savez(clip, positions=positions, fps=30.0, edges=np.array(edges), names=np.array(JOINTS))
    out, finished = train(clip, folder / "run", TrainSettings(**TINY), device=torch.device("cpu"))
    assert finished
    return clip, Run.load(out, torch.device("cpu"))


@pytest.mark.parametrize("dims", [3, 2])
def test_samples_keep_the_files_layout_and_3d_bone_lengths(tmp_path, dims):
    positions, edges = salsa_positions()
    clip, run = trained(tmp_path, positions[..., :dims], edges)
    motions = generate(run, 2, 2 * run.train_frames, steps=10, seed=0)
    source = read_keypoints(clip)
    for motion in motions:
        written = keypoint_positions(motion)
        assert written.shape == (2 * run.train_frames, 20, dims) and np.isfinite(written).all()
        # the body stays the clip's size: no joint farther from the root than 1.5 times the clip's farthest
        reach = np.linalg.norm(written - written[:, :1], axis=-1).max()
        assert reach < 1.5 * np.linalg.norm(positions[..., :dims] - positions[:, :1, :dims], axis=-1).max()
        if dims == 2:
            assert np.abs(motion.world_positions()[..., 2]).max() < 1e-9  # the plane's depth stays 0
    bones = compare_bones([source], motions)
    if dims == 3:
        assert bones.worst_error < 1e-6  # every bone of every frame at the clip's median length
    else:
        assert bones.median_error < 0.25  # 2D bones vary with the view; their typical length is the clip's


def test_a_clip_with_holes_trains_and_samples(tmp_path):
    positions, edges = salsa_positions()
    holes = positions.copy()
    holes[np.random.default_rng(0).random(holes.shape[:2]) < 0.05] = np.nan
    holes[100:140, 8] = np.nan  # a wrist lost for over a second
    _, run = trained(tmp_path, holes, edges)
    motions = generate(run, 1, run.train_frames, steps=10, seed=0)
    assert np.isfinite(keypoint_positions(motions[0])).all()
