"""Measure what cleanup does to samples of models trained with default settings, beside
what no learning gives.

    python benchmarks/cleanup.py [--clips salsa,walk,crab,chicken_walk,elephant,dragon] [--clip NAME=FILE.bvh ...] [--runs DIR] [--n 20] [--loops 5] [--json FILE]

It uses the runs DIR/<clip> and first trains the missing ones with `sinmdm train`
defaults (about 6 minutes each on a 2-core CPU; clips named in benchmarks/common.py, and
any clip given as --clip NAME=FILE.bvh). For each it draws --n samples at twice the
clip's length (50 steps, seed 0), evaluates them with `sinmdm eval`'s metrics without and
with cleanup, and times the cleanup of one sample. Foot sliding is measured in contact
bands of 3, 5, 8 and 12% of the body size above each contact's rest height, and the
worst band's ratio counts. Beside each row stands baseline (c) of REFERENCE.md (the clip
in shuffled 2-s pieces, cross-faded, with 1.7 degrees of noise; benchmarks/baseline.py),
--n of them. Then --loops samples with --loop: the step at each one's seam over its median
frame step (see sinmdm.evaluation.metrics.loop_seam_step), raw and cleaned, the worst sample counting,
beside what a seamless loop gives (the expected worst of --loops of the clip's own frame
steps over their median: a seam no different from any frame), and the seam's rank among
each loop's own steps (sinmdm.evaluation.metrics.loop_seam_rank; 1 = the loop's biggest step).
Goals (issue 21): sliding at every band and jerk at most 1.1 of the clip's, coverage at
most 2 points below the raw samples', loop seams at most 1.5, and <= 2 s to clean a
1300-frame clip.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
from baseline import pieces
from common import BENCHMARK_CLIPS, add_clips, runs_folder, trained, write_rows  # puts the checkout on sys.path first

from sinmdm.anim.motion import Motion
from sinmdm.apps.edit import load_reference
from sinmdm.apps.generate import clean_motions
from sinmdm.evaluation.metrics import SLIDING_BANDS, evaluate, loop_seam_rank, loop_seam_step, loop_steps
from sinmdm.model.runs import Run
from sinmdm.sampling.sample import sample_features, to_motions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", default=BENCHMARK_CLIPS)
    parser.add_argument("--clip", action="append", default=[], metavar="NAME=FILE.bvh", help="a clip outside the real data")
    parser.add_argument("--runs", type=Path, help="folder of runs named by clip (default: a new temporary one)")
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--loops", type=int, default=5, help="--loop samples whose seams are measured")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    add_clips(args.clip)
    folder = runs_folder(args.runs, "sinmdm-cleanup-")
    rows = []
    bands = "/".join(f"{100 * b:g}" for b in SLIDING_BANDS)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}; {args.n} samples at 2x, 50 steps")
    print(f"sliding: the worst of the bands {bands}% of the body size (each band's ratio in brackets)")
    print()
    print("| clip | contacts | coverage raw → clean (change) | sliding raw → clean | jerk raw → clean "
          "| loop seam raw → clean (seamless worst; seam rank) | baseline (c): coverage, sliding, jerk | cleanup s / sample |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.clips.split(","):
        run = Run.load(trained(name, folder), torch.device("cpu"))
        reference = load_reference(run, None)
        contacts = run.layout.contact_points.tolist()
        features = sample_features(run, args.n, 2 * run.train_frames, seed=0)
        raw = to_motions(run, features)
        started = time.perf_counter()
        clean = clean_motions(run, reference, features, raw)
        seconds = (time.perf_counter() - started) / args.n
        rng = np.random.default_rng(0)
        trivial = [pieces(reference, raw[0].n_frames, rng) for _ in range(args.n)]
        a, b, c = (evaluate(reference, m, contacts) for m in (raw, clean, trivial))
        looped = sample_features(run, args.loops, 2 * run.train_frames, seed=1, loop=True)
        loops_raw = to_motions(run, looped)
        loops_clean = clean_motions(run, reference, looped, loops_raw, loop=True)
        seams = {k: max(loop_seam_step(m) for m in ms) for k, ms in (("raw", loops_raw), ("clean", loops_clean))}
        ranks = {k: max(loop_seam_rank(m) for m in ms) for k, ms in (("raw", loops_raw), ("clean", loops_clean))}
        seamless = seamless_worst(reference, args.loops)

        def worst(r) -> str:
            return f"{r.sliding_ratio:.2f} [{' '.join(f'{x:.2f}' for x in r.sliding_ratios)}]"

        print(
            f"| {name} | {len(contacts)} | {a.coverage:.3f} → {b.coverage:.3f} ({100 * (b.coverage - a.coverage):+.1f} pt) "
            f"| {worst(a)} → {worst(b)} | {a.jerk_ratio:.2f} → {b.jerk_ratio:.2f} | {seams['raw']:.2f} → {seams['clean']:.2f} ({seamless:.2f}; "
            f"rank {ranks['raw']:.2f} → {ranks['clean']:.2f}) "
            f"| {c.coverage:.3f}, {worst(c)}, {c.jerk_ratio:.2f} | {seconds:.2f} |",
            flush=True,
        )
        rows.append({
            "clip": name, "frames": raw[0].n_frames, "cleanup_s": seconds, "contacts": [run.layout.skeleton.point_names[p] for p in contacts],
            "loop_seam_raw": seams["raw"], "loop_seam_clean": seams["clean"], "loop_seam_seamless": seamless,
            "loop_seam_rank_raw": ranks["raw"], "loop_seam_rank_clean": ranks["clean"],
            **{f"{k}_raw": v for k, v in a.to_dict().items()}, **{f"{k}_clean": v for k, v in b.to_dict().items()},
            **{f"{k}_baseline": v for k, v in c.to_dict().items()},
        })
    write_rows(args.json, rows)


def seamless_worst(clip: Motion, loops: int) -> float:
    """The expected largest of ``loops`` steps drawn from the clip's own frame steps, over
    their median: what :func:`loop_seam_step`'s worst of ``loops`` seamless loops gives."""
    steps, _ = loop_steps(clip)
    ratio = np.sort(steps / max(np.median(steps), 1e-12))
    below = np.arange(len(ratio) + 1) / len(ratio)
    return float((ratio * (below[1:] ** loops - below[:-1] ** loops)).sum())


if __name__ == "__main__":
    main()
