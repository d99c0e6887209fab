"""glTF from every real clip passes the Khronos glTF-Validator (no errors, no
warnings), as glb and as gltf, and Blender's own importer moves its joints as the BVH
does; the commands' --format outputs and a crowd scene validate too. The validator is
the npm package in tests/gltf (`make test` installs it where npm is), run by node;
Blender is Debian's (CI installs it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, clip_params, real_clips, require, tool

from sinmdm.anim.bvh import read_bvh
from sinmdm.cli.app import run as cli

VALIDATOR = ROOT / "tests" / "gltf"


def validate(paths: list[Path]) -> list[dict]:
    """The validator's report (errors, warnings, infos, first messages) for each file."""
    node = shutil.which("node")
    if node is None or not (VALIDATOR / "node_modules" / "gltf-validator").is_dir():
        if os.environ.get("CI"):
            pytest.fail("node or gltf-validator missing: npm install --prefix tests/gltf")
        pytest.skip("node or gltf-validator missing (npm install --prefix tests/gltf)")
    done = subprocess.run([node, str(VALIDATOR / "validate.js"), *map(str, paths)], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.mark.parametrize("clip", clip_params())
def test_every_real_clip_converts_to_valid_gltf(clip, tmp_path, capsys) -> None:
    clip = require(clip)
    outputs = [tmp_path / f"{clip.stem}.glb", tmp_path / f"{clip.stem}.gltf"]
    for out in outputs:
        assert cli(["convert", str(clip), str(out)]) == 0, capsys.readouterr().err
    for report in validate(outputs):
        assert report["errors"] == 0 and report["warnings"] == 0, report


def test_blender_imports_every_clip_moving_as_its_bvh(tmp_path) -> None:
    blender = tool("blender", ".ci/run installs Debian's blender package")
    clips = real_clips()
    if not clips:
        require(None)
    motions, args = {}, []
    for clip in clips:
        out = tmp_path / f"{clip.parent.name}_{clip.stem}.glb"
        assert cli(["convert", str(clip), str(out)]) == 0
        motions[str(out)] = read_bvh(clip)
        args += [str(out), str(motions[str(out)].n_frames), repr(motions[str(out)].frame_time)]
    result = tmp_path / "imported.json"
    done = subprocess.run([blender, "-b", "--factory-startup", "--python-exit-code", "1", "--python",
                           str(VALIDATOR / "blender_import.py"), "--", str(result), *args],
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0 and result.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    imported = json.loads(result.read_text())
    for path, motion in motions.items():
        names = list(motion.skeleton.names)
        world = motion.world_positions()  # sinmdm's Y-up world; Blender's is Z-up: (x, -z, y)
        expected = world[..., [0, 2, 1]] * [1.0, -1.0, 1.0]
        frames = imported[path]["frames"]
        assert len(frames) == motion.n_frames
        got = np.array([[frame[name] for name in names] for frame in frames])
        error = np.abs(got - expected).max() / motion.skeleton.size
        assert error < 1e-4, (Path(path).name, error)


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    import torch
    from conftest import synthetic_bvh

    from sinmdm.model.settings import TrainSettings
    from sinmdm.model.train import train

    folder = tmp_path_factory.mktemp("gltf")
    clip = folder / "creature.bvh"
    clip.write_text(synthetic_bvh(90, seed=1, smooth=True))
    settings = TrainSettings(steps=10, width=32, blocks=2, batch=8, crop=24, warmup=5, checkpoint_seconds=1e9)
    run_dir, finished = train(clip, folder / "run", settings, device=torch.device("cpu"))
    assert finished
    return run_dir


def test_commands_write_gltf_and_a_crowd_is_one_valid_scene(model, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    for args in (["generate", "--n", "2", "--format", "glb"], ["expand", "--format", "gltf"],
                 ["crowd", "--n", "3", "--format", "glb"]):
        assert cli([*args, "--model", str(model), "--steps", "2", "--out", str(out)]) == 0, capsys.readouterr().err
    names = sorted(p.name for p in out.iterdir())
    assert names == ["crowd.glb", "crowd.json", "expand_0.gltf", "generate_0.glb", "generate_1.glb"]
    record = json.loads((out / "crowd.json").read_text())
    assert [(i["file"], i["node"]) for i in record["individuals"]] == [("crowd.glb", f"crowd_{i}") for i in range(3)]
    from pygltflib import GLTF2

    scene = GLTF2().load(str(out / "crowd.glb"))
    assert len(scene.animations) == 3 and [scene.nodes[i].name for i in scene.scenes[0].nodes][::2] == [
        "crowd_0", "crowd_1", "crowd_2"]
    for report in validate(sorted(out.glob("*.gl*"))):
        assert report["errors"] == 0 and report["warnings"] == 0, report
    assert cli(["generate", "--format", "glb", "--model", str(model), "--steps", "2", "--out", str(out)]) == 1
    assert "generate_0.glb already exists" in capsys.readouterr().err
