"""ONNX export and the onnxruntime sampler: the exported step equals the torch network,
a whole sample equals the torch backend's, and a missing extra gets a clear message."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import synthetic_bvh

from sinmdm.anim.bvh import read_bvh
from sinmdm.cli.app import run as cli
from sinmdm.diffusion.config import DiffusionConfig
from sinmdm.diffusion.schedule import cosine_alpha_bar, respaced
from sinmdm.diffusion.scheduler import LowPass
from sinmdm.model.diffusion import Diffusion, low_pass
from sinmdm.model.network import Denoiser, ModelConfig
from sinmdm.model.runs import Run
from sinmdm.sampling.export import export_onnx
from sinmdm.sampling.onnx_sampler import OnnxDenoiser, read_sidecar
from sinmdm.sampling.onnx_sampler import low_pass as numpy_low_pass
from sinmdm.sampling.onnx_sampler import sample as numpy_sample

SIGNAL_SCALE = DiffusionConfig().signal_scale
from sinmdm.anim.skeleton import Skeleton
from sinmdm.model.settings import TrainSettings
from sinmdm.model.train import train

# The default network (width 128, 8 blocks), trained for a few steps on short crops.
SHORT = dict(batch=4, crop=24, warmup=2, checkpoint_seconds=1e9)
HAVE_ONNX = all(importlib.util.find_spec(m) is not None for m in ("onnx", "onnxruntime", "onnxscript"))
needs_onnx = pytest.mark.skipif(not HAVE_ONNX, reason="the onnx extra is not installed")


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Run:
    if not HAVE_ONNX:
        pytest.skip("the onnx extra is not installed")
    folder = tmp_path_factory.mktemp("onnx")
    clip = folder / "creature.bvh"
    clip.write_text(synthetic_bvh(90, seed=3, smooth=True))
    run_dir, _ = train(clip, folder / "run", TrainSettings(steps=3, **SHORT), device=torch.device("cpu"))
    assert cli(["export", "--model", str(run_dir)]) == 0
    return Run.load(run_dir, torch.device("cpu"))


@needs_onnx
def test_onnx_step_equals_torch_at_any_length_and_timestep(exported):
    session = OnnxDenoiser(exported.path / "model.onnx")
    diffusion = Diffusion()
    generator = torch.Generator().manual_seed(0)
    longest_crop = SHORT["crop"]
    for frames in (7, 40, 10 * longest_crop + 3):
        for t in (0, 1, 250, 600, 999):
            x = torch.randn(2, frames, exported.layout.n_channels, generator=generator)
            tt = torch.full((2,), t)
            with torch.no_grad():
                want = diffusion.predict_x0(exported.network, x, tt).numpy()
            got = session(x.numpy(), tt.numpy())
            assert got.shape == want.shape
            assert np.abs(got - want).max() <= 1e-4, (frames, t)


@needs_onnx
def test_a_whole_sample_is_the_same_from_both_backends(exported, tmp_path, capsys):
    # Raw samples: the backends' features agree to about 1e-5, and cleanup's thresholds
    # (contact hysteresis, low and still) may flip on a score that sits at one, which an
    # untrained 3-step model's scores often do.
    common = ["--model", str(exported.path), "--length", "2x", "--n", "2", "--seed", "5", "--steps", "20", "--no-cleanup"]
    assert cli(["generate", *common, "--out", str(tmp_path / "torch")]) == 0
    assert cli(["generate", *common, "--out", str(tmp_path / "onnx"), "--backend", "onnx"]) == 0
    height = exported.layout.skeleton.size
    for i in range(2):
        a, b = read_bvh(tmp_path / "torch" / f"generate_{i}.bvh"), read_bvh(tmp_path / "onnx" / f"generate_{i}.bvh")
        assert a.n_frames == b.n_frames == 2 * exported.train_frames
        assert a.skeleton.difference(b.skeleton) is None
        assert np.abs(a.world_positions() - b.world_positions()).max() <= 1e-3 * height
    # A loop too: the numpy sampler pads the sequence the way the torch one does.
    assert cli(["generate", *common, "--loop", "--out", str(tmp_path / "torch_loop")]) == 0
    assert cli(["generate", *common, "--loop", "--out", str(tmp_path / "onnx_loop"), "--backend", "onnx"]) == 0
    a, b = read_bvh(tmp_path / "torch_loop" / "generate_0.bvh"), read_bvh(tmp_path / "onnx_loop" / "generate_0.bvh")
    assert np.abs(a.world_positions() - b.world_positions()).max() <= 1e-3 * height


@needs_onnx
def test_the_sidecar_holds_what_a_runtime_needs(exported):
    sidecar = read_sidecar(exported.path / "model.onnx")
    assert sidecar["sampler"]["timesteps"] == respaced(50, 1000)
    assert np.allclose(sidecar["schedule"]["alpha_bar"], cosine_alpha_bar(1000))
    assert sidecar["schedule"]["signal_scale"] == SIGNAL_SCALE
    assert sidecar["trained_steps"] == exported.step
    channels = exported.layout.n_channels
    assert sidecar["interface"]["channels"] == channels
    assert len(sidecar["normalisation"]["mean"]) == len(sidecar["normalisation"]["std"]) == channels
    spans = sorted(tuple(v) for v in sidecar["layout"]["channels"].values())
    assert spans[0][0] == 0 and spans[-1][1] == channels
    assert Skeleton.from_dict(sidecar["skeleton"]).difference(exported.layout.skeleton) is None
    assert json.loads(json.dumps(sidecar)) == sidecar  # plain JSON types only


@needs_onnx
def test_export_refuses_to_overwrite_and_a_stale_export_is_refused(exported, tmp_path, capsys):
    assert cli(["export", "--model", str(exported.path)]) != 0
    assert "already exists" in capsys.readouterr().err
    sidecar = exported.path / "model.json"
    data = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps({**data, "trained_steps": data["trained_steps"] + 1}))
    try:
        assert cli(["generate", "--model", str(exported.path), "--backend", "onnx", "--out", str(tmp_path)]) != 0
        assert "export it again" in capsys.readouterr().err
    finally:
        sidecar.write_text(json.dumps(data))
    assert not list(tmp_path.glob("*.bvh"))


def test_numpy_sampler_follows_the_torch_sampler_step_for_step():
    """The loop alone, with the torch network called from numpy: same noise, same result."""
    torch.manual_seed(0)
    network = Denoiser(ModelConfig(channels=5, width=16, blocks=2, heads=2, window=3)).eval()
    for block in network.blocks:  # untrained blocks are the identity; make them do something
        torch.nn.init.normal_(block.modulation.weight, std=0.1)

    def call(x: np.ndarray, t: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return network(torch.from_numpy(x), torch.from_numpy(t)).numpy() / SIGNAL_SCALE

    reference = torch.randn(2, 30, 5, generator=torch.Generator().manual_seed(2))
    for padding, guided in ((0, False), (5, False), (0, True)):
        guide = LowPass(reference, factor=4, until=400) if guided else None
        want = Diffusion().sample(
            network, (2, 30, 5), 12, generator=torch.Generator().manual_seed(1), circular=padding > 0, padding=padding,
            guide=guide,
        ).numpy()
        generator = torch.Generator().manual_seed(1)
        got = numpy_sample(
            call, DiffusionConfig(), (2, 30, 5), 12, lambda shape: torch.randn(shape, generator=generator).numpy(),
            padding=padding, guide=LowPass(reference.numpy(), 4, 400) if guided else None,
        )
        assert np.abs(got - want).max() < 1e-4


@pytest.mark.parametrize("frames, factor, wrap", [(30, 4, 0), (31, 8, 0), (5, 8, 0), (1300, 32, 0), (31, 8, 16), (5, 8, 16)])
def test_numpy_low_pass_is_the_torch_one(frames, factor, wrap):
    x = torch.randn(2, frames, 3, generator=torch.Generator().manual_seed(frames))
    assert np.abs(numpy_low_pass(x.numpy(), factor, wrap) - low_pass(x, factor, wrap).numpy()).max() < 1e-5


def test_without_the_onnx_extra_the_commands_say_what_to_install(tmp_path, monkeypatch, capsys):
    clip = tmp_path / "creature.bvh"
    clip.write_text(synthetic_bvh(60, seed=2, smooth=True))
    run_dir, _ = train(clip, tmp_path / "run", TrainSettings(steps=2, width=16, blocks=2, **SHORT), device=torch.device("cpu"))
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name.startswith("onnx") else real_find_spec(name, *a))
    assert cli(["export", "--model", str(run_dir)]) != 0
    err = capsys.readouterr().err
    assert "pip install 'sinmdm[onnx]'" in err and "Traceback" not in err
    assert not (run_dir / "model.onnx").exists()
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now fails
    (run_dir / "model.onnx").write_bytes(b"not used")
    (run_dir / "model.json").write_text(json.dumps(_fake_sidecar(run_dir)))
    assert cli(["generate", "--model", str(run_dir), "--backend", "onnx", "--out", str(tmp_path / "out")]) != 0
    err = capsys.readouterr().err
    assert "needs onnxruntime" in err and "pip install 'sinmdm[onnx]'" in err
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def _fake_sidecar(run_dir: Path) -> dict:
    from sinmdm.sampling.export import sidecar

    return sidecar(Run.load(run_dir, torch.device("cpu")), run_dir / "model.onnx")


@needs_onnx
def test_a_network_of_several_clips_exports_with_its_labels_and_samples_a_sequence_alike(tmp_path):
    clips = [tmp_path / "walk.bvh", tmp_path / "idle.bvh"]
    clips[0].write_text(synthetic_bvh(70, seed=3, smooth=True))
    clips[1].write_text(synthetic_bvh(50, seed=4, smooth=True))
    run_dir, _ = train(clips, tmp_path / "run", TrainSettings(steps=3, **SHORT), device=torch.device("cpu"))
    run = Run.load(run_dir, torch.device("cpu"))
    assert run.config.labels == 2
    assert cli(["export", "--model", str(run_dir)]) == 0
    assert "labels" in read_sidecar(run_dir / "model.onnx")["interface"]["inputs"]
    common = ["--model", str(run_dir), "--sequence", "walk:40,idle:30", "--seed", "2", "--steps", "10", "--no-cleanup",
              "--loop"]
    assert cli(["generate", *common, "--out", str(tmp_path / "torch")]) == 0
    assert cli(["generate", *common, "--out", str(tmp_path / "onnx"), "--backend", "onnx"]) == 0
    a, b = read_bvh(tmp_path / "torch" / "generate_0.bvh"), read_bvh(tmp_path / "onnx" / "generate_0.bvh")
    assert np.abs(a.world_positions() - b.world_positions()).max() < 1e-3 * a.skeleton.size
    # The labels reach the exported graph: with the label vectors made to matter, each
    # frame's clip changes the step, in torch and onnxruntime alike.
    with torch.no_grad():
        run.network.label.weight.normal_(0.0, 1.0, generator=torch.Generator().manual_seed(0))
    path = tmp_path / "labelled.onnx"
    export_onnx(run, path)
    x = torch.randn(2, 45, run.layout.n_channels, generator=torch.Generator().manual_seed(1))
    t = torch.tensor([700, 30])
    session = OnnxDenoiser(path)
    for labels in (torch.zeros(2, 45, dtype=torch.long), torch.tensor([[1] * 20 + [2] * 25, [0] * 45])):
        with torch.no_grad():
            want = Diffusion().predict_x0(run.network, x, t, labels).numpy()
        assert np.abs(session(x.numpy(), t.numpy(), labels.numpy()) - want).max() <= 1e-4
    other = session(x.numpy(), t.numpy(), np.ones((2, 45), dtype=np.int64))
    assert np.abs(other - session(x.numpy(), t.numpy(), np.zeros((2, 45), dtype=np.int64))).max() > 1e-2
