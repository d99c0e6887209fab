"""Commands that sample a trained model: generate, expand, inbetween, compose, transfer,
crowd (follow and crowd --paths: :mod:`.following`). Each parses, calls one function of
:mod:`sinmdm.apps`, and writes what it returns."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from ..anim.motion import Motion
from ..base.atomic import write_json
from ..base.errors import SinmdmError
from ..sampling.defaults import CROWD_STEPS, DEFAULT_STEPS, DEFAULT_TRANSITION_SECONDS, SPACING_SIZES
from .common import (
    free_folder,
    load_run,
    output_suffix,
    sampling_plan,
    sampling_progress,
    write_all,
)
from .crowds import free_crowd_folder, write_crowd
from .following import crowd_on_paths
from .options import (
    LENGTH_HELP,
    SAMPLING,
    Backend,
    Cleanup,
    Clips,
    CrowdLayout,
    CrowdN,
    CrowdPaths,
    CrowdRender,
    Device,
    DeviceOption,
    Force,
    ModelDir,
    N,
    Out,
    OutputFormat,
    Plan,
    Preset,
    Ref,
    Render,
    Seed,
    Steps,
)

if TYPE_CHECKING:
    from ..apps.edit import Edit
    from ..model.runs import Run

BackendOption = Annotated[Backend, typer.Option(
    "--backend", rich_help_panel=SAMPLING,
    help="torch, or onnx: the network exported by `sinmdm export` (<run>/model.onnx), run by onnxruntime on the "
    "CPU with the sampling loop in numpy; the same seed gives the same motions.",
)]


def generate(
    model: ModelDir = None,
    length: Annotated[Optional[str], typer.Option(
        "--length", rich_help_panel=SAMPLING,
        help="Length of each motion: frames (600), seconds (10s) or a multiple (2x) of the training clip "
        "(of all the clips together, for several). Default: 1x.",
    )] = None,
    n: N = 1,
    seed: Seed = 0,
    steps: Steps = DEFAULT_STEPS,
    loop: Annotated[bool, typer.Option(
        "--loop", rich_help_panel=SAMPLING, help="Make each motion loop seamlessly (its last frame flows into its first)."
    )] = False,
    plan: Plan = True,
    clips: Clips = None,
    sequence: Annotated[Optional[str], typer.Option(
        "--sequence", rich_help_panel=SAMPLING,
        help="Play the clips in this order, as CLIP:LENGTH spans (walk:5s,roar:2s,walk:5s; lengths in frames, "
        "seconds or multiples of that clip); the motion lasts as long as the spans together.",
    )] = None,
    transition: Annotated[str, typer.Option(
        "--transition", rich_help_panel=SAMPLING,
        help="With --sequence: how long the model moves on its own from one clip into the next (frames or seconds).",
    )] = f"{DEFAULT_TRANSITION_SECONDS:g}s",
    out: Out = None,
    cleanup: Cleanup = True,
    render: Render = False,
    force: Force = False,
    device: DeviceOption = Device.auto,
    format: OutputFormat = None,
    backend: BackendOption = Backend.torch,
) -> None:
    """Generate new motions of any length from a trained model.

    Writes DIR/generate_<i>.bvh on the training skeleton. A model of several clips draws
    on all of them (or those of --clips) and moves between them, or plays them in the
    order of --sequence (then DIR/generate_sequence.json records the spans, and --render
    captions each frame with its clip).
    """
    from ..apps.generate import generate as generate_motions
    from ..model.runs import parse_length
    from ..sampling.plan import sequence_captions, sequence_spans

    run = load_run(model, Device.cpu if backend == Backend.onnx else device)
    request, suffix = sampling_plan(run, clips, sequence, transition, plan), output_suffix(run, format)
    if request.sequence and length is not None:
        raise SinmdmError("--sequence sets the length (its spans together): give --length or --sequence, not both")
    frames = request.frames or parse_length(length or "1x", run.train_frames, run.layout.fps)
    record = ("generate_sequence.json",) if request.sequence else ()
    folder = free_folder(out or run.path / "samples", "generate", n, render, force, record, suffix)
    with sampling_progress("generate", n, steps, run) as on_step:
        motions = generate_motions(run, n, frames, steps=steps, seed=seed, loop=loop, plan=request if plan else False,
                                   cleanup=cleanup, backend=backend.value, on_step=on_step)
    captions = sequence_captions(request, run.clip_names) if request.sequence else None
    write_all(folder, "generate", motions, render, captions=captions, suffix=suffix)
    if request.sequence:
        write_json(folder / record[0], {"spans": sequence_spans(request, run.clip_names), "transition": request.transition,
                                        "fps": run.layout.fps, "loop": loop})
        typer.echo(str(folder / record[0]))


def expand(
    length: Annotated[Optional[str], typer.Option(
        "--length", rich_help_panel=SAMPLING,
        help=f"Total length: {LENGTH_HELP}. Default: 2x, or the reference plus --prefix and --suffix.",
    )] = None,
    prefix: Annotated[Optional[str], typer.Option(
        "--prefix", rich_help_panel=SAMPLING,
        help="New frames before the reference (frames or seconds). Default: half the added length.",
    )] = None,
    suffix: Annotated[Optional[str], typer.Option(
        "--suffix", rich_help_panel=SAMPLING,
        help="New frames after the reference (frames or seconds). Default: the rest of the added length.",
    )] = None,
    model: ModelDir = None, ref: Ref = None, n: N = 1, seed: Seed = 0, steps: Steps = DEFAULT_STEPS, out: Out = None,
    cleanup: Cleanup = True, render: Render = False, force: Force = False, device: DeviceOption = Device.auto,
    format: OutputFormat = None,
) -> None:
    """Grow a clip: new motion before and after the reference, which stays unchanged.

    Writes DIR/expand_<i>.bvh. The given frames fade into the generated ones over 0.25 s
    at each seam; the root's path runs through the reference's own positions.
    """
    from ..apps.edit import expand_request, load_reference

    run = load_run(model, device)
    reference = load_reference(run, ref)
    edit = expand_request(run.layout, reference, length, prefix, suffix)
    _write_edit(run, reference, edit, "expand", n, steps, seed, out, cleanup, render, force, output_suffix(run, format))


def inbetween(
    prefix: Annotated[str, typer.Option(
        "--prefix", rich_help_panel=SAMPLING, help="Keep the reference up to here: a fraction (0.25) or a frame index (40)."
    )] = "0.25",
    suffix: Annotated[str, typer.Option(
        "--suffix", rich_help_panel=SAMPLING, help="Keep the reference from here on: a fraction (0.75) or a frame index (120)."
    )] = "0.75",
    length: Annotated[Optional[str], typer.Option(
        "--length", rich_help_panel=SAMPLING, help=f"Length of the generated middle: {LENGTH_HELP}. Default: as in the reference."
    )] = None,
    keyframes: Annotated[Optional[str], typer.Option(
        "--keyframes", rich_help_panel=SAMPLING,
        help="Instead of a prefix and suffix, keep single poses at these frames (e.g. 0,40,90; fractions work too) "
        "and generate everything between.",
    )] = None,
    model: ModelDir = None, ref: Ref = None, n: N = 1, seed: Seed = 0, steps: Steps = DEFAULT_STEPS, out: Out = None,
    cleanup: Cleanup = True, render: Render = False, force: Force = False, device: DeviceOption = Device.auto,
    format: OutputFormat = None,
) -> None:
    """Temporal in-betweening: keep the start and end of the reference, generate the middle.

    Writes DIR/inbetween_<i>.bvh. With --keyframes, single poses are kept instead and
    everything between them is generated (frames within 0.25 s of a key lean towards the
    reference's own). The root passes through the reference's positions at every kept
    frame.
    """
    from ..apps.edit import inbetween_request, load_reference

    run = load_run(model, device)
    reference = load_reference(run, ref)
    edit = inbetween_request(run.layout, reference, prefix, suffix, length, keyframes)
    _write_edit(run, reference, edit, "inbetween", n, steps, seed, out, cleanup, render, force, output_suffix(run, format))


def compose(
    keep: Annotated[str, typer.Option(
        "--keep", show_default=False, rich_help_panel=SAMPLING,
        help="Joints that follow the reference: a body part of the rig preset (upper_body, left_wing, ...), "
        "joint names, or subtree:JOINT; several separated by commas.",
    )],
    preset: Preset = None,
    model: ModelDir = None, ref: Ref = None, n: N = 1, seed: Seed = 0, steps: Steps = DEFAULT_STEPS, out: Out = None,
    cleanup: Cleanup = True, render: Render = False, force: Force = False, device: DeviceOption = Device.auto,
    format: OutputFormat = None,
) -> None:
    """Spatial composition: some joints follow the reference, the rest is generated.

    Writes DIR/compose_<i>.bvh. The --keep joints keep the reference's local motion at
    every frame; the root's path is kept when the root is among them.
    """
    from ..anim.presets import resolve_preset
    from ..apps.edit import compose_edit, load_reference, resolve_part

    run = load_run(model, device)
    reference = load_reference(run, ref)
    skeleton = run.layout.skeleton
    edit = compose_edit(run.layout, reference, resolve_part(skeleton, keep, resolve_preset(skeleton, preset)))
    _write_edit(run, reference, edit, "compose", n, steps, seed, out, cleanup, render, force, output_suffix(run, format))


def transfer(
    content: Annotated[Path, typer.Argument(help="The content clip, on the model's skeleton.", show_default=False)],
    strength: Annotated[float, typer.Option(
        "--strength", min=0.0, max=1.0, rich_help_panel=SAMPLING,
        help="How freely the style reshapes the content's motion: 0 follows the content's timing most "
        "closely, 1 keeps only its slowest motion. Sets the low-pass factor and how many steps are guided.",
    )] = 0.5,
    model: ModelDir = None, n: N = 1, seed: Seed = 0, steps: Steps = DEFAULT_STEPS, out: Out = None,
    cleanup: Cleanup = True, render: Render = False, force: Force = False, device: DeviceOption = Device.auto,
    format: OutputFormat = None,
) -> None:
    """Style transfer: the content clip in the style of the model's training clip.

    Writes DIR/transfer_<i>.bvh. The content's slow motion (its timing and steps) guides
    the sampler (ILVR harmonisation) and its root path is kept; the poses and motifs come
    from the model.
    """
    from ..apps.edit import load_reference
    from ..apps.transfer import transfer as transfer_motions

    run = load_run(model, device)
    motion = load_reference(run, content, what="content")
    folder = free_folder(out or run.path / "samples", "transfer", n, render, force, suffix=output_suffix(run, format))
    with sampling_progress("transfer", n, steps, run) as on_step:
        motions = transfer_motions(run, motion, n, strength=strength, steps=steps, seed=seed, clean=cleanup, on_step=on_step)
    write_all(folder, "transfer", motions, render, suffix=output_suffix(run, format))


def crowd(
    n: CrowdN = None,
    length: Annotated[str, typer.Option(
        "--length", rich_help_panel=SAMPLING, help=f"Length of each individual: {LENGTH_HELP} of the training clip."
    )] = "1x",
    layout: Annotated[CrowdLayout, typer.Option(
        "--layout", rich_help_panel=SAMPLING, help="grid, or random positions at least --spacing apart."
    )] = CrowdLayout.random,
    spacing: Annotated[Optional[float], typer.Option(
        "--spacing", min=0.0, rich_help_panel=SAMPLING,
        help=f"Distance between individuals, in BVH units. Default: {SPACING_SIZES:g} body sizes.",
    )] = None,
    time_offset: Annotated[float, typer.Option(
        "--time-offset", min=0.0, rich_help_panel=SAMPLING,
        help="Start each individual up to this many seconds into its own motion, so they are not in sync.",
    )] = 0.0,
    model: ModelDir = None,
    seed: Seed = 0,
    steps: Annotated[int, typer.Option(
        "--steps", min=1, rich_help_panel=SAMPLING,
        help="Sampling steps; fewer than elsewhere by default, as a crowd is many samples.",
    )] = CROWD_STEPS,
    plan: Plan = True,
    clips: Annotated[Optional[str], typer.Option(
        "--clips", rich_help_panel=SAMPLING,
        help="A model of several clips: share the individuals among these clips (names, comma-separated), each "
        "playing one, in turn; crowd.json says which. Default: every individual draws on all of them.",
    )] = None,
    paths: CrowdPaths = None,
    out: Out = None,
    cleanup: Cleanup = True,
    render: CrowdRender = False,
    force: Force = False,
    device: DeviceOption = Device.auto,
    format: OutputFormat = None,
) -> None:
    """Generate a crowd of distinct individuals laid out on the ground.

    Writes DIR/crowd_<i>.bvh, each with its placement in its root channels (or one
    DIR/crowd.glb scene of them all), and DIR/crowd.json with every individual's
    position, heading and time offset.
    """
    from ..apps.crowd import make_crowd
    from ..model.runs import parse_length

    run = load_run(model, device)
    if paths is not None:  # placed by their paths: the placement options do not apply
        given = {"--n": n, "--spacing": spacing, "--time-offset": time_offset or None, "--clips": clips}
        return crowd_on_paths(run, paths, seed, steps, out, cleanup, render, force, [k for k, v in given.items() if v],
                              output_suffix(run, format))
    n = 20 if n is None else n
    request = replace(sampling_plan(run, clips, None, "0", plan), each=True)
    folder = free_crowd_folder(out or run.path / "samples", n, output_suffix(run, format), render, force)
    frames = parse_length(length, run.train_frames, run.layout.fps)
    with sampling_progress("crowd", n, steps, run) as on_step:
        result = make_crowd(run, n, frames, layout=layout.value, spacing=spacing, time_offset=time_offset, seed=seed,
                            steps=steps, plan=request if plan else False, cleanup=cleanup, on_step=on_step)
    write_crowd(folder, result.individuals, result.record, output_suffix(run, format), render)
    if n > 1:
        typer.echo(f"inter-sample diversity: {result.diversity:.3f} motion scales of the training clip")


def _write_edit(
    run: Run, reference: Motion, edit: Edit, command: str, n: int, steps: int, seed: int, out: Optional[Path],
    cleanup: bool, render: bool, force: bool, suffix: str,
) -> None:
    from ..apps.edit import joint_weights, sample_edit

    folder = free_folder(out or run.path / "samples", command, n, render, force, suffix=suffix)
    with sampling_progress(command, n, steps, run) as on_step:
        motions = sample_edit(run, reference, edit, n, steps=steps, seed=seed, clean=cleanup, on_step=on_step)
    write_all(folder, command, motions, render, joint_weights(run.layout, edit), suffix=suffix)
