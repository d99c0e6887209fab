"""The command line: info and convert on real and synthetic clips, and its error contract."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import ROOT, clip_params, require, synthetic_bvh

from sinmdm.anim.bvh import read_bvh
from sinmdm.cli.app import run


def test_info_describes_the_clip(write_clip, capsys):
    path = write_clip(synthetic_bvh(45, frame_time="0.0166667"))
    assert run(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "8 (+4 End Sites)" in out
    assert "45 at 60 fps" in out
    assert "0.75 s" in out
    assert "ZXY (1 joint)" in out and "none (1 joint)" in out
    assert "23 frames at 30 fps" in out  # the rate the model sees by default
    assert "LeftFoot  [pos XYZ, rot XZY]" in out
    assert "Fixed  [no channels]" in out


def test_info_contact_override(write_clip, capsys):
    path = write_clip(synthetic_bvh(45))
    assert run(["info", str(path), "--contacts", "LeftFoot,RightFoot End Site", "--no-tree"]) == 0
    out = capsys.readouterr().out
    assert "2  [given]" in out
    assert re.search(r"\n +LeftFoot +planted in \d+% of frames, rests at height", out)
    assert re.search(r"\n +RightFoot End Site +planted in", out)
    assert "joint tree" not in out


def test_convert_resamples_and_keeps_the_true_frame_time(write_clip, tmp_path, capsys):
    path = write_clip(synthetic_bvh(61, frame_time="0.016667"))
    out = tmp_path / "sub" / "out.bvh"
    assert run(["convert", str(path), str(out), "--fps", "30"]) == 0
    motion = read_bvh(out)
    assert motion.n_frames == 31
    assert "Frame Time: 0.0333333333" in out.read_text()
    assert str(out) in capsys.readouterr().out


@pytest.mark.parametrize(
    "args",
    [
        ["info", "{missing}"],
        ["info", "{bad}"],
        ["convert", "{bad}", "{out}"],
        ["convert", "{good}", "{out}", "--fps", "-3"],
        ["info", "{good}", "--contacts", "Nope"],
        ["info", "{good}", "--preset", "unicorn"],
    ],
)
def test_errors_exit_nonzero_with_one_line_and_write_nothing(args, write_clip, tmp_path, capsys):
    good = write_clip(synthetic_bvh(10), "good.bvh")
    lines = synthetic_bvh(10).splitlines()
    lines[-2] += " 7"
    bad = write_clip("\n".join(lines), "bad.bvh")
    names = {"missing": tmp_path / "missing.bvh", "bad": bad, "good": good, "out": tmp_path / "out.bvh"}
    code = run([a.format(**names) for a in args])
    captured = capsys.readouterr()
    assert code != 0
    assert "Traceback" not in captured.err
    assert not (tmp_path / "out.bvh").exists()
    assert list(tmp_path.glob(".out.bvh*")) == []
    if "{bad}" in args:
        assert captured.err.strip() == f"sinmdm: error: {bad}:{len(lines) - 1}: frame row has 28 values, expected 27"


def test_shim_and_module_run_without_traceback(write_clip):
    bad = write_clip("HIERARCHY\nROOT x\n")
    for cmd in ([sys.executable, str(ROOT / "cli.py")], [sys.executable, "-m", "sinmdm"]):
        result = subprocess.run([*cmd, "info", str(bad)], capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert str(bad) in result.stderr


def test_help_lists_every_option():
    result = subprocess.run(
        [sys.executable, "-m", "sinmdm", "info", "--help"], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0
    for option in ("--contacts", "--preset", "--fps", "--tree"):
        assert option in result.stdout


@pytest.mark.parametrize("path", clip_params())
def test_info_and_convert_on_real_clips(path, tmp_path, capsys):
    path = require(path)
    assert run(["info", str(path), "--no-tree"]) == 0
    assert "rig preset" in capsys.readouterr().out
    out = tmp_path / "out.bvh"
    assert run(["convert", str(path), str(out)]) == 0
    assert read_bvh(out).n_frames == read_bvh(path).n_frames


@pytest.mark.parametrize(
    "command, options",
    [
        ("generate", ["--length", "--loop"]),
        ("expand", ["--length", "--prefix", "--suffix", "--ref"]),
        ("inbetween", ["--prefix", "--suffix", "--length", "--keyframes", "--ref"]),
        ("compose", ["--keep", "--preset", "--ref"]),
        ("transfer", ["--strength"]),
        ("crowd", ["--length", "--layout", "--spacing", "--time-offset"]),
    ],
)
def test_sampler_commands_share_their_options(command, options):
    from typer.testing import CliRunner

    from sinmdm.cli.app import app

    result = CliRunner().invoke(app, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    for option in ["--model", "--n", "--seed", "--steps", "--out", "--device", "--render", "--no-cleanup", "--force", *options]:
        assert option in result.output, option


def test_render_help_explains_every_option():
    from typer.testing import CliRunner

    from sinmdm.cli.app import app

    result = CliRunner().invoke(app, ["render", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for option in ["--out", "--layout", "--camera", "--still", "--poses", "--size", "--fps", "--azimuth", "--elevation", "--force"]:
        assert option in result.output, option
