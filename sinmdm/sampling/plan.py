"""The sampling plan: which parts of the training clips each sample plays, in which
order. Pieces of the clips, shuffled, are laid under each sample, and while the noise is
high the sample's slowest motion is made theirs (ILVR); the motion itself, transitions
included, is generated."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch

from ..anim.clipset import ClipSet
from ..base.errors import SinmdmError
from ..diffusion.scheduler import LowPass
from ..model.runs import Run, parse_length

# The plan (see plan_guide): followed while the timestep is above PLAN_UNTIL of 1000,
# on motion averaged over half the receptive field, in pieces of about PIECE_FIELDS
# receptive fields.
PLAN_UNTIL = 400
PIECE_FIELDS = 2.0
MIN_PIECES = 4


@dataclass(frozen=True)
class Span:
    """Part of a ``--sequence``: ``frames`` frames playing the clip at ``clip``."""

    clip: int
    frames: int


@dataclass(frozen=True)
class Plan:
    """What the plan lays under the samples: pieces of the clips named in ``clips`` (all
    for None; with ``each``, sample i plays only clip i modulo their number), or the
    ``sequence`` of spans with ``transition`` frames at each border where the model moves
    from one clip to the next unguided."""

    clips: Optional[tuple[str, ...]] = None
    sequence: Optional[tuple[Span, ...]] = None
    transition: int = 0
    each: bool = False

    def clip_of(self, sample: int) -> Optional[str]:
        """The one clip sample ``sample`` plays (``each``), else None."""
        return self.clips[sample % len(self.clips)] if self.each and self.clips else None

    @property
    def frames(self) -> Optional[int]:
        """The length a sequence asks for (None without one)."""
        return sum(s.frames for s in self.sequence) if self.sequence else None


def parse_sequence(text: str, clips: ClipSet, fps: float) -> tuple[Span, ...]:
    """Spans from ``walk:5s,roar:2s,walk:90`` (clip name, then frames, seconds or a
    multiple of that clip's length)."""
    spans = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*([^:\s]+)\s*:\s*(\S+)\s*", part)
        if not match:
            raise SinmdmError(f"--sequence '{text}': '{part.strip()}' is not CLIP:LENGTH (as in walk:5s,roar:2s)")
        index = clips.index(match.group(1))
        length = parse_length(match.group(2), clips.motions[index].n_frames, fps, minimum=2,
                              what=f"--sequence length of {match.group(1)}")
        spans.append(Span(index, length))
    return tuple(spans)


def shuffled_plans(
    clips: Sequence[np.ndarray], n: int, frames: int, piece: int, rng: np.random.Generator
) -> np.ndarray:
    """(n, frames, C): for each sample, every clip of ``clips`` (each (F_i, C)) cut at
    random points into pieces of ``piece`` frames on average (at least half that; at least
    MIN_PIECES pieces, so a short clip is reordered too), and all the pieces laid end to
    end in a random order, pass after pass (each cut and ordered anew) until ``frames``
    long. Every part of every clip comes once per pass, in a different order in each
    plan; no piece spans two clips."""
    return np.concatenate(clips)[plan_frames([len(c) for c in clips], n, frames, piece, rng)]


def plan_frames(lengths: Sequence[int], n: int, frames: int, piece: int, rng: np.random.Generator) -> np.ndarray:
    """(n, frames) the frames (of clips of ``lengths`` laid end to end) that
    :func:`shuffled_plans` lays under each sample."""
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    cuts = []  # per clip: its piece count and its shortest piece
    for length in lengths:
        pieces = min(length, max(MIN_PIECES, round(length / max(piece, 1))))
        cuts.append((pieces, length // (2 * pieces)))
    plans = np.empty((n, frames), dtype=np.int64)
    for i in range(n):
        order, total = [], 0
        while total < frames:
            parts = []
            for (pieces, shortest), start, length in zip(cuts, offsets[:-1], lengths):
                share = rng.dirichlet(np.ones(pieces)) * (length - pieces * shortest)
                ends = np.cumsum(shortest + np.floor(share).astype(np.int64))
                ends[-1] = length
                parts += [np.arange(a, b) + start for a, b in zip(np.concatenate([[0], ends[:-1]]), ends)]
            order += [parts[k] for k in rng.permutation(len(parts))]
            total += int(offsets[-1])
        plans[i] = np.concatenate(order)[:frames]
    return plans


def plan_guide(
    run: Run, n: int, frames: int, seed: int, plan: Plan = Plan(), loop: bool = False
) -> tuple[LowPass, Optional[torch.Tensor]]:
    """Guidance that makes each of ``n`` samples play every part of the training clips
    (those of ``plan.clips``), or the clips of ``plan.sequence`` in its order; and, for a
    network of several clips, each planned frame's clip (n, frames) to condition it on.

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
    features = run.clip_features()
    piece = round(PIECE_FIELDS * field)
    weight = None
    if plan.sequence:
        parts = [plan_frames([len(features[s.clip])], n, s.frames, piece, rng) for s in plan.sequence]
        plans = np.concatenate([features[s.clip][p] for s, p in zip(plan.sequence, parts)], axis=1)
        clips = np.concatenate([np.full(p.shape, s.clip) for s, p in zip(plan.sequence, parts)], axis=1)
        free = transition_weight([s.frames for s in plan.sequence], plan.transition, loop)
        clips[:, free < 1] = run.config.labels  # within a transition the network is told no clip
        weight = torch.as_tensor(free, dtype=torch.float32, device=run.device)[None, :, None]
    else:
        plans, clips = _piece_plans(run, features, plan, n, frames, piece, rng)
    reference = torch.as_tensor(plans, dtype=torch.float32, device=run.device)
    labels = torch.as_tensor(clips, dtype=torch.long) if run.config.labels else None
    return LowPass(reference, factor=max(2, field // 2), until=PLAN_UNTIL, weight=weight), labels


def _piece_plans(
    run: Run, features: list[np.ndarray], plan: Plan, n: int, frames: int, piece: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(n, frames, C) shuffled pieces of the clips each sample draws on, and (n, frames)
    the clip of each planned frame. Consecutive samples drawing on the same clips share
    one :func:`plan_frames` draw (all of them, unless ``plan.each``)."""
    chosen = run.clip_set().select(plan.clips)
    per_sample = [[chosen[i % len(chosen)]] if plan.each and plan.clips else chosen for i in range(n)]
    groups: list[tuple[list[int], int]] = []  # (clips, how many samples in a row draw on them)
    for use in per_sample:
        if groups and groups[-1][0] == use:
            groups[-1] = (use, groups[-1][1] + 1)
        else:
            groups.append((use, 1))
    plans, clips = [], []
    for use, count in groups:
        lengths = [len(features[k]) for k in use]
        where = plan_frames(lengths, count, frames, piece, rng)
        plans.append(np.concatenate([features[k] for k in use])[where])
        clips.append(np.asarray(use)[np.searchsorted(np.cumsum(lengths), where, side="right")])
    return np.concatenate(plans), np.concatenate(clips)


def transition_weight(spans: Sequence[int], transition: int, loop: bool) -> np.ndarray:
    """(frames,) how much of the plan each frame of a sequence follows: 0 at each border
    between spans (and at a loop's seam), rising smoothly to 1 at ``transition`` / 2
    frames from it, so the model makes the transition on its own."""
    frames = int(sum(spans))
    borders = list(np.cumsum(spans)[:-1])
    if loop and len(spans) > 1:
        borders += [0, frames]
    if not borders or transition < 1:
        return np.ones(frames)
    t = np.arange(frames) + 0.5
    gap = np.min(np.abs(t[:, None] - np.asarray(borders, dtype=np.float64)[None]), axis=1)
    x = np.clip(gap / (transition / 2), 0.0, 1.0)
    return x * x * (3 - 2 * x)


def sequence_spans(plan: Plan, names: Sequence[str]) -> list[dict]:
    """A sequence's spans as records: the clip's name, its first frame and its length."""
    starts = np.concatenate([[0], np.cumsum([s.frames for s in plan.sequence or ()])])
    return [{"clip": names[s.clip], "start": int(a), "frames": s.frames} for s, a in zip(plan.sequence or (), starts)]


def sequence_captions(plan: Plan, names: Sequence[str]) -> list[str]:
    """One caption per frame of a sequence: the clip its span plays, and 'A > B' where
    the model moves from one to the next (within ``transition`` / 2 of a border)."""
    return span_captions(sequence_spans(plan, names), plan.transition)


def span_captions(spans: Sequence[dict], transition: int) -> list[str]:
    """:func:`sequence_captions` from the records of :func:`sequence_spans` (as
    `generate --sequence` writes them to generate_sequence.json)."""
    captions = [span["clip"] for span in spans for _ in range(span["frames"])]
    half = transition // 2
    for before, after in zip(spans[:-1], spans[1:]):
        border = after["start"]
        for f in range(max(0, border - half), min(len(captions), border + half)):
            captions[f] = f"{before['clip']} > {after['clip']}"
    return captions
