"""Sampling without torch: the exported denoiser (see :mod:`sinmdm.sampling.export`) run by ONNX
Runtime, with the same sampler step as :meth:`sinmdm.model.diffusion.Diffusion.sample`
(:class:`sinmdm.diffusion.scheduler.DDIMScheduler`), on numpy arrays.

It needs numpy, onnxruntime and the model's JSON sidecar, which holds the schedule, the
timesteps, the normalisation and the feature layout; nothing here imports torch. Noise
comes from a callable, so a caller can feed exactly the noise the torch sampler would
draw (``sinmdm generate --backend onnx`` does, so the same seed gives the same motion).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from ..base.errors import SinmdmError
from ..diffusion.config import DiffusionConfig
from ..diffusion.scheduler import DDIMScheduler, LowPass

ONNX_EXTRA = "pip install 'sinmdm[onnx]'  (onnx, onnxruntime and onnxscript)"
SIDECAR_FORMAT = "sinmdm-onnx"
SIDECAR_VERSION = 2  # 2: contacts are points (contact_points), the skeleton records its up axis and size

Noise = Callable[[tuple[int, ...]], np.ndarray]


def sidecar_path(model: Path) -> Path:
    """The JSON next to ``model.onnx``: ``model.json``."""
    return model.with_suffix(".json")


def read_sidecar(model: Path) -> dict[str, Any]:
    path = sidecar_path(model)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SinmdmError(f"{path}: the ONNX model's sidecar is missing (export again with `sinmdm export`)") from None
    except (OSError, ValueError) as exc:
        raise SinmdmError(f"{path}: cannot read the sidecar: {exc}") from None
    if data.get("format") != SIDECAR_FORMAT or data.get("version") != SIDECAR_VERSION:
        raise SinmdmError(
            f"{path}: not a sinmdm ONNX sidecar of version {SIDECAR_VERSION} "
            f"(format {data.get('format')!r}, version {data.get('version')!r}); export again"
        )
    return data


class OnnxDenoiser:
    """The exported network: (x_t float32 (B, T, C), t int64 (B,)) -> x0 (B, T, C), in
    normalised feature units."""

    def __init__(self, model: Path, threads: int = 0) -> None:
        try:
            import onnxruntime
        except ImportError:
            raise SinmdmError(f"the onnx backend needs onnxruntime: {ONNX_EXTRA}") from None
        if not model.is_file():
            raise SinmdmError(f"{model}: no ONNX model there (make one with `sinmdm export`)")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads  # 0: onnxruntime's default, one per core
        options.log_severity_level = 4  # failures surface as exceptions, not log lines
        onnxruntime.set_default_logger_severity(4)
        try:
            self.session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise SinmdmError(f"{model}: onnxruntime cannot load it: {exc}") from None

    def __call__(self, x_t: np.ndarray, t: np.ndarray, labels: Optional[np.ndarray] = None) -> np.ndarray:
        """``labels`` (B, T): each frame's clip, for a model of several clips (which must
        have them: the any-clip label is the number of clips)."""
        feeds = {"x_t": np.ascontiguousarray(x_t, dtype=np.float32), "t": np.asarray(t, dtype=np.int64)}
        if labels is not None:
            feeds["labels"] = np.ascontiguousarray(labels, dtype=np.int64)
        return self.session.run(["x0"], feeds)[0]


def sample(
    network: Callable[..., np.ndarray],
    config: DiffusionConfig,
    shape: tuple[int, int, int],
    steps: int,
    noise: Noise,
    *,
    eta: float = 1.0,
    padding: int = 0,
    on_step: Optional[Callable[[int], None]] = None,
    guide: Optional[LowPass] = None,
    labels: Optional[np.ndarray] = None,
) -> np.ndarray:
    """Normalised features (B, T, C), step for step as the torch sampler (the same
    :class:`DDIMScheduler` step). ``padding`` > 0 samples a loop (the sequence is padded
    with that many frames from its other end for each call); ``guide`` holds numpy arrays;
    ``labels`` (B, T) are each frame's clip, for a model of several clips."""
    scheduler = DDIMScheduler(config, np, eta)
    scheduler.set_timesteps(steps)

    def predict(x: np.ndarray, t: int) -> np.ndarray:
        return _looped(network, x, np.full(shape[0], t, dtype=np.int64), padding, labels)

    wrap = 2 * guide.factor if padding and guide is not None else 0  # a loop's slow motion runs on across its seam
    x = noise(shape).astype(np.float32)
    return scheduler.denoise(predict, x, lambda: noise(shape), guide=guide, low_pass=low_pass, wrap=wrap, on_step=on_step)


def low_pass(x: np.ndarray, factor: int, wrap: int = 0) -> np.ndarray:
    """As :func:`sinmdm.model.diffusion.low_pass`: (B, T, C) averaged over ``factor`` frames (the
    last group may be shorter) and linearly interpolated back to T frames (half-frame
    centres, clamped at the ends); ``wrap`` > 0 sees a loop with that many frames of its
    other end on each side."""
    if factor <= 1:
        return x
    if wrap:
        wrap = min(wrap, x.shape[1])
        looped = np.concatenate([x[:, -wrap:], x, x[:, :wrap]], axis=1)
        return low_pass(looped, factor)[:, wrap : wrap + x.shape[1]]
    frames = x.shape[1]
    groups = -(-frames // factor)
    padded = np.concatenate([x, np.zeros((x.shape[0], groups * factor - frames, x.shape[2]), x.dtype)], axis=1)
    counts = np.minimum(factor, frames - factor * np.arange(groups))
    down = padded.reshape(x.shape[0], groups, factor, x.shape[2]).sum(axis=2) / counts[None, :, None]
    where = np.maximum((np.arange(frames) + 0.5) * groups / frames - 0.5, 0.0)
    left = np.minimum(np.floor(where).astype(np.int64), groups - 1)
    right = np.minimum(left + 1, groups - 1)
    lam = (where - left)[None, :, None]
    return ((1 - lam) * down[:, left] + lam * down[:, right]).astype(x.dtype, copy=False)


def _looped(
    network: Callable[..., np.ndarray], x: np.ndarray, t: np.ndarray, padding: int, labels: Optional[np.ndarray]
) -> np.ndarray:
    extra = () if labels is None else (labels,)
    pad = min(padding, x.shape[1])
    if not pad:
        return network(x, t, *extra)
    extra = tuple(np.concatenate([y[:, -pad:], y, y[:, :pad]], axis=1) for y in extra)
    out = network(np.concatenate([x[:, -pad:], x, x[:, :pad]], axis=1), t, *extra)
    return out[:, pad : pad + x.shape[1]]
