"""Commands on BVH files: info, convert, render."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer

from ..anim.bvh import read_bvh
from ..anim.motion import Motion
from ..base.errors import SinmdmError
from .common import print_rows, refuse_existing, render_videos, write_motion
from .options import (
    OUTPUT,
    CameraMode,
    Contacts,
    Edges,
    Force,
    KeypointRoot,
    MeshKind,
    Preset,
    RenderLayout,
    TrainFps,
    UpAxis,
    YDown,
    split_names,
    value,
)


def info(
    clip: Annotated[Path, typer.Argument(
        help="A BVH file, a keypoint clip (.npy, .npz), or a run folder (or its model.pt): then the clips it learned "
        "and its model.",
        show_default=False,
    )],
    contacts: Contacts = None,
    preset: Preset = None,
    fps: TrainFps = None,
    tree: Annotated[bool, typer.Option("--tree/--no-tree", help="Print the joint tree with each joint's channels.")] = True,
    up: UpAxis = None,
    edges: Edges = None,
    root: KeypointRoot = None,
    y_down: YDown = False,
) -> None:
    """Describe a BVH clip: joints, channels, rate, length, up axis, body size, rig preset
    and contact points (each with the share of frames it is planted and the height it
    rests at). On a run: the names of the clips it learned, and its model."""
    from ..apps.describe import describe_clip, describe_run, tree_text

    if clip.is_dir() or clip.suffix == ".pt":
        from .common import load_run

        print_rows(describe_run(load_run(clip, "cpu")))
        return
    from ..anim.keypoints import KeypointOptions

    keypoints = KeypointOptions(edges=edges, root=root, y_down=y_down)
    rows, skeleton = describe_clip(clip, split_names(contacts), preset, fps, value(up), keypoints)
    print_rows(rows)
    if tree:
        typer.echo("\njoint tree (channels):")
        typer.echo(tree_text(skeleton))


def _captions(path: Path, motion: Motion) -> Optional[list[str]]:
    """Per-frame captions for a `generate --sequence` output: which clip each span plays,
    from the generate_sequence.json beside it (None for any other file)."""
    record_path = path.with_name("generate_sequence.json")
    if not (path.name.startswith("generate_") and record_path.is_file()):
        return None
    from ..sampling.plan import span_captions

    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        captions = span_captions(record["spans"], int(record["transition"]))
        rate = float(record["fps"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # not ours, or damaged: draw the file without captions
    if round(len(captions) / rate * motion.fps) != motion.n_frames:
        return None  # another length: the record is not this file's
    where = np.minimum((np.arange(motion.n_frames) * rate / motion.fps).round().astype(int), len(captions) - 1)
    return [captions[i] for i in where]


def convert(
    source: Annotated[Path, typer.Argument(help="The BVH file to read.", show_default=False)],
    target: Annotated[Path, typer.Argument(
        help="Where to write: a canonical .bvh, or glTF 2.0 (.glb binary, .gltf JSON with the data embedded).",
        show_default=False,
    )],
    fps: Annotated[Optional[float], typer.Option(
        "--fps", min=0.001, help="Frame rate to resample to (frames per second). Default: the file's own."
    )] = None,
    scale: Annotated[float, typer.Option(
        "--scale", min=1e-9, rich_help_panel=OUTPUT,
        help="glTF: multiply lengths by this (glTF means metres: 0.01 for a clip in centimetres). Default: the "
        "clip's units. The axes are always turned to glTF's Y-up.",
    )] = 1.0,
    mesh: Annotated[MeshKind, typer.Option(
        "--mesh", rich_help_panel=OUTPUT,
        help="glTF: bones, a simple skinned shape per bone so that any viewer shows the creature; none, the "
        "skeleton only.",
    )] = MeshKind.bones,
    render: Annotated[bool, typer.Option(
        "--render", rich_help_panel=OUTPUT, help="Also write a video of the result beside it (TARGET with .mp4)."
    )] = False,
    force: Force = False,
    up: UpAxis = None,
) -> None:
    """Read any BVH and write a canonical one, or glTF, optionally resampled to --fps.

    A BVH output keeps joint order, names, offsets, End Sites, channel lists and rotation
    orders, writes one keyword per line (as Blender's importer expects), unwraps Euler
    angles over time and writes the true frame time. A glTF output has the skeleton as
    nodes with the BVH's names and offsets (End Sites as leaf nodes), a skin, and one
    animation sampled at the clip's frame times.
    """
    if target.suffix.lower() not in (".bvh", ".glb", ".gltf"):
        raise SinmdmError(f"{target}: write .bvh, .glb or .gltf")
    refuse_existing([target, target.with_suffix(".mp4")] if render else [target], force)
    motion = read_bvh(source, up=value(up))
    if fps is not None:
        motion = motion.resample(fps)
    write_motion(target, motion, scale=scale, mesh=mesh == MeshKind.bones)
    typer.echo(f"wrote {target} ({motion.length_text})")
    if render:
        from ..render.figures import Scene, actor

        render_videos([(target.with_suffix(".mp4"), [Scene([actor(motion)], target.name)])], motion.fps)


Files = Annotated[list[Path], typer.Argument(
    help="BVH files to draw, or keypoint .npz files (as the samplers write them: with their rate and bones).",
    show_default=False,
)]
RenderOut = Annotated[Optional[Path], typer.Option(
    "--out", rich_help_panel=OUTPUT,
    help="Output file: .mp4, .gif (Pillow, no ffmpeg needed), or .png with --still. "
    "Default: the first file's name with .mp4 (.png with --still), beside it.",
)]
Layout = Annotated[RenderLayout, typer.Option(
    "--layout", help="grid: one panel per file, side by side; scene: all files in one scene at their own positions."
)]
CameraOption = Annotated[Optional[CameraMode], typer.Option(
    "--camera",
    help="follow: track the figures smoothly; fixed: one view that sees the whole clip. "
    "Default: follow for grid, fixed for scene.",
)]
Still = Annotated[bool, typer.Option("--still", help="Write a PNG contact sheet of evenly spaced poses instead of a video.")]
Poses = Annotated[int, typer.Option("--poses", min=1, max=64, help="Poses per file on a --still sheet.")]
Size = Annotated[Optional[str], typer.Option(
    "--size",
    help="Image size WIDTHxHEIGHT in pixels (videos round to multiples of 16). "
    "Default: 640x480 for one panel, 400x400 per panel.",
)]
VideoFps = Annotated[Optional[float], typer.Option(
    "--fps", min=0.001, help="Frame rate of the video. Default: the first file's own; other files are resampled to it."
)]
Azimuth = Annotated[Optional[float], typer.Option(
    "--azimuth", help="Camera direction in degrees about the vertical. Default: three-quarters side-on to the travel."
)]
Elevation = Annotated[float, typer.Option("--elevation", min=-80.0, max=80.0, help="Camera height in degrees above the floor.")]


def _drawable(path: Path, up: Optional[str]) -> Motion:
    """A BVH, or a keypoint .npz (a .npy has no rate or bones to draw with)."""
    from ..anim.keypoints import is_keypoint_file, read_keypoints

    if path.suffix.lower() == ".npy":
        raise SinmdmError(f"{path}: a .npy holds positions only; render draws an .npz (rate and bones inside) or a BVH")
    return read_keypoints(path) if is_keypoint_file(path) else read_bvh(path, up=up)


def render(
    files: Files,
    out: RenderOut = None,
    layout: Layout = RenderLayout.grid,
    camera: CameraOption = None,
    still: Still = False,
    poses: Poses = 8,
    size: Size = None,
    fps: VideoFps = None,
    azimuth: Azimuth = None,
    elevation: Elevation = 20.0,
    force: Force = False,
    up: UpAxis = None,
) -> None:
    """Draw BVH files of any skeleton as a stick-figure video or a PNG contact sheet.

    Draws a ground grid, shadows and marks where feet rest on the floor. Several files
    go side by side (--layout grid) or into one scene (--layout scene, e.g. a crowd's
    crowd_*.bvh). A `generate --sequence` output (beside its generate_sequence.json) is
    captioned with the clip each frame's span plays. The file is written to a temporary
    name and renamed when complete.
    """
    from ..render.figures import Scene, actor
    from ..render.render import render_still

    motions = [_drawable(f, value(up)) for f in files]  # every input is read before anything is written
    rate = fps or motions[0].fps
    motions = [m.resample(rate) for m in motions]
    target = out or files[0].with_suffix(".png" if still else ".mp4")
    refuse_existing([target], force)
    scene = layout == RenderLayout.scene
    if scene:
        title = f"{len(files)} files" if len(files) > 1 else files[0].name
        scenes = [Scene([actor(m, shade=i) for i, m in enumerate(motions)], title)]
    else:
        scenes = [Scene([actor(m)], f.name, _captions(f, m)) for f, m in zip(files, motions)]
    view = {"camera": value(camera) or ("fixed" if scene else "follow"), "size": size, "azimuth": azimuth,
            "elevation": elevation}
    if still:
        render_still(scenes, target, rate, poses=poses, **view)  # type: ignore[arg-type]
        typer.echo(str(target))
    else:
        render_videos([(target, scenes)], rate, **view)
