"""The add-on's command-line runner, outside Blender (it imports no bpy): where the
command is found, the one line a failure is reported as, and training progress read
from `sinmdm train`'s output."""

from __future__ import annotations

import sys

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "blender"))
from sinmdm_blender import runner  # noqa: E402

sys.path.remove(str(ROOT / "blender"))


def test_the_command_comes_from_preferences_then_environment_then_path(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(runner.ENVIRONMENT, "/venv/bin/python -m sinmdm")
    assert runner.executable("/opt/sinmdm") == ["/opt/sinmdm"]
    assert runner.executable("") == ["/venv/bin/python", "-m", "sinmdm"]
    monkeypatch.delenv(runner.ENVIRONMENT)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(runner.SinmdmFailed, match="not found"):
        runner.executable("")
    (tmp_path / "sinmdm").write_text("#!/bin/sh\n")
    (tmp_path / "sinmdm").chmod(0o755)
    assert runner.executable("") == [str(tmp_path / "sinmdm")]


def test_a_failure_is_its_own_error_line(tmp_path) -> None:
    with pytest.raises(runner.SinmdmFailed) as caught:
        runner.run(["train", str(tmp_path / "missing.bvh")], f"{sys.executable} -m sinmdm")
    assert "missing.bvh" in str(caught.value) and "\n" not in str(caught.value)
    assert not str(caught.value).startswith("sinmdm: error")
    assert runner.error_line("one\ntwo\n", 3) == "two" and runner.error_line("", 3) == "sinmdm stopped with exit code 3"


def test_training_progress_is_read_from_its_output() -> None:
    assert runner.progress("step 138  loss 0.4273  2.3 steps/s") == (138, "")
    assert runner.progress("step 30 ━━━━━━ loss 33.7 2.7 steps/s 0:00:11 ETA 0:00:04") == (30, "0:00:04")
    assert runner.progress("model: 2.42 M parameters") is None
