"""Run every sampler subcommand on models trained with default settings and print time
and quality figures.

    python benchmarks/apps.py [--runs DIR] [--n 4] [--keep DIR] [--json FILE]

It uses the runs DIR/salsa and DIR/proud, first training the missing ones with `sinmdm
train` defaults on mixamo/Salsa-Dancing-6.bvh and xia/proud.bvh (about 6 minutes each on
a 2-core CPU).
Every subcommand runs as its own `sinmdm` process, so the wall times include start-up.
Printed per subcommand:
- wall time;
- expand, inbetween: seam continuity, the fastest joint's per-frame speed within the
  blend ramp of each seam over the clip's 99th percentile of it (the clip itself scores
  about 0.5-1.1 at random places), and how far the model's own root path strays from the
  given one at the given frames before the path is re-integrated through them (in body
  sizes; the written files pass through them exactly, by construction);
- compose: coverage, sliding and jerk of the outputs (the kept joints are exact by
  construction);
- transfer (Walk-In-Circle content on the Salsa model, and the Xia normal walk on the
  proud model): mean distance of the guided root path from the content's before it is
  pinned to it (in body sizes and as a share of the content's path length), coverage
  against the style clip and against the content, and how often the foot contacts agree
  with the content's;
- crowd: the time for 50 individuals x 300 frames (median of 3 runs) and their
  inter-sample diversity.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from common import ROOT, data_dir, runs_folder, trained, write_rows  # puts the checkout on sys.path first

from sinmdm.anim.bvh import read_bvh
from sinmdm.anim.contacts import contact_labels
from sinmdm.apps.edit import (
    expand_edit,
    inbetween_edit,
    keyframe_edit,
    load_reference,
    ramp_frames,
    reference_targets,
    root_path,
    sample_edit,
)
from sinmdm.apps.transfer import transfer as transfer_motions
from sinmdm.evaluation.metrics import evaluate, seam_jump
from sinmdm.model.runs import Run
from sinmdm.sampling.defaults import DEFAULT_STEPS


def sinmdm(*args: object) -> float:
    """Run one `sinmdm` command; return its wall time."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "sinmdm", *map(str, args)], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def outputs(folder: Path, command: str) -> list:
    return [read_bvh(p) for p in sorted(folder.glob(f"{command}_*.bvh"), key=lambda p: int(p.stem.split("_")[-1]))]


def path_error(run: Run, reference, plan, n: int) -> float:
    """How far the model's own root path strays from the given one at the given frames
    (the largest distance over them, in body sizes), before it is re-integrated through
    them: the same samples as the command's (seed 0, default steps)."""
    raw = sample_edit(run, reference, plan, n, steps=DEFAULT_STEPS, seed=0, clean=False, pin=False)
    targets = reference_targets(run.layout, reference, plan)[plan.anchors]
    if not len(targets):
        return float("nan")
    apart = [np.linalg.norm(root_path(run.layout, m)[plan.anchors] - targets, axis=-1).max() for m in raw]
    return float(max(apart)) / run.layout.skeleton.size


def seams(plan) -> list[int]:
    given = plan.source >= 0
    return np.flatnonzero(np.diff(given.astype(int)) != 0).tolist()


def temporal(run: Run, reference, name: str, plan, args: list, folder: Path, n: int) -> dict:
    seconds = sinmdm(name, "--model", run.path, "--n", n, "--out", folder, "--force", *args)
    motions = outputs(folder, name)
    radius = ramp_frames(run.layout.fps)
    jumps = [seam_jump(reference, m, seams(plan), radius) for m in motions]
    return {
        "command": f"{name} {' '.join(map(str, args))}",
        "seconds": seconds,
        "frames": motions[0].n_frames,
        "seam_jump_mean": float(np.mean(jumps)),
        "seam_jump_max": float(np.max(jumps)),
        "path_error_before_pinning": path_error(run, reference, plan, n),
    }


def transfer(run: Run, content_path: Path, folder: Path, n: int, strength: float) -> dict:
    seconds = sinmdm("transfer", content_path, "--model", run.path, "--n", n, "--strength", strength, "--out", folder, "--force")
    motions = outputs(folder, "transfer")
    style = load_reference(run, None)
    content = load_reference(run, content_path, what="content")
    layout, size = run.layout, run.layout.skeleton.size
    path = root_path(layout, content)
    length = float(np.linalg.norm(np.diff(path, axis=0), axis=-1).sum())
    # The written files follow the content's path exactly (pinned by construction); what
    # the guidance alone does, with the command's seed and steps, could come out badly.
    guided = transfer_motions(run, content, n, strength=strength, steps=DEFAULT_STEPS, seed=0, clean=False, pin=False)
    distance = float(np.mean([np.linalg.norm(root_path(layout, m) - path, axis=-1).mean() for m in guided]))
    contacts = layout.contact_points.tolist()
    agree = float(np.mean([(contact_labels(m, contacts) == contact_labels(content, contacts)).mean() for m in motions]))
    on_style, on_content = evaluate(style, motions, contacts), evaluate(content, motions, contacts)
    return {
        "command": f"transfer {content_path.name} --strength {strength} (model: {run.path.name})",
        "seconds": seconds,
        "frames": motions[0].n_frames,
        "path_distance_before_pinning_sizes": distance / size,
        "path_distance_before_pinning_share": distance / max(length, 1e-9),
        "coverage_style": on_style.coverage,
        "coverage_content": on_content.coverage,
        "contact_agreement": agree,
        "sliding_ratio": on_style.sliding_ratio,
        "jerk_ratio": on_style.jerk_ratio,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, help="folder of runs named by clip (default: a new temporary one)")
    parser.add_argument("--n", type=int, default=4, help="outputs per subcommand (crowd: 50)")
    parser.add_argument("--keep", type=Path, help="keep the outputs in this folder")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    data = data_dir()
    folder = runs_folder(args.keep, "sinmdm-apps-")
    runs = runs_folder(args.runs, "sinmdm-apps-runs-")
    salsa = Run.load(trained("salsa", runs), torch.device("cpu"))
    proud = Run.load(trained("proud", runs), torch.device("cpu"))
    ref = load_reference(salsa, None)
    layout, frames = salsa.layout, ref.n_frames
    rows = []

    total = 2 * frames
    plan = expand_edit(layout, ref, (total - frames) // 2, total - frames - (total - frames) // 2)
    rows.append(temporal(salsa, ref, "expand", plan, ["--length", total], folder / "expand", args.n))
    plan = inbetween_edit(layout, ref, round(0.25 * frames), round(0.75 * frames), round(0.75 * frames) - round(0.25 * frames))
    rows.append(temporal(salsa, ref, "inbetween", plan, ["--prefix", "0.25", "--suffix", "0.75"], folder / "inbetween", args.n))
    keys = [0, frames // 3, 2 * frames // 3, frames - 1]
    plan = keyframe_edit(layout, ref, keys)
    rows.append(
        temporal(salsa, ref, "inbetween", plan, ["--keyframes", ",".join(map(str, keys))], folder / "keyframes", args.n)
    )
    for part in ("lower_body", "upper_body"):
        seconds = sinmdm("compose", "--model", salsa.path, "--keep", part, "--n", args.n, "--out", folder / part, "--force")
        motions = outputs(folder / part, "compose")
        report = evaluate(ref, motions, layout.contact_points.tolist())
        rows.append({
            "command": f"compose --keep {part}",
            "seconds": seconds,
            "coverage": report.coverage,
            "sliding_ratio": report.sliding_ratio,
            "jerk_ratio": report.jerk_ratio,
        })
    rows.append(transfer(salsa, data / "mixamo/Walk-In-Circle.bvh", folder / "transfer_walk", args.n, 0.5))
    rows.append(transfer(proud, data / "xia/normal.bvh", folder / "transfer_xia", args.n, 0.5))

    # The median of three runs: one run's wall time varies by 10-20% on a shared CPU.
    times = [sinmdm("crowd", "--model", salsa.path, "--n", 50, "--length", 300, "--out", folder / "crowd", "--force") for _ in range(3)]
    seconds = float(np.median(times))
    record = json.loads((folder / "crowd" / "crowd.json").read_text())
    rows.append({"command": "crowd --n 50 --length 300", "seconds": seconds, "inter_sample_diversity": record["inter_sample_diversity"]})

    print(f"\n{torch.__version__}, {os.cpu_count()} CPUs, outputs in {folder}")
    for row in rows:
        print(row["command"])
        for key, value in row.items():
            if key != "command":
                print(f"    {key:<24} {value:.3f}" if isinstance(value, float) else f"    {key:<24} {value}")
    write_rows(args.json, rows)


if __name__ == "__main__":
    main()
