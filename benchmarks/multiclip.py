"""Several clips of one creature learned together (issue 24): how well one model covers
each clip, whether its samples move between the clips, and whether `--sequence` plays the
clips in the order asked for.

    python benchmarks/multiclip.py [--sets chickens,salsa_walk] [--n 20] [--seconds 20] [--runs DIR] [--json FILE]

Each set is trained with `sinmdm train` defaults on its clips together into DIR/<set> (a
run already there is reused). Then:
- --n samples of --seconds, drawn and cleaned as `sinmdm generate` writes them, beside
  --n of baseline (c) (2-s pieces drawn from all the clips, cross-faded, with 1.7 degrees
  of noise): each clip's coverage by the samples together, how many samples cover at
  least 0.1, 0.2 and 0.3 of two or more clips (they mix), sliding at every band and jerk
  as ratios to the clips';
- --n samples of a `--sequence` visiting every clip (5 s each, the first clip again at
  the end), default --transition: in each span, the share of its 1-s windows nearest
  (metric features, mean cost per frame) to the named clip, and the jerk within 0.5 s of
  each border as a ratio to the clips'.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import torch
from baseline import pieces
from common import runs_folder, trained, write_rows  # puts the checkout on sys.path first

from sinmdm.apps.generate import clean_motions
from sinmdm.evaluation.metrics import METRIC_FPS, clips_jerk, distances, evaluate, metric_features, window_sums
from sinmdm.model.runs import Run
from sinmdm.sampling.defaults import DEFAULT_TRANSITION_SECONDS
from sinmdm.sampling.plan import Plan, Span
from sinmdm.sampling.sample import sample_features, to_motions

SETS = {"chickens": ("chicken_walk", "chicken", "chicken_egg"), "salsa_walk": ("salsa", "walk")}
MIX_SHARES = (0.1, 0.2, 0.3)  # a sample mixes if it covers at least this much of two clips or more
SPAN_SECONDS = 5.0
BORDER_SECONDS = 0.5  # jerk is measured this close to each border of a sequence
WINDOW = round(METRIC_FPS)  # 1-s windows at the metric rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--runs", type=Path, help="folder of runs named by set (default: a new temporary one)")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    folder = runs_folder(args.runs, "sinmdm-multi-")
    rows = []
    for name in args.sets.split(","):
        run = Run.load(trained(name, folder, SETS[name]), torch.device("cpu"))
        row = {"set": name, "clips": list(run.clip_names), **mixing(run, args.n, args.seconds), **sequence(run, args.n)}
        rows.append(row)
        print_set(row)
    print(f"runs in {folder}; machine: {os.cpu_count()} CPUs, torch {torch.__version__}")
    write_rows(args.json, rows)


def mixing(run: Run, n: int, seconds: float) -> dict:
    """Default samples and baseline (c), scored against the clips together and each."""
    clips = run.clip_set().motions
    contacts = run.layout.contact_points.tolist()
    frames = round(seconds * run.layout.fps)
    features = sample_features(run, n, frames)
    samples = clean_motions(run, None, features, to_motions(run, features))
    rng = np.random.default_rng(0)
    out = {}
    for kind, motions in (("sinmdm", samples), ("noisy", [pieces(clips, frames, rng) for _ in range(n)])):
        report = evaluate(clips, motions, contacts)
        per_sample = np.asarray(report.clip_coverage)  # (samples, clips)
        out[kind] = {
            **report.to_dict(),
            "mixing": {str(s): float(((per_sample >= s).sum(axis=1) >= 2).mean()) for s in MIX_SHARES},
        }
    return out


def sequence(run: Run, n: int) -> dict:
    """Samples of a sequence through every clip: the nearest clip per span and border jerk."""
    fps = run.layout.fps
    order = list(range(len(run.clip_names))) + [0]
    spans = tuple(Span(k, round(SPAN_SECONDS * fps)) for k in order)
    plan = Plan(sequence=spans, transition=round(DEFAULT_TRANSITION_SECONDS * fps))
    frames = sum(s.frames for s in spans)
    features = sample_features(run, n, frames, plan=plan)
    motions = clean_motions(run, None, features, to_motions(run, features))
    clip_feats = [metric_features(c) for c in run.clip_set().motions]
    starts = np.concatenate([[0], np.cumsum([s.frames for s in spans])])
    nearest = [[] for _ in spans]
    for motion in motions:
        feats = metric_features(motion)
        # (clips, sample windows): each sample window's cost to its closest window of each clip
        cost = np.stack([(window_sums(distances(c, feats), WINDOW) / WINDOW).min(axis=0) for c in clip_feats])
        best = cost.argmin(axis=0)
        for i, span in enumerate(spans):
            a = int(np.ceil(starts[i] * METRIC_FPS / fps))
            b = int(np.floor(starts[i + 1] * METRIC_FPS / fps)) - WINDOW + 1  # windows wholly inside the span
            nearest[i].append(float((best[a:b] == span.clip).mean()))
    return {
        "sequence": [{"clip": run.clip_names[s.clip], "seconds": s.frames / fps, "nearest_share": float(np.mean(v)),
                      "worst_sample": float(np.min(v))} for s, v in zip(spans, nearest)],
        "border_jerk_ratio": border_jerk(motions, starts[1:-1], fps) / clips_jerk(run.clip_set().motions),
    }


def border_jerk(motions: list, borders: np.ndarray, fps: float) -> float:
    """Mean jerk (body sizes / s^3) of the frames within BORDER_SECONDS of any border."""
    reach = round(BORDER_SECONDS * fps)
    values = []
    for m in motions:
        third = np.linalg.norm(np.diff(m.world_positions(), n=3, axis=0), axis=-1).mean(axis=1) * m.fps**3
        near = np.zeros(len(third), dtype=bool)
        for b in borders:  # a handful of borders
            near[max(0, b - reach) : b + reach] = True
        values.append(third[near])
    return float(np.concatenate(values).mean() / motions[0].skeleton.size)


def print_set(row: dict) -> None:
    names = row["clips"]
    print(f"\n## {row['set']}: {', '.join(names)}\n")
    print("| samples | coverage per clip, together | strict (per sample) | mixing (≥2 clips at 0.1 / 0.2 / 0.3) "
          "| coverage, global div. | sliding [3/5/8/12%] | jerk |")
    print("|---|---|---|---|---|---|---|")
    for kind, label in (("sinmdm", "sinmdm (cleaned)"), ("noisy", "(c) pieces + noise")):
        r = row[kind]
        mix = " / ".join(f"{r['mixing'][str(s)]:.2f}" for s in MIX_SHARES)
        bands = " ".join(f"{x:.2f}" for x in r["sliding_ratios"])
        print(f"| {label} | {' / '.join(f'{c:.2f}' for c in r['clip_coverage_together'])} "
              f"| {r['coverage_strict']:.2f} | {mix} | {r['coverage']:.2f}, {r['global_diversity']:.2f} "
              f"| {bands} | {r['jerk_ratio']:.2f} |")
    spans = "; ".join(f"{s['clip']} {s['seconds']:g} s: {s['nearest_share']:.2f} (worst {s['worst_sample']:.2f})"
                      for s in row["sequence"])
    print(f"\n--sequence, share of 1-s windows nearest the span's clip: {spans}; "
          f"jerk within {BORDER_SECONDS:g} s of the borders: {row['border_jerk_ratio']:.2f} of the clips'\n", flush=True)


if __name__ == "__main__":
    main()
