"""Run directories: what `train` writes, how later commands find and load a model."""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

import numpy as np
import torch

from ..anim.bvh import read_bvh
from ..anim.clipset import ClipSet, clip_names
from ..anim.motion import Motion
from ..base.atomic import atomic_write
from ..base.errors import SinmdmError
from ..diffusion.config import DiffusionConfig
from .checkpoint import load_checkpoint
from .features import FeatureLayout
from .network import Denoiser, ModelConfig

RUNS_ROOT = Path("runs")
LATEST = RUNS_ROOT / "latest"  # a text file holding the path of the newest run
CHECKPOINT = "model.pt"
CONFIG = "config.json"
STATS = "features.json"
CLIP = "clip.bvh"  # a one-clip run's copy of its clip
CLIPS = "clips"  # the folder of a several-clip run's copies, one <name>.bvh each
LOSS_PLOT = "loss.png"
PREVIEW = "preview.bvh"
PREVIEW_VIDEO = "preview.gif"
LOCK = ".lock"  # held by the process training into the run


@contextlib.contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the run folder (created if needed) while training into
    it, so a second ``train`` on the same folder refuses instead of mixing checkpoints.
    The operating system drops the lock when the process ends, however it ends."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        handle = open(run_dir / LOCK, "a+", encoding="utf-8")
    except OSError as exc:
        raise SinmdmError(f"{run_dir}: cannot create the run folder: {exc.strerror or exc}") from None
    with handle:
        try:
            _lock(handle)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise SinmdmError(f"{run_dir} is being trained by {holder}: wait for it, or choose another --out") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}")
        handle.flush()
        yield


def _lock(handle: Any) -> None:
    """A non-blocking exclusive lock on an open file; OSError if another process holds it."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def default_run_dir(clips: list[Path]) -> Path:
    """runs/<clip name>; for several clips, their names joined by '+'."""
    return RUNS_ROOT / "+".join(clip_names(clips))


def clip_files(run_dir: Path, names: Sequence[str]) -> list[Path]:
    """Where a run keeps its copies of the clips it was trained on."""
    if len(names) == 1:
        return [run_dir / CLIP]
    return [run_dir / CLIPS / f"{name}.bvh" for name in names]


def record_latest(run_dir: Path) -> None:
    LATEST.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(LATEST, "w", encoding="utf-8") as out:
        out.write(str(run_dir.resolve()) + "\n")


def resolve_run(model: str | Path | None) -> Path:
    """The run folder named by ``--model`` (a folder or its model.pt), else the latest."""
    if model is None:
        if not LATEST.is_file():
            raise SinmdmError("no trained model found: train one with `sinmdm train CLIP.bvh`, or pass --model RUN")
        path = Path(LATEST.read_text(encoding="utf-8").strip())
    else:
        path = Path(model)
        if path.is_file():
            path = path.parent
    if not (path / CHECKPOINT).is_file():
        raise SinmdmError(f"{path}: not a trained run (no {CHECKPOINT} in it)")
    return path


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` takes CUDA, then Apple's MPS, then the CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise SinmdmError("--device cuda: no CUDA GPU is available to this torch")
    if name == "mps" and not torch.backends.mps.is_available():
        raise SinmdmError("--device mps: Apple's MPS backend is not available")
    if name not in ("cpu", "cuda", "mps"):
        raise SinmdmError(f"unknown device '{name}': use auto, cpu, cuda or mps")
    return torch.device(name)


def parse_length(text: str, reference_frames: int, fps: float, minimum: int = 1, what: str = "length") -> int:
    """Frames from ``600`` (frames), ``10s`` (seconds) or ``2x`` (times the reference)."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([sx]?)\s*", text.lower())
    if not match:
        raise SinmdmError(f"{what} '{text}' is not understood: use frames (600), seconds (10s) or a multiple (2x)")
    value, unit = float(match.group(1)), match.group(2)
    frames = round(value * fps) if unit == "s" else round(value * reference_frames) if unit == "x" else value
    if frames != int(frames) or frames < minimum:
        raise SinmdmError(f"{what} '{text}' must come to a whole number of frames, at least {minimum}")
    return int(frames)


@dataclass
class Run:
    """A trained model ready to sample: its EMA network, feature layout and settings."""

    path: Path
    network: Denoiser
    layout: FeatureLayout
    config: ModelConfig
    train_frames: int
    step: int
    device: torch.device
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    clip_names: tuple[str, ...] = ("clip",)
    _clips: Optional[ClipSet] = field(default=None, repr=False)

    def clip_set(self) -> ClipSet:
        """The training clips (the run's copies, see :func:`clip_files`) at the model's frame
        rate, on the model's skeleton (its up axis and body size)."""
        if self._clips is None:
            skeleton = self.layout.skeleton
            motions = []
            for path in clip_files(self.path, self.clip_names):
                motion = read_bvh(path, up=skeleton.up).resample(self.layout.fps)
                difference = skeleton.difference(motion.skeleton)
                if difference:
                    raise SinmdmError(f"{path}: not the clip this model was trained on: {difference}")
                motions.append(replace(motion, skeleton=skeleton))
            self._clips = ClipSet(self.clip_names, tuple(motions))
        return self._clips

    def clip(self) -> Motion:
        """The training clip; for a run on several clips, all of them one after another
        (:meth:`ClipSet.joined`)."""
        return self.clip_set().joined()

    def clip_features(self) -> list[np.ndarray]:
        """Each training clip's normalised features (frames, channels)."""
        return [self.layout.normalise(self.layout.encode(m)) for m in self.clip_set().motions]

    @classmethod
    def load(cls, path: Path, device: torch.device) -> Run:
        state = load_checkpoint(path / CHECKPOINT, device)
        try:
            config = ModelConfig(**state["model_config"])
            layout = FeatureLayout.from_dict(state["layout"])
            network = Denoiser(config).to(device)
            network.load_state_dict(state["ema"])
            diffusion = DiffusionConfig.from_dict(state.get("diffusion"))
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise SinmdmError(f"{path / CHECKPOINT}: checkpoint is incomplete or does not fit this sinmdm ({exc})") from None
        network.eval()
        names = tuple(state.get("clips") or [_old_clip_name(path)])
        return cls(path, network, layout, config, int(state["train_frames"]), int(state["step"]), device, diffusion,
                   names)


def _old_clip_name(run_dir: Path) -> str:
    """The clip name of a run written before runs recorded their clips' names: the stem of
    the file config.json says it was trained on."""
    try:
        return clip_names([Path(json.loads((run_dir / CONFIG).read_text(encoding="utf-8"))["clip"])])[0]
    except (OSError, ValueError, KeyError, TypeError):
        return "clip"
