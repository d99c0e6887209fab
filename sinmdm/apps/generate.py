"""Generated motions made ready to write: sampled, decoded and cleaned."""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import torch

from ..anim.contacts import drag_speeds, planted_heights, swing_floors
from ..anim.motion import Motion
from ..cleanup.labels import hysteresis
from ..cleanup.limbs import effectors, limb_bends
from ..cleanup.pipeline import cleanup
from ..evaluation.metrics import clips_jerk, jerk
from ..model.runs import Run
from ..sampling.plan import Plan
from ..sampling.sample import sample_features, sample_features_onnx, to_motions


def clean_motions(
    run: Run,
    reference: Optional[Motion],
    normalised: torch.Tensor,
    motions: list[Motion],
    given: Optional[np.ndarray] = None,
    loop: bool = False,
) -> list[Motion]:
    """Each motion cleaned (smoothed, feet pinned; see :mod:`sinmdm.cleanup.pipeline`) with the
    contacts its own features predict, at the heights the feet rest at in ``reference``
    (None: the run's training clips, whose jerk smoothing aims under is taken clip by
    clip, as their poses jump where :meth:`Run.clip` joins them). ``given`` (frames,
    joints) marks parts to keep exactly; ``loop`` says each motion's last frame flows into
    its first."""
    if reference is None:
        reference, limit = run.clip(), clips_jerk(run.clip_set().motions)
    else:
        limit = jerk(reference)
    contacts = run.layout.contact_points.tolist()
    planted = planted_heights(reference, contacts)
    drag = drag_speeds(reference, contacts, planted)
    swings = swing_floors(reference, contacts, planted)
    scores = run.layout.denormalise(normalised.double().numpy())[..., run.layout.slices["contact"]]
    fps = run.layout.fps
    bends = limb_bends(reference, effectors(reference.skeleton, contacts))
    return [
        cleanup(m, contacts, hysteresis(s, fps), planted, given, drag, limit, loop, swings, bends)
        for m, s in zip(motions, scores)
    ]


def generate(
    run: Run,
    n: int,
    frames: int,
    *,
    steps: int,
    seed: int,
    loop: bool = False,
    plan: bool | Plan = True,
    cleanup: bool = True,
    backend: str = "torch",
    on_step: Optional[Callable[[int], None]] = None,
) -> list[Motion]:
    """``n`` new motions of ``frames`` frames on the training skeleton (see
    :func:`sinmdm.sampling.sample.sample_features`); ``backend`` onnx samples with the
    exported network (same seed, same motions)."""
    sampler = sample_features_onnx if backend == "onnx" else sample_features
    features = sampler(run, n, frames, steps=steps, seed=seed, loop=loop, plan=plan, on_step=on_step)
    motions = to_motions(run, features)
    if cleanup:
        motions = clean_motions(run, None, features, motions, loop=loop)
    return motions
