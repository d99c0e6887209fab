"""Ground paths: reading CSV, JSON and BVH paths (and refusing bad ones with one clear
line), the centripetal Catmull-Rom curve through the points, and timing along it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import synthetic_bvh

from sinmdm.anim.bvh import read_bvh
from sinmdm.anim.paths import GroundPath, catmull_rom, read_path, read_path_list, track
from sinmdm.base.errors import SinmdmError


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_curve_passes_through_every_point_and_ends_straight() -> None:
    points = np.array([[0.0, 0.0], [3.0, 0.5], [3.0, 0.5], [4.0, 4.0], [0.0, 6.0]])
    curve, nodes = catmull_rom(points)
    assert np.allclose(curve[nodes], points)
    line, _ = catmull_rom(np.array([[0.0, 0.0], [2.0, 0.0]]))
    assert np.allclose(line[:, 1], 0.0) and np.all(np.diff(line[:, 0]) > 0)


def test_centripetal_curve_does_not_overshoot_unevenly_spaced_points() -> None:
    # A short step between two long legs: a uniform Catmull-Rom loops back through it
    # (x from 9.70 to 10.52); the centripetal one stays within the step.
    points = np.array([[0.0, 0.0], [10.0, 0.0], [10.2, 0.2], [20.0, 0.2]])
    curve, nodes = catmull_rom(points)
    step = curve[nodes[1] : nodes[2] + 1]
    assert step[:, 0].min() >= 10.0 - 1e-9 and step[:, 0].max() <= 10.2 + 1e-9


def test_untimed_track_travels_at_the_speed_and_ends_at_the_end() -> None:
    timed = track(GroundPath(np.array([[0.0, 0.0], [30.0, 0.0]]), None, "p"), fps=30.0, speed=10.0)
    assert timed.frames == 91
    assert np.allclose(timed.speeds(), 10.0)
    assert np.allclose(timed.xz[[0, -1]], [[0, 0], [30, 0]])
    assert np.allclose(timed.direction, np.pi / 2)  # along +X: atan2(dx, dz)


def test_timed_track_stops_where_the_points_stop() -> None:
    path = GroundPath(np.array([[0.0, 0.0], [4.0, 0.0], [4.0, 0.0], [8.0, 0.0]]), np.array([1.0, 5.0, 7.0, 11.0]), "p")
    timed = track(path, fps=30.0)
    assert timed.frames == 301  # 10 s from the first time
    assert np.allclose(timed.xz[[0, -1]], [[0, 0], [8, 0]])
    speed = timed.speeds()
    assert np.all(speed[140:161] < 0.05) and np.all(np.abs(speed[40:90] - 1.0) < 0.05)  # the middle of the stop; cruising
    assert np.all(np.diff(timed.xz[:, 0]) >= -1e-12)  # smoothing the speed never turns it back
    assert np.abs(np.diff(speed)).max() < 0.1  # it slows down and speeds up over many frames
    assert np.allclose(timed.direction, np.pi / 2)  # the stop keeps its direction


def test_track_of_a_path_that_goes_nowhere() -> None:
    still = GroundPath(np.array([[1.0, 2.0], [1.0, 2.0]]), np.array([0.0, 2.0]), "p")
    assert np.allclose(track(still, 30.0).xz, [1.0, 2.0])
    with pytest.raises(SinmdmError, match="does not go anywhere"):
        track(GroundPath(still.points, None, "p"), 30.0, speed=1.0)


def test_csv_and_json_paths_read_alike(tmp_path: Path) -> None:
    csv = read_path(_write(tmp_path, "p.csv", "t,x,z\n0,0,0\n\n1.5,2,3\n3,2,6\n"), "y")
    js = read_path(_write(tmp_path, "p.json", json.dumps([{"t": 0, "x": 0, "z": 0}, {"t": 1.5, "x": 2, "z": 3},
                                                           {"t": 3, "x": 2, "z": 6}])), "y")
    for path in (csv, js):
        assert np.allclose(path.points, [[0, 0], [2, 3], [2, 6]]) and np.allclose(path.times, [0, 1.5, 3])
    untimed = read_path(_write(tmp_path, "u.csv", "X, Z\n0,0\n1,1\n"), "y")
    assert untimed.times is None


def test_z_up_paths_are_given_in_the_files_ground_axes(tmp_path: Path) -> None:
    path = read_path(_write(tmp_path, "p.csv", "x,y\n0,0\n1,2\n"), "z")
    assert np.allclose(path.points, [[0, 0], [1, -2]])  # the file's +Y is the world's -Z
    with pytest.raises(SinmdmError, match="Z-up"):
        read_path(_write(tmp_path, "q.csv", "x,z\n0,0\n1,2\n"), "z")


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("one.csv", "x,z\n0,0\n", "at least 2 points"),
        ("back.csv", "t,x,z\n0,0,0\n2,1,0\n1,2,0\n", "times must increase"),
        ("same.csv", "t,x,z\n0,0,0\n0,1,0\n", "times must increase"),
        ("nan.csv", "x,z\n0,0\nnan,1\n", "not a finite number"),
        ("inf.json", '[{"x": 0, "z": 0}, {"x": 1e999, "z": 1}]', "not a finite number"),
        ("word.csv", "x,z\n0,0\nabc,1\n", "not a number"),
        ("nox.csv", "t,z\n0,0\n1,1\n", "header"),
        ("noz.csv", "x,y\n0,0\n1,1\n", "no 'z'"),
        ("mixed.json", '[{"t": 0, "x": 0, "z": 0}, {"x": 1, "z": 1}]', "every point or on none"),
        ("short.csv", "t,x,z\n0,0,0\n1,1\n", "fewer values"),
        ("bad.json", "[{", "not valid JSON"),
        ("dict.json", '{"x": 1}', "list of points"),
        ("empty.csv", "", "empty"),
        ("path.txt", "x,z\n0,0\n1,1\n", ".csv, .json or .bvh"),
    ],
)
def test_bad_paths_are_refused_with_one_line(tmp_path: Path, name: str, text: str, message: str) -> None:
    with pytest.raises(SinmdmError, match=message) as caught:
        read_path(_write(tmp_path, name, text), "y")
    assert "\n" not in str(caught.value) and name in str(caught.value)


def test_missing_path_file(tmp_path: Path) -> None:
    with pytest.raises(SinmdmError, match="no such file"):
        read_path(tmp_path / "nowhere.csv", "y")


def test_a_bvh_path_is_its_roots_ground_path_on_any_skeleton(tmp_path: Path) -> None:
    file = _write(tmp_path, "other.bvh", synthetic_bvh(40, seed=3, smooth=True))
    path = read_path(file, "z")  # the model's up axis does not matter: the file's own is used
    motion = read_bvh(file)
    assert len(path.points) == 40 and np.allclose(path.times, np.arange(40) / motion.fps)
    assert np.allclose(path.points, motion.world_positions()[:, 0][:, [0, 2]])


def test_a_list_of_paths(tmp_path: Path) -> None:
    file = _write(tmp_path, "crowd.json", json.dumps([[{"x": 0, "z": 0}, {"x": 1, "z": 0}], [{"x": 0, "z": 1}, {"x": 0, "z": 3}]]))
    paths = read_path_list(file, "y")
    assert [len(p.points) for p in paths] == [2, 2] and np.allclose(paths[1].points[1], [0, 3])
    with pytest.raises(SinmdmError, match="list of paths"):
        read_path_list(_write(tmp_path, "flat.json", json.dumps([{"x": 0, "z": 0}])), "y")
