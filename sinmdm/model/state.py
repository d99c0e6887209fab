"""What a checkpoint holds and saves: network, EMA, optimiser, random streams, step, losses, with the run's settings."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch

from ..base.version import __version__
from ..diffusion.config import DiffusionConfig
from .checkpoint import save_checkpoint
from .features import FeatureLayout
from .network import Denoiser, ModelConfig
from .settings import TrainSettings


@dataclass
class TrainState:
    """What a checkpoint holds: the network, its EMA, the optimiser, the random streams,
    the step and the loss history, with the settings and the layout they belong to. It
    saves and restores itself, so a resumed run continues exactly where it stopped."""

    network: Denoiser
    ema: Denoiser
    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    config: ModelConfig
    settings: TrainSettings
    layout: FeatureLayout
    train_frames: int
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    step: int = 0
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0  # training time of the earlier sessions of a resumed run
    clips: list[str] = field(default_factory=list)  # the clips' names, in training order

    @classmethod
    def create(
        cls, config: ModelConfig, basis: Optional[torch.Tensor], settings: TrainSettings, layout: FeatureLayout,
        train_frames: int, device: torch.device, diffusion: Optional[DiffusionConfig] = None,
    ) -> "TrainState":
        torch.manual_seed(settings.seed)
        network = Denoiser(config, basis).to(device)
        ema = copy.deepcopy(network).eval().requires_grad_(False)
        optimizer = torch.optim.AdamW(network.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
        generator = torch.Generator().manual_seed(settings.seed)
        return cls(network, ema, optimizer, generator, config, settings, layout, train_frames, diffusion or DiffusionConfig())

    @classmethod
    def restore(cls, saved: dict[str, Any], settings: TrainSettings, device: torch.device) -> "TrainState":
        """The state of a checkpoint, to run on under ``settings`` (its own, with new limits)."""
        config = ModelConfig(**saved["model_config"])
        layout = FeatureLayout.from_dict(saved["layout"])
        state = cls.create(config, None, settings, layout, int(saved["train_frames"]), device,
                           DiffusionConfig.from_dict(saved.get("diffusion")))
        state.network.load_state_dict(saved["model"])
        state.ema.load_state_dict(saved["ema"])
        state.optimizer.load_state_dict(saved["optimizer"])
        # The checkpoint was loaded onto the training device; RNG states are CPU bytes.
        state.generator.set_state(saved["generator"].cpu())
        torch.set_rng_state(saved["torch_rng"].cpu())
        state.step, state.losses, state.seconds = int(saved["step"]), list(saved["losses"]), float(saved["seconds"])
        state.clips = [str(c) for c in saved.get("clips", [])]
        return state

    def save(self, path: Path, seconds: float) -> None:
        """Write the checkpoint atomically (``seconds``: the run's training time so far)."""
        save_checkpoint(path, self.state_dict(seconds))

    def state_dict(self, seconds: float) -> dict[str, Any]:
        """Plain tensors and types, loadable with ``torch.load(weights_only=True)``."""
        return {
            "model": self.network.state_dict(),
            "ema": self.ema.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "step": self.step,
            "losses": self.losses,
            "seconds": seconds,
            "model_config": self.config.to_dict(),
            "diffusion": self.diffusion.to_dict(),
            "settings": asdict(self.settings),
            "layout": self.layout.to_dict(),
            "train_frames": self.train_frames,
            "clips": self.clips,
            "sinmdm_version": __version__,
        }


def update_ema(ema: torch.nn.Module, network: torch.nn.Module, decay: float) -> None:
    with torch.no_grad():
        for e, p in zip(ema.parameters(), network.parameters()):
            e.lerp_(p, 1 - decay)
