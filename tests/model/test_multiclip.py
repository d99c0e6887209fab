"""Training on several clips of one skeleton: crops stay inside a clip, clips are drawn in
proportion to their length (or equally with balance), and the run knows its clips."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import synthetic_bvh

from sinmdm.base.errors import SinmdmError
from sinmdm.model.checkpoint import load_checkpoint
from sinmdm.model.crops import CropSampler
from sinmdm.model.runs import Run
from sinmdm.model.settings import TrainSettings
from sinmdm.model.train import train
from sinmdm.sampling.plan import Plan, Span, plan_guide, transition_weight

TINY = dict(width=32, blocks=2, batch=8, crop=24, warmup=5, checkpoint_seconds=1e9)


def sampler(lengths: list[int], balance: bool, crop: int = 10, stretch: float = 0.0) -> CropSampler:
    frames = sum(lengths)
    layout = SimpleNamespace(slices={"velocity": slice(1, 1)}, mean=np.zeros(1), std=np.ones(1))
    raw = torch.arange(frames, dtype=torch.float32)[:, None]
    bounds = np.concatenate([[0], np.cumsum(lengths)]).tolist()
    return CropSampler(raw, layout, crop, stretch, bounds, balance)


@pytest.mark.parametrize("stretch", [0.0, 0.3])
def test_crops_never_span_two_clips(stretch):
    crops, _, labels = sampler([50, 30, 20], False, stretch=stretch)(4000, torch.Generator().manual_seed(0))
    first, last = crops[:, 0, 0].numpy(), crops[:, -1, 0].numpy()
    assert np.array_equal(np.digitize(first, [49.5, 79.5]), np.digitize(last, [49.5, 79.5]))
    # each crop's frames are labelled with its clip
    assert np.array_equal(labels.numpy(), np.repeat(np.digitize(first, [49.5, 79.5])[:, None], 10, axis=1))


@pytest.mark.parametrize("balance", [False, True])
def test_clips_are_learned_in_proportion_to_length_or_equally(balance):
    lengths = [120, 40]
    crops, weights, _ = sampler(lengths, balance)(20000, torch.Generator().manual_seed(1))
    from_first = (crops[:, 0, 0] < 120).double()
    expected = 0.5 if balance else 0.75
    assert abs(from_first.mean().item() - expected) < 0.02
    # What each clip weighs in the loss: its crops' weights summed.
    weight_first = (weights.sum(dim=1).double() * from_first).sum() / weights.sum()
    assert abs(weight_first.item() - expected) < 0.02
    # Within a clip the weights even its frames out: every frame counts about the same.
    where = crops[..., 0].round().long().flatten()
    counted = torch.zeros(160, dtype=torch.float64).index_add_(0, where, weights.flatten().double())
    for lo, hi in ((0, 120), (120, 160)):
        part = counted[lo:hi]
        assert (part.max() / part.min()).item() < 1.3


@pytest.fixture
def two_clips(tmp_path: Path) -> list[Path]:
    walk, idle = tmp_path / "walk.bvh", tmp_path / "idle.bvh"
    walk.write_text(synthetic_bvh(60, seed=1, smooth=True))
    idle.write_text(synthetic_bvh(40, seed=2, smooth=True))
    return [walk, idle]


def test_a_run_on_two_clips_knows_them_by_name(two_clips, tmp_path):
    out, finished = train(two_clips, tmp_path / "run", TrainSettings(steps=4, **TINY), device=torch.device("cpu"))
    assert finished
    run = Run.load(out, torch.device("cpu"))
    assert run.clip_names == ("walk", "idle")
    assert (out / "clips" / "walk.bvh").read_bytes() == two_clips[0].read_bytes()
    assert [m.n_frames for m in run.clip_set().motions] == [60, 40]
    assert run.train_frames == 100 and run.clip().n_frames == 100
    assert [len(f) for f in run.clip_features()] == [60, 40]
    assert load_checkpoint(out / "model.pt")["clips"] == ["walk", "idle"]
    assert run.config.labels == 2  # the network is told each frame's clip
    assert (run.network.label.weight[:2].abs().sum(dim=1) > 0).all()  # and trained with each clip's label
    # The plan tells it: each planned frame is labelled with the clip it was taken from.
    guide, labels = plan_guide(run, 3, 150, seed=0)
    features = run.clip_features()
    for k, clip in enumerate(features):
        rows = guide.reference.numpy()[labels.numpy() == k]
        gaps = np.abs(rows[:, None] - clip[None]).max(axis=-1).min(axis=1)
        assert len(rows) and gaps.max() < 1e-5
    guide, labels = plan_guide(run, 2, 50, seed=0, plan=Plan(sequence=(Span(1, 20), Span(0, 30)), transition=6))
    expected = np.array([1] * 20 + [0] * 30)
    expected[transition_weight([20, 30], 6, loop=False) < 1] = 2  # within the transition: any clip
    assert labels.tolist() == [expected.tolist()] * 2 and (expected == 2).sum() == 6
    _, none = plan_guide(run, 2, 50, seed=0, plan=Plan(clips=("idle",)))
    assert (none == 1).all()
    with pytest.raises(SinmdmError, match="trained on the clips walk, idle; resume it with those"):
        train(two_clips[::-1], out, TrainSettings(steps=6, **TINY), device=torch.device("cpu"), resume=True)


def test_clips_on_two_skeletons_are_refused_before_anything_is_written(two_clips, tmp_path):
    other = tmp_path / "other.bvh"
    other.write_text(synthetic_bvh(40, seed=3, smooth=True, prefix="x_"))
    with pytest.raises(SinmdmError, match="other.bvh: not on the skeleton of .*walk.bvh: missing joints"):
        train([two_clips[0], other], tmp_path / "run", TrainSettings(steps=2, **TINY), device=torch.device("cpu"))
    assert not (tmp_path / "run").exists()
