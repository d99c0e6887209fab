"""Rendering: videos read back with the right frame count, size and fps; given and
generated parts in different colours; any skeleton; clear errors that write nothing."""

from __future__ import annotations

import os
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from conftest import data_dir, synthetic_bvh
from matplotlib.colors import to_rgb

from sinmdm.anim.bvh import read_bvh
from sinmdm.apps.edit import compose_edit, expand_edit, joint_weights
from sinmdm.apps.preview import write_preview
from sinmdm.base.errors import SinmdmError
from sinmdm.cli.app import run as cli
from sinmdm.model.features import FeatureLayout
from sinmdm.model.runs import Run
from sinmdm.model.settings import TrainSettings
from sinmdm.model.train import train
from sinmdm.render.camera import Camera, make_camera
from sinmdm.render.figures import GENERATED, GIVEN, Scene, actor
from sinmdm.render.render import render_still, render_video

SMALL = "160x128"


@pytest.fixture
def clip(tmp_path) -> Path:
    path = tmp_path / "creature.bvh"
    path.write_text(synthetic_bvh(40, seed=3, smooth=True))
    return path


def _cli(capsys, *args: object) -> tuple[int, str, str]:
    code = cli([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _pixels_near(image: np.ndarray, colour: str, tolerance: float = 40.0) -> int:
    rgb = np.array(to_rgb(colour)) * 255
    return int((np.linalg.norm(image[..., :3].astype(float) - rgb, axis=-1) < tolerance).sum())


def _bluish(image: np.ndarray) -> int:
    """Pixels of the given (blue) family: blue well above red."""
    rgb = image[..., :3].astype(int)
    return int((rgb[..., 2] - rgb[..., 0] > 50).sum())


def _orangish(image: np.ndarray) -> int:
    """Pixels of the generated (orange) family: red well above blue."""
    rgb = image[..., :3].astype(int)
    return int((rgb[..., 0] - rgb[..., 2] > 50).sum())


def _only_file(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ------------------------------------------------------------------------ video files
def test_mp4_has_the_clips_frames_size_and_fps(clip, tmp_path, capsys):
    out = tmp_path / "v.mp4"
    code, stdout, err = _cli(capsys, "render", clip, "--out", out, "--size", "320x240")
    assert code == 0, err
    assert stdout.strip() == str(out)
    meta = iio.immeta(out)
    assert meta["fps"] == pytest.approx(30.0)
    frames = iio.imread(out)
    assert frames.shape == (40, 240, 320, 3)


def test_gif_keeps_the_frame_rate_without_ffmpeg(clip, tmp_path, capsys):
    out = tmp_path / "v.gif"
    code, _, err = _cli(capsys, "render", clip, "--out", out, "--size", SMALL)
    assert code == 0, err
    frames = iio.imread(out)
    assert frames.shape[:3] == (40, 128, 160)
    from PIL import Image

    with Image.open(out) as gif:
        durations = []
        for k in range(gif.n_frames):
            gif.seek(k)
            durations.append(gif.info["duration"])
    # GIF delays are whole hundredths of a second; they alternate so the total is exact.
    assert sum(durations) == pytest.approx(40 / 30 * 1000, abs=10)


def test_convert_renders_its_result(clip, tmp_path, capsys):
    code, stdout, err = _cli(capsys, "convert", clip, tmp_path / "out.bvh", "--fps", "15", "--render")
    assert code == 0, err
    assert str(tmp_path / "out.mp4") in stdout
    assert iio.immeta(tmp_path / "out.mp4")["fps"] == pytest.approx(15.0)
    assert len(iio.imread(tmp_path / "out.mp4")) == read_bvh(tmp_path / "out.bvh").n_frames


def test_still_is_a_contact_sheet_png(clip, tmp_path, capsys):
    out = tmp_path / "sheet.png"
    code, _, err = _cli(capsys, "render", clip, clip, "--still", "--poses", "4", "--out", out, "--size", "800x400")
    assert code == 0, err
    image = iio.imread(out)
    assert image.shape[:2] == (400, 800)
    assert _pixels_near(image, "#3d4653") > 50  # figures drawn in the plain colour


def test_scene_layout_lasts_as_long_as_the_longest_file(clip, tmp_path, capsys):
    longer = tmp_path / "longer.bvh"
    longer.write_text(synthetic_bvh(55, seed=4, smooth=True))
    out = tmp_path / "scene.gif"
    code, _, err = _cli(capsys, "render", clip, longer, "--layout", "scene", "--out", out, "--size", SMALL)
    assert code == 0, err
    assert iio.imread(out).shape[:3] == (55, 128, 160)


@pytest.mark.parametrize("name", ["truebones/Crab-dance-long.bvh", "truebones/Chicken_Walk.bvh", "mixamo/Salsa-Dancing-6.bvh"])
def test_real_clips_of_any_skeleton_render(name, tmp_path):
    """Crab (many legs), chicken (6 channels on many joints), a human: all draw."""
    folder = data_dir()
    if folder is None:
        if os.environ.get("CI"):
            pytest.fail("real clips not found: set SINMDM_DATA or put shared/data beside the checkout")
        pytest.skip("real clips not found (set SINMDM_DATA)")
    path = folder / name
    motion = read_bvh(path).at_training_rate().crop(0, 60)
    out = render_video([Scene([actor(motion)], path.name)], tmp_path / "clip.gif", motion.fps, size=SMALL)
    frames = iio.imread(out)
    assert frames.shape[:3] == (60, 128, 160)
    assert _pixels_near(frames[30], "#3d4653") > 20


# ------------------------------------------------------------------------------ colours
def _split_actor(path: Path, given_fraction: float | None):
    motion = read_bvh(path)
    if given_fraction is None:
        return actor(motion, style="generated")
    given = np.zeros((motion.n_frames, motion.skeleton.n_joints))
    given[:, [0, 4, 5]] = 1.0  # the root and the left leg are given
    return actor(motion, given=given)


def test_given_and_generated_parts_get_different_colours(clip, tmp_path):
    mixed = render_still([Scene([_split_actor(clip, 0.5)])], tmp_path / "mixed.png", 30.0, poses=1, size="400x400")
    image = iio.imread(mixed)
    assert _pixels_near(image, GIVEN[0]) > 20
    assert _pixels_near(image, GENERATED[0]) > 20
    plain = render_still([Scene([_split_actor(clip, None)])], tmp_path / "plain.png", 30.0, poses=1, size="400x400")
    image = iio.imread(plain)
    assert _pixels_near(image, GIVEN[0]) == 0
    assert _pixels_near(image, GENERATED[0]) > 20


def test_a_scenes_path_is_drawn_on_the_floor(clip, tmp_path):
    motion = read_bvh(clip)
    root = motion.world_positions()[:, 0]
    size = motion.skeleton.size
    # A path around the figure on the floor, and the same scene without it.
    angle = np.linspace(0, 2 * np.pi, 50)
    ring = root[0, [0, 2]] + 0.8 * size * np.stack([np.cos(angle), np.sin(angle)], axis=-1)
    figure = actor(motion, style="generated")
    drawn = iio.imread(render_still([Scene([figure], paths=[ring])], tmp_path / "path.png", 30.0, poses=1, size="400x400"))
    bare = iio.imread(render_still([Scene([figure])], tmp_path / "bare.png", 30.0, poses=1, size="400x400"))
    assert _bluish(drawn) > _bluish(bare) + 100


def test_joint_weights_follow_the_plan(clip):
    motion = read_bvh(clip)
    layout = FeatureLayout.from_motion(motion, [])
    weights = joint_weights(layout, compose_edit(layout, motion, [1, 2]))  # spine and head
    assert weights.shape == (40, motion.skeleton.n_joints)
    assert np.all(weights[:, [1, 2]] == 1.0)
    assert np.all(weights[:, [0, 4, 5, 6, 7]] == 0.0)
    assert np.all(weights[:, 3] == weights[:, 0])  # no channels: follows its parent
    frames = joint_weights(layout, expand_edit(layout, motion, 20, 20))
    assert np.all(frames[:10] == 0.0) and np.all(frames[35:45] == 1.0) and np.all(frames[-10:] == 0.0)


def test_camera_centres_its_target():
    camera = Camera(np.array([[1.0, 2.0, 3.0]]), 10.0, azimuth=40.0, elevation=25.0)
    screen, depth = camera.project(np.array([[1.0, 2.0, 3.0]]), 0)
    assert np.allclose(screen, 0.0, atol=1e-9)
    assert depth[0] == pytest.approx(10.0)


def test_camera_fits_the_figure_in_view(clip):
    a = actor(read_bvh(clip))
    for mode in ("follow", "fixed"):
        camera = make_camera([a], 0.0, mode, 30.0, aspect=1.0)
        screen, _ = camera.project(a.points, np.arange(a.frames))
        assert np.nanmax(np.abs(screen)) < 1.05  # nothing leaves the view
        assert np.nanmax(np.abs(screen)) > 0.5  # and the figure is not a speck


# ------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("content", [b"", b"\x00\xff\x13garbage\x89PNG", b"HIERARCHY\nROOT Hips\n{\n"])
def test_unreadable_input_fails_clearly_and_writes_nothing(content, tmp_path, capsys):
    bad = tmp_path / "bad.bvh"
    bad.write_bytes(content)
    for out in ("v.mp4", "v.gif", "v.png"):
        extra = ["--still"] if out.endswith(".png") else []
        code, stdout, err = _cli(capsys, "render", bad, "--out", tmp_path / out, *extra)
        assert code == 1
        assert err.startswith("sinmdm: error:") and "bad.bvh" in err and len(err.strip().splitlines()) == 1
        assert "Traceback" not in err
    assert _only_file(tmp_path) == ["bad.bvh"]


def test_missing_file_and_wrong_suffix_fail_clearly(clip, tmp_path, capsys):
    code, _, err = _cli(capsys, "render", tmp_path / "nope.bvh", "--out", tmp_path / "v.mp4")
    assert code == 1 and "no such file" in err
    code, _, err = _cli(capsys, "render", clip, "--out", tmp_path / "v.avi")
    assert code == 1 and ".mp4 or .gif" in err
    code, _, err = _cli(capsys, "render", clip, "--still", "--out", tmp_path / "v.gif")
    assert code == 1 and ".png" in err
    code, _, err = _cli(capsys, "render", clip, "--size", "big", "--out", tmp_path / "v.gif")
    assert code == 1 and "WIDTHxHEIGHT" in err
    assert _only_file(tmp_path) == ["creature.bvh"]


def test_an_interrupted_render_leaves_no_file(clip, tmp_path):
    a = actor(read_bvh(clip))

    def stop(k: int) -> None:
        if k == 10:
            raise KeyboardInterrupt

    for name in ("v.mp4", "v.gif"):
        with pytest.raises(KeyboardInterrupt):
            render_video([Scene([a])], tmp_path / name, 30.0, size=SMALL, on_frame=stop)
    assert _only_file(tmp_path) == ["creature.bvh"]
    with pytest.raises(SinmdmError):
        render_video([], tmp_path / "v.mp4", 30.0)


# -------------------------------------------------------------- the generators' --render
@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("render-model")
    clip = folder / "creature.bvh"
    clip.write_text(synthetic_bvh(90, seed=1, smooth=True))
    tiny = dict(width=32, blocks=2, batch=8, crop=24, warmup=5, checkpoint_seconds=1e9)
    run_dir, finished = train(clip, folder / "run", TrainSettings(steps=10, **tiny), device=torch.device("cpu"))
    assert finished
    write_preview(Run.load(run_dir, torch.device("cpu")))
    return run_dir


def test_training_writes_a_preview_gif_beside_the_loss_curve(model):
    gif = iio.imread(model / "preview.gif")
    assert gif.shape[0] == 90  # the whole 3-second clip (previews stop at 10 s)
    assert _bluish(gif[45]) > 10 and _orangish(gif[45]) > 10  # the clip beside a sample
    assert (model / "loss.png").stat().st_size > 0


def test_compose_render_colours_the_kept_joints(model, tmp_path, capsys):
    code, out, err = _cli(
        capsys, "compose", "--model", model, "--keep", "subtree:LeftLeg", "--steps", "3", "--render", "--out", tmp_path
    )
    assert code == 0, err
    assert out.split() == [str(tmp_path / "compose_0.bvh"), str(tmp_path / "compose_0.mp4")]
    frames = iio.imread(tmp_path / "compose_0.mp4")
    assert frames.shape[0] == 90
    assert _bluish(frames[40]) > 10 and _orangish(frames[40]) > 10


def test_crowd_render_draws_one_scene(model, tmp_path, capsys):
    code, out, err = _cli(
        capsys, "crowd", "--model", model, "--n", "3", "--length", "30", "--steps", "3", "--render", "--out", tmp_path
    )
    assert code == 0, err
    assert str(tmp_path / "crowd.mp4") in out.split()
    assert iio.imread(tmp_path / "crowd.mp4").shape[0] == 30
    assert not list(tmp_path.glob("crowd_*.mp4"))
