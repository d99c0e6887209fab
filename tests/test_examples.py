"""The bundled example: the dragon script rebuilds the committed clip, the clip is a
well-formed creature with planted feet, and every command in examples/README.md works as
written."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import numpy as np
from conftest import ROOT

from sinmdm.anim.bvh import read_bvh, write_bvh
from sinmdm.anim.contacts import choose_contacts
from sinmdm.anim.presets import match_preset
from sinmdm.cli.app import run

EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(EXAMPLES))
from make_dragon import dragon  # noqa: E402

# Tiny settings appended to the README's commands so the test takes seconds, not hours.
TINY_TRAIN = ["--steps", "3", "--width", "16", "--blocks", "2", "--window", "3"]
TINY_SAMPLE = ["--steps", "2"]


def test_make_dragon_rebuilds_the_committed_clip(tmp_path):
    committed = read_bvh(EXAMPLES / "dragon.bvh")
    write_bvh(tmp_path / "dragon.bvh", dragon())
    built = read_bvh(tmp_path / "dragon.bvh")
    assert committed.skeleton.difference(built.skeleton) is None
    assert committed.n_frames == built.n_frames == 720
    error = np.abs(committed.world_positions() - built.world_positions()).max()
    assert error < 1e-4 * committed.skeleton.size


def test_the_dragon_is_a_winged_quadruped_with_planted_feet():
    motion = read_bvh(EXAMPLES / "dragon.bvh")
    skeleton = motion.skeleton
    assert 38 <= skeleton.n_joints <= 48 and len(skeleton.end_site_parents) >= 10
    preset = match_preset(skeleton)
    assert preset is not None and preset.name == "dragon"
    toes, _ = choose_contacts(motion, None, preset)
    assert sorted(skeleton.names[j] for j in toes) == ["LeftFrontToe", "LeftHindToe", "RightFrontToe", "RightHindToe"]
    world = motion.world_positions()[:, toes]
    on_floor = world[1:, :, 1] < 0.005 * skeleton.size
    speed = np.linalg.norm(np.diff(world[:, :, [0, 2]], axis=0), axis=-1) * motion.fps
    assert on_floor.mean() > 0.2  # it walks a good part of the clip...
    assert (world[:, :, 1] > 0.5 * skeleton.size).mean() > 0.2  # ...and flies a good part
    assert np.median(speed[on_floor]) < 0.01 * skeleton.size  # toes on the floor stay put
    # Irregular wing beats: the wing tips' height peaks differ from beat to beat.
    tip = skeleton.end_site_positions(*motion.world())[:, list(skeleton.end_site_parents).index(skeleton.index("LeftWingFinger1")), 1]
    rel = tip - motion.world_positions()[:, 0, 1]
    peaks = rel[1:-1][(rel[1:-1] > rel[:-2]) & (rel[1:-1] > rel[2:]) & (rel[1:-1] > 0)]
    assert len(peaks) >= 8 and np.std(peaks) > 0.05 * skeleton.size


def readme_commands() -> list[str]:
    text = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def test_every_example_command_works_as_written(tmp_path, monkeypatch, capsys):
    commands = readme_commands()
    names = {shlex.split(c)[1] for c in commands if c.startswith("sinmdm ")}
    assert names >= {"train", "generate", "expand", "inbetween", "compose", "transfer", "crowd", "render", "eval", "export"}
    (tmp_path / "examples").symlink_to(EXAMPLES)
    monkeypatch.chdir(tmp_path)
    for command in commands:
        argv = shlex.split(command)
        if argv[0] == "python":
            subprocess.run([sys.executable, *argv[1:]], check=True, capture_output=True)
            continue
        assert argv[0] == "sinmdm", command
        extra = TINY_TRAIN if argv[1] == "train" else [] if argv[1] in ("render", "export") else TINY_SAMPLE
        assert run(argv[1:] + extra) == 0, f"{command}\n{capsys.readouterr().err}"
    samples = tmp_path / "runs" / "dragon" / "samples"
    clip = read_bvh(EXAMPLES / "dragon.bvh")
    written = {p.name for p in samples.iterdir()}
    assert {"generate_0.bvh", "generate_3.bvh", "expand_0.bvh", "inbetween_0.bvh", "compose_0.bvh", "transfer_0.bvh"} <= written
    assert {"crowd.json", "crowd.mp4", "crowd_19.bvh", "expand_0.png"} <= written
    assert (tmp_path / "runs" / "dragon" / "compare.gif").stat().st_size > 0
    assert read_bvh(tmp_path / "runs" / "dragon" / "loops" / "generate_0.bvh").n_frames == 600
    assert read_bvh(samples / "expand_0.bvh").n_frames == 1800
    from_onnx = read_bvh(tmp_path / "runs" / "dragon" / "onnx" / "generate_3.bvh")
    assert np.abs(from_onnx.world_positions() - read_bvh(samples / "generate_3.bvh").world_positions()).max() < 1e-3 * clip.skeleton.size
    assert clip.skeleton.difference(read_bvh(samples / "compose_0.bvh").skeleton) is None
