"""Export a trained run's denoiser to ONNX for one sampling step, (x_t, t) -> x0, with a
JSON sidecar holding everything a runtime needs to sample without this project.

Only the network is exported, never the sampling loop: the graph stays small, the
export takes seconds, and a runtime may take any number of steps (see
:mod:`sinmdm.sampling.onnx_sampler` for the loop in numpy). The weights are the EMA weights the
torch sampler uses; batch and frame axes are dynamic, since the network is fully local.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import numpy as np
import torch
from torch import nn

from ..base.atomic import write_json
from ..base.errors import SinmdmError
from ..base.version import __version__
from ..diffusion.schedule import respaced
from ..model.runs import Run
from .defaults import DEFAULT_STEPS
from .onnx_sampler import ONNX_EXTRA, SIDECAR_FORMAT, SIDECAR_VERSION, OnnxDenoiser, sidecar_path

OPSET = 18


class CleanPrediction(nn.Module):
    """The network as the sampler calls it: clean features in normalised units."""

    def __init__(self, network: nn.Module, signal_scale: float) -> None:
        super().__init__()
        self.network, self.signal_scale = network, signal_scale

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.network(x_t, t, labels) / self.signal_scale


def export_onnx(run: Run, out: Path) -> dict[str, float]:
    """Write ``out`` (ONNX) and its sidecar ``out`` with .json, each atomically. Returns
    the export time and the largest difference from torch on a random input."""
    if run.diffusion.prediction != "x0":
        raise SinmdmError(f"{run.path}: this model predicts the noise (a plain-DDPM comparison); export takes x0 models")
    missing = [name for name in ("onnx", "onnxscript", "onnxruntime") if importlib.util.find_spec(name) is None]
    if missing:
        raise SinmdmError(f"`sinmdm export` needs {', '.join(missing)}: {ONNX_EXTRA}")
    started = time.perf_counter()
    module = CleanPrediction(run.network, run.diffusion.signal_scale).to("cpu").float().eval()
    # An example longer than a chunk and not a multiple of one, so no size is baked in.
    frames = 3 * run.config.receptive_field + 7
    example = (torch.randn(2, frames, run.layout.n_channels), torch.tensor([500, 20]))
    batch, length = torch.export.Dim("batch", min=1, max=4096), torch.export.Dim("frames", min=2, max=1_000_000)
    names, shapes = ["x_t", "t"], {"x_t": {0: batch, 1: length}, "t": {0: batch}}
    if run.config.labels:  # a network of several clips takes each frame's clip too
        example += (torch.randint(0, run.config.labels + 1, (2, frames)),)
        names.append("labels")
        shapes["labels"] = {0: batch, 1: length}
    temporary = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with torch.no_grad(), _quiet():
            program = torch.onnx.export(
                # optimize=False: the exporter's own graph optimiser took a third of the
                # export time (Salsa: 27 s against 18 s) and ONNX Runtime optimises the
                # graph itself when it loads it (same step time either way).
                module, example, dynamo=True, opset_version=OPSET, external_data=False, optimize=False,
                input_names=names, output_names=["x0"], dynamic_shapes=shapes, verbose=False,
            )
            program.save(str(temporary))
        seconds = time.perf_counter() - started
        # Check the file before it replaces anything: a shorter, odd-length random input.
        x = torch.randn(3, run.config.receptive_field + 5, run.layout.n_channels)
        t = torch.tensor([999, 400, 0])
        labels = (torch.randint(0, run.config.labels + 1, x.shape[:2]),) if run.config.labels else ()
        with torch.no_grad():
            want = module(x, t, *labels).numpy()
        got = OnnxDenoiser(temporary)(x.numpy(), t.numpy(), *(y.numpy() for y in labels))
        difference = float(np.abs(got - want).max())
        os.replace(temporary, out)
    except SinmdmError:
        raise
    except Exception as exc:  # the exporter raises many types; say what failed, keep nothing
        raise SinmdmError(f"{out}: ONNX export failed: {exc}") from None
    finally:
        temporary.unlink(missing_ok=True)
    write_json(sidecar_path(out), sidecar(run, out))
    return {"seconds": seconds, "max_difference": difference}


@contextmanager
def _quiet() -> Iterator[None]:
    """The exporter logs warnings about optional packages (torchvision) and its own
    deprecations that mean nothing to a user; failures still raise."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def sidecar(run: Run, model: Path) -> dict:
    """What a runtime needs besides the graph (plain JSON types)."""
    layout = run.layout.to_dict()
    skeleton, mean, std = layout.pop("skeleton"), layout.pop("mean"), layout.pop("std")
    return {
        "format": SIDECAR_FORMAT,
        "version": SIDECAR_VERSION,
        "sinmdm_version": __version__,
        "model": model.name,
        "trained_steps": run.step,
        "interface": {
            "inputs": {
                "x_t": "float32 (batch, frames, channels): the noisy sample",
                "t": "int64 (batch,): the timestep, 0..train_steps-1",
                **({"labels": f"int64 (batch, frames): each frame's clip, 0..{run.config.labels - 1} "
                              f"(clips), {run.config.labels}: any clip"} if run.config.labels else {}),
            },
            "clips": list(run.clip_names),
            "output": "x0, float32 (batch, frames, channels): the predicted clean sample, normalised",
            "channels": run.layout.n_channels,
            "opset": OPSET,
        },
        "schedule": {
            **run.diffusion.to_dict(),
            "kind": run.diffusion.schedule,
            "alpha_bar": run.diffusion.alpha_bar().tolist(),
            "note": "noisy input x_t = sqrt(alpha_bar[t]) * signal_scale * x0 + sqrt(1 - alpha_bar[t]) * noise",
        },
        "sampler": {
            "kind": "ddim",
            "eta": 1.0,
            "steps": DEFAULT_STEPS,
            "timesteps": respaced(DEFAULT_STEPS, run.diffusion.train_steps),
            "loop_padding": run.config.receptive_field,
            "note": "see sinmdm/diffusion/scheduler.py: DDIMScheduler.step()",
        },
        "normalisation": {"mean": mean, "std": std, "note": "features = x0 * std + mean"},
        "layout": {
            "channels": {name: [part.start, part.stop] for name, part in run.layout.slices.items()},
            "train_frames": run.train_frames,
            "receptive_field": run.config.receptive_field,
            **layout,
        },
        "skeleton": skeleton,
    }
