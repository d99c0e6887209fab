"""Path following on a tiny model trained for seconds: the root on the path and its
heading at the path's direction (minus the clip's own angle) at every frame, cleanup
leaving both alone, the clip's heading-travel angle and speed range, and the command's
files, warnings and errors."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import synthetic_bvh

from sinmdm.anim.bvh import read_bvh
from sinmdm.anim.motion import Motion
from sinmdm.anim.paths import GroundPath
from sinmdm.apps.edit import root_path
from sinmdm.apps.follow import Travel, clip_travel, fit_timing, follow, follow_known, path_track, speed_warning
from sinmdm.cli.app import run as cli
from sinmdm.model.features import FeatureLayout
from sinmdm.model.runs import Run
from sinmdm.model.settings import TrainSettings
from sinmdm.model.train import train

TINY = dict(width=32, blocks=2, batch=8, crop=24, warmup=5, checkpoint_seconds=1e9)


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("follow")
    clip = folder / "creature.bvh"
    clip.write_text(synthetic_bvh(90, seed=1, smooth=True))
    run_dir, finished = train(clip, folder / "run", TrainSettings(steps=20, **TINY), device=torch.device("cpu"))
    assert finished
    return run_dir


def _heading(layout: FeatureLayout, motion: Motion) -> np.ndarray:
    return layout.heading_angle(motion.world()[0][:, layout.traj_joint])


def _apart(a: np.ndarray, b: np.ndarray) -> float:
    """The largest angle between two sequences of angles, in degrees."""
    return float(np.degrees(np.abs(np.angle(np.exp(1j * (a - b))))).max())


CORNER = GroundPath(np.array([[0.0, 0.0], [20.0, 0.0], [20.0, -15.0]]), None, "corner")


@pytest.mark.parametrize("clean", [False, True])
def test_the_root_follows_the_path_facing_as_the_clip_does(model: Path, clean: bool) -> None:
    run = Run.load(model, torch.device("cpu"))
    travel = clip_travel(run.layout, run.clip_set().motions)
    motions, timed = follow(run, CORNER, 2, steps=4, seed=0, travel=travel, clean=clean)
    size = run.layout.skeleton.size
    for motion in motions:
        assert motion.n_frames == timed.frames
        assert np.abs(root_path(run.layout, motion) - timed.xz).max() < 1e-6 * size
        assert _apart(_heading(run.layout, motion), timed.direction - travel.angle) < 0.01
    turned, _ = follow(run, CORNER, 1, steps=4, seed=0, travel=travel, angle=0.5, clean=clean)
    assert _apart(_heading(run.layout, turned[0]), timed.direction - 0.5) < 0.01


def test_the_heading_lock_turns_only_the_yaw(model: Path) -> None:
    run = Run.load(model, torch.device("cpu"))
    layout = run.layout
    timed = path_track(run, CORNER, clip_travel(layout, run.clip_set().motions))
    known = follow_known(layout, timed, 0.3, torch.device("cpu"))
    x0 = torch.randn(3, timed.frames, layout.n_channels, generator=torch.Generator().manual_seed(0))
    out = known.project(x0)
    before, after = [to_motions_raw(layout, x) for x in (x0, out)]
    for b, a in zip(before, after):
        assert _apart(_heading(layout, a), timed.direction - 0.3) < 0.01
        # The tilt (the angle between the root's local axes and the up axis) is kept.
        rb, ra = (layout.skeleton.frame @ m.rotations[:, layout.traj_joint] for m in (b, a))
        assert np.allclose(rb[:, 1, :], ra[:, 1, :], atol=1e-4)
    assert torch.allclose(known.project(out), out, atol=1e-4)  # a projection: twice is once
    others = torch.ones(layout.n_channels, dtype=torch.bool)
    start = layout.slices["rot"].start + 6 * layout.rot_joints.tolist().index(layout.traj_joint)
    others[start : start + 6] = False
    assert torch.equal(out[..., others], x0[..., others])


def to_motions_raw(layout: FeatureLayout, normalised: torch.Tensor) -> list[Motion]:
    return [layout.decode(x) for x in layout.denormalise(normalised.double().numpy())]


def _walking(motion: Motion, yaw_degrees: float, direction: np.ndarray) -> Motion:
    """``motion`` with its root turned to a fixed yaw and walking along ``direction``
    (F, 2) world X/Z steps per frame."""
    angle = math.radians(yaw_degrees)
    yaw = np.array([[math.cos(angle), 0, math.sin(angle)], [0, 1, 0], [-math.sin(angle), 0, math.cos(angle)]])
    rotations, translations = motion.rotations.copy(), motion.translations.copy()
    rotations[:, 0] = yaw
    place = np.concatenate([np.zeros((1, 2)), np.cumsum(direction[:-1], axis=0)])
    translations[:, 0, 0], translations[:, 0, 2] = place[:, 0], place[:, 1]
    return replace(motion, rotations=rotations, translations=translations)


def test_the_clips_heading_travel_angle_is_its_most_common_one(tmp_path: Path) -> None:
    file = tmp_path / "c.bvh"
    file.write_text(synthetic_bvh(120, seed=2, smooth=True))
    base = read_bvh(file)
    frames = base.n_frames
    sideways = _walking(base, 0.0, np.tile([0.0, 0.5], (frames, 1)))
    layout = FeatureLayout.from_motion(sideways, [])
    angle = clip_travel(layout, [sideways]).angle
    # Turned by 40 degrees, walking the same way relative to itself: the same angle.
    c, s = math.cos(math.radians(40)), math.sin(math.radians(40))
    turned = _walking(base, 40.0, np.tile([0.5 * s, 0.5 * c], (frames, 1)))
    assert _apart(np.array([clip_travel(layout, [turned]).angle]), np.array([angle])) < 1.0
    # Two thirds of the way one way, a third back: the mode, not the mean (which would be
    # a third of the way the other side of the circle).
    back = np.where(np.arange(frames)[:, None] < 2 * frames // 3, [0.0, 0.5], [0.0, -0.5])
    both = _walking(base, 0.0, back)
    assert _apart(np.array([clip_travel(layout, [both]).angle]), np.array([angle])) < 1.0
    travel = clip_travel(layout, [sideways])
    assert travel.slowest == pytest.approx(15.0) and travel.fastest == pytest.approx(15.0)  # 0.5 a frame at 30 fps


def test_speeds_outside_the_clips_are_warned_about_and_fitted() -> None:
    travel = Travel(angle=0.0, slowest=1.0, typical=1.5, fastest=2.0, rests=False)
    fast = GroundPath(np.array([[0.0, 0.0], [20.0, 0.0]]), np.array([0.0, 4.0]), "fast")
    slow = GroundPath(np.array([[0.0, 0.0], [2.0, 0.0]]), np.array([0.0, 4.0]), "slow")
    good = GroundPath(np.array([[0.0, 0.0], [6.0, 0.0]]), np.array([0.0, 4.0]), "good")
    assert "faster" in speed_warning(fast, travel, 30.0) and "2 units/s" in speed_warning(fast, travel, 30.0)
    assert "slower" in speed_warning(slow, travel, 30.0)
    assert speed_warning(good, travel, 30.0) is None
    assert speed_warning(replace(fast, times=None), travel, 30.0) is None  # untimed: the clip's own speed
    for path in (fast, slow):
        fitted = fit_timing(path, travel, 30.0)
        assert speed_warning(fitted, travel, 30.0) is None and fitted.times[-1] != path.times[-1]
    assert fit_timing(good, travel, 30.0) is good


def _cli(capsys, *args: object) -> tuple[int, str, str]:
    code = cli([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_follow_command_writes_one_output_per_path(model: Path, tmp_path: Path, capsys) -> None:
    walk = tmp_path / "walk.csv"
    walk.write_text("t,x,z\n0,0,0\n1,30,0\n2,30,20\n")  # faster than the clip
    json_path = tmp_path / "walk.json"  # the same stem: named walk-2
    json_path.write_text('[{"x": 0, "z": 0}, {"x": -10, "z": 5}]')
    out = tmp_path / "out"
    code, stdout, err = _cli(capsys, "follow", walk, json_path, "--model", model, "--n", 2, "--steps", 3, "--out", out)
    assert code == 0, err
    names = sorted(p.name for p in out.iterdir())
    assert names == ["follow_walk-2_0.bvh", "follow_walk-2_1.bvh", "follow_walk_0.bvh", "follow_walk_1.bvh"]
    assert "warning" in err and "faster than the clip" in err
    motion = read_bvh(out / "follow_walk_0.bvh")
    run = Run.load(model, torch.device("cpu"))
    assert motion.n_frames == 61 and np.allclose(root_path(run.layout, motion)[[0, -1]], [[0, 0], [30, 20]], atol=1e-3)
    code, _, err = _cli(capsys, "follow", walk, "--model", model, "--steps", 3, "--out", out)
    assert code == 1 and "already exists" in err


@pytest.mark.parametrize(
    "text, message",
    [(None, "no such file"), ("x,z\n0,0\n", "at least 2 points"), ("t,x,z\n0,0,0\n0,1,1\n", "times must increase")],
)
def test_bad_paths_write_nothing(model: Path, tmp_path: Path, capsys, text: str, message: str) -> None:
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text("x,z\n0,0\n5,0\n")
    if text is not None:
        bad.write_text(text)
    out = tmp_path / "out"
    code, _, err = _cli(capsys, "follow", good, bad, "--model", model, "--steps", 2, "--out", out)
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


def test_crowd_on_paths_puts_each_individual_on_its_own(model: Path, tmp_path: Path, capsys) -> None:
    file = tmp_path / "paths.json"
    file.write_text('[[{"x": 0, "z": 0}, {"x": 12, "z": 0}], [{"t": 0, "x": 0, "z": 20}, {"t": 1, "x": 0, "z": 30}]]')
    out = tmp_path / "crowd"
    code, _, err = _cli(capsys, "crowd", "--paths", file, "--model", model, "--steps", 2, "--out", out)
    assert code == 0, err
    record = json.loads((out / "crowd.json").read_text())
    assert [i["file"] for i in record["individuals"]] == ["crowd_0.bvh", "crowd_1.bvh"]
    run = Run.load(model, torch.device("cpu"))
    ends = [root_path(run.layout, read_bvh(out / f"crowd_{i}.bvh"))[[0, -1]] for i in range(2)]
    assert np.allclose(ends[0], [[0, 0], [12, 0]], atol=1e-3) and np.allclose(ends[1], [[0, 20], [0, 30]], atol=1e-3)
    assert read_bvh(out / "crowd_1.bvh").n_frames == 31
    code, _, err = _cli(capsys, "crowd", "--paths", file, "--n", 3, "--model", model, "--out", tmp_path / "x")
    assert code == 1 and "--n does not go with it" in err and not (tmp_path / "x").exists()
