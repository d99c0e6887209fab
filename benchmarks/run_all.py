"""Run every benchmark under benchmarks/ and print one results table (markdown).

    python benchmarks/run_all.py [--runs DIR] [--clips salsa,crab,chicken,dragon]

The benchmarks share one folder of runs (DIR/<clip>, default a new temporary folder):
each clip is trained once with `sinmdm train` defaults and reused by every benchmark, and
a run already in DIR is reused with the training time it recorded. With nothing trained
this takes about 40 minutes on a 2-core CPU. Each benchmark runs in its own process and
hands its figures over as JSON; their own, more detailed, tables are in its output
(pass --verbose to see them). `--tables-from DIR` prints the table again from the
figures a run saved (the folder is named at the end of its output).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import BENCHMARK_CLIPS, ROOT, runs_folder  # puts the checkout on sys.path first

HERE = Path(__file__).resolve().parent
BENCHMARKS = ("train_quality", "cleanup", "sampling", "apps", "follow", "keypoints", "onnx", "gltf", "render", "scale")  # in order


def bench(script: str, args: list[str], scratch: Path, verbose: bool) -> list[dict]:
    out = scratch / f"{Path(script).stem}.json"
    started = time.monotonic()
    print(f"running {script} {' '.join(args)}", file=sys.stderr, flush=True)
    done = subprocess.run(
        [sys.executable, str(HERE / script), *args, "--json", str(out)],
        cwd=ROOT, text=True, stdout=None if verbose else subprocess.PIPE, stderr=None if verbose else subprocess.PIPE,
    )
    if done.returncode:
        sys.exit(f"{script} failed:\n{(done.stderr or '')[-3000:]}")
    print(f"  done in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    return json.loads(out.read_text())


def machine() -> str:
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, {gpu}, Python {platform.python_version()}, torch {torch.__version__}"


QUALITY_LABELS = {"sinmdm": "sinmdm", "pieces": "(b) 2-s pieces", "noisy": "(c) pieces + noise"}


def verdict(value: float, goal: float, at_most: bool = True) -> str:
    met = value <= goal if at_most else value >= goal
    return "met" if met else "**missed**"


def quality_goals(q: dict) -> list[tuple[str, bool]]:
    """Issue 22's goals for one clip's quality figures (``train_quality`` rows): sinmdm's
    cleaned samples against baseline (c) of the same run. Each: (what it says, met)."""
    s, c = q["sinmdm"], q["noisy"]
    replay_cap = max(c["replay_seconds"], s["self_replay_seconds"])
    return [
        (f"coverage ≥ 0.9 and ≥ (c) − 0.02 = {c['coverage'] - 0.02:.2f}",
         s["coverage"] >= 0.9 and s["coverage"] >= c["coverage"] - 0.02),
        ("strict coverage ≥ 0.5", s["coverage_strict"] >= 0.5),
        (f"global diversity ≥ 1.2 × (c) = {1.2 * c['global_diversity']:.2f}", s["global_diversity"] >= 1.2 * c["global_diversity"]),
        (f"replay {s['replay_seconds']:.2f} s ≤ {replay_cap:.2f} s ((c) or the clip's self-replay)", s["replay_seconds"] <= replay_cap),
        ("sliding ≤ 1.1 at every band", max(s["sliding_ratios"]) <= 1.1),
        ("jerk ≤ 1.1", s["jerk_ratio"] <= 1.1),
    ]


def keypoint_goals(s: dict, c: dict) -> list[tuple[str, bool]]:
    """Issue 28's goals for one keypoint clip: sinmdm's cleaned samples (``s``) against
    baseline (c) on the same positions (``c``)."""
    goals = [
        ("training ≤ 10 min", s["train_min"] <= 10.0),
        ("coverage ≥ 0.9", s["coverage"] >= 0.9),
        (f"global diversity ≥ 1.2 × (c) = {1.2 * c['global_diversity']:.2f}", s["global_diversity"] >= 1.2 * c["global_diversity"]),
        (f"replay ≤ (c)'s {c['replay_s']:.2f} s", s["replay_s"] <= c["replay_s"]),
        ("jerk ≤ 1.1", s["jerk_ratio"] <= 1.1),
    ]
    return goals + ([("3D bone lengths within 1%", s["bone_worst"] <= 0.01)] if s["clip"].endswith("3d") else [])


def goal_text(goals: list[tuple[str, bool]]) -> str:
    missed = [what for what, met in goals if not met]
    held = len(goals) - len(missed)
    return f"{held} of {len(goals)} goals met" + ("" if not missed else "; **missed**: " + "; ".join(missed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, help="folder of runs named by clip (default: a new temporary one)")
    parser.add_argument("--clips", default=BENCHMARK_CLIPS, help="clips for training, quality and cleanup")
    parser.add_argument("--n", type=int, default=20, help="samples per clip for the quality and cleanup figures")
    parser.add_argument("--verbose", action="store_true", help="show each benchmark's own output")
    parser.add_argument("--tables-from", type=Path, help="only print the table from the figures saved in this folder by an earlier run")
    args = parser.parse_args()
    started = time.monotonic()
    if args.tables_from:
        figures = {name: json.loads((args.tables_from / f"{name}.json").read_text()) for name in BENCHMARKS}
        where = f"figures saved in {args.tables_from}"
    else:
        runs = runs_folder(args.runs, "sinmdm-runs-")
        scratch = Path(tempfile.mkdtemp(prefix="sinmdm-all-"))
        shared = ["--runs", str(runs)]
        per_clip = [*shared, "--clips", args.clips, "--n", str(args.n)]
        arguments = {"train_quality": per_clip, "cleanup": per_clip, "sampling": shared, "apps": shared, "follow": shared,
                     "keypoints": [*shared, "--documented"], "onnx": shared}
        figures = {name: bench(f"{name}.py", arguments.get(name, []), scratch, args.verbose) for name in BENCHMARKS}
        where = f"{(time.monotonic() - started) / 60:.0f} min; runs in {runs}, figures saved in {scratch}"
    print(f"Machine: {machine()}. All figures from `python benchmarks/run_all.py` ({where}).")
    print()
    print("| benchmark | case | measured | goal |")
    print("|---|---|---|---|")
    for what, case, value, goal in table(figures, args.n):
        print(f"| {what} | {case} | {value} | {goal} |")


def table(figures: dict[str, list[dict]], n: int) -> list[tuple[str, str, str, str]]:
    """One row (benchmark, case, measured, goal) per figure."""
    quality, cleanup, sampling, apps = (figures[k] for k in ("train_quality", "cleanup", "sampling", "apps"))
    onnx, render, scale = (figures[k] for k in ("onnx", "render", "scale"))

    rows: list[tuple[str, str, str, str]] = []  # (what, case, value, goal)
    for q in quality:
        rows.append((
            "training (defaults)", q["clip"],
            f"{q['train_s'] / 60:.1f} min, {q['steps']} steps, {q['peak_mb']:.0f} MB peak",
            f"≤ 10 min ({verdict(q['train_s'], 600)})",
        ))
    for q in quality:
        for kind in ("sinmdm", "pieces", "noisy"):
            r = q[kind]
            rows.append((
                f"quality, {n} samples at 2x" if kind == "sinmdm" else "", f"{q['clip']}: {QUALITY_LABELS[kind]}",
                f"coverage {r['coverage']:.2f} (strict {r['coverage_strict']:.2f}); global diversity {r['global_diversity']:.2f}; "
                f"inter-sample {r['inter_sample_diversity']:.2f}; replay {r['replay_seconds']:.1f} s "
                f"({100 * r['replay_long_share']:.0f}% > 2 s; the clip's self-replay {r['self_replay_seconds']:.1f} s); "
                f"sliding {r['sliding_ratio']:.2f}; jerk {r['jerk_ratio']:.2f}",
                "" if kind != "sinmdm" else goal_text(quality_goals(q)),
            ))
        near = 1000 <= q["frames_2x"] <= 1600  # the goal is set for about 1300 frames
        rows.append((
            "one 2x sample (50 steps)", q["clip"], f"{q['sample_2x_s']:.1f} s for {q['frames_2x']} frames",
            f"≤ 5 s for ~1300 frames ({verdict(q['sample_2x_s'], 5.0)})" if near else "",
        ))
    for c in cleanup:
        change = 100 * (c["coverage_clean"] - c["coverage_raw"])
        raw, clean, trivial = (c[f"sliding_ratio_{k}"] for k in ("raw", "clean", "baseline"))
        bands = " ".join(f"{x:.2f}" for x in c["sliding_ratios_clean"])
        rows.append((
            "cleanup", c["clip"],
            f"sliding (worst band) {raw:.2f} → {clean:.2f} [{bands}]; jerk {c['jerk_ratio_raw']:.2f} → "
            f"{c['jerk_ratio_clean']:.2f}; coverage {change:+.1f} pt; loop seam {c['loop_seam_raw']:.2f} → "
            f"{c['loop_seam_clean']:.2f} (a seamless loop's {c.get('loop_seam_seamless', float('nan')):.2f}; seam rank "
            f"{c.get('loop_seam_rank_clean', float('nan')):.2f}); {c['cleanup_s']:.2f} s per {c['frames']} frames; "
            f"baseline (c): sliding {trivial:.2f}, jerk {c['jerk_ratio_baseline']:.2f}, coverage {c['coverage_baseline']:.3f}",
            f"sliding ≤ 1.1 ({verdict(clean, 1.1)}), jerk ≤ 1.1 ({verdict(c['jerk_ratio_clean'], 1.1)}), "
            f"coverage ≥ −2 pt ({verdict(change, -2.0, at_most=False)}), loop seam ≤ 1.5 ({verdict(c['loop_seam_clean'], 1.5)})",
        ))
    for s in sampling:
        rows.append((
            "sampling time against length", f"salsa, {s['frames']} frames",
            f"{s['total_s']:.2f} s (sampler {s['sampling_s']:.2f}, decode {s['decode_s']:.2f}, cleanup {s['cleanup_s']:.2f})",
            f"{1000 * s['total_s'] / s['frames']:.2f} ms per frame",
        ))
    for a in apps:
        if a["command"].startswith("crowd"):
            frames = 50 * 300
            rows.append((
                "crowd throughput", "salsa, " + a["command"],
                f"{a['seconds']:.1f} s ({frames / a['seconds']:.0f} frames/s), inter-sample diversity {a['inter_sample_diversity']:.2f}",
                f"≤ 20 s ({verdict(a['seconds'], 20.0)})",
            ))
        else:
            detail = ", ".join(
                f"{k.replace('_', ' ')} {v:.3f}" for k, v in a.items() if isinstance(v, float) and k != "seconds"
            )
            rows.append(("editing (4 outputs, wall time)", a["command"], f"{a['seconds']:.1f} s; {detail}", ""))
    for f in figures["follow"]:
        bands = " ".join(f"{x:.2f}" for x in f["sliding_ratios"])
        stop = (f"; body speed in the stop {f['body_speed_stopped']:.2f} (moving {f['body_speed_moving']:.2f})"
                if "body_speed_stopped" in f else "")
        if f["method"] != "sinmdm":
            goal = ""
        elif f["clip"] == "crab":
            apart = abs((f["travel_angle_degrees"] - f["clip_travel_angle_degrees"] + 180) % 360 - 180)
            goal = f"travel angle within 20 deg of the clip's {f['clip_travel_angle_degrees']:.0f} ({verdict(apart, 20.0)})"
        else:
            goal = (f"path ≤ 0.05 ({verdict(f['path_error_sizes'], 0.05)}), heading ≤ 20 "
                    f"({verdict(f['heading_error_degrees'], 20.0)}), sliding ≤ 1.2 ({verdict(max(f['sliding_ratios']), 1.2)}), "
                    f"jerk ≤ 1.2 ({verdict(f['jerk_ratio'], 1.2)}), coverage ≥ 0.8 ({verdict(f['coverage'], 0.8, at_most=False)})")
        rows.append((
            "follow (4 outputs)" if f["method"] == "sinmdm" else "", f"{f['clip']}, {f['path']}: {f['method']}",
            f"path {f['path_error_sizes']:.4f} sizes; heading {f['heading_error_degrees']:.1f} deg; travel angle "
            f"{f['travel_angle_degrees']:.0f} deg (axis {f['travel_axis_degrees']:.0f}); coverage {f['coverage']:.2f} "
            f"({f['coverage_heading_removed']:.2f} heading removed); sliding [{bands}]; jerk {f['jerk_ratio']:.2f}{stop}",
            goal,
        ))
    rows += keypoint_rows(figures["keypoints"])
    for o in onnx:
        rows.append(("ONNX export (`sinmdm export`)", "salsa", f"{o['export_s']:.1f} s, {o['onnx_mb']:.1f} MB", f"≤ 30 s ({verdict(o['export_s'], 30.0)})"))
        rows.append((
            "ONNX Runtime against torch", f"salsa, {o['frames']} frames",
            f"one step: torch {o['torch_step_ms']:.0f} ms, onnxruntime {o['onnx_step_ms']:.0f} ms; one 50-step sample: "
            f"torch {o['torch_sample_s']:.2f} s, onnxruntime {o['onnx_sample_s']:.2f} s; same seed, joints within "
            f"{o['apart_heights']:.0e} skeleton heights", "≤ 1e-3 heights apart (" + verdict(o["apart_heights"], 1e-3) + ")",
        ))
    for g in figures["gltf"]:
        goal = f"≤ 1 s ({verdict(g['seconds'], 1.0)})" if g["case"].startswith("salsa, 300 frames") else ""
        rows.append(("glTF output", g["case"], f"{g['seconds']:.2f} s, {g['mb']:.2f} MB (BVH {g['bvh_mb']:.2f} MB)", goal))
    for r in render:
        goal = "" if r["goal_s"] is None else f"≤ {r['goal_s']:g} s ({verdict(r['seconds'], r['goal_s'])})"
        rate = "" if "PNG" in r["case"] else f" ({r['frames_per_s']:.0f} frames/s)"
        rows.append(("render", r["case"], f"{r['seconds']:.1f} s{rate}", goal))
    for s in scale:
        rows.append(("scale", s["case"], f"{s['seconds']:.1f} s, {s['peak_mb']:.0f} MB peak ({s['notes']})", ""))

    return rows


def keypoint_rows(figures: list[dict]) -> list[tuple[str, str, str, str]]:
    rows = []
    for k in figures:
        baseline = next(b for b in figures if b["clip"] == k["clip"] and b["method"].startswith("baseline"))
        goal = goal_text(keypoint_goals(k, baseline)) if k["method"].startswith("sinmdm") else ""
        rows.append((
            "keypoints, 2x" if k["method"].startswith("sinmdm") else "", f"{k['clip']}: {k['method']}",
            f"train {k['train_min']:.1f} min; {k['samples']} samples, {k['steps']} steps: coverage {k['coverage']:.3f} "
            f"(strict {k['coverage_strict']:.3f}); global diversity {k['global_diversity']:.3f}; replay {k['replay_s']:.2f} s; "
            f"jerk {k['jerk_ratio']:.2f}; sliding {k['sliding_ratio']:.2f}; bones: worst {100 * k['bone_worst']:.2f}%, "
            f"median {100 * k['bone_median']:.2f}%, spread {k['bone_spread']:.2f}", goal,
        ))
    return rows


if __name__ == "__main__":
    main()
