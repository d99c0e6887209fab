"""Keypoint clips on the command line: train on a .npy or .npz of joint positions, and
every sampler writes positions back in the clip's own layout; rotation formats and bad
files are refused with one line, nothing written."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sinmdm.cli.app import run

EDGES = [(0, 1), (1, 2), (0, 3), (3, 4), (0, 5), (5, 6)]
NAMES = ["pelvis", "chest", "head", "knee_l", "foot_l", "knee_r", "foot_r"]
TINY = ["--steps", "2", "--width", "16", "--blocks", "1", "--window", "5"]


def stepping(frames: int = 90, dims: int = 2) -> np.ndarray:
    """(frames, 7, dims) a stick figure stepping in place, image y pointing down."""
    t = np.arange(frames)[:, None] / 30.0
    base = np.array([[0, 1, 0], [0, 1.5, 0], [0, 1.8, 0], [0.2, 0.5, 0], [0.2, 0, 0], [-0.2, 0.5, 0], [-0.2, 0, 0]])
    out = base[None] + 0.05 * np.sin(2 * np.pi * t[..., None] + np.arange(7)[None, :, None])
    out[..., 1] *= -1  # image coordinates
    return out[..., :dims] * 100


@pytest.fixture(scope="module")
def keypoint_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kp")
    np.save(folder / "dance.npy", stepping())
    (folder / "edges.json").write_text(json.dumps(EDGES))
    code = run(["train", str(folder / "dance.npy"), "--fps", "30", "--edges", str(folder / "edges.json"), "--y-down",
                "--out", str(folder / "run"), *TINY])
    assert code == 0
    return folder


def test_training_on_a_npy_writes_a_run_and_a_preview_of_its_kind(keypoint_run):
    assert (keypoint_run / "run" / "model.pt").is_file()
    preview = np.load(keypoint_run / "run" / "preview.npy")
    assert preview.shape == (90, 7, 2) and np.isfinite(preview).all()


@pytest.mark.parametrize("argv", [
    ["generate", "--n", "2", "--length", "2x"],
    ["generate", "--loop"],
    ["expand", "--length", "2x"],
    ["inbetween"],
    ["compose", "--keep", "3,subtree:joint5"],  # a .npy names no joints: by index, or joint<index>
    ["crowd", "--n", "3"],
])
def test_every_sampler_writes_positions_in_the_files_layout(keypoint_run, tmp_path, argv):
    out = tmp_path / "o"
    assert run([*argv, "--model", str(keypoint_run / "run"), "--steps", "2", "--out", str(out)]) == 0
    written = sorted(out.glob("*.npy"))
    assert written and all(np.load(p).shape[1:] == (7, 2) for p in written)
    clip = stepping()
    sample = np.load(written[0])
    assert np.sign(np.median(sample[:, 2, 1] - sample[:, 4, 1])) == np.sign(np.median(clip[:, 2, 1] - clip[:, 4, 1]))


def test_npz_output_carries_rate_bones_and_names(keypoint_run, tmp_path):
    assert run(["generate", "--model", str(keypoint_run / "run"), "--steps", "2", "--format", "npz",
                "--out", str(tmp_path)]) == 0
    with np.load(tmp_path / "generate_0.npz") as saved:
        assert float(saved["fps"]) == 30.0 and saved["edges"].tolist() == [list(e) for e in EDGES]
        assert saved["positions"].shape == (90, 7, 2)


@pytest.mark.parametrize("fmt", ["bvh", "glb", "gltf"])
def test_rotation_formats_are_refused(keypoint_run, tmp_path, capsys, fmt):
    code = run(["generate", "--model", str(keypoint_run / "run"), "--format", fmt, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "npy or npz" in err[0]
    assert not (tmp_path / "o").exists()


def test_eval_reports_bone_lengths(keypoint_run, capsys):
    assert run(["eval", "--model", str(keypoint_run / "run"), "--n", "2", "--steps", "2", "--length", "1x"]) == 0
    assert "bone lengths" in capsys.readouterr().out


def test_render_draws_a_2d_npz(keypoint_run, tmp_path):
    run(["generate", "--model", str(keypoint_run / "run"), "--steps", "2", "--format", "npz", "--out", str(tmp_path)])
    assert run(["render", str(tmp_path / "generate_0.npz"), "--still", "--out", str(tmp_path / "sheet.png")]) == 0
    assert (tmp_path / "sheet.png").stat().st_size > 1000


@pytest.mark.parametrize("bad, extra, match", [
    ("wrong_shape", [], "shape"),
    ("out_of_range", [], "outside"),
    ("cycle", [], "cycle"),
    ("empty_joint", [], "no value"),
    ("no_fps", [], "no frame rate"),
])
def test_bad_keypoint_files_get_one_line_and_no_run(tmp_path, capsys, bad, extra, match):
    positions, edges, fps = stepping(), EDGES, 30.0
    if bad == "wrong_shape":
        positions = positions[:, :, :1]
    elif bad == "out_of_range":
        edges = EDGES + [(6, 9)]
    elif bad == "cycle":
        edges = EDGES + [(2, 4)]
    elif bad == "empty_joint":
        positions = positions.copy()
        positions[:, 3] = np.nan
    data = {"positions": positions, "edges": np.array(edges)}
    if bad != "no_fps":
        data["fps"] = fps
    np.savez(tmp_path / "bad.npz", **data)
    code = run(["train", str(tmp_path / "bad.npz"), "--out", str(tmp_path / "run"), *TINY, *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and match in err[0] and "bad.npz" in err[0]
    assert not (tmp_path / "run").exists()
