"""Training crops of one or more clips: random, optionally time-stretched windows of their
features, each frame weighted so every frame counts the same."""

from __future__ import annotations

from typing import Optional

import torch

from .features import FeatureLayout


class CropSampler:
    """Random, optionally time-stretched crops of the clips' features (laid end to end,
    ``bounds`` marking where each clip starts), made in one batched gather (no loop over
    crops or frames), each with per-frame loss weights. A crop never spans two clips.

    Uniform crop starts would see a clip's first and last frames in almost no crop (the
    last frame of a 384-frame clip in 1 of 257 crops of 128 frames, a middle one in 128),
    so the model would rarely generate how a clip begins or ends. Starts are drawn
    uniformly from an interval half a crop wider at each end and clamped to the clip,
    which brings every frame to at least half the mean share; the weights (the mean
    share over the frame's own, measured once on many crops) even out the rest, so every
    frame counts the same in expectation. Several clips are drawn in proportion to their
    length, so every frame of every clip counts the same; with ``balance`` each clip is
    drawn equally often and counts the same as a whole (its frames evened out within it).
    """

    def __init__(
        self, raw: torch.Tensor, layout: FeatureLayout, crop: int, stretch: float,
        bounds: Optional[list[int]] = None, balance: bool = False, known: Optional[torch.Tensor] = None,
    ) -> None:
        self.raw, self.layout, self.crop, self.stretch, self.known = raw, layout, crop, stretch, known
        self.velocity = layout.slices["velocity"]
        self.mean = torch.as_tensor(layout.mean, dtype=raw.dtype, device=raw.device)
        self.std = torch.as_tensor(layout.std, dtype=raw.dtype, device=raw.device)
        edges = torch.tensor(bounds if bounds is not None else [0, raw.shape[0]], dtype=torch.int64)
        self.offsets, self.lengths = edges[:-1], edges[1:] - edges[:-1]
        lengths = self.lengths.double()
        self.chance = torch.full_like(lengths, 1.0 / len(lengths)) if balance else lengths / lengths.sum()
        where, _, _ = self._positions(1 << 14, torch.Generator().manual_seed(0))
        share = torch.bincount(where.round().long().flatten(), minlength=raw.shape[0]).double()
        clip = torch.repeat_interleave(torch.arange(len(lengths)), self.lengths)
        sums = torch.zeros(len(lengths), dtype=torch.float64).index_add_(0, clip, share)
        mean = (sums / lengths)[clip] if balance else share.mean()
        self.frame_weight = (mean / share.clamp(min=1)).to(raw.device, raw.dtype)

    def _positions(self, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(batch, crop) fractional source frames of the crops, and (batch,) their speeds
        and clips."""
        speed = 1 + self.stretch * (2 * torch.rand(batch, generator=generator) - 1)
        if len(self.lengths) == 1:
            frames, offset, clip = int(self.lengths[0]), 0, torch.zeros(batch, dtype=torch.long)
            longest = torch.tensor((frames - 1) / max(self.crop - 1, 1))
        else:  # which clip each crop comes from
            clip = torch.multinomial(self.chance, batch, replacement=True, generator=generator)
            frames, offset = self.lengths[clip].to(speed.dtype), self.offsets[clip].to(speed.dtype)
            longest = (frames - 1) / max(self.crop - 1, 1)
        # A crop at speed s covers (crop - 1) * s source frames; clips too short for that
        # play slower.
        speed = torch.minimum(speed, longest)
        span = (self.crop - 1) * speed
        room = frames - 1 - span
        start = (torch.rand(batch, generator=generator) * (room + span) - span / 2).clamp(min=0)
        start = torch.minimum(start, room)
        # Unstretched crops start on a frame: a fractional start would blend neighbouring
        # frames and blur the clip's fastest detail.
        start = torch.where(speed == 1, start.floor(), start)
        return (start + offset)[:, None] + torch.arange(self.crop)[None] * speed[:, None], speed, clip

    def __call__(self, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(batch, crop, C) normalised crops, (batch, crop) their frames' loss weights (with
        ``known`` (F, C): (batch, crop, C), 0 for values the file did not have), and
        (batch, crop) their clips."""
        frames = self.raw.shape[0]
        where, speed, clip = self._positions(batch, generator)
        where = where.to(self.raw.device)
        lo = where.floor().long().clamp(0, frames - 1)
        hi = (lo + 1).clamp(max=frames - 1)
        w = (where - lo)[..., None].to(self.raw.dtype)
        crops = self.raw[lo] * (1 - w) + self.raw[hi] * w
        # Velocities are per frame: a crop played faster covers more ground per frame.
        crops[..., self.velocity] *= speed.to(crops)[:, None, None]
        weights = self.frame_weight[where.round().long().clamp(0, frames - 1)]
        if self.known is not None:
            weights = weights[..., None] * (self.known[lo] & self.known[hi]).to(weights.dtype)
        labels = clip.to(self.raw.device)[:, None].expand(-1, self.crop)
        return (crops - self.mean) / self.std, weights, labels
