"""Checkpoints: plain tensors and types only, so ``torch.load(weights_only=True)`` reads
them and a shared file can never run code; written atomically."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch

from ..base.atomic import atomic_write
from ..base.errors import SinmdmError

FORMAT = "sinmdm-checkpoint"
VERSION = 1


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` (tensors, numbers, strings, lists, dicts) to ``path`` atomically."""
    path = Path(path)
    try:
        with atomic_write(path, "wb") as handle:
            torch.save({"format": FORMAT, "version": VERSION, **state}, handle)
    except OSError as exc:
        raise SinmdmError(f"{path}: cannot write checkpoint: {exc.strerror or exc}") from None


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`, refusing anything else."""
    path = Path(path)
    if not path.is_file():
        raise SinmdmError(f"{path}: no checkpoint there")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unsafe content"
        raise SinmdmError(f"{path}: refused to load: not a plain-weights checkpoint ({first[:160]})") from None
    except (RuntimeError, EOFError, ValueError, OSError) as exc:
        raise SinmdmError(f"{path}: not a readable checkpoint ({str(exc).splitlines()[0][:160]})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise SinmdmError(f"{path}: not a sinmdm checkpoint")
    if state.get("version") != VERSION:
        raise SinmdmError(
            f"{path}: checkpoint format version {state.get('version')} is not supported by this sinmdm "
            f"(it reads version {VERSION}); retrain or use a matching sinmdm version"
        )
    return state
