"""Sampling from a trained run: the torch and onnxruntime loops over batches (each
sample guided by the plan of :mod:`sinmdm.sampling.plan`), and decoding features into
motions."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch

from ..anim.keypoints import fit_bone_lengths
from ..anim.motion import Motion
from ..base.errors import SinmdmError
from ..diffusion.config import DiffusionConfig
from ..diffusion.scheduler import Known, LowPass
from ..model.diffusion import Diffusion
from ..model.runs import Run
from .defaults import BATCH, DEFAULT_STEPS
from .onnx_sampler import OnnxDenoiser, read_sidecar
from .onnx_sampler import sample as onnx_sample
from .plan import Plan, plan_guide


def sample_features(
    run: Run,
    n: int,
    frames: int,
    *,
    steps: int = DEFAULT_STEPS,
    seed: int = 0,
    loop: bool = False,
    eta: float = 1.0,
    plan: bool | Plan = True,
    known: Optional[Known] = None,
    guide: Optional[LowPass] = None,
    batch: int = BATCH,
    on_step: Optional[Callable[[int], None]] = None,
) -> torch.Tensor:
    """(n, frames, C) normalised features. The same seed gives the same samples on any
    device: all noise is drawn on the CPU from one generator, batch after batch.

    ``plan`` makes each sample play every part of the training clips (:func:`plan_guide`;
    a :class:`Plan` says which clips, or in which order); it is a guide of its own, so it
    cannot go with ``guide``."""
    if plan and guide is not None:
        raise ValueError("sample_features: plan and guide are both guides; pass plan=False with a guide")
    diffusion = Diffusion(run.diffusion)
    generator = torch.Generator().manual_seed(seed)
    channels = run.layout.n_channels
    labels = None
    if plan:
        guide, labels = plan_guide(run, n, frames, seed, _plan(plan), loop)
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
                labels=None if labels is None else labels[start : start + size],
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


def _plan(plan: bool | Plan) -> Plan:
    return plan if isinstance(plan, Plan) else Plan()


def _onnx_labels(run: Run, labels: Optional[torch.Tensor], start: int, shape: tuple[int, ...]) -> Optional[np.ndarray]:
    """A batch's labels for an exported network of several clips (which always takes
    them): the plan's, or "any clip" without a plan."""
    if not run.config.labels:
        return None
    if labels is None:
        return np.full(shape[:2], run.config.labels, dtype=np.int64)
    return labels[start : start + shape[0]].numpy()


def _numpy(guide: LowPass) -> LowPass:
    weight = None if guide.weight is None else guide.weight.cpu().numpy()
    return replace(guide, reference=guide.reference.cpu().numpy(), weight=weight)


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
    plan: bool | Plan = True,
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

    guide, labels = plan_guide(run, n, frames, seed, _plan(plan), loop) if plan else (None, None)
    out = []
    for start in range(0, n, batch):
        shape = (min(batch, n - start), frames, run.layout.n_channels)
        rows = _rows(guide, start, shape[0])
        out.append(onnx_sample(
            network, config, shape, steps, noise, padding=sidecar["sampler"]["loop_padding"] if loop else 0,
            on_step=on_step, guide=None if rows is None else _numpy(rows),
            labels=_onnx_labels(run, labels, start, shape),
        ))
    return torch.from_numpy(np.concatenate(out))


def to_motions(run: Run, normalised: torch.Tensor) -> list[Motion]:
    """Motions on the training skeleton from normalised features (n, frames, C); a 3D
    keypoint model's with every bone at its clip's length."""
    raw = run.layout.denormalise(normalised.double().numpy())
    motions = [run.layout.decode(x) for x in raw]
    return [fit_bone_lengths(m) for m in motions] if run.layout.skeleton.keypoints else motions
