"""Measure what cleanup does to samples of models trained with default settings.

    python benchmarks/cleanup.py [--clips salsa,crab,chicken] [--runs DIR] [--n 20] [--json FILE]

It uses the runs DIR/<clip> and first trains the missing ones with `sinmdm train`
defaults (about 6 minutes each on a 2-core CPU): mixamo/Salsa-Dancing-6.bvh,
truebones/Crab-dance-long.bvh and truebones/Chicken_IdlePecking.bvh (`dragon`, the
bundled example, may be listed too). For each it draws --n samples at twice the clip's
length (50 steps, seed 0) and evaluates them with `sinmdm eval`'s metrics without and with
cleanup, and times the cleanup of one sample. Goals (issue 6): sliding ratio <= 1.1, jerk
ratio <= 1.2, coverage at most 2 points below the raw samples', and <= 2 s to clean a
1300-frame clip (Salsa at 2x: 1296 frames).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import torch

from common import QUALITY, runs_folder, trained, write_rows  # puts the checkout on sys.path first

from sinmdm.edit import load_reference
from sinmdm.generate import clean_motions, sample_features, to_motions
from sinmdm.metrics import evaluate
from sinmdm.runs import Run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", default=QUALITY)
    parser.add_argument("--runs", type=Path, help="folder of runs named by clip (default: a new temporary one)")
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    folder = runs_folder(args.runs, "sinmdm-cleanup-")
    rows = []
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}; {args.n} samples at 2x, 50 steps")
    print()
    print("| clip | frames | coverage raw → clean (change) | sliding ratio raw → clean | jerk ratio raw → clean | cleanup s / sample |")
    print("|---|---|---|---|---|---|")
    for name in args.clips.split(","):
        run = Run.load(trained(name, folder), torch.device("cpu"))
        reference = load_reference(run, None)
        contacts = run.layout.contact_points.tolist()
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
        rows.append({
            "clip": name, "frames": raw[0].n_frames, "cleanup_s": seconds,
            **{f"{k}_raw": v for k, v in a.to_dict().items()}, **{f"{k}_clean": v for k, v in b.to_dict().items()},
        })
    write_rows(args.json, rows)


if __name__ == "__main__":
    main()
