"""Train with default settings on real clips and print time, memory and quality.

    python benchmarks/train_quality.py [--clips salsa,crab,chicken] [--n 20] [--runs DIR] [--json FILE]

Each clip is trained in its own `sinmdm train` process (so its peak memory is its own)
into DIR/<clip> (a run already there is reused, with the time it recorded), then 20
samples of twice the clip's length are drawn and evaluated (metrics of REFERENCE.md
section 4), 20 more without the plan (`--free`) for their coverage and diversity, and one
2x sample is timed alone. `dragon` (the bundled example) may be
listed too.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from common import QUALITY, clip_path, runs_folder, trained, write_rows  # puts the checkout on sys.path first

from sinmdm.bvh import read_bvh
from sinmdm.generate import sample_features, to_motions
from sinmdm.metrics import evaluate
from sinmdm.runs import Run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", default=QUALITY)
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--steps", type=int, default=None, help="sampling steps (default: the tool's)")
    parser.add_argument("--runs", type=Path, help="folder of runs named by clip (default: a new temporary one)")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    folder = runs_folder(args.runs, "sinmdm-bench-")
    rows = []
    for name in args.clips.split(","):
        run_dir = trained(name, folder)
        config = json.loads((run_dir / "config.json").read_text())
        run = Run.load(run_dir, torch.device("cpu"))
        steps = {"steps": args.steps} if args.steps else {}
        frames = 2 * run.train_frames
        started = time.monotonic()
        sample_features(run, 1, frames, seed=123, **steps)
        one_sample = time.monotonic() - started
        samples = to_motions(run, sample_features(run, args.n, frames, **steps))
        reference = read_bvh(clip_path(name)).resample(run.layout.fps)
        report = evaluate(reference, samples, run.layout.contact_points.tolist())
        # The same without the plan (`--free`): what the model picks on its own.
        free = to_motions(run, sample_features(run, args.n, frames, plan=False, **steps))
        alone = evaluate(reference, free, run.layout.contact_points.tolist())
        rows.append(
            {
                "clip": name,
                "train_s": config["seconds"],
                "steps": config["steps_done"],
                "peak_mb": config.get("peak_memory_mb", float("nan")),
                "sample_2x_s": one_sample,
                "frames_2x": frames,
                **report.to_dict(),
                **{f"{k}_free": v for k, v in alone.to_dict().items() if k.startswith(("coverage", "global", "inter"))},
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    print()
    head = (
        f"{'clip':8} {'train s':>8} {'steps':>6} {'peak MB':>8} {'2x s':>6} {'cov':>6} {'cov.25':>6} {'cov1':>6} "
        f"{'GD':>6} {'GDre':>6} {'LD':>6} {'ISD':>6} {'slide':>6} {'jerk':>6}"
    )
    print(head)
    for r in rows:
        print(
            f"{r['clip']:8} {r['train_s']:8.0f} {r['steps']:6d} {r['peak_mb']:8.0f} {r['sample_2x_s']:6.1f} "
            f"{r['coverage']:6.2f} {r['coverage_strict']:6.2f} {r['coverage_loose']:6.2f} {r['global_diversity']:6.2f} "
            f"{r['global_diversity_reassembled']:6.2f} {r['local_diversity']:6.2f} {r['inter_sample_diversity']:6.2f} "
            f"{r['sliding_ratio']:6.2f} {r['jerk_ratio']:6.2f}"
        )
    print("\nwithout the plan (--free):")
    for r in rows:
        print(
            f"{r['clip']:8} coverage {r['coverage_free']:.2f} (strict {r['coverage_strict_free']:.2f}), "
            f"global diversity {r['global_diversity_free']:.2f}, inter-sample {r['inter_sample_diversity_free']:.2f}"
        )
    print(f"\nruns in {folder}; machine: {os.cpu_count()} CPUs, torch {torch.__version__}")
    write_rows(args.json, rows)


if __name__ == "__main__":
    main()
