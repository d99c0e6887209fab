"""Each command is thin: it parses its options and calls one function of the apps layer.
These tests replace that function (and the model loading) and check the arguments it gets,
so a command's parsing is tested apart from what the function does. The commands import
the apps layer when they run (for start-up), so the functions are replaced where they live."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

import sinmdm.apps.crowd as crowd_app
import sinmdm.apps.edit as edit_app
import sinmdm.apps.evaluate as evaluate_app
import sinmdm.apps.generate as generate_app
import sinmdm.cli.evaluation as evaluation_cli
import sinmdm.cli.sampling as sampling_cli
from sinmdm.apps.crowd import Crowd
from sinmdm.cli.app import run
from sinmdm.diffusion.config import DiffusionConfig
from sinmdm.sampling.plan import Plan


@pytest.fixture
def fake_run(tmp_path, monkeypatch):
    """A stand-in run (90 frames at 30 fps) that every command of the two modules loads."""
    layout = SimpleNamespace(fps=30.0, skeleton=SimpleNamespace(keypoints=None))
    stub = SimpleNamespace(path=tmp_path, train_frames=90, layout=layout, diffusion=DiffusionConfig(),
                           clip_names=("clip",))
    devices = []
    for module in (sampling_cli, evaluation_cli):
        monkeypatch.setattr(module, "load_run", lambda model, device: devices.append(device) or stub)
    stub.devices = devices
    return stub


def _recorder(monkeypatch, module, name, result):
    calls = []

    def record(*args, **kwargs):
        calls.append((args, kwargs))
        return result

    monkeypatch.setattr(module, name, record)
    return calls


def test_generate_passes_its_options(fake_run, monkeypatch, tmp_path):
    calls = _recorder(monkeypatch, generate_app, "generate", [])
    code = run(["generate", "--length", "2s", "--n", "3", "--seed", "4", "--steps", "7", "--loop", "--free",
                "--no-cleanup", "--backend", "onnx", "--device", "cpu", "--out", str(tmp_path / "o")])
    assert code == 0
    [(args, kwargs)] = calls
    assert args == (fake_run, 3, 60)
    assert {k: kwargs[k] for k in ("steps", "seed", "loop", "plan", "cleanup", "backend")} == dict(
        steps=7, seed=4, loop=True, plan=False, cleanup=False, backend="onnx")
    assert fake_run.devices[-1] == "cpu"  # onnx runs on the CPU whatever --device says


def test_crowd_passes_its_options(fake_run, monkeypatch, tmp_path):
    calls = _recorder(monkeypatch, crowd_app, "make_crowd", Crowd([], {"individuals": []}, float("nan")))
    (tmp_path / "o").mkdir()  # (write_all makes it when there are individuals)
    code = run(["crowd", "--n", "5", "--length", "1x", "--layout", "grid", "--spacing", "30", "--time-offset", "0.5",
                "--seed", "2", "--out", str(tmp_path / "o")])
    assert code == 0
    [(args, kwargs)] = calls
    assert args == (fake_run, 5, 90)
    assert {k: kwargs[k] for k in ("layout", "spacing", "time_offset", "seed", "steps", "plan", "cleanup")} == dict(
        layout="grid", spacing=30.0, time_offset=0.5, seed=2, steps=16, plan=Plan(each=True), cleanup=True)
    assert (tmp_path / "o" / "crowd.json").is_file()
    assert run(["crowd", "--layout", "ring"]) == 2  # a choice outside the Enum is refused before any work
    assert len(calls) == 1


@pytest.mark.parametrize(
    "argv, wanted",
    [
        (["expand"], (None, None, None)),
        (["expand", "--length", "3x", "--prefix", "1s"], ("3x", "1s", None)),
        (["inbetween", "--keyframes", "0,40"], ("0.25", "0.75", None, "0,40")),
        (["inbetween", "--prefix", "10", "--suffix", "0.5", "--length", "2s"], ("10", "0.5", "2s", None)),
    ],
)
def test_editing_commands_hand_their_options_to_the_request(fake_run, monkeypatch, tmp_path, argv, wanted):
    name = "expand_request" if argv[0] == "expand" else "inbetween_request"
    requests = _recorder(monkeypatch, edit_app, name, "the edit")
    monkeypatch.setattr(edit_app, "load_reference", lambda run_, path: "the reference")
    written = _recorder(monkeypatch, sampling_cli, "_write_edit", None)
    assert run([*argv, "--n", "2", "--steps", "3", "--out", str(tmp_path)]) == 0
    [(args, _)] = requests
    assert args[2:] == wanted
    [(args, _)] = written
    assert args[1:7] == ("the reference", "the edit", argv[0], 2, 3, 0)


def test_eval_passes_its_options(fake_run, monkeypatch, capsys):
    report = SimpleNamespace(to_dict=lambda: {"coverage": 1.0})
    calls = _recorder(monkeypatch, evaluate_app, "evaluate_model", SimpleNamespace(report=report, raw=report, seconds=1.0, bones=None))
    assert run(["eval", "--n", "4", "--length", "30", "--seed", "9", "--steps", "5", "--free", "--no-cleanup", "--json"]) == 0
    [(args, kwargs)] = calls
    assert args == (fake_run, 4, 30)
    assert kwargs["seed"] == 9 and kwargs["steps"] == 5 and kwargs["plan"] is False and kwargs["cleanup"] is False
    assert '"coverage": 1.0' in capsys.readouterr().out


def test_train_passes_its_settings_and_previews_after(monkeypatch, tmp_path):
    import sinmdm.apps.preview as preview
    import sinmdm.model.runs as runs
    import sinmdm.model.train as model_train

    calls = _recorder(monkeypatch, model_train, "train", (tmp_path / "run", True))
    previews = _recorder(monkeypatch, preview, "write_preview", None)
    monkeypatch.setattr(runs.Run, "load", lambda path, device: f"run at {path}")
    clip = tmp_path / "clip.bvh"
    code = run(["train", str(clip), "--steps", "12", "--width", "64", "--blocks", "3", "--window", "5",
                "--variance", "0.99", "--stretch", "0.1", "--seed", "3", "--up", "z", "--contacts", "A, B",
                "--device", "cpu", "--out", str(tmp_path / "run")])
    assert code == 0
    [(args, kwargs)] = calls
    settings = args[2]
    assert (args[0], args[1]) == ([Path(clip)], tmp_path / "run")
    assert (settings.steps, settings.minutes, settings.width, settings.blocks, settings.window) == (12, None, 64, 3, 5)
    assert (settings.variance, settings.stretch, settings.seed) == (0.99, 0.1, 3)
    assert kwargs["up"] == "z" and kwargs["contacts"] == ["A", "B"] and kwargs["device"].type == "cpu"
    assert previews == [((f"run at {tmp_path / 'run'}", 3), {})]
