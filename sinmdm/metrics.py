"""Evaluation metrics of the single-motion benchmark (GANimator / SinMDM), made
independent of the skeleton: every threshold and score is relative to the input clip's
own motion scale, and plausibility is a ratio to the input's own value.

Per frame, a motion is described by the 6D local rotations of its rotating joints (root
rotation included, root translation excluded); the cost between two frames is the L2
distance of those vectors.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .contacts import HEIGHT_MARGIN, planted_heights
from .motion import Motion
from .rotations import matrix_to_6d

COVERAGE_WINDOW = 30
LOCAL_WINDOW = 15
MIN_SEGMENT = 30
SCALE_GAP = 15  # frames apart for the motion scale (0.5 s at 30 fps)
COVERAGE_THRESHOLDS = (0.25, 0.5, 1.0)
SLIDING_BANDS = (0.03, 0.05, 0.08, 0.12)  # contact bands (of the body size) sliding is measured in


def rotation_features(motion: Motion) -> np.ndarray:
    """(F, 6R) 6D local rotations of the joints with rotation channels."""
    joints = motion.skeleton.rotating_joints
    return matrix_to_6d(motion.rotations[:, joints]).reshape(motion.n_frames, -1)


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
    window = min(window, d.shape[0], d.shape[1])
    best = window_sums(d, window).min(axis=1) / window
    return {t: float((best < t * scale).mean()) for t in COVERAGE_THRESHOLDS}


def local_diversity(d: np.ndarray, scale: float, window: int = LOCAL_WINDOW) -> float:
    """Mean over the sample's windows (columns of ``d``) of the best input match's cost."""
    window = min(window, d.shape[0], d.shape[1])
    return float((window_sums(d, window).min(axis=0) / window).mean() / scale)


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


def _fastest_joint_speed(motion: Motion) -> np.ndarray:
    """(F - 1,) the distance the fastest joint moves between consecutive frames."""
    return np.linalg.norm(np.diff(motion.world_positions(), axis=0), axis=-1).max(axis=1)


def reassembled(features: np.ndarray, frames: int, rng: np.random.Generator, min_piece: int = MIN_SEGMENT) -> np.ndarray:
    """The input cut into random pieces of at least ``min_piece`` frames and re-joined to
    ``frames`` frames: the floor a copying generator would score on global diversity."""
    pieces, total = [], 0
    while total < frames:
        size = int(rng.integers(min_piece, max(min_piece + 1, len(features) // 2)))
        size = min(size, len(features))
        start = int(rng.integers(0, len(features) - size + 1))
        pieces.append(features[start : start + size])
        total += size
    return np.concatenate(pieces)[:frames]


def foot_sliding(motion: Motion, contacts: list[int], planted: np.ndarray, size: float, band: float = HEIGHT_MARGIN) -> float:
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
    global_diversity_reassembled: float
    local_diversity: float
    inter_sample_diversity: float
    sliding: float
    sliding_input: float
    jerk: float
    jerk_input: float
    samples: int
    frames: int

    @property
    def sliding_ratio(self) -> float:
        return self.sliding / max(self.sliding_input, 1e-3)

    @property
    def jerk_ratio(self) -> float:
        return self.jerk / max(self.jerk_input, 1e-9)

    @property
    def diversity_ratio(self) -> float:
        return self.global_diversity / max(self.global_diversity_reassembled, 1e-9)

    def to_dict(self) -> dict[str, float]:
        out = asdict(self)
        out.update(sliding_ratio=self.sliding_ratio, jerk_ratio=self.jerk_ratio, diversity_ratio=self.diversity_ratio)
        return out


def evaluate(reference: Motion, samples: list[Motion], contacts: list[int], seed: int = 0) -> Report:
    """All metrics for ``samples`` against the ``reference`` clip, averaged over samples."""
    ref = rotation_features(reference)
    scale = motion_scale(ref)
    feats = [rotation_features(s) for s in samples]
    per = {"cov": [], "gd": [], "ld": [], "rgd": []}
    rng = np.random.default_rng(seed)
    for f in feats:
        d = distances(ref, f)
        cov = coverage(d, scale)
        per["cov"].append([cov[t] for t in COVERAGE_THRESHOLDS])
        per["gd"].append(global_diversity(d, scale))
        per["ld"].append(local_diversity(d, scale))
        per["rgd"].append(global_diversity(distances(ref, reassembled(ref, len(f), rng)), scale))
    size = reference.skeleton.size
    planted = planted_heights(reference, contacts)
    cov = np.mean(per["cov"], axis=0)
    return Report(
        coverage_strict=float(cov[0]),
        coverage=float(cov[1]),
        coverage_loose=float(cov[2]),
        global_diversity=float(np.mean(per["gd"])),
        global_diversity_reassembled=float(np.mean(per["rgd"])),
        local_diversity=float(np.mean(per["ld"])),
        inter_sample_diversity=inter_sample_diversity(feats, scale),
        sliding=float(np.mean([foot_sliding(s, contacts, planted, size) for s in samples])),
        sliding_input=foot_sliding(reference, contacts, planted, size),
        jerk=float(np.mean([jerk(s) for s in samples])),
        jerk_input=jerk(reference),
        samples=len(samples),
        frames=int(np.mean([s.n_frames for s in samples])),
    )
