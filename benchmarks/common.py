"""What the benchmark scripts share: the checkout on ``sys.path`` (so they run from a
checkout without installing), where the real clips are, and the clips the quality
benchmarks train on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLIPS = {
    "salsa": "mixamo/Salsa-Dancing-6.bvh",
    "crab": "truebones/Crab-dance-long.bvh",
    "chicken": "truebones/Chicken_IdlePecking.bvh",
    "chicken_walk": "truebones/Chicken_Walk.bvh",
    "chicken_egg": "truebones/Chicken_EggLaying.bvh",
    "walk": "mixamo/Walk-In-Circle.bvh",
    "elephant": "truebones/Elephant_Idle1.bvh",
    "proud": "xia/proud.bvh",
}
# The clips the quality goals are set on (issues 3, 6 and 21); `dragon` is the bundled example.
QUALITY = "salsa,crab,chicken"
BENCHMARK_CLIPS = "salsa,walk,crab,chicken_walk,elephant,dragon"


def data_dir() -> Path:
    """``$SINMDM_DATA`` or ``../shared/data`` beside the checkout; exits without them."""
    for c in (os.environ.get("SINMDM_DATA"), ROOT.parent / "shared" / "data"):
        if c and Path(c).is_dir():
            return Path(c)
    sys.exit("real clips not found: set SINMDM_DATA")


def dragon_clip() -> Path:
    """The bundled example clip (examples/make_dragon.py)."""
    return ROOT / "examples" / "dragon.bvh"


def clip_path(name: str) -> Path:
    """A benchmark clip by its short name: the dragon, or one of CLIPS in the real data."""
    return dragon_clip() if name == "dragon" else data_dir() / CLIPS[name]


def add_clips(specs: list[str]) -> None:
    """Clips outside the real data, each ``NAME=FILE.bvh`` (``--clip`` of the benchmarks):
    they can then be named like the others."""
    for spec in specs:
        name, sep, file = spec.partition("=")
        if not sep or not name or not Path(file).is_file():
            sys.exit(f"--clip {spec}: expected NAME=FILE.bvh with an existing file")
        CLIPS[name] = str(Path(file).resolve())


def write_rows(path: Path | None, rows: list[dict]) -> None:
    """Save a benchmark's rows as JSON for benchmarks/run_all.py (nothing without a path)."""
    if path is not None:
        path.write_text(json.dumps(rows, indent=1) + "\n")


def runs_folder(runs: Path | None, prefix: str) -> Path:
    """``--runs`` if given, else a new temporary folder."""
    folder = runs or Path(tempfile.mkdtemp(prefix=prefix))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def trained(name: str, folder: Path, clips: tuple[str, ...] = ()) -> Path:
    """The run ``folder/name``, trained with `sinmdm train` defaults on clip ``name`` (or
    on the ``clips`` together) when it is not there yet (so benchmarks sharing a folder
    train each once)."""
    out = folder / name
    if not (out / "model.pt").is_file():
        files = [str(clip_path(c)) for c in clips or (name,)]
        subprocess.run(
            [sys.executable, "-m", "sinmdm", "train", *files, "--out", str(out), "--force"],
            check=True, cwd=ROOT, stdout=subprocess.DEVNULL,
        )
    return out
