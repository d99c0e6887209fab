"""Train with default settings on real clips and print time, memory and quality, each
quality figure beside what no learning gives on the same clip.

    python benchmarks/train_quality.py [--clips salsa,walk,crab,chicken_walk,elephant,dragon] [--n 20] [--runs DIR] [--json FILE]

Each clip is trained in its own `sinmdm train` process (so its peak memory is its own)
into DIR/<clip> (a run already there is reused, with the time it recorded). Then --n
samples of twice the clip's length are drawn and cleaned as `sinmdm generate` writes
them, and evaluated with `sinmdm eval`'s metrics; --n more without the plan (`--free`,
raw) for their coverage, diversity and replays; and one 2x sample is timed alone.
Beside them, on the same clip and with the same evaluation, --n of each baseline of
REFERENCE.md section 4 (benchmarks/baseline.py): (a) an exact copy of the clip (one,
at its own length), (b) the clip in shuffled 2-s pieces cross-faded over 0.5 s, (c) the
same with 1.7 degrees of smooth rotation noise.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from baseline import pieces
from common import BENCHMARK_CLIPS, runs_folder, trained, write_rows  # puts the checkout on sys.path first

from sinmdm.apps.edit import load_reference
from sinmdm.apps.generate import clean_motions
from sinmdm.evaluation.metrics import evaluate
from sinmdm.model.runs import Run
from sinmdm.sampling.sample import sample_features, to_motions

KINDS = ("sinmdm", "free", "copy", "pieces", "noisy")  # keys of each clip's reports
LABELS = {
    "sinmdm": "sinmdm (cleaned)", "free": "sinmdm --free (raw)", "copy": "(a) exact copy",
    "pieces": "(b) 2-s pieces", "noisy": "(c) pieces + noise",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", default=BENCHMARK_CLIPS)
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
        reference = load_reference(run, None)
        contacts = run.layout.contact_points.tolist()
        features = sample_features(run, args.n, frames, **steps)
        samples = clean_motions(run, reference, features, to_motions(run, features))
        free = to_motions(run, sample_features(run, args.n, frames, plan=False, **steps))
        rng = np.random.default_rng(0)
        motions = {
            "sinmdm": samples, "free": free, "copy": [reference],
            "pieces": [pieces(reference, frames, rng, noise=False) for _ in range(args.n)],
            "noisy": [pieces(reference, frames, rng) for _ in range(args.n)],
        }
        reports = {k: evaluate(reference, m, contacts).to_dict() for k, m in motions.items()}
        rows.append({
            "clip": name, "train_s": config["seconds"], "steps": config["steps_done"],
            "peak_mb": config.get("peak_memory_mb", float("nan")), "sample_2x_s": one_sample, "frames_2x": frames,
            **reports,
        })
        print(f"{name}: trained in {config['seconds'] / 60:.1f} min ({config['steps_done']} steps, "
              f"{rows[-1]['peak_mb']:.0f} MB peak); one 2x sample {one_sample:.1f} s", flush=True)
        print_table(name, reports)
    print(f"\nruns in {folder}; machine: {os.cpu_count()} CPUs, torch {torch.__version__}")
    write_rows(args.json, rows)


def print_table(name: str, reports: dict[str, dict]) -> None:
    print(f"| {name} | coverage (strict, loose) | global div. | inter-sample | replay s (> 2 s) | clip's self-replay s "
          "| sliding, worst band [3/5/8/12%] | jerk |")
    print("|---|---|---|---|---|---|---|---|")
    for kind, r in reports.items():
        bands = " ".join(f"{x:.2f}" for x in r["sliding_ratios"])
        print(
            f"| {LABELS[kind]} | {r['coverage']:.2f} ({r['coverage_strict']:.2f}, {r['coverage_loose']:.2f}) "
            f"| {r['global_diversity']:.2f} | {r['inter_sample_diversity']:.2f} "
            f"| {r['replay_seconds']:.1f} ({100 * r['replay_long_share']:.0f}%) | {r['self_replay_seconds']:.1f} "
            f"| {r['sliding_ratio']:.2f} [{bands}] | {r['jerk_ratio']:.2f} |",
            flush=True,
        )
    print()


if __name__ == "__main__":
    main()
