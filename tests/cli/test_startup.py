"""Start-up: commands that only read and write files never import torch (a second and a
half of a 2-core CPU's start-up), nor scipy.signal (half a second, for cleanup's
smoothing)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT, synthetic_bvh

# Runs one command in a fresh interpreter and prints the heavy modules it imported.
PROBE = """
import sys
from sinmdm.cli.app import run
code = run(sys.argv[1:])
heavy = {"torch", "scipy.signal", "matplotlib"} & set(sys.modules)
print("EXIT", code, "HEAVY", ",".join(sorted(heavy)))
"""


def heavy_imports(args: list[str]) -> set[str]:
    result = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    last = result.stdout.strip().splitlines()[-1].split()
    assert last[:2] == ["EXIT", "0"], result.stdout + result.stderr
    return set(last[3].split(",")) if len(last) > 3 else set()


@pytest.fixture
def clip(write_clip):
    return write_clip(synthetic_bvh(40))


@pytest.mark.parametrize("command", [
    ["--help"], ["train", "--help"], ["generate", "--help"], ["crowd", "--help"], ["follow", "--help"], ["eval", "--help"],
    ["convert", "{clip}", "{out}.bvh"], ["convert", "{clip}", "{out}.glb"], ["info", "{clip}"],
])
def test_file_commands_start_without_torch(command, clip, tmp_path):
    args = [a.format(clip=clip, out=tmp_path / "out") for a in command]
    assert heavy_imports(args) == set()


def test_render_imports_matplotlib_but_not_torch(clip, tmp_path):
    assert heavy_imports(["render", str(clip), "--still", "--out", str(tmp_path / "sheet.png")]) == {"matplotlib"}


def test_sampling_imports_torch_and_cleanup_but_not_matplotlib(clip, tmp_path):
    run_dir = tmp_path / "run"
    subprocess.run([sys.executable, "-m", "sinmdm", "train", str(clip), "--steps", "2", "--width", "16", "--blocks", "1",
                    "--out", str(run_dir)], cwd=ROOT, check=True, capture_output=True, timeout=300)
    found = heavy_imports(["generate", "--model", str(run_dir), "--steps", "2", "--out", str(tmp_path / "out")])
    assert found == {"torch", "scipy.signal"}  # no video asked for: no matplotlib
