"""The command line on a run of two clips: info names them, --clips, --sequence, --ref and
crowd --clips work by those names, and bad requests end in one line with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import synthetic_bvh

from sinmdm.anim.bvh import read_bvh
from sinmdm.cli.app import run


@pytest.fixture(scope="module")
def two_clip_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("multi")
    walk, idle = folder / "walk.bvh", folder / "idle.bvh"
    walk.write_text(synthetic_bvh(60, seed=1, smooth=True))
    idle.write_text(synthetic_bvh(80, seed=2, smooth=True, frame_time="0.0166667"))  # 60 fps: resampled to 30
    out = folder / "run"
    assert run(["train", str(walk), str(idle), "--steps", "3", "--width", "16", "--blocks", "2", "--balance",
                "--device", "cpu", "--out", str(out)]) == 0
    return out


def test_info_on_a_run_lists_its_clips(two_clip_run, capsys):
    assert run(["info", str(two_clip_run)]) == 0
    out = capsys.readouterr().out
    assert "2 at 30 fps" in out
    assert "walk  60 frames (2.0 s)" in out and "idle  40 frames (1.3 s)" in out
    config = json.loads((two_clip_run / "config.json").read_text())
    assert [c["name"] for c in config["clips"]] == ["walk", "idle"] and config["train"]["balance"] is True


def test_generate_plays_a_sequence_and_records_its_spans(two_clip_run, tmp_path):
    out = tmp_path / "seq"
    assert run(["generate", "--model", str(two_clip_run), "--sequence", "walk:1s,idle:30,walk:0.5x", "--n", "2",
                "--steps", "3", "--loop", "--out", str(out)]) == 0
    assert read_bvh(out / "generate_1.bvh").n_frames == 90
    record = json.loads((out / "generate_sequence.json").read_text())
    assert [(s["clip"], s["start"], s["frames"]) for s in record["spans"]] == [("walk", 0, 30), ("idle", 30, 30),
                                                                                ("walk", 60, 30)]
    assert record["transition"] == 15 and record["loop"] is True


def test_generate_clips_crowd_clips_and_ref_by_name(two_clip_run, tmp_path):
    assert run(["generate", "--model", str(two_clip_run), "--clips", "idle", "--length", "20", "--steps", "2",
                "--out", str(tmp_path / "g")]) == 0
    assert read_bvh(tmp_path / "g" / "generate_0.bvh").n_frames == 20
    assert run(["crowd", "--model", str(two_clip_run), "--clips", "idle,walk", "--n", "3", "--length", "20",
                "--steps", "2", "--out", str(tmp_path / "c")]) == 0
    crowd = json.loads((tmp_path / "c" / "crowd.json").read_text())
    assert [i["clip"] for i in crowd["individuals"]] == ["idle", "walk", "idle"]
    assert run(["expand", "--model", str(two_clip_run), "--ref", "idle", "--length", "60", "--steps", "2",
                "--out", str(tmp_path / "e")]) == 0
    assert read_bvh(tmp_path / "e" / "expand_0.bvh").n_frames == 60  # idle's 40 frames, grown


@pytest.mark.parametrize("args, message", [
    (["--sequence", "fly:1s"], "no clip called 'fly' in this run: its clips are walk, idle"),
    (["--sequence", "walk:1q"], "--sequence length of walk '1q' is not understood"),
    (["--sequence", "walk"], "'walk' is not CLIP:LENGTH"),
    (["--sequence", "walk:1s", "--length", "2s"], "give --length or --sequence, not both"),
    (["--sequence", "walk:1s", "--transition", "x"], "--transition 'x' is not understood"),
    (["--clips", "walk,fly"], "no clip called 'fly'"),
    (["--clips", "walk", "--free"], "--clips chooses what the plan lays out: it cannot go with --free"),
    (["--clips", "walk", "--sequence", "walk:1s"], "give --clips or --sequence, not both"),
])
def test_bad_requests_end_in_one_line_and_write_nothing(two_clip_run, tmp_path, capsys, args, message):
    out = tmp_path / "none"
    assert run(["generate", "--model", str(two_clip_run), "--steps", "2", "--out", str(out), *args]) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_render_captions_a_sequence_output_with_its_spans(two_clip_run, tmp_path, monkeypatch):
    from sinmdm.cli import clips as clips_cli

    out = tmp_path / "seq"
    assert run(["generate", "--model", str(two_clip_run), "--sequence", "walk:1s,idle:1s", "--steps", "2",
                "--out", str(out)]) == 0
    seen = []
    monkeypatch.setattr(clips_cli, "render_videos", lambda videos, fps, **kw: seen.extend(videos))
    assert run(["render", str(out / "generate_0.bvh"), "--fps", "15"]) == 0
    [(_, [scene])] = seen
    assert len(scene.captions) == 30 and scene.captions[0] == "walk" and scene.captions[-1] == "idle"
    assert "walk > idle" in scene.captions
    other = tmp_path / "other.bvh"
    other.write_bytes((out / "generate_0.bvh").read_bytes())  # not beside a record: no captions
    seen.clear()
    assert run(["render", str(other)]) == 0
    assert seen[0][1][0].captions is None
