"""The denoiser: a shallow stack of local-attention blocks with a narrow receptive field.

Each block lets every frame attend to the ``window`` frames around it (itself included),
with a learned bias per head and relative offset, then applies an MLP; both are
conditioned on the diffusion timestep by adaptive LayerNorm (scale, shift and a gate that
starts at zero, so each block starts as the identity). Nothing in the network depends on
the sequence length, so a model trained on short crops samples any length.

Optionally the network works in a fixed ``rank``-dimensional subspace of the feature
channels (the clip's principal axes): a mixamo rig has ~400 channels but one clip spans
far fewer directions, and a 128-wide network cannot pass 400 channels through
(docs/decisions.md).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..base.errors import SinmdmError


@dataclass(frozen=True)
class ModelConfig:
    channels: int  # feature channels per frame
    width: int = 128
    blocks: int = 8
    heads: int = 4
    window: int = 9  # frames each frame attends to (odd)
    mlp_ratio: int = 4
    drop_path: float = 0.0  # stochastic depth of the last block (linearly less before it)
    rank: int = 0  # work in a fixed subspace of this many directions (0: all channels)
    labels: int = 0  # clips the network is told apart per frame (0: one clip, no label)

    def __post_init__(self) -> None:
        if self.window < 1 or self.window % 2 == 0:
            raise SinmdmError(f"window must be odd and positive, got {self.window}")
        if not 0 <= self.rank <= self.channels:
            raise SinmdmError(f"rank must be between 0 and the {self.channels} channels, got {self.rank}")
        if self.width % self.heads:
            raise SinmdmError(f"width {self.width} is not divisible by the {self.heads} attention heads")

    @property
    def receptive_field(self) -> int:
        """Frames of input that can influence one output frame."""
        return 1 + (self.window - 1) * self.blocks

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding (B, dim) of integer or fractional timesteps (B,)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)


class LocalAttention(nn.Module):
    """Multi-head self-attention over a sliding window of frames, with a learned bias per
    head and relative offset.

    The frames are cut into chunks; each chunk's queries meet, in one matrix product, the
    keys of the chunk and of ``window // 2`` frames either side, and a band mask keeps each
    frame's own window. This wastes some products outside the band but runs on matrix
    kernels: on a 2-core CPU it was 25-30% faster than summing one shifted slice per
    offset, and far faster than copying every key ``window`` times with ``unfold``.
    """

    CHUNK = 16  # frames per chunk (at least window - 1); 8-32 measured within 5%

    def __init__(self, width: int, heads: int, window: int) -> None:
        super().__init__()
        self.heads, self.window = heads, window
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.bias = nn.Parameter(torch.zeros(heads, window))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        h, d, r = self.heads, c // self.heads, self.window // 2
        size = max(self.CHUNK, 2 * r)
        n = (t + size - 1) // size  # chunks (not -(-t // size): ONNX integer division truncates)
        q, k, v = self.qkv(x).view(b, t, 3, h, d).permute(2, 0, 3, 1, 4)  # each (B, H, T, D)
        q = F.pad(q / math.sqrt(d), (0, 0, 0, n * size - t)).view(b, h, n, size, d)

        def around(z: torch.Tensor) -> torch.Tensor:
            """(B, H, n, size + 2r, D): each chunk's frames with r more either side."""
            z = F.pad(z, (0, 0, r, (n + 1) * size - t - r)).view(b, h, n + 1, size, d)
            return torch.cat([z[:, :, :n], z[:, :, 1:, : 2 * r]], dim=3)

        scores = q @ around(k).transpose(-1, -2)  # (B, H, n, size, size + 2r)
        offset = torch.arange(size + 2 * r, device=x.device)[None] - torch.arange(size, device=x.device)[:, None]
        scores = scores + self.bias[:, None, offset.clamp(0, self.window - 1)]
        # Keep each frame's window, and no padding: the ends are not pulled towards zero.
        # A large finite fill (not -inf) keeps the padded queries past the end from NaN.
        key = torch.arange(n, device=x.device)[:, None] * size + torch.arange(size + 2 * r, device=x.device) - r
        keep = ((offset >= 0) & (offset <= 2 * r))[None] & ((key >= 0) & (key < t))[:, None]
        weights = scores.masked_fill(~keep, torch.finfo(scores.dtype).min).softmax(dim=-1)
        attended = (weights @ around(v)).view(b, h, n * size, d)[:, :, :t]
        return self.out(attended.transpose(1, 2).reshape(b, t, c))


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig, drop_path: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(cfg.width, elementwise_affine=False)
        self.attn = LocalAttention(cfg.width, cfg.heads, cfg.window)
        self.norm2 = nn.LayerNorm(cfg.width, elementwise_affine=False)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.width, cfg.mlp_ratio * cfg.width),
            nn.GELU(),
            nn.Linear(cfg.mlp_ratio * cfg.width, cfg.width),
        )
        self.modulation = nn.Linear(cfg.width, 6 * cfg.width)
        nn.init.zeros_(self.modulation.weight)
        nn.init.zeros_(self.modulation.bias)
        self.drop_path = drop_path

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        shift1, scale1, gate1, shift2, scale2, gate2 = self.modulation(cond)[:, None].chunk(6, dim=-1)
        x = x + self._drop(gate1 * self.attn(self.norm1(x) * (1 + scale1) + shift1))
        return x + self._drop(gate2 * self.mlp(self.norm2(x) * (1 + scale2) + shift2))

    def _drop(self, x: torch.Tensor) -> torch.Tensor:
        """Stochastic depth: drop the whole residual branch per sample while training."""
        if not self.training or self.drop_path == 0.0:
            return x
        keep = torch.rand(x.shape[0], 1, 1, device=x.device) >= self.drop_path
        return x * keep / (1.0 - self.drop_path)


class Denoiser(nn.Module):
    """F(x_t, t[, labels]): (B, T, C) noisy normalised features and timesteps (B,) -> (B, T, C).

    With ``cfg.rank`` > 0 the input is projected on ``basis`` (C, rank), orthonormal
    columns saved with the weights, and the output lies in their span."""

    def __init__(self, cfg: ModelConfig, basis: torch.Tensor | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        inner = cfg.rank or cfg.channels
        if cfg.rank:
            if basis is None:
                basis = torch.zeros(cfg.channels, cfg.rank)  # filled by load_state_dict
            if tuple(basis.shape) != (cfg.channels, cfg.rank):
                raise SinmdmError(f"basis must be {cfg.channels} x {cfg.rank}, got {tuple(basis.shape)}")
            self.register_buffer("basis", torch.as_tensor(basis, dtype=torch.float32).clone())
        else:
            self.basis = None
        self.embed = nn.Linear(inner, cfg.width)
        self.time = nn.Sequential(nn.Linear(cfg.width, cfg.width), nn.SiLU(), nn.Linear(cfg.width, cfg.width))
        rates = [cfg.drop_path * (i + 1) / cfg.blocks for i in range(cfg.blocks)]
        self.blocks = nn.ModuleList(Block(cfg, rate) for rate in rates)
        self.norm = nn.LayerNorm(cfg.width, elementwise_affine=False)
        self.head = nn.Linear(cfg.width, inner)
        if cfg.labels:  # one vector per clip and one for "any clip" (index cfg.labels), added to every frame
            self.label = nn.Embedding(cfg.labels + 1, cfg.width)
            nn.init.zeros_(self.label.weight)

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """``labels`` (B, T): each frame's clip, for a network of several clips (None, or
        ``cfg.labels``, is any clip)."""
        cond = F.silu(self.time(timestep_embedding(t, self.cfg.width).to(x.dtype)))
        basis = self.basis.to(x.dtype) if self.basis is not None else None
        h = self.embed(x @ basis if basis is not None else x)
        if self.cfg.labels:
            if labels is None:
                labels = torch.full(x.shape[:2], self.cfg.labels, dtype=torch.long, device=x.device)
            h = h + self.label(labels).to(h.dtype)
        for block in self.blocks:
            h = block(h, cond)
        out = self.head(self.norm(h))
        return out @ basis.T if basis is not None else out

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())
