"""Sampling time against length: one motion of 300 to 10,000 frames from a trained model.

    python benchmarks/sampling.py [--runs DIR] [--lengths 300,1300,5000,10000] [--json FILE]

It uses the run DIR/salsa, and first trains it on mixamo/Salsa-Dancing-6.bvh with
`sinmdm train` defaults when it is not there (about 6 minutes on a 2-core CPU). For each length it times, in this process, after one
warm-up: the sampler (50 respaced steps, the default), decoding features to a motion, and
the cleanup pass, each the best of --repeat runs. The model is fully local, so the time
should grow linearly with length.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch
from common import runs_folder, trained, write_rows  # puts the checkout on sys.path first

from sinmdm.apps.edit import load_reference
from sinmdm.apps.generate import clean_motions
from sinmdm.model.runs import Run
from sinmdm.sampling.sample import sample_features, to_motions


def best_of(repeat: int, job) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = job()
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, help="folder of runs named by clip (default: a new temporary one)")
    parser.add_argument("--lengths", default="300,1300,5000,10000")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    run = Run.load(trained("salsa", runs_folder(args.runs, "sinmdm-sampling-")), torch.device("cpu"))
    reference = load_reference(run, None)
    sample_features(run, 1, 200, steps=2)  # warm-up: first calls allocate and load kernels
    rows = []
    print(f"model: {run.path.name}, {os.cpu_count()} CPUs, torch {torch.__version__}, threads {torch.get_num_threads()}")
    print()
    print("| frames | sampling s | decode s | cleanup s | total s | ms per frame |")
    print("|---|---|---|---|---|---|")
    for frames in map(int, args.lengths.split(",")):
        sampling, features = best_of(args.repeat, lambda: sample_features(run, 1, frames, seed=0))
        decode, motions = best_of(args.repeat, lambda: to_motions(run, features))
        cleanup, _ = best_of(args.repeat, lambda: clean_motions(run, reference, features, motions))
        total = sampling + decode + cleanup
        rows.append({"frames": frames, "sampling_s": sampling, "decode_s": decode, "cleanup_s": cleanup, "total_s": total})
        print(f"| {frames} | {sampling:.2f} | {decode:.2f} | {cleanup:.2f} | {total:.2f} | {1000 * total / frames:.2f} |", flush=True)
    write_rows(args.json, rows)


if __name__ == "__main__":
    main()
