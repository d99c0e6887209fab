"""`sinmdm follow` on models trained with default settings: how closely the outputs keep
to their paths and how well they move, beside the clip cut into pieces and forced onto
the same path (what no learning gives).

    python benchmarks/follow.py [--runs DIR] [--n 4] [--keep DIR] [--json FILE]

It uses the runs DIR/walk and DIR/crab, first training the missing ones with `sinmdm
train` defaults (about 9 minutes each on a 2-core CPU). Paths, sized by the clip's own
median speed v (units per second) and body size:
- walk, figure-eight: a figure-eight 8 s of travel across, no times (the clip's speed);
- walk, stop: a straight line, 4 s of travel, a 2-s stop, 4 s more (times given);
- walk, turn: 4 s straight, a 90-degree corner, 4 s straight (no times);
- crab, straight: 8 s straight (no times).
Printed per path, for the cleaned outputs (seed 0, default steps) and for baseline (c)
of benchmarks/baseline.py put on the path (its root's heading and place replaced by the
path's, the body as the pieces have it):
- path error: the root's largest distance from the curve over all frames, in body sizes;
- heading error while moving (path speed over a tenth of v): the largest angle between
  the root's heading and the path's direction minus the clip's heading-travel angle;
  both are set by construction, so these two figures check the plumbing, not the model;
- travel angle: the (circular) median angle between heading and the root's own direction
  of travel over 0.5 s, against the clip's (the crab's goal: within 20 degrees), and the
  median axis of travel (-90..90 degrees: a creature that walks both ways along one
  axis travels along it either way);
- for the path with a stop: the joints' mean speed relative to the root in the middle
  second of the stop and in the first 2 s (body sizes per second);
- coverage of the clip (0.5 s threshold; it compares root rotations, heading included,
  so also with every root turned to heading 0), sliding over the clip's in each contact
  band (3/5/8/12% of the body size), jerk over the clip's.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from baseline import pieces
from common import runs_folder, trained, write_rows  # puts the checkout on sys.path first

from sinmdm.anim.bvh import write_bvh
from sinmdm.anim.motion import Motion
from sinmdm.anim.paths import GroundPath, Track
from sinmdm.apps.edit import pin_trajectory, root_path
from sinmdm.apps.follow import Travel, clip_travel, face, follow
from sinmdm.evaluation.metrics import SLIDING_BANDS, evaluate
from sinmdm.model.runs import Run
from sinmdm.sampling.defaults import DEFAULT_STEPS


def paths(travel: Travel, name: str) -> dict[str, GroundPath]:
    v = travel.typical
    if name == "crab":
        return {"straight": GroundPath(np.array([[0.0, 0.0], [8 * v, 0.0]]), None, "straight")}
    theta = np.linspace(0, 2 * np.pi, 17)
    eight = 4 * v * np.stack([np.sin(theta), np.sin(theta) * np.cos(theta)], axis=-1)
    stop = GroundPath(np.array([[0.0, 0.0], [4 * v, 0.0], [4 * v, 0.0], [8 * v, 0.0]]), np.array([0.0, 4.0, 6.0, 10.0]), "stop")
    turn = GroundPath(np.array([[0.0, 0.0], [4 * v, 0.0], [4 * v, 4 * v]]), None, "turn")
    return {"figure-eight": GroundPath(eight, None, "figure-eight"), "stop": stop, "turn": turn}


def headings(run: Run, motion: Motion) -> np.ndarray:
    return run.layout.heading_angle(motion.world()[0][:, run.layout.traj_joint])


def wrap(angle: np.ndarray) -> np.ndarray:
    return np.angle(np.exp(1j * angle))


def travel_angles(run: Run, travel: Travel, motion: Motion, fps: float) -> np.ndarray:
    """The angle between the root's heading and its own travel over 0.5 s, while it moves
    (faster than a tenth of the clip's median speed)."""
    xz = root_path(run.layout, motion)
    gap = max(1, round(0.5 * fps))
    step = xz[gap:] - xz[:-gap]
    moving = np.linalg.norm(step, axis=-1) * fps / gap > 0.1 * travel.typical
    direction = np.arctan2(step[:, 0], step[:, 1])
    return wrap(direction - headings(run, motion)[:-gap])[moving]


def circular_median(angles: np.ndarray) -> float:
    """The median of angles about their circular mean (a plain median splits angles near
    +-180 degrees between the two ends)."""
    mean = float(np.angle(np.exp(1j * angles).mean()))
    return float(wrap(np.array(mean + np.median(wrap(angles - mean)))))


def axial_median(angles: np.ndarray) -> float:
    """The median axis of travel, whichever way along it (a crab that walks left and
    right travels along one axis): the circular median of the doubled angles, halved,
    in [-90, 90) degrees."""
    return circular_median(2 * angles) / 2


def on_path(run: Run, motion: Motion, timed: Track, angle: float) -> Motion:
    """``motion`` turned about its root, frame by frame, to the path's heading and moved
    onto the path: the baseline's way of following it."""
    turned = face(run.layout, motion, timed.direction - angle)
    return pin_trajectory(run.layout, turned, timed.xz, np.ones(timed.frames, dtype=bool))


def distance_to_curve(points: np.ndarray, curve: np.ndarray) -> np.ndarray:
    """(F,) distance of each point (F, 2) from the polyline ``curve`` (M, 2)."""
    a, b = curve[:-1], curve[1:]
    ab = b - a
    t = np.clip(((points[:, None] - a[None]) * ab[None]).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-12)[None], 0, 1)
    return np.linalg.norm(points[:, None] - (a[None] + t[..., None] * ab[None]), axis=-1).min(axis=1)


def body_speed(motion: Motion, frames: slice) -> float:
    """Mean speed of the joints relative to the root over ``frames``, body sizes per second."""
    world = motion.world_positions()[frames]
    local = world - world[:, :1]
    return float(np.linalg.norm(np.diff(local, axis=0), axis=-1).mean() * motion.fps / motion.skeleton.size)


def measure(run: Run, travel: Travel, motions: list[Motion], timed: Track) -> dict:
    layout, size, fps = run.layout, run.layout.skeleton.size, run.layout.fps
    apart = [distance_to_curve(root_path(layout, m), timed.curve).max() for m in motions]
    moving = timed.speeds() > 0.1 * travel.typical
    want = timed.direction - travel.angle
    errors = [np.abs(wrap(headings(run, m) - want))[moving].max() for m in motions]
    angles = np.concatenate([travel_angles(run, travel, m, fps) for m in motions])
    report = evaluate(run.clip_set().motions, motions, layout.contact_points.tolist())
    # Coverage compares root rotations too, so a path that never heads where the clip
    # does cannot cover it: also measured with every root's heading turned to 0.
    unturned = [[face(layout, m, np.zeros(m.n_frames)) for m in group] for group in (run.clip_set().motions, motions)]
    still = timed.speeds() < 0.02 * travel.typical
    stops = {}
    if still.sum() > fps:  # the middle second of the stop, against the moving frames
        middle = int(np.flatnonzero(still).mean())
        stop = slice(middle - round(fps / 2), middle + round(fps / 2))
        stops = {"body_speed_stopped": float(np.mean([body_speed(m, stop) for m in motions])),
                 "body_speed_moving": float(np.mean([body_speed(m, slice(0, round(2 * fps))) for m in motions]))}
    return {
        "path_error_sizes": float(max(apart)) / size,
        "heading_error_degrees": math.degrees(max(errors)),
        "travel_angle_degrees": math.degrees(circular_median(angles)) if len(angles) else float("nan"),
        "travel_axis_degrees": math.degrees(axial_median(angles)) if len(angles) else float("nan"),
        "coverage": report.coverage,
        "coverage_heading_removed": evaluate(unturned[0], unturned[1], layout.contact_points.tolist()).coverage,
        **stops,
        "sliding_ratios": report.sliding_ratios,
        "jerk_ratio": report.jerk_ratio,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, help="folder of runs named by clip (default: a new temporary one)")
    parser.add_argument("--n", type=int, default=4, help="outputs per path")
    parser.add_argument("--keep", type=Path, help="write the outputs (BVH) to this folder")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    runs = runs_folder(args.runs, "sinmdm-follow-runs-")
    rows = []
    for name in ("walk", "crab"):
        run = Run.load(trained(name, runs), torch.device("cpu"))
        travel = clip_travel(run.layout, run.clip_set().motions)
        clip_angles = np.concatenate([travel_angles(run, travel, m, run.layout.fps) for m in run.clip_set().motions])
        print(f"{name}: {travel.range_text()}, heading-travel angle {math.degrees(travel.angle):.0f} degrees "
              f"(median of the clip's own: {math.degrees(circular_median(clip_angles)):.0f}; of its axis: "
              f"{math.degrees(axial_median(clip_angles)):.0f})", flush=True)
        for label, path in paths(travel, name).items():
            started = time.monotonic()
            motions, timed = follow(run, path, args.n, steps=DEFAULT_STEPS, seed=0, travel=travel)
            seconds = time.monotonic() - started
            rng = np.random.default_rng(0)
            base = [on_path(run, pieces(run.clip(), timed.frames, rng), timed, travel.angle) for _ in range(args.n)]
            if args.keep:
                for i, m in enumerate(motions):
                    args.keep.mkdir(parents=True, exist_ok=True)
                    write_bvh(args.keep / f"{name}_{label}_{i}.bvh", m)
            for method, outs in (("sinmdm", motions), ("baseline (c) on the path", base)):
                row = {"clip": name, "path": label, "method": method, "frames": timed.frames,
                       "clip_travel_angle_degrees": math.degrees(circular_median(clip_angles)),
                       "clip_travel_axis_degrees": math.degrees(axial_median(clip_angles)),
                       "seconds": seconds if method == "sinmdm" else 0.0, **measure(run, travel, outs, timed)}
                rows.append(row)
                bands = " ".join(f"{r:.2f}" for r in row["sliding_ratios"])
                print(f"  {label:13s} {method:26s} {timed.frames:4d} frames  path {row['path_error_sizes']:.4f}  "
                      f"heading {row['heading_error_degrees']:5.1f}  travel angle {row['travel_angle_degrees']:6.1f} "
                      f"(axis {row['travel_axis_degrees']:5.1f})  "
                      f"coverage {row['coverage']:.2f} ({row['coverage_heading_removed']:.2f} heading removed)  "
                      f"sliding [{bands}]  jerk {row['jerk_ratio']:.2f}"
                      + (f"  body speed stopped {row['body_speed_stopped']:.2f} / moving {row['body_speed_moving']:.2f}"
                         if "body_speed_stopped" in row else "")
                      + (f"  {seconds:.0f} s" if method == "sinmdm" else ""), flush=True)
    print(f"sliding bands: {', '.join(f'{b:g}' for b in SLIDING_BANDS)} of the body size", file=sys.stderr)
    write_rows(args.json, rows)


if __name__ == "__main__":
    main()
