"""Contact labels for cleanup: the model's contact scores with hysteresis, and runs too
short to be steps dropped."""

from __future__ import annotations

import numpy as np

CONTACT_ON, CONTACT_OFF = 0.6, 0.4  # hysteresis thresholds on the contact features


MIN_CONTACT_SECONDS = 0.1  # shorter contacts are noise


def hysteresis(probability: np.ndarray, fps: float) -> np.ndarray:
    """(F, K) bool contacts from per-frame contact scores (F, K): on above CONTACT_ON, off
    below CONTACT_OFF, in between as before; runs shorter than MIN_CONTACT_SECONDS go."""
    frames, _ = probability.shape
    event = np.where(probability > CONTACT_ON, 1, np.where(probability < CONTACT_OFF, 0, -1))
    # The state at each frame is the last event at or before it (the first frame decides
    # by 0.5 when it has none).
    event[0] = np.where(event[0] >= 0, event[0], probability[0] >= 0.5)
    last = np.where(event >= 0, np.arange(frames)[:, None], 0)
    np.maximum.accumulate(last, axis=0, out=last)
    state = np.take_along_axis(event, last, axis=0).astype(bool)
    return drop_short_runs(state, max(1, round(MIN_CONTACT_SECONDS * fps)))


def drop_short_runs(state: np.ndarray, shortest: int) -> np.ndarray:
    """``state`` (F, K) without its runs of True shorter than ``shortest`` frames."""
    change = np.diff(np.pad(state.astype(np.int8), ((1, 1), (0, 0))), axis=0).T  # (K, F + 1)
    k, starts = np.nonzero(change == 1)  # joint-major order, so starts and ends pair up
    _, ends = np.nonzero(change == -1)
    short = ends - starts < shortest
    marks = np.zeros(change.shape, dtype=np.int64)
    np.add.at(marks, (k[short], starts[short]), 1)
    np.add.at(marks, (k[short], ends[short]), -1)
    return state & ~(np.cumsum(marks, axis=1)[:, :-1].T > 0)
