"""How good a model's samples are: sampled, cleaned as the generating commands write them,
and scored against the training clips (:func:`sinmdm.evaluation.metrics.evaluate`)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Optional

from ..evaluation.bones import BoneLengths, compare_bones
from ..evaluation.metrics import Report, evaluate
from ..model.runs import Run
from ..sampling.plan import Plan
from ..sampling.sample import sample_features, to_motions
from .generate import clean_motions


@dataclass
class Evaluation:
    """The scores of the samples as written (``report``), of the same samples before
    cleanup (``raw``; the same report without cleanup), the sampling time, and for a
    keypoint model how the written samples keep the clip's bone lengths."""

    report: Report
    raw: Report
    seconds: float
    bones: Optional[BoneLengths] = None


def evaluate_model(
    run: Run,
    n: int,
    frames: int,
    *,
    seed: int,
    steps: int,
    plan: bool | Plan = True,
    cleanup: bool = True,
    on_step: Optional[Callable[[int], None]] = None,
) -> Evaluation:
    started = time.monotonic()
    features = sample_features(run, n, frames, steps=steps, seed=seed, plan=plan, on_step=on_step)
    raw = to_motions(run, features)
    seconds = time.monotonic() - started
    contacts = run.layout.contact_points.tolist()
    samples = clean_motions(run, None, features, raw) if cleanup else raw
    clips = run.clip_set().motions
    report = evaluate(clips, samples, contacts)
    bones = compare_bones(clips, samples) if run.layout.skeleton.keypoints else None
    return Evaluation(report, evaluate(clips, raw, contacts) if cleanup else report, seconds, bones)
