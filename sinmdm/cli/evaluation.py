"""The eval command: sample a model and print how its samples measure against its clip."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer

from ..sampling.defaults import DEFAULT_STEPS
from .common import load_run, print_rows, sampling_progress
from .options import OUTPUT, SAMPLING, Device, DeviceOption, ModelDir, Plan, Seed, Steps

if TYPE_CHECKING:
    from ..apps.evaluate import Evaluation


def evaluate_command(
    model: ModelDir = None,
    n: Annotated[int, typer.Option("--n", min=1, rich_help_panel=SAMPLING, help="Samples to draw.")] = 20,
    length: Annotated[str, typer.Option(
        "--length", rich_help_panel=SAMPLING, help="Sample length: frames, seconds (10s) or a multiple of the clip (2x)."
    )] = "2x",
    seed: Seed = 0,
    steps: Steps = DEFAULT_STEPS,
    plan: Plan = True,
    as_json: Annotated[bool, typer.Option(
        "--json", rich_help_panel=OUTPUT, help="Print the metrics as JSON instead of a table."
    )] = False,
    cleanup: Annotated[bool, typer.Option(
        "--cleanup/--no-cleanup", rich_help_panel=OUTPUT,
        help="Measure the cleaned samples, as the generating commands write them (sliding and jerk are "
        "also reported without cleanup); --no-cleanup measures the raw samples only.",
    )] = True,
    device: DeviceOption = Device.auto,
) -> None:
    """Sample from a model and measure its samples against the training clip (or clips:
    then also each clip's coverage).

    Reports how faithful (coverage) and how new (diversity, and how long the samples
    replay the clip frame by frame, beside how long the clip replays itself) the samples
    are, and how plausible (foot sliding in four height bands, jerk) as ratios to the
    clip's own values, with and without cleanup. All at 30 fps, whatever the clip's rate.
    """
    from ..apps.evaluate import evaluate_model
    from ..model.runs import parse_length

    run = load_run(model, device)
    frames = parse_length(length, run.train_frames, run.layout.fps)
    with sampling_progress("eval", n, steps, run) as on_step:
        result = evaluate_model(run, n, frames, seed=seed, steps=steps, plan=plan, cleanup=cleanup, on_step=on_step)
    if as_json:
        typer.echo(json.dumps({**_as_json(result, cleanup, plan), "clips": list(run.clip_names)}, indent=2))
    else:
        print_rows(_rows(result, cleanup, plan) + _clip_rows(result, run.clip_names))


def _as_json(result: Evaluation, cleanup: bool, plan: bool) -> dict:
    extra: dict = {"sampling_seconds": result.seconds, "cleanup": cleanup, "plan": plan}
    if cleanup:
        raw = result.raw
        extra.update(sliding_ratios_without_cleanup=raw.sliding_ratios, sliding_ratio_without_cleanup=raw.sliding_ratio,
                     jerk_ratio_without_cleanup=raw.jerk_ratio)
    if result.bones is not None:
        extra.update(bone_lengths=result.bones.to_dict())
    return {**result.report.to_dict(), **extra}


def _clip_rows(result: Evaluation, names: tuple[str, ...]) -> list[tuple[str, str]]:
    """A run of several clips: each clip's coverage by the samples together and by each."""
    if len(names) < 2:
        return []
    report = result.report
    each = np.mean(report.clip_coverage, axis=0)
    width = max(len(n) for n in names)
    return [("per clip", "coverage by the samples together, and by each sample on average")] + [
        ("", f"  {name:<{width}}  {together:.3f}   {mean:.3f}")
        for name, together, mean in zip(names, report.clip_coverage_together, each)
    ]


def _rows(result: Evaluation, cleanup: bool, plan: bool) -> list[tuple[str, str]]:
    from ..evaluation.metrics import LONG_REPLAY_SECONDS, SLIDING_BANDS

    report, raw = result.report, result.raw
    bands = " ".join(f"{100 * b:g}%:{r:.2f}" for b, r in zip(SLIDING_BANDS, report.sliding_ratios))
    rows = [
        ("samples", f"{report.samples} x {report.frames} frames, {'--plan' if plan else '--free'} "
         f"({result.seconds:.1f} s to sample)"),
        ("coverage", f"{report.coverage:.3f}   (strict {report.coverage_strict:.3f}, loose {report.coverage_loose:.3f})"),
        ("global diversity", f"{report.global_diversity:.3f}"),
        ("local diversity", f"{report.local_diversity:.3f}"),
        ("inter-sample diversity", f"{report.inter_sample_diversity:.3f}"),
        ("replay length", f"{report.replay_seconds:.2f} s, {100 * report.replay_long_share:.0f}% of frames in replays over "
         f"{LONG_REPLAY_SECONDS:g} s   (the clip replays itself: {report.self_replay_seconds:.2f} s, "
         f"{100 * report.self_replay_long_share:.0f}%)"),
        ("foot sliding ratio", f"{report.sliding_ratio:.2f} in the worst band   (by height band above rest, of the body size: {bands})"),
        ("jerk ratio", f"{report.jerk_ratio:.2f}   ({report.jerk:.1f} vs input {report.jerk_input:.1f} body sizes/s^3)"),
    ]
    if result.bones is not None:
        b = result.bones
        rows.append(("bone lengths", f"median off the clip's by {100 * b.median_error:.2f}% (worst frame "
                     f"{100 * b.worst_error:.2f}%), spread {b.spread_ratio:.2f} of the clip's"))
    if cleanup:
        rows.insert(0, ("cleanup", "on (sliding and jerk without it below)"))
        rows.append(("  without cleanup", f"sliding ratio {raw.sliding_ratio:.2f}, jerk ratio {raw.jerk_ratio:.2f}, "
                     f"coverage {raw.coverage:.3f}"))
    return rows
