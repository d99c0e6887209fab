"""Tiny models trained for seconds: the loss falls, checkpoints round-trip, resume is
exact, and generation writes valid BVH on the training skeleton."""

from __future__ import annotations

import pickle
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import data_dir, synthetic_bvh

from sinmdm.anim.bvh import read_bvh
from sinmdm.base.errors import SinmdmError
from sinmdm.cli.app import run as cli
from sinmdm.model.checkpoint import load_checkpoint
from sinmdm.model.crops import CropSampler
from sinmdm.model.diffusion import Diffusion
from sinmdm.model.runs import Run, parse_length
from sinmdm.model.settings import TrainSettings
from sinmdm.model.train import auto_window, train
from sinmdm.sampling.plan import plan_guide, shuffled_plans
from sinmdm.sampling.sample import sample_features, to_motions

TINY = dict(width=32, blocks=2, batch=8, crop=24, warmup=5, checkpoint_seconds=1e9)


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    path = tmp_path / "creature.bvh"
    path.write_text(synthetic_bvh(90, seed=1, smooth=True))
    return path


def tiny_train(clip: Path, out: Path, steps: int, **kw) -> Path:
    path, finished = train(clip, out, TrainSettings(steps=steps, **TINY), device=torch.device("cpu"), **kw)
    assert finished
    return path


def test_training_lowers_the_loss(clip, tmp_path):
    run_dir = tiny_train(clip, tmp_path / "run", 120)
    losses = load_checkpoint(run_dir / "model.pt")["losses"]
    assert len(losses) == 120
    assert np.mean(losses[-20:]) < 0.75 * np.mean(losses[:20])
    for name in ("config.json", "features.json", "clip.bvh", "loss.png"):
        assert (run_dir / name).is_file(), name
    assert not (run_dir / "preview.bvh").exists()  # the command makes the preview, after training
    assert (run_dir / "clip.bvh").read_bytes() == clip.read_bytes()


def test_the_train_command_writes_the_preview_after_training(clip, tmp_path, capsys):
    out = tmp_path / "run"
    code = cli(["train", str(clip), "--out", str(out), "--steps", "3", "--width", "16", "--blocks", "2"])
    assert code == 0, capsys.readouterr().err
    preview = read_bvh(out / "preview.bvh")
    assert preview.n_frames == 90 and (out / "preview.gif").stat().st_size > 0
    assert preview.skeleton.difference(read_bvh(clip).skeleton) is None


def test_checkpoint_loads_with_weights_only_and_round_trips(clip, tmp_path):
    run_dir = tiny_train(clip, tmp_path / "run", 5)
    state = torch.load(run_dir / "model.pt", weights_only=True)
    assert state["step"] == 5
    run = Run.load(run_dir, torch.device("cpu"))
    x = torch.randn(2, 30, run.layout.n_channels)
    t = torch.tensor([10, 900])
    network = run.network
    again = Run.load(run_dir, torch.device("cpu")).network
    torch.testing.assert_close(network(x, t), again(x, t))
    assert run.step == 5 and run.train_frames == 90


def test_resume_continues_exactly_where_it_stopped(clip, tmp_path):
    straight = tiny_train(clip, tmp_path / "straight", 12)
    tiny_train(clip, tmp_path / "split", 7)
    train(clip, tmp_path / "split", TrainSettings(steps=12, **TINY), device=torch.device("cpu"), resume=True)
    a = load_checkpoint(straight / "model.pt")
    b = load_checkpoint(tmp_path / "split" / "model.pt")
    assert b["step"] == 12 and len(b["losses"]) == 12
    np.testing.assert_allclose(a["losses"], b["losses"], rtol=1e-5)
    for key in a["ema"]:
        torch.testing.assert_close(a["ema"][key], b["ema"][key])


@pytest.mark.parametrize("stretch", [0.0, 0.25])
def test_crops_weigh_every_frame_of_the_clip_the_same(stretch):
    frames, crop = 60, 24
    raw = torch.arange(frames, dtype=torch.float64)[:, None].repeat(1, 2)  # channel 0: the source frame
    layout = SimpleNamespace(slices={"velocity": slice(1, 2)}, mean=np.zeros(2), std=np.ones(2))
    crops, weights, _ = CropSampler(raw, layout, crop, stretch)(4096, torch.Generator().manual_seed(1))
    assert crops.shape == (4096, crop, 2) and weights.shape == (4096, crop)
    source = crops[..., 0].round().long().flatten()
    seen = torch.bincount(source, minlength=frames).double()
    weighed = torch.zeros(frames, dtype=torch.float64).index_add_(0, source, weights.flatten())
    # Uniform starts would show the first and last frames in 1 crop of 37, a middle one
    # in 24; balanced starts show them at least a third as often as the average frame,
    # and the weights even out the rest.
    assert seen[[0, -1]].min() > seen.mean() / 3
    assert weighed.min() > 0.9 * weighed.mean() and weighed.max() < 1.1 * weighed.mean()
    if not stretch:
        assert bool((crops[..., 0].diff(dim=1) == 1).all())  # whole, unstretched stretches of the clip


@pytest.mark.parametrize("frames, blocks, window", [(17, 8, 3), (82, 8, 5), (100, 8, 7), (130, 8, 9), (5000, 8, 9), (30, 2, 7)])
def test_the_default_window_narrows_on_short_clips(frames, blocks, window):
    assert auto_window(frames, blocks) == window
    field = 1 + (window - 1) * blocks
    assert window == 3 or field <= frames / 2


def test_a_clip_shorter_than_the_receptive_field_is_a_clear_error(tmp_path):
    clip = tmp_path / "short.bvh"
    clip.write_text(synthetic_bvh(12, seed=1, smooth=True))
    with pytest.raises(SinmdmError, match="shorter than the model's receptive field"):
        train(clip, tmp_path / "run", TrainSettings(steps=2, **{**TINY, "blocks": 8}), device=torch.device("cpu"))
    assert not (tmp_path / "run" / "model.pt").exists()


def test_a_second_train_into_the_same_run_needs_resume(clip, tmp_path):
    tiny_train(clip, tmp_path / "run", 2)
    with pytest.raises(SinmdmError, match="--resume"):
        tiny_train(clip, tmp_path / "run", 2)


def test_pickled_code_in_a_checkpoint_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "model.pt"
    path.write_bytes(pickle.dumps({"format": "sinmdm-checkpoint", "x": Evil()}))
    with pytest.raises(SinmdmError, match="refused"):
        load_checkpoint(path)


def test_other_format_versions_get_a_clear_message(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"format": "sinmdm-checkpoint", "version": 99}, path)
    with pytest.raises(SinmdmError, match="version 99"):
        load_checkpoint(path)


def test_generate_writes_requested_lengths_reproducibly(clip, tmp_path, capsys):
    run_dir = tiny_train(clip, tmp_path / "run", 10)
    out = tmp_path / "gen"
    args = ["generate", "--model", str(run_dir), "--length", "70", "--n", "3", "--steps", "4", "--out", str(out)]
    assert cli(args) == 0
    files = sorted(out.glob("generate_*.bvh"))
    assert [f.name for f in files] == ["generate_0.bvh", "generate_1.bvh", "generate_2.bvh"]
    source = read_bvh(clip).skeleton
    for f in files:
        motion = read_bvh(f)
        assert motion.n_frames == 70
        assert motion.fps == 30
        assert motion.skeleton.difference(source) is None
    first = [f.read_bytes() for f in files]
    for f in files:
        f.write_bytes(b"mine")
    assert cli(args) == 1  # existing outputs are kept without --force
    assert "--force" in capsys.readouterr().err
    assert all(f.read_bytes() == b"mine" for f in files)
    assert cli([*args, "--force"]) == 0
    assert [f.read_bytes() for f in files] == first  # the same seed gives the same motions
    assert read_bvh(files[0]).world_positions().std() > 0
    assert cli([*args[:-1], str(tmp_path / "gen2"), "--seed", "1"]) == 0
    assert (tmp_path / "gen2" / "generate_0.bvh").read_bytes() != first[0]


def test_generated_length_forms(clip, tmp_path):
    assert parse_length("600", 100, 30) == 600
    assert parse_length("10s", 100, 30) == 300
    assert parse_length("2x", 100, 30) == 200
    assert parse_length("1.5x", 100, 30) == 150
    for bad in ("", "ten", "-3", "0", "2y"):
        with pytest.raises(SinmdmError):
            parse_length(bad, 100, 30)


def test_looping_sample_flows_from_last_frame_into_first(clip, tmp_path):
    run = Run.load(tiny_train(clip, tmp_path / "run", 60), torch.device("cpu"))
    x = sample_features(run, 2, 80, steps=8, seed=3, loop=True)
    step = (x[:, 1:] - x[:, :-1]).abs().mean()
    seam = (x[:, 0] - x[:, -1]).abs().mean()
    assert seam < 3 * step  # the seam is no bigger a jump than any other frame
    assert len(to_motions(run, x)) == 2


def test_a_plan_plays_every_frame_of_the_clip_once_per_pass_in_pieces():
    clip = np.arange(100, dtype=np.float64)[:, None] * np.ones((1, 3))
    plans = shuffled_plans([clip], 3, 250, 20, np.random.default_rng(0))
    assert plans.shape == (3, 250, 3)
    frames = plans[..., 0].astype(int)
    for plan in frames:
        for start in (0, 100):  # each whole pass holds every frame exactly once
            assert sorted(plan[start : start + 100]) == list(range(100))
        jumps = np.flatnonzero(np.diff(plan[:100]) != 1) + 1  # where one piece ends and the next begins
        lengths = np.diff(np.concatenate([[0], jumps, [100]]))
        assert len(lengths) <= 5 and lengths.min() >= 10  # 5 pieces of 20 on average, none under half
    assert len({tuple(plan) for plan in frames}) == 3  # each sample its own order
    again = shuffled_plans([clip], 3, 250, 20, np.random.default_rng(0))
    assert np.array_equal(plans, again)


def test_plan_and_free_sampling(clip, tmp_path, monkeypatch):
    run = Run.load(tiny_train(clip, tmp_path / "run", 30), torch.device("cpu"))
    planned = sample_features(run, 3, 70, steps=6, seed=1, batch=2)
    assert torch.equal(planned, sample_features(run, 3, 70, steps=6, seed=1, batch=2, plan=True))
    assert not torch.allclose(planned, sample_features(run, 3, 70, steps=6, seed=1, batch=2, plan=False))
    # Each batch is guided by its own samples' plans, made from the training clip.
    guide, labels = plan_guide(run, 3, 70, seed=1)
    assert labels is None  # a one-clip network takes no labels
    assert guide.reference.shape == (3, 70, run.layout.n_channels)
    gaps = np.abs(guide.reference.numpy()[:, :, None] - run.clip_features()[0][None, None]).max(axis=-1)
    assert gaps.min(axis=-1).max() < 1e-5  # every planned frame is a frame of the clip
    seen = []
    original = Diffusion.sample
    monkeypatch.setattr(Diffusion, "sample", lambda self, *a, **kw: seen.append(kw["guide"]) or original(self, *a, **kw))
    sample_features(run, 3, 70, steps=2, seed=1, batch=2)
    assert torch.equal(seen[0].reference, guide.reference[:2]) and torch.equal(seen[1].reference, guide.reference[2:])
    assert sample_features(run, 1, 70, steps=2, plan=False) is not None and seen[-1] is None
    with pytest.raises(ValueError):
        sample_features(run, 1, 70, steps=2, guide=guide)


@pytest.mark.parametrize("name", ["truebones/Chicken_IdlePecking.bvh", "truebones/Crab-dance-long.bvh"])
def test_real_six_channel_and_non_humanoid_clips(name, tmp_path):
    folder = data_dir()
    if folder is None:
        pytest.skip("real clips not found")
    clip = folder / name
    run = Run.load(tiny_train(clip, tmp_path / "run", 15), torch.device("cpu"))
    # Hundreds of channels, but the network works in at most --width principal directions.
    assert run.layout.n_channels > 200 and 0 < run.config.rank <= TINY["width"]
    motion = to_motions(run, sample_features(run, 1, 2 * run.train_frames, steps=4))[0]
    assert motion.n_frames == 2 * run.train_frames
    assert motion.skeleton.difference(read_bvh(clip).skeleton) is None
    assert np.all(np.isfinite(motion.world_positions()))


def test_the_checkpoint_says_how_it_must_be_sampled(clip, tmp_path):
    """The diffusion config is saved with the weights, and the sampler reads it from there."""
    from sinmdm.diffusion.config import DiffusionConfig
    from sinmdm.model.checkpoint import save_checkpoint

    run_dir = tiny_train(clip, tmp_path / "run", 3)
    state = load_checkpoint(run_dir / "model.pt")
    assert state["diffusion"] == DiffusionConfig().to_dict()
    cpu = torch.device("cpu")
    before = sample_features(Run.load(run_dir, cpu), 1, 40, steps=3, seed=0, plan=False)
    state["diffusion"]["signal_scale"] = 0.3
    save_checkpoint(run_dir / "model.pt", state)
    run = Run.load(run_dir, cpu)
    assert run.diffusion.signal_scale == 0.3
    assert not torch.allclose(sample_features(run, 1, 40, steps=3, seed=0, plan=False), before)
    del state["diffusion"]  # a checkpoint written before the config was saved samples as it was trained
    save_checkpoint(run_dir / "model.pt", state)
    torch.testing.assert_close(sample_features(Run.load(run_dir, cpu), 1, 40, steps=3, seed=0, plan=False), before)
