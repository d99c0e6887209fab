"""Sampling from a trained run: the plan that lays the clip under each sample, the torch
and onnxruntime loops over batches, and decoding features into motions."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch

from ..anim.motion import Motion
from ..base.errors import SinmdmError
from ..diffusion.config import DiffusionConfig
from ..diffusion.scheduler import Known, LowPass
from ..model.diffusion import Diffusion
from ..model.runs import Run
from .onnx_sampler import OnnxDenoiser, read_sidecar
from .onnx_sampler import sample as onnx_sample

DEFAULT_STEPS = 50
BATCH = 8
# The plan (see plan_guide): followed while the timestep is above PLAN_UNTIL of 1000,
# on motion averaged over half the receptive field, in pieces of about PIECE_FIELDS
# receptive fields.
PLAN_UNTIL = 400
PIECE_FIELDS = 2.0
MIN_PIECES = 4


def shuffled_plans(clip: np.ndarray, n: int, frames: int, piece: int, rng: np.random.Generator) -> np.ndarray:
    """(n, frames, C): for each sample, ``clip`` (F, C) cut at random points into pieces
    of ``piece`` frames on average (at least half that; at least MIN_PIECES pieces, so a
    short clip is reordered too) and laid end to end in a random order, pass after pass
    (each cut and ordered anew) until ``frames`` long. Every part of the clip comes once
    per pass, in a different order in each plan."""
    length = len(clip)
    pieces = min(length, max(MIN_PIECES, round(length / max(piece, 1))))
    shortest = length // (2 * pieces)
    plans = np.empty((n, frames), dtype=np.int64)
    for i in range(n):
        order, total = [], 0
        while total < frames:
            share = rng.dirichlet(np.ones(pieces)) * (length - pieces * shortest)
            ends = np.cumsum(shortest + np.floor(share).astype(np.int64))
            ends[-1] = length
            starts = np.concatenate([[0], ends[:-1]])
            order += [np.arange(starts[k], ends[k]) for k in rng.permutation(pieces)]
            total += length
        plans[i] = np.concatenate(order)[:frames]
    return clip[plans]


def plan_guide(run: Run, n: int, frames: int, seed: int) -> LowPass:
    """Guidance that makes each of ``n`` samples play every part of the training clip.

    Left alone, the model picks which of the clip's motifs a sample plays, and a sample
    often skips some: 20 samples at 2x covered 0.83 (Salsa), 0.75 (crab) and 0.71
    (chicken) of the clip's windows each, although together they covered all of them.
    While t > PLAN_UNTIL the slowest motion of each sample (averaged over half the
    receptive field, longer than any motif the network models on its own) is made that
    of a shuffled plan of the clip (:func:`shuffled_plans`, ILVR); the motion itself, its
    transitions included, is generated. With the same models and seeds, coverage rose to
    0.92, 0.95 and 0.90, while global diversity fell from 0.33, 0.36 and 0.37 to 0.29,
    0.27 and 0.29 (a reassembly of the clip scores 0.00-0.01). Guiding until t = 500
    kept 0.01 more diversity but left the chicken at 0.89; until 700, the crab at 0.85
    (6 samples); until 300, or with the whole signal rather than its slow part, the
    samples came closer to copies (Salsa: diversity 0.29 and 0.12 on 4 samples).
    """
    field = run.config.receptive_field
    rng = np.random.default_rng(seed)
    plans = shuffled_plans(run.clip_features(), n, frames, round(PIECE_FIELDS * field), rng)
    reference = torch.as_tensor(plans, dtype=torch.float32, device=run.device)
    return LowPass(reference, factor=max(2, field // 2), until=PLAN_UNTIL)


def sample_features(
    run: Run,
    n: int,
    frames: int,
    *,
    steps: int = DEFAULT_STEPS,
    seed: int = 0,
    loop: bool = False,
    eta: float = 1.0,
    plan: bool = True,
    known: Optional[Known] = None,
    guide: Optional[LowPass] = None,
    batch: int = BATCH,
    on_step: Optional[Callable[[int], None]] = None,
) -> torch.Tensor:
    """(n, frames, C) normalised features. The same seed gives the same samples on any
    device: all noise is drawn on the CPU from one generator, batch after batch.

    ``plan`` makes each sample play every part of the training clip (:func:`plan_guide`);
    it is a guide of its own, so it cannot go with ``guide``."""
    if plan and guide is not None:
        raise ValueError("sample_features: plan and guide are both guides; pass plan=False with a guide")
    diffusion = Diffusion(run.diffusion)
    generator = torch.Generator().manual_seed(seed)
    channels = run.layout.n_channels
    if plan:
        guide = plan_guide(run, n, frames, seed)
    out = []
    for start in range(0, n, batch):
        size = min(batch, n - start)
        out.append(
            diffusion.sample(
                run.network,
                (size, frames, channels),
                steps,
                generator=generator,
                device=run.device,
                eta=eta,
                known=known,
                guide=_rows(guide, start, size),
                circular=loop,
                padding=run.config.receptive_field,
                on_step=on_step,
            ).cpu()
        )
    return torch.cat(out)


def _rows(guide: Optional[LowPass], start: int, size: int) -> Optional[LowPass]:
    """A guide's part for one batch: its reference rows from ``start`` when it has one
    row per sample, else the guide as it is (one reference for every sample)."""
    if guide is None or guide.reference.shape[0] == 1:
        return guide
    return replace(guide, reference=guide.reference[start : start + size])


def onnx_model_path(run: Run) -> Path:
    """Where `sinmdm export` writes a run's ONNX model by default."""
    return run.path / "model.onnx"


def sample_features_onnx(
    run: Run,
    n: int,
    frames: int,
    *,
    steps: int = DEFAULT_STEPS,
    seed: int = 0,
    loop: bool = False,
    plan: bool = True,
    batch: int = BATCH,
    on_step: Optional[Callable[[int], None]] = None,
    model: Optional[Path] = None,
) -> torch.Tensor:
    """As :func:`sample_features`, with the exported network run by onnxruntime and the
    loop in numpy (:mod:`sinmdm.sampling.onnx_sampler`). The noise is drawn from the same torch
    generator in the same order, so a seed gives the torch backend's motion."""
    model = model or onnx_model_path(run)
    sidecar = read_sidecar(model)
    if sidecar["trained_steps"] != run.step or sidecar["interface"]["channels"] != run.layout.n_channels:
        raise SinmdmError(
            f"{model}: exported from step {sidecar['trained_steps']} of training, but {run.path} is at step "
            f"{run.step}: export it again with `sinmdm export --model {run.path} --force`"
        )
    network = OnnxDenoiser(model)
    config = DiffusionConfig.from_dict(sidecar["schedule"])
    generator = torch.Generator().manual_seed(seed)

    def noise(shape: tuple[int, ...]) -> np.ndarray:
        return torch.randn(shape, generator=generator).numpy()

    guide = plan_guide(run, n, frames, seed) if plan else None
    out = []
    for start in range(0, n, batch):
        shape = (min(batch, n - start), frames, run.layout.n_channels)
        rows = _rows(guide, start, shape[0])
        out.append(onnx_sample(
            network, config, shape, steps, noise, padding=sidecar["sampler"]["loop_padding"] if loop else 0,
            on_step=on_step, guide=None if rows is None else replace(rows, reference=rows.reference.cpu().numpy()),
        ))
    return torch.from_numpy(np.concatenate(out))


def to_motions(run: Run, normalised: torch.Tensor) -> list[Motion]:
    """Motions on the training skeleton from normalised features (n, frames, C)."""
    raw = run.layout.denormalise(normalised.double().numpy())
    return [run.layout.decode(x) for x in raw]
