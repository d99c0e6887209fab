"""Hostile input: every command that reads a BVH fails on a malformed file with one line
naming the file, no traceback and no output; the parser, fuzzed, only ever returns a
valid clip or raises the tool's own error."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import synthetic_bvh
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sinmdm.anim import bvh, bvh_parser
from sinmdm.anim.bvh import parse_bvh, read_bvh
from sinmdm.base.errors import BVHError, SinmdmError
from sinmdm.cli.app import run
from sinmdm.model import checkpoint
from sinmdm.model.checkpoint import load_checkpoint
from sinmdm.model.diffusion import Diffusion
from sinmdm.model.runs import run_lock
from sinmdm.model.settings import TrainSettings
from sinmdm.model.train import train

GOOD = synthetic_bvh(40, seed=3, smooth=True)


def _row_edit(index: int, value: str):
    def edit(text: str) -> str:
        lines = text.splitlines()
        row = lines[-5].split()
        row[index] = value
        lines[-5] = " ".join(row)
        return "\n".join(lines) + "\n"

    return edit


def _deep(levels: int) -> str:
    lines = ["HIERARCHY", "ROOT j0", "{", "OFFSET 0 0 0", "CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation"]
    for i in range(1, levels):
        lines += [f"JOINT j{i}", "{", "OFFSET 0 1 0", "CHANNELS 3 Zrotation Xrotation Yrotation"]
    lines += ["End Site", "{", "OFFSET 0 1 0", "}"] + ["}"] * levels
    return "\n".join(lines + ["MOTION", "Frames: 2", "Frame Time: 0.0333"] + [" ".join(["0"] * (3 + 3 * levels))] * 2) + "\n"


# name -> (file content, words the message must contain)
CORPUS: dict[str, tuple[bytes, str]] = {
    "empty": (b"", "empty"),
    "binary": (np.random.default_rng(0).bytes(4096), "binary"),
    "truncated-hierarchy": (GOOD[: GOOD.index("JOINT RightLeg")].encode(), "no MOTION section"),
    "truncated-motion": (GOOD[: GOOD.rindex("\n", 0, len(GOOD) - 200) - 7].encode(), "header says 40 frames"),
    "truncated-after-header": (GOOD[: GOOD.index("Frames:")].encode(), "'Frames:'"),
    "wrong-width": (_row_edit(3, "1.0 2.0")(GOOD).encode(), "values, expected 27"),
    "nan": (_row_edit(4, "nan")(GOOD).encode(), "NaN"),
    "inf": (_row_edit(4, "-inf")(GOOD).encode(), "infinite"),
    "absurd-value": (_row_edit(4, "1e300")(GOOD).encode(), "absurd magnitude"),
    "absurd-offset": (GOOD.replace("OFFSET 0.000000 4.000000 0.000000", "OFFSET 0 1e12 0").encode(), "absurd magnitude"),
    "zero-frame-time": (GOOD.replace("Frame Time: 0.0333333", "Frame Time: 0").encode(), "positive"),
    "negative-frame-time": (GOOD.replace("Frame Time: 0.0333333", "Frame Time: -0.03").encode(), "positive"),
    "missing-frame-time": (GOOD.replace("Frame Time: 0.0333333\n", "").encode(), "'Frame Time:'"),
    "duplicate-names": (GOOD.replace("JOINT Head", "JOINT Spine").encode(), "duplicate joint names"),
    "unknown-channel": (GOOD.replace("Zrotation Yrotation Xrotation", "Zrotation Yrotation Qrotation", 1).encode(), "unknown channel"),
    "non-utf8-name": (GOOD.encode().replace(b"JOINT Head", b"JOINT He\xff\xfead"), "UTF-8"),
    "huge-header-line": (b"HIERARCHY\nROOT " + b"a" * (2 << 20) + b"\n", "MB"),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hostile")


@pytest.fixture(scope="module")
def good_clip(folder: Path) -> Path:
    clip = folder / "good.bvh"
    clip.write_text(GOOD)
    return clip


@pytest.fixture(scope="module")
def model(folder: Path, good_clip: Path) -> Path:
    settings = TrainSettings(steps=2, width=16, blocks=2, batch=2, crop=24, warmup=1, checkpoint_seconds=1e9)
    path, _ = train(good_clip, folder / "run", settings, device=torch.device("cpu"))
    return path


@pytest.fixture(scope="module")
def huge_row(folder: Path) -> Path:
    """A MOTION block that is one 100 MB line."""
    path = folder / "huge-row.bvh"
    header = GOOD.split("MOTION")[0] + "MOTION\nFrames: 1\nFrame Time: 0.0333\n"
    with open(path, "wb") as out:
        out.write(header.encode())
        out.write(b"1.5 " * (25 << 20) + b"\n")
    return path


def commands(bad: Path, out: Path, model: Path) -> dict[str, list[str]]:
    """Every command that reads a BVH file given by the user, reading ``bad``."""
    m = ["--model", str(model), "--steps", "2", "--out", str(out)]
    return {
        "info": ["info", str(bad)],
        "convert": ["convert", str(bad), str(out / "converted.bvh")],
        "train": ["train", str(bad), "--steps", "1", "--width", "16", "--blocks", "1", "--out", str(out / "run")],
        "expand": ["expand", "--ref", str(bad), "--length", "2x", *m],
        "inbetween": ["inbetween", "--ref", str(bad), *m],
        "compose": ["compose", "--ref", str(bad), "--keep", "Hips,Spine", *m],
        "transfer": ["transfer", str(bad), *m],
        "render": ["render", str(bad), "--out", str(out / "video.gif")],
    }


def check_refused(args: list[str], bad: Path, out: Path, message: str, capsys) -> None:
    code = run(args)
    err = capsys.readouterr().err.strip()
    assert code not in (0, None), args
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1 and err.startswith("sinmdm: error: "), err
    assert str(bad) in err and message in err, err
    assert not out.exists() or not any(out.rglob("*")), list(out.rglob("*"))


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_every_command_refuses_hostile_files_cleanly(case, folder, model, capsys):
    content, message = CORPUS[case]
    bad = folder / f"{case}.bvh"
    bad.write_bytes(content)
    for name, args in commands(bad, folder / f"out-{case}", model).items():
        check_refused(args, bad, folder / f"out-{case}", message, capsys)


def test_a_100_mb_line_is_refused_without_tokenising_it(folder, model, huge_row, capsys):
    for name, args in commands(huge_row, folder / "out-huge", model).items():
        check_refused(args, huge_row, folder / "out-huge", "far too long", capsys)


def test_valid_but_unusable_clips_are_refused_where_they_cannot_be_used(folder, capsys):
    """One frame, or fewer frames than the receptive field, is a valid file: it can be
    inspected and converted, but not trained on."""
    for frames in (1, 8):
        clip = folder / f"short{frames}.bvh"
        clip.write_text(synthetic_bvh(frames))
        assert run(["info", str(clip)]) == 0
        assert run(["convert", str(clip), str(folder / f"short{frames}-out.bvh")]) == 0
        out = folder / f"short{frames}-run"
        said = "1 frame at 30 fps is shorter" if frames == 1 else "8 frames at 30 fps is shorter"
        check_refused(["train", str(clip), "--out", str(out)], clip, out, said, capsys)


def test_a_hierarchy_10000_levels_deep_reads_without_recursion(tmp_path):
    path = tmp_path / "deep.bvh"
    path.write_text(_deep(10_000))
    motion = read_bvh(path)
    assert motion.skeleton.n_joints == 10_000 and int(motion.skeleton.depths.max()) == 9_999
    bvh.write_bvh(tmp_path / "again.bvh", motion)
    assert read_bvh(tmp_path / "again.bvh").skeleton.names == motion.skeleton.names


def test_chunked_reading_matches_whole_reading(monkeypatch):
    text = synthetic_bvh(50, seed=4)
    whole = parse_bvh(text.encode())
    monkeypatch.setattr(bvh_parser, "CHUNK_BYTES", 300)  # a few rows per chunk
    monkeypatch.setattr(bvh, "CONVERT_FRAMES", 7)
    chunked = parse_bvh(text.encode())
    np.testing.assert_array_equal(chunked.rotations, whole.rotations)
    np.testing.assert_array_equal(chunked.translations, whole.translations)
    lines = text.splitlines()
    lines[-9] += " 3.0"
    with pytest.raises(BVHError) as err:
        parse_bvh(("\n".join(lines) + "\n").encode())
    assert err.value.line == len(lines) - 8


# ------------------------------------------------------------------------- fuzzing
FUZZ_BASE = synthetic_bvh(6, seed=5)
TOKENS = ["{", "}", "JOINT", "End", "Site", "OFFSET", "CHANNELS", "3", "MOTION", "Frames:", "nan", "-", "1e999", "\x00", "\xff", ""]


@st.composite
def mutated(draw) -> bytes:
    """The base file with a few lines or tokens dropped, duplicated, swapped or corrupted."""
    lines = [line.split(" ") for line in FUZZ_BASE.splitlines()]
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["drop-line", "dup-line", "drop-token", "dup-token", "replace-token", "insert-token", "truncate"]))
        if kind == "drop-line":
            del lines[i]
        elif kind == "dup-line":
            lines.insert(i, list(lines[i]))
        elif kind == "truncate":
            lines = lines[: i + 1]
            lines[-1] = lines[-1][: draw(st.integers(0, len(lines[-1])))]
        else:
            tokens = lines[i]
            j = draw(st.integers(0, max(len(tokens) - 1, 0)))
            new = draw(st.sampled_from(TOKENS) | st.text(max_size=6))
            if kind == "drop-token" and tokens:
                del tokens[j]
            elif kind == "dup-token" and tokens:
                tokens.insert(j, tokens[j])
            elif kind == "replace-token" and tokens:
                tokens[j] = new
            else:
                tokens.insert(j, new)
        if not lines:
            break
    text = "\n".join(" ".join(t) for t in lines)
    return text.encode("utf-8", "surrogatepass") if draw(st.booleans()) else text.encode("latin-1", "replace")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated())
def test_fuzzed_files_parse_to_a_valid_clip_or_raise_our_error(data):
    try:
        motion = parse_bvh(data)
    except BVHError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    skeleton = motion.skeleton
    assert motion.n_frames >= 1 and motion.frame_time > 0
    assert motion.rotations.shape == (motion.n_frames, skeleton.n_joints, 3, 3)
    assert np.isfinite(motion.rotations).all() and np.isfinite(motion.translations).all()
    assert len(set(skeleton.names)) == skeleton.n_joints


# ------------------------------------------------------------------ mismatched inputs
def _other_skeleton() -> str:
    return synthetic_bvh(40, seed=3, smooth=True).replace("LeftFoot", "LeftPaw").replace("JOINT Head", "JOINT Skull")


@pytest.mark.parametrize(
    "args, message",
    [
        (["expand", "--ref", "{other}", "--length", "2x"], "missing joints Head, LeftFoot; unexpected joints Skull, LeftPaw"),
        (["transfer", "{other}"], "content {other}: not the skeleton this model was trained on"),
        (["compose", "--keep", "Hips,Tail"], "'Tail' is neither a joint"),
        (["compose", "--keep", "subtree:Wing"], "Wing"),
        (["expand", "--length", "20"], "shorter than the reference's 40 frames"),
        (["inbetween", "--keyframes", "0,39,45"], "'45' is past the reference's end (at most 39)"),
        (["inbetween", "--prefix", "0.8", "--suffix", "0.3"], "must come before"),
    ],
    ids=["ref-skeleton", "content-skeleton", "keep-unknown", "keep-subtree-unknown", "short-expand", "keyframe-past-end", "prefix-after-suffix"],
)
def test_mismatched_inputs_name_the_difference(args, message, folder, model, capsys):
    other = folder / "other.bvh"
    other.write_text(_other_skeleton())
    out = folder / f"out-mismatch-{args[0]}-{len(args)}"
    code = run([a.format(other=other) for a in args] + ["--model", str(model), "--steps", "2", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "Traceback" not in err and len(err.splitlines()) == 1
    assert message.format(other=other) in err, err
    assert not out.exists()


# ------------------------------------------------------------------ runs and checkpoints
TINY = dict(width=16, blocks=2, batch=2, crop=24, warmup=1)


def test_a_second_training_on_a_locked_run_refuses(good_clip, tmp_path):
    with run_lock(tmp_path / "busy"):
        with pytest.raises(SinmdmError, match="is being trained by process"):
            train(good_clip, tmp_path / "busy", TrainSettings(steps=1, **TINY), device=torch.device("cpu"))
    train(good_clip, tmp_path / "busy", TrainSettings(steps=1, **TINY), device=torch.device("cpu"))  # free again


def test_a_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(good_clip, tmp_path, monkeypatch):
    real = Diffusion.loss
    calls = []

    def failing(self, *args, **kwargs):
        calls.append(1)
        loss = real(self, *args, **kwargs)
        return loss * float("nan") if len(calls) == 4 else loss

    monkeypatch.setattr(Diffusion, "loss", failing)
    with pytest.raises(SinmdmError, match=r"diverged: the loss is nan at step 4; the checkpoint of step 3"):
        train(good_clip, tmp_path / "run", TrainSettings(steps=10, checkpoint_seconds=0, **TINY), device=torch.device("cpu"))
    state = load_checkpoint(tmp_path / "run" / "model.pt")
    assert state["step"] == 3 and all(torch.isfinite(v).all() for v in state["model"].values())


def test_a_full_disk_keeps_the_previous_checkpoint_intact(good_clip, tmp_path, monkeypatch):
    real = torch.save
    saves = []

    def disk_fills(obj, handle, *args, **kwargs):
        saves.append(1)
        if len(saves) > 2:
            handle.write(b"partial")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(obj, handle, *args, **kwargs)

    monkeypatch.setattr(checkpoint.torch, "save", disk_fills)
    with pytest.raises(SinmdmError, match="cannot write checkpoint: No space left on device"):
        train(good_clip, tmp_path / "run", TrainSettings(steps=10, checkpoint_seconds=0, **TINY), device=torch.device("cpu"))
    assert load_checkpoint(tmp_path / "run" / "model.pt")["step"] == 2
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [".lock", "clip.bvh", "model.pt"]  # no temporary left


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_killed_training_process_saves_and_resumes_at_the_same_step(sig, good_clip, tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "sinmdm", "train", str(good_clip), "--width", "16", "--blocks", "2", "--out", str(out)]
    process = subprocess.Popen([*command, "--steps", "1000000"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (out / "clip.bvh").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)  # the clip is copied when the training loop is about to start
    time.sleep(1.0)
    process.send_signal(sig)
    _, err = process.communicate(timeout=120)
    assert process.returncode in (0, 130), err.decode()
    assert b"Traceback" not in err
    step = load_checkpoint(out / "model.pt")["step"]
    assert step > 0
    done = subprocess.run([*command, "--resume", "--steps", str(step + 3)], cwd=tmp_path, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    assert f"resuming at step {step}" in done.stderr.decode()
    assert load_checkpoint(out / "model.pt")["step"] == step + 3
