"""Time the renderer on real clips and print the figures.

    python benchmarks/render.py [--repeat 3]

Cases (goals from the render issue, on a 2-core CPU):
- one figure: the first 300 frames of mixamo/Salsa-Dancing-6.bvh at 30 fps (65 joints
  plus 13 End Sites) to a 640x480 mp4, goal <= 10 s; the same to a 320x240 GIF and to a
  PNG contact sheet of 8 poses;
- a crowd: 50 placed copies of that clip (random layout, headings and time offsets, as
  `sinmdm crowd` places them) in one 960x544 scene, 300 frames, fixed camera, to mp4,
  goal <= 60 s.
Each time runs from the motions to the finished file: forward kinematics, contact
detection, camera fitting, drawing and encoding. The best of --repeat runs is printed.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from common import data_dir, write_rows  # puts the checkout on sys.path first

from sinmdm.anim.bvh import read_bvh
from sinmdm.apps.crowd import body_size, place, placements
from sinmdm.model.features import FeatureLayout
from sinmdm.render.figures import Scene, actor
from sinmdm.render.render import render_still, render_video

FRAMES = 300
CROWD = 50


def best_of(repeat: int, job) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        job()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()

    clip = read_bvh(data_dir() / "mixamo" / "Salsa-Dancing-6.bvh").at_training_rate()
    one = clip.crop(0, FRAMES)
    layout = FeatureLayout.from_motion(clip, [])
    rng = np.random.default_rng(0)
    spots = placements(CROWD, "random", 1.5 * body_size(layout), clip.n_frames - FRAMES, rng)
    crowd = [place(layout, clip.crop(p.offset, FRAMES), p) for p in spots]

    out = Path(tempfile.mkdtemp(prefix="sinmdm-render-"))
    cases = [
        ("1 figure, 300 frames -> mp4 640x480", 10.0,
         lambda: render_video([Scene([actor(one)])], out / "one.mp4", one.fps)),
        ("1 figure, 300 frames -> GIF 320x240", None,
         lambda: render_video([Scene([actor(one)])], out / "one.gif", one.fps, size="320x240")),
        ("1 figure, 8-pose PNG contact sheet", None,
         lambda: render_still([Scene([actor(one)])], out / "one.png", one.fps)),
        (f"crowd of {CROWD}, 300 frames -> mp4 960x544", 60.0,
         lambda: render_video(
             [Scene([actor(m, style="generated", shade=i) for i, m in enumerate(crowd)])],
             out / "crowd.mp4", clip.fps, camera="fixed", size="960x544",
         )),
    ]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}")
    print(f"clip: Salsa, {clip.skeleton.n_joints} joints, {FRAMES} frames at {clip.fps:g} fps; best of {args.repeat}")
    print()
    print("| case | seconds | goal | frames/s |")
    print("|---|---|---|---|")
    rows = []
    for name, goal, job in cases:
        seconds = best_of(args.repeat, job)
        frames = 1 if "PNG" in name else FRAMES
        verdict = "" if goal is None else (f"<= {goal:g} s (met)" if seconds <= goal else f"<= {goal:g} s (MISSED)")
        print(f"| {name} | {seconds:.1f} | {verdict} | {frames / seconds:.0f} |", flush=True)
        rows.append({"case": name, "seconds": seconds, "goal_s": goal, "frames_per_s": frames / seconds})
    write_rows(args.json, rows)
    print(f"\nfiles in {out}")


if __name__ == "__main__":
    main()
