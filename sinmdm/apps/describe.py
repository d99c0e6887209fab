"""What `sinmdm info` says about a clip (its skeleton, channels, rate, up axis, body size,
rig preset and contact points, as (label, text) rows, and its joint tree) or about a
trained run (the clips it learned and its model)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np

from ..anim.body import detect_up
from ..anim.channels import POSITION_CHANNELS
from ..anim.clipset import read_clip
from ..anim.contacts import choose_contacts, contact_labels, planted_heights
from ..anim.keypoints import KeypointOptions
from ..anim.presets import resolve_preset
from ..anim.skeleton import Skeleton
from ..base.errors import SinmdmError
from ..model.features import FeatureLayout

if TYPE_CHECKING:
    from ..model.runs import Run


def describe_clip(
    clip: Path, contacts: Optional[list[str]], preset: Optional[str], fps: Optional[float], up: Optional[str],
    keypoints: Optional[KeypointOptions] = None,
) -> tuple[list[tuple[str, str]], Skeleton]:
    """The rows `sinmdm info` prints, and the skeleton (for :func:`tree_text`); a
    keypoint clip's with ``keypoints`` saying what its file does not."""
    motion = read_clip(clip, up, replace(keypoints or KeypointOptions(), fps=fps))[0]
    skeleton = motion.skeleton
    rig = resolve_preset(skeleton, preset)
    model_motion = motion.at_training_rate(fps)
    try:
        points, source = choose_contacts(model_motion, contacts, rig)
    except SinmdmError as exc:
        raise SinmdmError(f"{clip}: {exc}") from None
    layout = FeatureLayout.from_motion(model_motion, points)
    shares = contact_labels(model_motion, points).mean(axis=0)
    rests = planted_heights(model_motion, points)
    names = [skeleton.point_names[p] for p in points]
    column = max((len(n) for n in names), default=0)
    contact_rows = [
        ("", f"  {name:<{column}}  planted in {share:.0%} of frames, rests at height {rest:.4g}")
        for name, share, rest in zip(names, shares, rests)
    ]
    depth = int(skeleton.depths.max()) + 1
    rows = [
        ("file", str(clip)),
        ("joints", f"{skeleton.n_joints} (+{len(skeleton.end_site_parents)} End Sites), tree depth {depth}"),
        ("channels", _channel_summary(skeleton)),
        *_keypoint_rows(skeleton),
        ("rotation order", _order_summary(skeleton)),
        ("frames", f"{motion.n_frames} at {motion.fps:g} fps (frame time {motion.frame_time:g} s)"),
        ("duration", f"{motion.duration:.2f} s"),
        ("up axis", f"{skeleton.up.upper()} ({'given' if up else detect_up(motion)[1]})"),
        ("body size", f"{skeleton.size:.4g} (how tall the body stands in the motion; rest pose {skeleton.rest_height:.4g})"),
        ("rig preset", f"{rig.name} ({rig.description})" if rig else "none matched"),
        ("contacts", f"{len(points) or 'none'}  [{source}]"),
        *contact_rows,
        ("model input", f"{model_motion.length_text}, {layout.n_channels} feature channels"),
    ]
    return rows, skeleton


def describe_run(run: Run) -> list[tuple[str, str]]:
    """The rows `sinmdm info RUN` prints: the clips it learned (by name), the model and
    its training."""
    clips = run.clip_set()
    fps = run.layout.fps
    width = max(len(n) for n in clips.names)
    rows = [
        ("run", str(run.path)),
        ("clips", f"{len(clips.names)} at {fps:g} fps (names for --clips, --sequence and --ref)"),
        *[("", f"  {name:<{width}}  {m.n_frames} frames ({m.duration:.1f} s)") for name, m in zip(clips.names, clips.motions)],
        ("skeleton", f"{run.layout.skeleton.n_joints} joints, body size {run.layout.skeleton.size:.4g}"),
        ("contacts", ", ".join(run.layout.skeleton.point_names[p] for p in run.layout.contact_points) or "none"),
        ("model", f"{run.config.blocks} blocks, window {run.config.window}, receptive field "
                  f"{run.config.receptive_field} frames ({run.config.receptive_field / fps:.2f} s), "
                  f"{run.layout.n_channels} feature channels"),
        ("trained", f"{run.step} steps"),
    ]
    return rows


def _keypoint_rows(skeleton: Skeleton) -> list[tuple[str, str]]:
    spec = skeleton.keypoints
    if spec is None:
        return []
    axes = ("2D, y down (image coordinates)" if spec.y_down else "2D, y up") if spec.dims == 2 else "3D"
    return [("keypoints", f"positions only, {axes}; {len(spec.edges)} bones; root {skeleton.names[0]}")]


def _channel_summary(skeleton: Skeleton) -> str:
    counts: dict[int, int] = {}
    for chans in skeleton.channels:
        counts[len(chans)] = counts.get(len(chans), 0) + 1
    parts = ", ".join(f"{_joints(n)} with {c}" for c, n in sorted(counts.items()))
    return f"{skeleton.n_channels} per frame; {parts}; root has {len(skeleton.channels[0])}"


def _order_summary(skeleton: Skeleton) -> str:
    orders: dict[str, int] = {}
    for j in range(skeleton.n_joints):
        order = skeleton.rotation_order(j) or "none"
        orders[order] = orders.get(order, 0) + 1
    return ", ".join(f"{o} ({_joints(n)})" for o, n in sorted(orders.items(), key=lambda kv: -kv[1]))


def _joints(count: int) -> str:
    return f"{count} joint" if count == 1 else f"{count} joints"


def tree_text(skeleton: Skeleton) -> str:
    """The joint tree, indented by depth, with each joint's channels and End Sites."""
    ends = np.bincount(skeleton.end_site_parents, minlength=skeleton.n_joints)
    lines = []
    for j, name in enumerate(skeleton.names):
        chans = skeleton.channels[j]
        pos = "".join(c[0] for c in chans if c in POSITION_CHANNELS)
        rot = skeleton.rotation_order(j)
        desc = ", ".join(filter(None, [f"pos {pos}" if pos else "", f"rot {rot}" if rot else ""])) or "no channels"
        end = " + End Site" if ends[j] == 1 else (f" + {ends[j]} End Sites" if ends[j] else "")
        lines.append(f"{'  ' * int(skeleton.depths[j])}{name}  [{desc}]{end}")
    return "\n".join(lines)
