"""Options shared by the commands, as ``typing.Annotated`` aliases, so every command
spells, explains and groups them alike; choices are Enums, checked by typer."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..anim.motion import DEFAULT_MAX_FPS

# Help panels: where an option sits in --help.
INPUT, SAMPLING, OUTPUT, MODEL = "Input", "Sampling", "Output", "Model"


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    mps = "mps"


class Up(str, Enum):
    y = "y"
    z = "z"


class Backend(str, Enum):
    torch = "torch"
    onnx = "onnx"


class CrowdLayout(str, Enum):
    random = "random"
    grid = "grid"


class RenderLayout(str, Enum):
    grid = "grid"
    scene = "scene"


class Format(str, Enum):
    bvh = "bvh"
    glb = "glb"
    gltf = "gltf"
    npy = "npy"
    npz = "npz"


class MeshKind(str, Enum):
    bones = "bones"
    none = "none"


class CameraMode(str, Enum):
    follow = "follow"
    fixed = "fixed"


LENGTH_HELP = "frames (600), seconds (10s) or a multiple of the reference (2x)"

Clip = Annotated[Path, typer.Argument(help="A BVH file.", show_default=False)]
Contacts = Annotated[Optional[str], typer.Option(
    "--contacts", rich_help_panel=INPUT,
    help="Comma-separated contact points, overriding the rig preset and automatic detection: joint names, "
    "or End Sites as '<joint> End Site' ('<joint> End Site 2' for a joint's second).",
)]
Preset = Annotated[Optional[str], typer.Option(
    "--preset", rich_help_panel=INPUT,
    help="Rig preset to use: a built-in name (e.g. mixamo) or a .toml file. Default: matched by joint names.",
)]
UpAxis = Annotated[Optional[Up], typer.Option(
    "--up", rich_help_panel=INPUT,
    help="The file's up axis. Default: detected from the motion (Y unless it is clearly Z; `sinmdm info` "
    "says why). Output is written in the file's own axes either way.",
)]
TrainFps = Annotated[Optional[float], typer.Option(
    "--fps", min=0.001, rich_help_panel=INPUT,
    help=f"Frame rate the model sees. Default: the clip's, capped at {DEFAULT_MAX_FPS:g}. A keypoint file without "
    "a rate of its own (.npy) is at this rate.",
)]
Edges = Annotated[Optional[str], typer.Option(
    "--edges", rich_help_panel=INPUT,
    help="Keypoint clips: the bones, as joint index pairs (0-1,1-2,1-3) or a JSON list of index pairs; a tree "
    "or several. Default: the .npz's own 'edges'.",
)]
KeypointRoot = Annotated[Optional[str], typer.Option(
    "--root", rich_help_panel=INPUT,
    help="Keypoint clips: the root joint (name or index), whose path is the creature's. Default: the most central "
    "joint along the bones.",
)]
YDown = Annotated[bool, typer.Option(
    "--y-down", rich_help_panel=INPUT,
    help="2D keypoint clips in image coordinates (y grows downwards); by default y is up.",
)]
ModelDir = Annotated[Optional[Path], typer.Option(
    "--model", rich_help_panel=INPUT, help="Run folder (or its model.pt). Default: the latest run."
)]
Ref = Annotated[Optional[Path], typer.Option(
    "--ref", rich_help_panel=INPUT,
    help="Reference: a BVH clip on the model's skeleton, or a training clip's name. Default: the (first) training clip."
)]
Clips = Annotated[Optional[str], typer.Option(
    "--clips", rich_help_panel=SAMPLING,
    help="A model of several clips: draw only on these (names, comma-separated; `sinmdm info RUN` lists them). "
    "Default: all of them.",
)]
N = Annotated[int, typer.Option("--n", min=1, rich_help_panel=SAMPLING, help="How many motions to write.")]
CrowdN = Annotated[Optional[int], typer.Option(
    "--n", min=1, rich_help_panel=SAMPLING, help="How many individuals. Default: 20, or one per path of --paths."
)]
CrowdPaths = Annotated[Optional[Path], typer.Option(
    "--paths", rich_help_panel=SAMPLING,
    help="A JSON list of paths (each a list of {\"t\",\"x\",\"z\"} points, as `sinmdm follow` reads them): one "
    "individual follows each, placed by its path (instead of --n, --length, --layout, --spacing and --time-offset).",
)]
CrowdRender = Annotated[bool, typer.Option(
    "--render", rich_help_panel=OUTPUT,
    help="Also write DIR/crowd.mp4: the whole crowd in one scene, at its placements (with --paths, on them).",
)]
Seed = Annotated[int, typer.Option(
    "--seed", rich_help_panel=SAMPLING, help="Random seed: the same seed gives the same motions."
)]
Steps = Annotated[int, typer.Option(
    "--steps", min=1, rich_help_panel=SAMPLING, help="Sampling steps (fewer is faster and rougher)."
)]
Plan = Annotated[bool, typer.Option(
    "--plan/--free", rich_help_panel=SAMPLING,
    help="--plan: each motion plays every part of the training clip, in a new order (the slow motion of the "
    "noisiest sampling steps follows the clip cut into pieces and shuffled; the motion is generated). "
    "--free: the model alone picks which parts to play (may skip some).",
)]
DeviceOption = Annotated[Device, typer.Option(
    "--device", rich_help_panel=SAMPLING, help="auto: CUDA, then MPS, then the CPU."
)]
Cleanup = Annotated[bool, typer.Option(
    "--cleanup/--no-cleanup", rich_help_panel=OUTPUT,
    help="Smooth jitter and pin feet that touch the floor (inverse kinematics); given parts are never changed.",
)]
Out = Annotated[Optional[Path], typer.Option("--out", rich_help_panel=OUTPUT, help="Output folder. Default: <run>/samples.")]
Render = Annotated[bool, typer.Option(
    "--render", rich_help_panel=OUTPUT,
    help="Also write a video next to each BVH (DIR/<command>_<i>.mp4): given parts blue, generated orange.",
)]
OutputFormat = Annotated[Optional[Format], typer.Option(
    "--format", rich_help_panel=OUTPUT, show_default=False,
    help="bvh; or glTF 2.0 for game engines and web viewers: glb (binary) or gltf (JSON, data embedded), each with a "
    "skinned bone mesh and the clip's units (`sinmdm convert` has --scale and --mesh). A keypoint model writes "
    "positions: npy or npz, in its clip's layout, axes and units. Default: bvh; a keypoint model, its clip's kind.",
)]
Force = Annotated[bool, typer.Option(
    "--force", rich_help_panel=OUTPUT, help="Overwrite output files that already exist (default: refuse)."
)]


def split_names(text: Optional[str]) -> Optional[list[str]]:
    """'a, b,c' -> ['a', 'b', 'c']; empty or None -> None."""
    return [n.strip() for n in text.split(",") if n.strip()] if text else None


def value(choice: Optional[Enum]) -> Optional[str]:
    """An Enum choice as the plain string the layers below take."""
    return None if choice is None else str(choice.value)
