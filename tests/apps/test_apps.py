"""The sampler applications (expand, inbetween, compose, transfer, crowd) on tiny models
trained for seconds: exact lengths, given frames and joints kept, the skeleton unchanged,
seeds reproducible, and clear errors that write nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import data_dir, synthetic_bvh

from sinmdm.anim.bvh import read_bvh
from sinmdm.apps.crowd import Placement, place, positions
from sinmdm.apps.edit import (
    _segments,
    expand_edit,
    fade,
    inbetween_edit,
    keyframe_edit,
    load_reference,
    parse_position,
    pin_trajectory,
    ramp_frames,
    root_path,
)
from sinmdm.base.errors import SinmdmError
from sinmdm.cli.app import run as cli
from sinmdm.evaluation.metrics import seam_jump
from sinmdm.model.runs import Run
from sinmdm.model.settings import TrainSettings
from sinmdm.model.train import train

TINY = dict(width=32, blocks=2, batch=8, crop=24, warmup=5, checkpoint_seconds=1e9)
TOLERANCE = 1e-3  # of the skeleton's height, in world position


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> tuple[Path, Path]:
    """A tiny model trained on a 90-frame synthetic clip, and the clip."""
    folder = tmp_path_factory.mktemp("apps")
    clip = folder / "creature.bvh"
    clip.write_text(synthetic_bvh(90, seed=1, smooth=True))
    run_dir, finished = train(clip, folder / "run", TrainSettings(steps=30, **TINY), device=torch.device("cpu"))
    assert finished
    return run_dir, clip


def _cli(capsys, *args: str) -> list[Path]:
    """Run the CLI, expect success, return the files it printed."""
    code = cli([str(a) for a in args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return [Path(line) for line in captured.out.splitlines() if line.endswith((".bvh", ".json"))]


def _world_error(a, b, frames_a, frames_b) -> float:
    """Largest world-position difference between frames of two motions, in heights."""
    pa, pb = a.world_positions()[frames_a], b.world_positions()[frames_b]
    return float(np.abs(pa - pb).max() / a.skeleton.size)


def _reference(run_dir: Path):
    run = Run.load(run_dir, torch.device("cpu"))
    return run, load_reference(run, None)


# ------------------------------------------------------------------------------ expand
def test_expand_keeps_the_reference_in_the_middle(model, tmp_path, capsys):
    run_dir, _ = model
    run, ref = _reference(run_dir)
    files = _cli(capsys, "expand", "--model", run_dir, "--length", "150", "--n", "2", "--steps", "5", "--out", tmp_path)
    assert [f.name for f in files] == ["expand_0.bvh", "expand_1.bvh"]
    plan = expand_edit(run.layout, ref, 30, 30)
    kept = plan.given_frames()
    assert len(kept) == 90 - 2 * ramp_frames(run.layout.fps)  # all but the two ramps
    for path in files:
        out = read_bvh(path)
        assert out.n_frames == 150
        assert out.skeleton.difference(ref.skeleton) is None
        assert _world_error(out, ref, kept, plan.source[kept]) < TOLERANCE


def test_expand_prefix_and_suffix_split_the_added_length(model, tmp_path, capsys):
    run_dir, _ = model
    run, ref = _reference(run_dir)
    [path] = _cli(capsys, "expand", "--model", run_dir, "--prefix", "10", "--suffix", "1s", "--steps", "3", "--out", tmp_path)
    out = read_bvh(path)
    assert out.n_frames == 10 + 90 + 30
    plan = expand_edit(run.layout, ref, 10, 30)
    kept = plan.given_frames()
    assert kept.min() > 10 and kept.max() < 100
    assert _world_error(out, ref, kept, kept - 10) < TOLERANCE
    code = cli(["expand", "--model", str(run_dir), "--length", "100", "--prefix", "20", "--out", str(tmp_path / "x")])
    assert code == 1 and "add up" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_same_seed_same_output_other_seed_differs(model, tmp_path, capsys):
    run_dir, _ = model
    common = ["expand", "--model", run_dir, "--length", "120", "--steps", "4"]
    [a] = _cli(capsys, *common, "--seed", "3", "--out", tmp_path / "a")
    [b] = _cli(capsys, *common, "--seed", "3", "--out", tmp_path / "b")
    [c] = _cli(capsys, *common, "--seed", "4", "--out", tmp_path / "c")
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


# --------------------------------------------------------------------------- inbetween
def test_inbetween_keeps_prefix_and_suffix_and_sets_the_middle_length(model, tmp_path, capsys):
    run_dir, _ = model
    run, ref = _reference(run_dir)
    [path] = _cli(
        capsys, "inbetween", "--model", run_dir, "--prefix", "0.25", "--suffix", "60", "--length", "50",
        "--steps", "5", "--out", tmp_path,
    )
    out = read_bvh(path)
    assert out.n_frames == 22 + 50 + 30  # round(0.25 * 90) = 22 frames before, frames 60.. after
    plan = inbetween_edit(run.layout, ref, 22, 60, 50)
    kept = plan.given_frames()
    assert set(kept) <= set(range(22)) | set(range(72, 102))
    assert _world_error(out, ref, kept, plan.source[kept]) < TOLERANCE
    assert out.skeleton.difference(ref.skeleton) is None


def test_inbetween_keyframes_are_kept_exactly(model, tmp_path, capsys):
    run_dir, _ = model
    _, ref = _reference(run_dir)
    [path] = _cli(capsys, "inbetween", "--model", run_dir, "--keyframes", "0,40,1.0", "--steps", "5", "--out", tmp_path)
    out = read_bvh(path)
    keys = [0, 40, 89]
    assert out.n_frames == 90
    assert _world_error(out, ref, keys, keys) < TOLERANCE
    assert _world_error(out, ref, [20], [20]) > TOLERANCE  # between keys: generated


# ----------------------------------------------------------------------------- compose
def test_compose_keeps_the_named_joints(model, tmp_path, capsys):
    run_dir, _ = model
    _, ref = _reference(run_dir)
    # Hips (the root) plus the left leg: world positions follow the reference exactly.
    [path] = _cli(capsys, "compose", "--model", run_dir, "--keep", "Hips,subtree:LeftLeg", "--steps", "5", "--out", tmp_path)
    out = read_bvh(path)
    names = ["Hips", "LeftLeg", "LeftFoot"]
    kept = [ref.skeleton.index(n) for n in names]
    frames = np.arange(90)
    assert np.abs(out.world_positions()[:, kept] - ref.world_positions()[:, kept]).max() < TOLERANCE * ref.skeleton.size
    head = ref.skeleton.index("Head")
    assert np.abs(out.world_positions()[:, head] - ref.world_positions()[:, head]).max() > TOLERANCE
    assert _world_error(out, ref, frames, frames) > TOLERANCE
    # Without the root, the kept joints keep their local motion.
    [path] = _cli(capsys, "compose", "--model", run_dir, "--keep", "subtree:Spine", "--steps", "5", "--out", tmp_path / "b")
    out = read_bvh(path)
    spine = [ref.skeleton.index("Spine"), head]
    np.testing.assert_allclose(out.rotations[:, spine], ref.rotations[:, spine], atol=1e-5)


@pytest.mark.parametrize(
    "keep, message", [("Tail", "neither a joint"), ("subtree:Hips", "nothing is left"), ("Fixed", "no joint that moves")]
)
def test_compose_rejects_bad_parts_and_writes_nothing(model, tmp_path, capsys, keep, message):
    run_dir, _ = model
    code = cli(["compose", "--model", str(run_dir), "--keep", keep, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 1 and message in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------- skeleton mismatch
@pytest.mark.parametrize("command", ["expand", "inbetween", "compose", "transfer"])
def test_a_reference_on_another_skeleton_fails_and_writes_nothing(model, tmp_path, capsys, command):
    run_dir, _ = model
    other = tmp_path / "other.bvh"
    other.write_text(synthetic_bvh(90, seed=2, smooth=True).replace("RightFoot", "RightPaw"))
    args = [command, "--model", str(run_dir), "--out", str(tmp_path / "o")]
    args += [str(other)] if command == "transfer" else ["--ref", str(other)]
    args += ["--keep", "Hips"] if command == "compose" else []
    code = cli(args)
    err = capsys.readouterr().err
    assert code == 1
    assert "not the skeleton this model was trained on" in err and "RightFoot" in err and "RightPaw" in err
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------------------- transfer
def test_transfer_keeps_the_content_length_and_path(model, tmp_path, capsys):
    run_dir, _ = model
    run, _ = _reference(run_dir)
    content = tmp_path / "content.bvh"
    content.write_text(synthetic_bvh(70, seed=5, smooth=True))
    files = _cli(capsys, "transfer", content, "--model", run_dir, "--n", "2", "--steps", "5", "--out", tmp_path / "o")
    source = load_reference(run, content)
    for path in files:
        out = read_bvh(path)
        assert out.n_frames == 70 and out.skeleton.difference(source.skeleton) is None
        np.testing.assert_allclose(root_path(run.layout, out), root_path(run.layout, source), atol=1e-4)  # its path
    code = cli(["transfer", str(content), "--model", str(run_dir), "--strength", "1.5"])
    assert code != 0


# ------------------------------------------------------------------------------- crowd
def test_crowd_places_distinct_individuals(model, tmp_path, capsys):
    run_dir, _ = model
    files = _cli(
        capsys, "crowd", "--model", run_dir, "--n", "5", "--length", "40", "--layout", "grid", "--spacing", "30",
        "--time-offset", "0.5", "--steps", "4", "--out", tmp_path,
    )
    record = json.loads((tmp_path / "crowd.json").read_text())
    assert len(record["individuals"]) == 5 and record["inter_sample_diversity"] > 0
    motions = [read_bvh(p) for p in files if p.suffix == ".bvh"]
    assert len(motions) == 5
    for motion, spot in zip(motions, record["individuals"]):
        assert motion.n_frames == 40
        start = motion.world_positions()[0, 0]
        assert start[0] == pytest.approx(spot["x"], abs=1e-4) and start[2] == pytest.approx(spot["z"], abs=1e-4)
        assert 0 <= spot["offset"] <= 15
    spots = np.array([[s["x"], s["z"]] for s in record["individuals"]])
    gaps = np.linalg.norm(spots[:, None] - spots[None], axis=-1) + np.eye(5) * 1e9
    assert gaps.min() >= 30 - 1e-9
    assert not np.allclose(motions[0].rotations[:, 1:], motions[1].rotations[:, 1:])


def test_random_layout_keeps_the_spacing():
    where = positions(40, "random", 2.0, np.random.default_rng(0))
    gaps = np.linalg.norm(where[:, None] - where[None], axis=-1) + np.eye(40) * 1e9
    assert where.shape == (40, 2) and gaps.min() >= 2.0
    with pytest.raises(SinmdmError, match="layout"):
        positions(3, "ring", 1.0, np.random.default_rng(0))


def test_place_turns_and_moves_the_whole_motion(model):
    run_dir, _ = model
    run, ref = _reference(run_dir)
    placed = place(run.layout, ref, Placement(x=5.0, z=-7.0, heading=90.0, offset=0))
    before, after = ref.world_positions(), placed.world_positions()
    start = before[0, 0] * [1, 0, 1]
    turn = np.array([[0.0, 0, 1], [0, 1, 0], [-1, 0, 0]])  # 90 degrees about +Y
    expected = (turn @ (before - start)[..., None])[..., 0] + [5.0, 0, -7.0]
    np.testing.assert_allclose(after, expected, atol=1e-9)
    np.testing.assert_array_equal(placed.rotations[:, 1:], ref.rotations[:, 1:])  # only the root changed


# ------------------------------------------------------------------------ unit helpers
@pytest.mark.parametrize("text, frames, expected", [("0.25", 90, 22), ("40", 90, 40), (".5", 10, 5), ("1.0", 90, 90), ("0", 9, 0)])
def test_parse_position(text, frames, expected):
    assert parse_position(text, frames, "--prefix") == expected


@pytest.mark.parametrize("text", ["1.5", "-3", "abc", "91"])
def test_parse_position_rejects(text):
    with pytest.raises(SinmdmError):
        parse_position(text, 90, "--prefix")


def test_segments_and_ramps():
    source = np.array([-1, -1, 0, 1, 2, 3, 4, 5, -1, 9, 7, 8])
    assert _segments(source) == [(2, 8), (9, 10), (10, 12)]
    weights = fade(6, 2, fade_in=True, fade_out=False)
    assert weights[-1] == 1 and np.all(np.diff(weights) >= 0) and 0 < weights[0] < 0.5
    assert np.all(fade(1, 8, True, True) == 1)


def test_keyframes_outside_the_clip_fail(model):
    run_dir, _ = model
    run, ref = _reference(run_dir)
    with pytest.raises(SinmdmError, match="outside"):
        keyframe_edit(run.layout, ref, [0, 95])
    with pytest.raises(SinmdmError, match="before"):
        inbetween_edit(run.layout, ref, 50, 40, 10)


def test_pin_trajectory_passes_through_anchors_and_stays_continuous(model):
    run_dir, _ = model
    run, ref = _reference(run_dir)
    targets = root_path(run.layout, ref) + [3.0, -2.0]
    anchors = np.zeros(ref.n_frames, dtype=bool)
    anchors[[10, 60]] = True
    targets[60] += [1.0, 0.0]
    pinned = pin_trajectory(run.layout, ref, targets, anchors)
    path = root_path(run.layout, pinned)
    np.testing.assert_allclose(path[[10, 60]], targets[[10, 60]], atol=1e-9)
    step = np.linalg.norm(np.diff(path - root_path(run.layout, ref), axis=0), axis=-1)
    assert step.max() <= 1.0 / 50 + 1e-9  # the extra metre is spread over the 50 frames between anchors


def test_seam_jump_sees_a_pop(model):
    run_dir, _ = model
    _, ref = _reference(run_dir)
    assert seam_jump(ref, ref, [45], 4) < 1.5
    translations = ref.translations.copy()
    translations[45:, 0, 0] += 5 * ref.skeleton.size  # the whole body jumps sideways (this clip is fast)
    popped = type(ref)(ref.skeleton, ref.rotations, translations, ref.frame_time)
    assert seam_jump(ref, popped, [45], 4) > 2
    assert seam_jump(ref, popped, [20], 4) < 1.5  # the pop is not near this seam


# ------------------------------------------------------------------ real clips (Xia)
def test_style_transfer_on_the_xia_pair(tmp_path, capsys):
    folder = data_dir()
    if folder is None:
        pytest.skip("real clips not found (set SINMDM_DATA)")
    style, content = folder / "xia" / "proud.bvh", folder / "xia" / "normal.bvh"
    run_dir, _ = train(style, tmp_path / "proud", TrainSettings(steps=20, **TINY), device=torch.device("cpu"))
    files = _cli(capsys, "transfer", content, "--model", run_dir, "--steps", "5", "--out", tmp_path / "o")
    out = read_bvh(files[0])
    source = read_bvh(content)
    assert out.n_frames == 90  # 360 frames at 120 fps, at the model's 30
    assert out.skeleton.difference(source.skeleton) is None
    # Keep the lower body (the CMU preset's part, with the root) of the style clip itself.
    [path] = _cli(capsys, "compose", "--model", run_dir, "--keep", "lower_body", "--steps", "5", "--out", tmp_path / "c")
    out, ref = read_bvh(path), read_bvh(style).resample(30)
    legs = [ref.skeleton.index(n) for n in ("Hips", "LeftUpLeg", "LeftFoot", "RightToeBase")]
    error = np.abs(out.world_positions()[:, legs] - ref.world_positions()[:, legs]).max() / ref.skeleton.size
    assert error < TOLERANCE


# -------------------------------------------------------------------------------- eval
def test_eval_reports_sliding_and_jerk_with_and_without_cleanup(model, capsys):
    run_dir, _ = model
    assert cli(["eval", "--model", str(run_dir), "--n", "2", "--steps", "3", "--length", "60", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["cleanup"] is True and report["samples"] == 2 and report["frames"] == 60
    for key in ("sliding_ratio", "jerk_ratio", "sliding_ratio_without_cleanup", "jerk_ratio_without_cleanup", "coverage",
                "replay_seconds", "self_replay_seconds"):
        assert np.isfinite(report[key]), key
    assert report["sliding_bands"] == [0.03, 0.05, 0.08, 0.12] and len(report["sliding_ratios"]) == 4
    assert report["sliding_ratio"] == max(report["sliding_ratios"])  # the worst band counts
    assert cli(["eval", "--model", str(run_dir), "--n", "2", "--steps", "3", "--length", "60", "--json", "--no-cleanup"]) == 0
    raw = json.loads(capsys.readouterr().out)
    assert raw["cleanup"] is False and "jerk_ratio_without_cleanup" not in raw
    assert raw["jerk_ratio"] == pytest.approx(report["jerk_ratio_without_cleanup"])  # same samples, same seed
    assert cli(["eval", "--model", str(run_dir), "--n", "2", "--steps", "3", "--length", "60"]) == 0
    table = capsys.readouterr().out
    assert "without cleanup" in table and "replay length" in table and "the clip replays itself" in table
    assert "3%:" in table and "12%:" in table
