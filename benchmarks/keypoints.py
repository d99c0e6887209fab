"""Keypoint clips (issue 28): a dance given only as joint positions, in 2D and in 3D.

    python benchmarks/keypoints.py [--runs DIR] [--n 20] [--json FILE] [--documented]

The test clip is made here: Salsa (mixamo/Salsa-Dancing-6.bvh) at 30 fps, 20 joints
(hips, spine, chest, neck, head, head top, shoulders, elbows, wrists, hips' sides, knees,
ankles, toes) as world positions; 3D as they are, 2D projected orthographically onto
the frontal plane (x, y). Each is trained with `sinmdm train` defaults (whole process,
timed) and 20 samples at 2x are drawn and cleaned as `sinmdm generate` writes them.
Beside each: baseline (c) on the same positions (benchmarks/baseline.py: shuffled 2-s
pieces, cross-faded, with smooth position noise). Goals: default training within 10
minutes; coverage >= 0.9; global diversity >= 1.2x the baseline's; replay length at most
the baseline's; 3D bone lengths within 1% of the clip's; jerk <= 1.1x the clip's.

--documented adds the comparison row: the same clips trained the way a documented
attempt did (noise prediction, plain DDPM: linear betas, unscaled signal, no plan) on
our network for as long as the default training took, sampled with all 1000 steps
(--documented-n samples: 1000 steps are slow).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from baseline import pieces
from common import ROOT, clip_path, runs_folder, write_rows  # puts the checkout on sys.path first

from sinmdm.anim.bvh import read_bvh
from sinmdm.apps.evaluate import evaluate_model
from sinmdm.evaluation.bones import compare_bones
from sinmdm.evaluation.metrics import evaluate
from sinmdm.model.runs import Run
from sinmdm.model.settings import TrainSettings
from sinmdm.model.train import train as train_model

JOINTS = ("Hips", "Spine", "Spine2", "Neck", "Head", "HeadTop_End", "LeftArm", "LeftForeArm", "LeftHand", "RightArm",
          "RightForeArm", "RightHand", "LeftUpLeg", "LeftLeg", "LeftFoot", "LeftToeBase", "RightUpLeg", "RightLeg",
          "RightFoot", "RightToeBase")


def make_clips(folder: Path) -> dict[str, Path]:
    """salsa_3d.npz and salsa_2d.npz: positions, fps, edges (the BVH tree between the
    chosen joints) and names."""
    motion = read_bvh(clip_path("salsa")).at_training_rate(30.0)
    names = [n.rsplit(":", 1)[-1] for n in motion.skeleton.names]
    index = [names.index(j) for j in JOINTS]
    parents = motion.skeleton.parents
    edges = []
    for k, j in enumerate(index):
        p = parents[j]
        while p >= 0 and p not in index:
            p = parents[p]
        if p >= 0:
            edges.append((index.index(int(p)), k))
    world = motion.world_positions()[:, index]
    out = {}
    for name, positions in (("salsa_3d", world), ("salsa_2d", world[..., :2])):
        out[name] = folder / f"{name}.npz"
        np.savez(out[name], positions=positions, fps=30.0, edges=np.array(edges), names=np.array(JOINTS))
    return out


def train(clip: Path, out: Path, minutes: float | None = None) -> float:
    """Train unless done, and return the minutes it took: with `sinmdm train` defaults
    (the whole process), or with ``minutes`` given the plain-DDPM comparison for that
    long (in this process: it is no option of the command line)."""
    stamp = out / "train_minutes.txt"
    if not stamp.is_file():
        started = time.monotonic()
        if minutes is None:
            subprocess.run([sys.executable, "-m", "sinmdm", "train", str(clip), "--out", str(out), "--force"],
                           check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        else:
            settings = TrainSettings(steps=None, minutes=minutes, plain_ddpm=True)
            train_model(clip, out, settings, device=torch.device("cpu"), force=True)
        stamp.write_text(f"{(time.monotonic() - started) / 60:.3f}\n")
    return float(stamp.read_text())


def measure(run_dir: Path, n: int, steps: int, plan: bool = True) -> dict:
    run = Run.load(run_dir, torch.device("cpu"))
    result = evaluate_model(run, n, 2 * run.train_frames, seed=0, steps=steps, plan=plan)
    r = result.report
    return {"coverage": r.coverage, "coverage_strict": r.coverage_strict, "global_diversity": r.global_diversity,
            "replay_s": r.replay_seconds, "jerk_ratio": r.jerk_ratio, "sliding_ratio": r.sliding_ratio,
            "bone_worst": result.bones.worst_error, "bone_median": result.bones.median_error,
            "bone_spread": result.bones.spread_ratio, "samples": n, "steps": steps}


def baseline(run_dir: Path, n: int) -> dict:
    run = Run.load(run_dir, torch.device("cpu"))
    clip = run.clip()
    rng = np.random.default_rng(0)
    samples = [pieces(clip, 2 * clip.n_frames, rng) for _ in range(n)]
    r = evaluate(clip, samples, run.layout.contact_points.tolist())
    bones = compare_bones([clip], samples)
    return {"coverage": r.coverage, "coverage_strict": r.coverage_strict, "global_diversity": r.global_diversity,
            "replay_s": r.replay_seconds, "jerk_ratio": r.jerk_ratio, "sliding_ratio": r.sliding_ratio,
            "bone_worst": bones.worst_error, "bone_median": bones.median_error, "bone_spread": bones.spread_ratio,
            "samples": n, "steps": 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, help="folder of runs (default: a new temporary one)")
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--documented", action="store_true", help="also the noise-prediction DDPM comparison row")
    parser.add_argument("--documented-n", type=int, default=4, help="samples for the comparison row")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    folder = runs_folder(args.runs, "sinmdm-keypoints-")
    rows = []
    for name, clip in make_clips(folder).items():
        run_dir = folder / name
        minutes = train(clip, run_dir)
        rows.append({"clip": name, "method": "sinmdm (defaults)", "train_min": minutes, **measure(run_dir, args.n, 50)})
        rows.append({"clip": name, "method": "baseline (c)", "train_min": 0.0, **baseline(run_dir, args.n)})
        if args.documented:
            documented = folder / f"{name}_documented"
            minutes = train(clip, documented, rows[-2]["train_min"])
            rows.append({"clip": name, "method": "plain DDPM (noise prediction, 1000 steps)", "train_min": minutes,
                         **measure(documented, args.documented_n, 1000, plan=False)})
    print("| clip | method | train min | coverage (strict) | global div. | replay s | jerk | sliding | bones: worst, "
          "median, spread |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['clip']} | {r['method']} | {r['train_min']:.1f} | {r['coverage']:.3f} ({r['coverage_strict']:.3f}) | "
              f"{r['global_diversity']:.3f} | {r['replay_s']:.2f} | {r['jerk_ratio']:.2f} | {r['sliding_ratio']:.2f} | "
              f"{100 * r['bone_worst']:.2f}%, {100 * r['bone_median']:.2f}%, {r['bone_spread']:.2f} |", flush=True)
    write_rows(args.json, rows)


if __name__ == "__main__":
    main()
