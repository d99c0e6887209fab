"""Generated motions made ready to write: sampled, decoded and cleaned."""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from ..anim.contacts import drag_speeds, planted_heights, swing_floors
from ..anim.motion import Motion
from ..cleanup.labels import hysteresis
from ..cleanup.limbs import effectors, limb_bends
from ..cleanup.pipeline import cleanup
from ..evaluation.metrics import jerk
from ..model.runs import Run


def clean_motions(
    run: Run,
    reference: Motion,
    normalised: torch.Tensor,
    motions: list[Motion],
    given: Optional[np.ndarray] = None,
    loop: bool = False,
) -> list[Motion]:
    """Each motion cleaned (smoothed, feet pinned; see :mod:`sinmdm.cleanup.pipeline`) with the
    contacts its own features predict, at the heights the feet rest at in ``reference``.
    ``given`` (frames, joints) marks parts to keep exactly; ``loop`` says each motion's
    last frame flows into its first."""
    contacts = run.layout.contact_points.tolist()
    planted = planted_heights(reference, contacts)
    drag = drag_speeds(reference, contacts, planted)
    swings = swing_floors(reference, contacts, planted)
    scores = run.layout.denormalise(normalised.double().numpy())[..., run.layout.slices["contact"]]
    fps = run.layout.fps
    limit = jerk(reference)
    bends = limb_bends(reference, effectors(reference.skeleton, contacts))
    return [
        cleanup(m, contacts, hysteresis(s, fps), planted, given, drag, limit, loop, swings, bends)
        for m, s in zip(motions, scores)
    ]
