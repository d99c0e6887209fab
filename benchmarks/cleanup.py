"""Measure what cleanup does to samples of models trained with default settings.

    python benchmarks/cleanup.py [--salsa RUN] [--crab RUN] [--chicken RUN] [--n 20]

Without a RUN for a clip it first trains one with `sinmdm train` defaults (about 9
minutes each on a 2-core CPU): mixamo/Salsa-Dancing-6.bvh, truebones/Crab-dance-long.bvh
and truebones/Chicken_IdlePecking.bvh. For each it draws --n samples at twice the clip's
length (50 steps, seed 0) and evaluates them with `sinmdm eval`'s metrics without and with
cleanup, and times the cleanup of one sample. Goals (issue 6): sliding ratio <= 1.1, jerk
ratio <= 1.2, coverage at most 2 points below the raw samples', and <= 2 s to clean a
1300-frame clip (Salsa at 2x: 1296 frames).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from common import CLIPS, ROOT, data_dir  # puts the checkout on sys.path first

from sinmdm.edit import load_reference
from sinmdm.generate import clean_motions, sample_features, to_motions
from sinmdm.metrics import evaluate
from sinmdm.runs import Run


def trained(name: str, run: str | None, scratch: Path) -> Path:
    if run:
        return Path(run)
    out = scratch / name
    subprocess.run([sys.executable, "-m", "sinmdm", "train", str(data_dir() / CLIPS[name]), "--out", str(out)], check=True, cwd=ROOT)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in CLIPS:
        parser.add_argument(f"--{name}", help=f"a run trained on {CLIPS[name]}")
    parser.add_argument("--n", type=int, default=20)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="sinmdm-cleanup-"))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}; {args.n} samples at 2x, 50 steps")
    print()
    print("| clip | frames | coverage raw → clean (change) | sliding ratio raw → clean | jerk ratio raw → clean | cleanup s / sample |")
    print("|---|---|---|---|---|---|")
    for name in CLIPS:
        run = Run.load(trained(name, getattr(args, name), scratch), torch.device("cpu"))
        reference = load_reference(run, None)
        contacts = run.layout.contact_joints.tolist()
        features = sample_features(run, args.n, 2 * run.train_frames, seed=0)
        raw = to_motions(run, features)
        started = time.perf_counter()
        clean = clean_motions(run, reference, features, raw)
        seconds = (time.perf_counter() - started) / args.n
        a, b = evaluate(reference, raw, contacts), evaluate(reference, clean, contacts)
        print(
            f"| {name} | {raw[0].n_frames} | {a.coverage:.3f} → {b.coverage:.3f} ({100 * (b.coverage - a.coverage):+.1f} pt) "
            f"| {a.sliding_ratio:.2f} → {b.sliding_ratio:.2f} | {a.jerk_ratio:.2f} → {b.jerk_ratio:.2f} | {seconds:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
