"""Several real clips of one creature trained together for seconds: the clips of another
creature are refused naming its joints, and a --sequence plays each span's clip (its
windows are nearest that clip)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import data_dir, require

from sinmdm.anim.bvh import read_bvh
from sinmdm.base.errors import SinmdmError
from sinmdm.cli.app import run as cli
from sinmdm.evaluation.metrics import distances, metric_features, window_sums
from sinmdm.model.runs import Run
from sinmdm.model.settings import TrainSettings
from sinmdm.model.train import train

TINY = dict(width=48, blocks=4, batch=8, crop=64, warmup=10, checkpoint_seconds=1e9)


def chickens() -> list:
    folder = require(data_dir()) / "truebones"
    return [folder / "Chicken_Walk.bvh", folder / "Chicken_EggLaying.bvh"]


def test_clips_of_another_creature_are_refused_naming_joints(tmp_path):
    elephant = require(data_dir()) / "truebones" / "Elephant_Idle1.bvh"
    with pytest.raises(SinmdmError, match=r"Elephant_Idle1.bvh: not on the skeleton of .*Chicken_Walk.bvh: missing joints"):
        train([chickens()[0], elephant], tmp_path / "run", TrainSettings(steps=1, **TINY), device=torch.device("cpu"))


def test_a_sequence_plays_each_spans_clip(tmp_path):
    out, finished = train(chickens(), tmp_path / "run", TrainSettings(steps=150, **TINY), device=torch.device("cpu"))
    assert finished
    run = Run.load(out, torch.device("cpu"))
    assert run.clip_names == ("Chicken_Walk", "Chicken_EggLaying")
    assert cli(["generate", "--model", str(out), "--sequence", "Chicken_EggLaying:4s,Chicken_Walk:4s", "--n", "2",
                "--steps", "20", "--out", str(tmp_path / "s")]) == 0
    spans = json.loads((tmp_path / "s" / "generate_sequence.json").read_text())["spans"]
    assert [s["clip"] for s in spans] == ["Chicken_EggLaying", "Chicken_Walk"]
    clips = [metric_features(m) for m in run.clip_set().motions]
    for i in range(2):
        sample = metric_features(read_bvh(tmp_path / "s" / f"generate_{i}.bvh"))
        # each 1-s window's cost to the closest 1-s window of each clip; which clip is nearest
        cost = np.stack([(window_sums(distances(c, sample), 30) / 30).min(axis=0) for c in clips])
        nearest = cost.argmin(axis=0)
        for span in spans:  # the windows wholly inside the span (30 fps, as the metric's)
            inside = nearest[span["start"] : span["start"] + span["frames"] - 29]
            assert (inside == run.clip_names.index(span["clip"])).mean() >= 0.7, (i, span["clip"])
