"""ONNX: export time, per-step latency and whole-sample time, torch against onnxruntime.

    python benchmarks/onnx.py [--runs DIR] [--frames 1300] [--json FILE]

Uses the run DIR/salsa (trained first with `sinmdm train` defaults when missing). It
exports the denoiser with `sinmdm export` (timed in-process, without start-up), then
times one denoiser step on (1, --frames, C) at a mid timestep, torch against
onnxruntime (median of 10 after 2 warm-ups), and one whole default sample (50 steps) of
that length from each backend from the same seed, and reports how far apart the two
samples' joint positions are, in skeleton heights. Needs the onnx extra.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from common import runs_folder, trained, write_rows  # puts the checkout on sys.path first

# This script is named like the package it measures: take its folder off the path, so
# `import onnx` (in the exporter) finds the package and not this file.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from sinmdm.model.diffusion import Diffusion
from sinmdm.model.runs import Run
from sinmdm.sampling.export import export_onnx
from sinmdm.sampling.onnx_sampler import OnnxDenoiser
from sinmdm.sampling.sample import sample_features, sample_features_onnx, to_motions


def median_time(job, repeat: int = 10, warmup: int = 2) -> float:
    for _ in range(warmup):
        job()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        job()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, help="folder of runs named by clip (default: a new temporary one)")
    parser.add_argument("--frames", type=int, default=1300)
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    run = Run.load(trained("salsa", runs_folder(args.runs, "sinmdm-onnx-")), torch.device("cpu"))
    model = Path(tempfile.mkdtemp(prefix="sinmdm-onnx-")) / "model.onnx"
    exported = export_onnx(run, model)
    session = OnnxDenoiser(model)
    x = torch.randn(1, args.frames, run.layout.n_channels)
    t = torch.full((1,), 500)
    diffusion = Diffusion()

    def torch_step() -> None:
        with torch.no_grad():
            diffusion.predict_x0(run.network, x, t)

    torch_ms = 1000 * median_time(torch_step)
    onnx_ms = 1000 * median_time(lambda: session(x.numpy(), t.numpy()))
    started = time.perf_counter()
    a = to_motions(run, sample_features(run, 1, args.frames, seed=0))[0]
    torch_sample = time.perf_counter() - started
    started = time.perf_counter()
    b = to_motions(run, sample_features_onnx(run, 1, args.frames, seed=0, model=model))[0]
    onnx_sample = time.perf_counter() - started
    apart = float(np.abs(a.world_positions() - b.world_positions()).max()) / run.layout.skeleton.size

    print(f"model: {run.path.name}, {run.network.parameter_count() / 1e6:.2f} M parameters, {run.layout.n_channels} channels; "
          f"{os.cpu_count()} CPUs, torch {torch.__version__} ({torch.get_num_threads()} threads)")
    print()
    print("| figure | torch | onnxruntime |")
    print("|---|---|---|")
    print(f"| export (`sinmdm export`, in-process) | | {exported['seconds']:.1f} s ({model.stat().st_size / 1e6:.1f} MB) |")
    print(f"| one denoiser step, {args.frames} frames | {torch_ms:.0f} ms | {onnx_ms:.0f} ms |")
    print(f"| one sample of {args.frames} frames, 50 steps | {torch_sample:.2f} s | {onnx_sample:.2f} s |")
    print(f"| joint positions apart (same seed) | | {apart:.1e} skeleton heights |")
    write_rows(args.json, [{
        "export_s": exported["seconds"], "onnx_mb": model.stat().st_size / 1e6, "frames": args.frames,
        "torch_step_ms": torch_ms, "onnx_step_ms": onnx_ms, "torch_sample_s": torch_sample, "onnx_sample_s": onnx_sample,
        "apart_heights": apart,
    }])


if __name__ == "__main__":
    main()
