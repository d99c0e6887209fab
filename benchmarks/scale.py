"""Scale: parsing a huge clip, training on clips of growing length, generating 10,000 frames.

    python benchmarks/scale.py [--frames 100000] [--joints 65]

Builds a synthetic clip (a root with 6 channels and a tree of 3-channel joints, smooth
random curves) under a temporary folder and prints, each measured in a fresh process:
- read_bvh on the whole clip: wall time and the process's peak resident memory;
- `sinmdm train` for 30 steps on its first 1,000, 10,000 and all frames: seconds per
  training step and peak memory (training reads random crops, so neither should grow
  with the clip beyond holding the clip itself);
- `sinmdm generate --length 10000` from the shortest run: wall time and peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from common import ROOT, write_rows

MEASURE = """
import json, resource, sys, time
started = time.perf_counter()
{body}
print(json.dumps({{"seconds": time.perf_counter() - started,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def measure(body: str) -> dict:
    """Run ``body`` in a fresh interpreter; its wall time and peak resident memory."""
    code = MEASURE.format(body=body)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"failed:\n{body}\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_clip(path: Path, frames: int, joints: int, seed: int = 0) -> None:
    """A tree of ``joints`` joints (each hangs under a random earlier one) moving along
    smooth random curves, written in chunks of frames."""
    rng = np.random.default_rng(seed)
    parents = [-1] + [int(rng.integers(0, j)) for j in range(1, joints)]
    lines = ["HIERARCHY"]

    def emit(j: int, depth: int) -> None:
        pad = "\t" * depth
        offset = "0 0 0" if j == 0 else " ".join(f"{v:.3f}" for v in rng.normal(0, 5, 3))
        chans = "6 Xposition Yposition Zposition Zrotation Xrotation Yrotation" if j == 0 else "3 Zrotation Xrotation Yrotation"
        lines.extend([f"{pad}{'ROOT' if j == 0 else 'JOINT'} joint{j}", f"{pad}{{", f"{pad}\tOFFSET {offset}", f"{pad}\tCHANNELS {chans}"])
        children = [c for c in range(joints) if parents[c] == j]
        for c in children:
            emit(c, depth + 1)
        if not children:
            lines.extend([f"{pad}\tEnd Site", f"{pad}\t{{", f"{pad}\t\tOFFSET 0 -3 0", f"{pad}\t}}"])
        lines.append(f"{pad}}}")

    sys.setrecursionlimit(10 * joints + 1000)
    emit(0, 0)
    width = 6 + 3 * (joints - 1)
    periods = rng.uniform(20, 200, width)
    phases = rng.uniform(0, 2 * np.pi, width)
    with open(path, "w") as out:
        out.write("\n".join(lines) + f"\nMOTION\nFrames: {frames}\nFrame Time: 0.0333333\n")
        for start in range(0, frames, 10_000):
            t = np.arange(start, min(frames, start + 10_000))[:, None]
            rows = 30 * np.sin(2 * np.pi * t / periods + phases)
            rows[:, 0], rows[:, 1], rows[:, 2] = 0.05 * t[:, 0], 90 + rows[:, 1] / 10, 0
            np.savetxt(out, rows, fmt="%.4f")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--joints", type=int, default=65)
    parser.add_argument("--steps", type=int, default=30, help="training steps per clip length")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="sinmdm-scale-"))
    clip = folder / "huge.bvh"
    write_clip(clip, args.frames, args.joints)
    print(f"{clip}: {args.frames} frames, {args.joints} joints, {clip.stat().st_size / 1e6:.0f} MB", flush=True)

    parse = measure(f"from sinmdm.anim.bvh import read_bvh\nm = read_bvh({str(clip)!r})\nassert m.n_frames == {args.frames}")
    baseline = measure("import sinmdm.anim.bvh")
    rows = [("read_bvh, whole clip", parse["seconds"], parse["peak_mb"], f"imports alone: {baseline['peak_mb']:.0f} MB")]
    runs = {}
    for frames in sorted({1_000, 10_000, args.frames}):
        if frames > args.frames:
            continue
        part = folder / f"first{frames}.bvh"
        measure(
            f"from sinmdm.anim.bvh import read_bvh, write_bvh\n"
            f"write_bvh({str(part)!r}, read_bvh({str(clip)!r}).crop(0, {frames}))"
        )
        runs[frames] = folder / f"run{frames}"
        result = measure(f"from sinmdm.cli.app import run\nassert run(['train', {str(part)!r}, '--steps', '{args.steps}', '--out', {str(runs[frames])!r}]) == 0")
        config = json.loads((runs[frames] / "config.json").read_text())
        rows.append(
            (f"train, {frames} frames", result["seconds"], result["peak_mb"], f"{1000 * config['seconds'] / args.steps:.0f} ms per step")
        )
    shortest = runs[min(runs)]
    result = measure(
        f"from sinmdm.cli.app import run\n"
        f"assert run(['generate', '--model', {str(shortest)!r}, '--length', '10000', '--out', {str(folder / 'long')!r}]) == 0"
    )
    rows.append(("generate 10,000 frames", result["seconds"], result["peak_mb"], "one sample, 50 steps, cleanup on"))

    print(f"\n{os.cpu_count()} CPUs, files in {folder}")
    print(f"{'what':<28} {'wall s':>8} {'peak MB':>8}  notes")
    for what, seconds, peak, notes in rows:
        print(f"{what:<28} {seconds:8.1f} {peak:8.0f}  {notes}")
    write_rows(args.json, [{"case": what, "seconds": seconds, "peak_mb": peak, "notes": notes} for what, seconds, peak, notes in rows])


if __name__ == "__main__":
    main()
