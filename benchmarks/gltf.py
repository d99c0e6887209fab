"""glTF output: conversion time (whole `sinmdm convert` processes, median of 3) and file
size against the BVH, for Salsa (1295 frames), a 300-frame cut of it, and a crowd of 50
x 300 frames written as one scene.

    python benchmarks/gltf.py [--json FILE]

The crowd's individuals are 300-frame cuts of Salsa at different starts (writing is what
is timed, not sampling), written in-process by the function `crowd --format glb` uses.
Goal (issue 27): a 300-frame clip converts in under 1 s as a whole process.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, clip_path, write_rows  # puts the checkout on sys.path first

from sinmdm.anim.bvh import read_bvh, write_bvh
from sinmdm.anim.gltf import write_gltf


def whole_process(source: Path, target: Path, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "sinmdm", "convert", str(source), str(target), "--force"], check=True,
                       cwd=ROOT, stdout=subprocess.DEVNULL)
        times.append(time.monotonic() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="sinmdm-gltf-"))
    salsa = clip_path("salsa")
    motion = read_bvh(salsa)
    cut = folder / "salsa_300.bvh"
    write_bvh(cut, motion.crop(0, 300))
    rows = []
    for name, source in (("salsa, 1295 frames", salsa), ("salsa, 300 frames", cut)):
        for suffix in (".glb", ".gltf"):
            target = folder / f"{source.stem}{suffix}"
            seconds = whole_process(source, target)
            rows.append({"case": f"{name} -> {suffix}", "seconds": seconds, "mb": target.stat().st_size / 1e6,
                         "bvh_mb": source.stat().st_size / 1e6})
    crowd = [motion.crop(17 * i % (motion.n_frames - 300), 300) for i in range(50)]
    started = time.monotonic()
    write_gltf(folder / "crowd.glb", crowd, [f"crowd_{i}" for i in range(50)])
    seconds = time.monotonic() - started
    for i, m in enumerate(crowd):
        write_bvh(folder / f"crowd_{i}.bvh", m)
    bvh_mb = sum((folder / f"crowd_{i}.bvh").stat().st_size for i in range(50)) / 1e6
    rows.append({"case": "crowd of 50 x 300 frames -> one .glb (in-process)", "seconds": seconds,
                 "mb": (folder / "crowd.glb").stat().st_size / 1e6, "bvh_mb": bvh_mb})
    for row in rows:
        print(f"{row['case']:52s} {row['seconds']:6.2f} s  {row['mb']:6.2f} MB (BVH {row['bvh_mb']:.2f} MB)")
    write_rows(args.json, rows)


if __name__ == "__main__":
    main()
