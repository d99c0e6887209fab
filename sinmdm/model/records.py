"""What a finished or stopped training leaves beside its checkpoint: config.json,
features.json and the loss curve."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from ..anim.clipset import ClipSet
from ..base.atomic import atomic_write, write_json
from ..base.version import __version__
from .runs import CONFIG, LOSS_PLOT, STATS
from .state import TrainState


def write_records(
    out: Path, paths: list[Path], clips: ClipSet, state: TrainState, seconds: float, finished: bool,
    device: torch.device,
) -> None:
    """features.json, config.json and the loss curve, beside the checkpoint."""
    layout, config = state.layout, state.config
    write_json(out / STATS, layout.to_dict())
    write_json(
        out / CONFIG,
        {
            "clip": str(paths[0]),
            "clips": [{"name": n, "file": str(p), "frames": m.n_frames} for n, p, m in zip(clips.names, paths, clips.motions)],
            "fps": layout.fps,
            "frames": int(clips.bounds[-1]),
            "contacts": [layout.skeleton.point_names[p] for p in layout.contact_points],
            "model": config.to_dict(),
            "receptive_field": config.receptive_field,
            "parameters": state.network.parameter_count(),
            "train": asdict(state.settings),
            "diffusion": state.diffusion.to_dict(),
            "steps_done": state.step,
            "seconds": seconds,
            "device": device.type,
            "peak_memory_mb": _peak_memory_mb(device),
            "finished": finished,
            "sinmdm_version": __version__,
        },
    )
    plot_losses(state.losses, out / LOSS_PLOT)


def _peak_memory_mb(device: torch.device) -> float:
    """Peak GPU memory on CUDA, else the process's peak resident memory."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def plot_losses(losses: list[float], path: Path) -> None:
    """The loss curve (raw and smoothed, log scale) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not losses:
        return
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
    steps = np.arange(1, len(losses) + 1)
    ax.plot(steps, losses, color="#bbbbbb", lw=0.6, label="per step")
    window = max(1, len(losses) // 50)
    smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
    ax.plot(steps[window - 1 :], smooth, color="#1f5fa8", lw=1.5, label=f"mean of {window}")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend(frameon=False)
    fig.tight_layout()
    with atomic_write(path, "wb") as out:
        fig.savefig(out, format="png")
    plt.close(fig)
