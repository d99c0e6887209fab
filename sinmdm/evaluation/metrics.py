"""Evaluation metrics of the single-motion benchmark (GANimator / SinMDM), made
independent of the skeleton: every threshold and score is relative to the input clip's
own motion scale, and plausibility is a ratio to the input's own value.

Per frame, a motion is described by the 6D local rotations of its rotating joints (root
rotation included, root translation excluded) at 30 fps, whatever the clip's rate, so a
window of frames spans the same time on every clip; the cost between two frames is the L2
distance of those vectors. A keypoint clip (positions, no rotations) is described by its
joints' positions relative to the root, in body sizes, with the same definitions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Callable, Optional, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..anim.contacts import planted_heights
from ..anim.motion import Motion
from ..anim.rotations import matrix_to_6d

COVERAGE_WINDOW = 30
LOCAL_WINDOW = 15
MIN_SEGMENT = 30
SCALE_GAP = 15  # frames apart for the motion scale (0.5 s at 30 fps)
COVERAGE_THRESHOLDS = (0.25, 0.5, 1.0)
SLIDING_BANDS = (0.03, 0.05, 0.08, 0.12)  # contact bands (of the body size) sliding is measured in
METRIC_FPS = 30.0  # the rate the rotation features are compared at
REPLAY_WINDOW = LOCAL_WINDOW  # frames of each window a replay follows the clip through
LONG_REPLAY_SECONDS = 2.0  # replays longer than this are counted apart
SELF_REPLAY_GAP_SECONDS = 1.0  # the clip against itself: lags shorter than this are the frame itself


def rotation_features(motion: Motion) -> np.ndarray:
    """(F, 6R) 6D local rotations of the joints with rotation channels."""
    joints = motion.skeleton.rotating_joints
    return matrix_to_6d(motion.rotations[:, joints]).reshape(motion.n_frames, -1)


def position_features(motion: Motion) -> np.ndarray:
    """(F, 3J) every joint's position relative to the root joint, in body sizes."""
    world = motion.world_positions()
    return ((world - world[:, :1]) / motion.skeleton.size).reshape(motion.n_frames, -1)


def metric_features(motion: Motion) -> np.ndarray:
    """:func:`rotation_features` at METRIC_FPS, or for a skeleton without rotations (a
    keypoint clip's) :func:`position_features`."""
    resampled = motion.resample(METRIC_FPS)
    if len(motion.skeleton.rotating_joints):
        return rotation_features(resampled)
    return position_features(resampled)


def motion_scale(features: np.ndarray, gap: int = SCALE_GAP) -> float:
    """Mean distance between frames ``gap`` apart: how much the clip moves in 0.5 s."""
    gap = min(gap, len(features) - 1)
    if gap < 1:
        return 1.0
    scale = float(np.linalg.norm(features[gap:] - features[:-gap], axis=-1).mean())
    return scale if scale > 0 else 1.0


def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) L2 distances between frames."""
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None] - 2 * a @ b.T
    return np.sqrt(np.maximum(sq, 0.0))


def window_sums(d: np.ndarray, window: int) -> np.ndarray:
    """W[i, j] = sum over k < window of d[i + k, j + k]: the cost of matching the window
    starting at i against the one starting at j, frame by frame."""
    n, m = d.shape[0] - window + 1, d.shape[1] - window + 1
    out = np.zeros((n, m))
    for k in range(window):  # a loop over the window's offsets; each step is one slab add
        out += d[k : k + n, k : k + m]
    return out


def coverage(d: np.ndarray, scale: float, window: int = COVERAGE_WINDOW) -> dict[float, float]:
    """Share of the input's windows (rows of ``d``) matched by some sample window with a
    mean per-frame cost below each threshold (in motion scales)."""
    best = closest_windows(d, min(window, d.shape[0], d.shape[1]))
    return {t: float((best < t * scale).mean()) for t in COVERAGE_THRESHOLDS}


def closest_windows(d: np.ndarray, window: int) -> np.ndarray:
    """For each input window (rows of ``d``), the mean per-frame cost of its closest
    sample window."""
    return window_sums(d, window).min(axis=1) / window


def local_diversity(d: np.ndarray, scale: float, window: int = LOCAL_WINDOW) -> float:
    """Mean over the sample's windows (columns of ``d``) of the best input match's cost."""
    window = min(window, d.shape[0], d.shape[1])
    return float((window_sums(d, window).min(axis=0) / window).mean() / scale)


def replay_lengths(d: np.ndarray, scale: float, window: int = REPLAY_WINDOW, min_lag: int = 0) -> np.ndarray:
    """(M,) for each frame of the sample (columns of ``d``, the clip in rows), how many
    frames the longest replay containing it lasts (0 outside any).

    A replay is a run of consecutive sample windows of ``window`` frames, each within the
    coverage threshold (COVERAGE_THRESHOLDS[1] motion scales, mean per-frame cost) of the
    clip's window at the same lag: the sample follows the clip frame by frame, in order.
    A run of r windows spans r + window - 1 frames. Lags (clip frame minus sample frame)
    below ``min_lag`` in size are ignored (the clip against itself: a frame is no replay
    of itself)."""
    n, m = d.shape
    window = min(window, n, m)
    match = window_sums(d, window) / window < COVERAGE_THRESHOLDS[1] * scale  # (clip windows, sample windows)
    if min_lag:
        lag = np.arange(match.shape[0])[:, None] - np.arange(match.shape[1])[None]
        match &= np.abs(lag) >= min_lag
    # Along each diagonal (one lag): how many matching windows end at each cell, and how
    # many start there; a cell's whole run is their sum less one. Sequential in the
    # sample's windows, vectorised over the clip's.
    rows, cols = match.shape
    ending, starting = np.zeros(match.shape, dtype=np.int64), np.zeros(match.shape, dtype=np.int64)
    for j in range(cols):
        ending[:, j] = match[:, j] * (1 + (np.concatenate([[0], ending[:-1, j - 1]]) if j else 0))
    for j in range(cols - 1, -1, -1):
        starting[:, j] = match[:, j] * (1 + (np.concatenate([starting[1:, j + 1], [0]]) if j < cols - 1 else 0))
    runs = np.where(match, ending + starting - 1, 0).max(axis=0)  # (sample windows,) longest run through each
    spans = np.where(runs > 0, runs + window - 1, 0)
    # A frame lies in the windows that start up to window - 1 frames before it.
    padded = np.concatenate([np.zeros(window - 1, dtype=np.int64), spans, np.zeros(m - cols, dtype=np.int64)])
    return sliding_window_view(padded, window).max(axis=1)


def global_diversity(d: np.ndarray, scale: float, min_segment: int = MIN_SEGMENT) -> float:
    """Patched nearest neighbour: split the sample (columns) into segments of at least
    ``min_segment`` frames, each matched frame by frame to one contiguous input segment;
    the least mean per-frame cost over all such splits, in motion scales.

    Dynamic programming over (sample frame j, input frame i) with O(N) state per frame:
    ``run[i]`` is the cheapest cover of frames 0..j whose last segment has reached
    ``min_segment`` frames and matches frame j to input frame i. It either extends the
    previous frame's run along the diagonal, or starts a new segment at j - L + 1 right
    after the cheapest complete cover. Time O(N M), memory O(N M) for the costs only.
    """
    n, m = d.shape
    length = min(min_segment, n, m)
    starts = window_sums(d, length)  # cost of a fresh segment's first `length` frames
    done = np.full(m + 1, np.inf)  # done[j]: cheapest cover of frames 0..j-1
    done[0] = 0.0
    run = np.full(n, np.inf)
    for j in range(m):  # inherently sequential in j; vectorised over the input frames
        extended = np.full(n, np.inf)
        extended[1:] = run[:-1] + d[1:, j]
        if j >= length - 1:
            first = j - length + 1
            extended[length - 1 :] = np.minimum(extended[length - 1 :], done[first] + starts[:, first])
        run = extended
        done[j + 1] = run.min()
    return float(done[m] / m / scale)


def inter_sample_diversity(samples: list[np.ndarray], scale: float) -> float:
    """Mean frame-by-frame distance between different samples (over their common length)."""
    if len(samples) < 2:
        return float("nan")
    frames = min(len(s) for s in samples)
    stack = np.stack([s[:frames] for s in samples])
    total, pairs = 0.0, 0
    for a in range(len(stack)):  # pairs of samples, not frames
        total += np.linalg.norm(stack[a + 1 :] - stack[a], axis=-1).mean(axis=1).sum()
        pairs += len(stack) - a - 1
    return float(total / pairs / scale)


def diversity_between(reference: Motion, samples: list[Motion]) -> float:
    """Inter-sample diversity of ``samples`` in motion scales of the ``reference`` clip."""
    scale = motion_scale(rotation_features(reference))
    return inter_sample_diversity([rotation_features(s) for s in samples], scale)


def seam_jump(reference: Motion, motion: Motion, seams: list[int], radius: int) -> float:
    """Continuity where given and generated frames meet: the largest per-frame joint
    speed within ``radius`` frames of any seam (a frame index where one part ends and the
    next begins), divided by the 99th percentile over the reference's frames of the same
    speed. Above 1, the seam moves faster than the clip itself almost ever does."""
    if not seams:
        return 0.0
    speed = _fastest_joint_speed(motion)
    near = np.zeros(len(speed), dtype=bool)
    for seam in seams:  # a handful of seams per motion
        near[max(0, seam - radius) : seam + radius] = True
    typical = np.percentile(_fastest_joint_speed(reference), 99)
    return float(speed[near].max() / max(typical, 1e-9))


def loop_seam_step(motion: Motion) -> float:
    """How big a step a loop takes at its seam (last frame to first), over the median
    step between consecutive frames: about 1 when the seam is like any other frame, far
    more when the loop jumps. A step is the mean distance the joints move relative to the
    root's place on the floor (a loop's path goes on, its pose comes back): a joint that
    turns, or a root pulled along over feet that stay, moves them."""
    steps, seam = loop_steps(motion)
    return float(seam / max(np.median(steps), 1e-12))


def loop_seam_rank(motion: Motion) -> float:
    """The share of a loop's own frame steps smaller than its seam step (see
    :func:`loop_seam_step`): uniform over [0, 1] when the seam is like any other frame,
    1 when the loop jumps there. Fast motion has steps far above its median, so the
    rank, not the ratio, tells a seam from a fast frame."""
    steps, seam = loop_steps(motion)
    return float((steps < seam).mean())


def loop_steps(motion: Motion) -> tuple[np.ndarray, float]:
    """(F - 1,) the steps between a loop's consecutive frames, and its seam step."""
    world = motion.world_positions()
    root = world[:, :1].copy()
    root[..., 1] = 0.0
    pose = world - root
    steps = np.linalg.norm(np.diff(pose, axis=0), axis=-1).mean(axis=1)
    return steps, float(np.linalg.norm(pose[0] - pose[-1], axis=-1).mean())


def _fastest_joint_speed(motion: Motion) -> np.ndarray:
    """(F - 1,) the distance the fastest joint moves between consecutive frames."""
    return np.linalg.norm(np.diff(motion.world_positions(), axis=0), axis=-1).max(axis=1)


def foot_sliding(motion: Motion, contacts: list[int], planted: np.ndarray, size: float, band: float) -> float:
    """Mean horizontal speed (body sizes per second) of the contact points over the frames
    where each is within ``band`` (of the body size) of its planted height (taken from the
    input)."""
    if not contacts or motion.n_frames < 2:
        return 0.0
    world = motion.world_points()[:, contacts]
    speed = np.linalg.norm(np.diff(world[..., [0, 2]], axis=0), axis=-1) * motion.fps / size
    low = world[1:, :, 1] < planted + band * size
    return float(speed[low].mean()) if low.any() else 0.0


def jerk(motion: Motion) -> float:
    """Mean magnitude of the third time derivative of joint positions (body sizes / s^3)."""
    if motion.n_frames < 4:
        return 0.0
    world = motion.world_positions()
    third = np.diff(world, n=3, axis=0) * motion.fps**3
    return float(np.linalg.norm(third, axis=-1).mean() / motion.skeleton.size)


@dataclass
class Report:
    coverage_strict: float  # threshold 0.25 s
    coverage: float  # threshold 0.5 s
    coverage_loose: float  # threshold 1.0 s (GANimator-comparable)
    global_diversity: float
    local_diversity: float
    inter_sample_diversity: float
    replay_seconds: float  # mean over frames of the longest replay of the clip containing it
    replay_long_share: float  # share of frames inside replays longer than LONG_REPLAY_SECONDS
    self_replay_seconds: float  # the same for the clip against itself (lags of 1 s and more)
    self_replay_long_share: float
    sliding: list[float]  # per SLIDING_BANDS, body sizes per second
    sliding_input: list[float]
    jerk: float
    jerk_input: float
    samples: int
    frames: int
    clip_coverage: list[list[float]]  # per sample, per clip: the share of the clip's windows covered
    clip_coverage_together: list[float]  # per clip: the share covered by the samples together

    @property
    def sliding_ratios(self) -> list[float]:
        """Per band of SLIDING_BANDS, the samples' sliding over the clip's."""
        return [s / max(c, 1e-3) for s, c in zip(self.sliding, self.sliding_input)]

    @property
    def sliding_ratio(self) -> float:
        """The worst band's ratio: the figure that counts."""
        return max(self.sliding_ratios)

    @property
    def jerk_ratio(self) -> float:
        return self.jerk / max(self.jerk_input, 1e-9)

    def to_dict(self) -> dict[str, float | list[float]]:
        out = asdict(self)
        out.update(sliding_ratio=self.sliding_ratio, sliding_ratios=self.sliding_ratios, jerk_ratio=self.jerk_ratio,
                   sliding_bands=list(SLIDING_BANDS))
        return out


def replay(d: np.ndarray, scale: float, min_lag: int = 0) -> tuple[float, float]:
    """Mean replay length (seconds) over the sample's frames (columns of ``d``, the
    distances from the clip's frames to the sample's, metric features at METRIC_FPS), and
    the share of frames in replays longer than LONG_REPLAY_SECONDS; see
    :func:`replay_lengths`."""
    frames = replay_lengths(d, scale, min_lag=min_lag) / METRIC_FPS
    return float(frames.mean()), float((frames > LONG_REPLAY_SECONDS).mean())


def self_replay(reference: np.ndarray, scale: float) -> tuple[float, float]:
    """:func:`replay` of the clip against itself, lags under SELF_REPLAY_GAP_SECONDS
    ignored: how long the clip repeats its own earlier (or later) parts."""
    return replay(distances(reference, reference), scale, min_lag=round(SELF_REPLAY_GAP_SECONDS * METRIC_FPS))


def evaluate(reference: Motion | Sequence[Motion], samples: list[Motion], contacts: list[int]) -> Report:
    """All metrics for ``samples`` against the ``reference`` clip (or clips, on one
    skeleton, scored as one: windows that would span two clips are not counted, and each
    clip's own figures are weighted by its frames), averaged over samples."""
    clips = [reference] if isinstance(reference, Motion) else list(reference)
    own_feats = [metric_features(c) for c in clips]
    ref = np.concatenate(own_feats)
    lengths = np.array([len(f) for f in own_feats])
    scale = _per_frame(own_feats, motion_scale, lengths)
    window = min(COVERAGE_WINDOW, len(ref), min(s.n_frames for s in samples))
    starts = np.concatenate([[0], np.cumsum(lengths)])
    rows = [np.arange(a, max(a, b - window + 1)) for a, b in zip(starts[:-1], starts[1:])]  # whole windows per clip
    feats = [metric_features(s) for s in samples]
    best, per = [], {"gd": [], "ld": [], "replay": []}
    for f in feats:
        d = distances(ref, f)
        best.append(closest_windows(d, window))
        per["gd"].append(global_diversity(d, scale))
        per["ld"].append(local_diversity(d, scale))
        per["replay"].append(replay(d, scale))
    best = np.stack(best)  # (samples, clip windows): the closest sample window's mean cost
    valid = np.concatenate(rows)
    cov = [float((best[:, valid] < t * scale).mean()) for t in COVERAGE_THRESHOLDS]
    threshold = COVERAGE_THRESHOLDS[1] * scale
    joined = replace(clips[0], rotations=np.concatenate([c.rotations for c in clips]),
                     translations=np.concatenate([c.translations for c in clips]))
    size = clips[0].skeleton.size
    planted = planted_heights(joined, contacts)
    replays = np.mean(per["replay"], axis=0)
    own = self_replay(ref, scale)
    return Report(
        coverage_strict=cov[0],
        coverage=cov[1],
        coverage_loose=cov[2],
        global_diversity=float(np.mean(per["gd"])),
        local_diversity=float(np.mean(per["ld"])),
        inter_sample_diversity=inter_sample_diversity(feats, scale),
        replay_seconds=float(replays[0]),
        replay_long_share=float(replays[1]),
        self_replay_seconds=own[0],
        self_replay_long_share=own[1],
        sliding=[float(np.mean([foot_sliding(s, contacts, planted, size, b) for s in samples])) for b in SLIDING_BANDS],
        sliding_input=[_per_frame(clips, lambda c: foot_sliding(c, contacts, planted, size, b)) for b in SLIDING_BANDS],
        jerk=float(np.mean([jerk(s) for s in samples])),
        jerk_input=clips_jerk(clips),
        samples=len(samples),
        frames=int(np.mean([s.n_frames for s in samples])),
        clip_coverage=[[float((best[i, r] < threshold).mean()) for r in rows] for i in range(len(samples))],
        clip_coverage_together=[float((best[:, r].min(axis=0) < threshold).mean()) for r in rows],
    )


def clips_jerk(clips: Sequence[Motion]) -> float:
    """:func:`jerk` of clips on one skeleton, each on its own, weighted by its frames."""
    return _per_frame(clips, jerk)


def _per_frame(clips: Sequence, figure: Callable, frames: Optional[Sequence[int]] = None) -> float:
    """``figure`` of each clip, weighted by its frames (a single clip's own figure, exactly)."""
    if len(clips) == 1:
        return figure(clips[0])
    weights = frames if frames is not None else [c.n_frames for c in clips]
    return float(np.average([figure(c) for c in clips], weights=weights))
