"""Pictures of motion: stick figures of any skeleton as mp4, GIF or a PNG contact sheet.

We project the 3D points ourselves (a perspective camera, Y up) and draw them on plain 2D
matplotlib axes with the Agg backend, updating the artists in place every frame. That is
several times faster than mplot3d and FuncAnimation.save, and lets bones be depth-sorted
and thinned with distance. Frames stream to the encoder one at a time (mp4) so memory
does not grow with the clip.

Colour says where motion came from: given (reference) parts in blues, generated parts in
oranges, a blend where one fades into the other; a file of unknown origin is slate grey.

The pieces: :mod:`.figures` (what), :mod:`.camera` (from where), :mod:`.drawing` (how); this
module writes the videos and stills.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from ..base.atomic import atomic_path
from ..base.errors import SinmdmError
from .camera import Camera, make_camera
from .drawing import Canvas, even, grid_shape, parse_size
from .figures import BACKGROUND, GENERATED, GIVEN, PLAIN, Scene, floor_height

VIDEO_SUFFIXES = (".mp4", ".gif")


GIF_MAX_FPS = 50  # browsers slow GIF frames shorter than 20 ms down to 100 ms


def _require_actors(scenes: Sequence[Scene]) -> None:
    if not scenes or not any(s.actors for s in scenes):
        raise SinmdmError("nothing to render")


def _cameras(
    scenes: Sequence[Scene], camera: str, fps: float, aspect: float, azimuth: Optional[float], elevation: float
) -> list[Camera]:
    return [make_camera(s.actors, floor_height(s.actors), camera, fps, aspect, azimuth, elevation) for s in scenes]


def render_video(
    scenes: Sequence[Scene],
    path: Path,
    fps: float,
    *,
    camera: str = "follow",
    size: Optional[str] = None,
    azimuth: Optional[float] = None,
    elevation: float = 20.0,
    on_frame: Optional[Callable[[int], None]] = None,
) -> Path:
    """Render ``scenes`` side by side (one panel each) to ``path`` (.mp4 or .gif) at
    ``fps``; the video lasts as long as the longest actor, shorter ones hold their last
    pose. Written to a temporary name and renamed, so a failure leaves no file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise SinmdmError(f"{path}: a video must end in {' or '.join(VIDEO_SUFFIXES)} (or use --still for a .png)")
    _require_actors(scenes)
    frames = max(a.frames for s in scenes for a in s.actors)
    step = _frame_step(path, fps)
    rows, cols = grid_shape(len(scenes))
    panel = (640, 480) if len(scenes) == 1 else (400, 400)
    width, height = parse_size(size, (min(panel[0] * cols, 1920), min(panel[1] * rows, 1440)))
    width, height = even(width), even(height)
    cameras = _cameras(scenes, camera, fps, (width / cols) / (height / rows), azimuth, elevation)
    canvas = Canvas(list(zip(scenes, cameras)), rows, cols, width, height)
    shown = range(0, frames, step)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        writer = _writer(tmp, fps / step)
        try:
            for k, frame in enumerate(shown):
                for p in canvas.panels:
                    p.update(frame, frames)
                writer.append_data(canvas.pixels())
                if on_frame is not None:
                    on_frame(k)
        finally:
            writer.close()
    return path


def render_still(
    scenes: Sequence[Scene],
    path: Path,
    fps: float,
    *,
    poses: int = 8,
    camera: str = "follow",
    size: Optional[str] = None,
    azimuth: Optional[float] = None,
    elevation: float = 20.0,
) -> Path:
    """A PNG contact sheet: one row per scene, ``poses`` evenly spaced frames across."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise SinmdmError(f"{path}: a still must end in .png")
    if poses < 1:
        raise SinmdmError(f"--poses must be at least 1, got {poses}")
    _require_actors(scenes)
    rows, cols = len(scenes), poses
    width, height = parse_size(size, (min(220 * cols, 2400), min(260 * rows, 2600)))
    cameras = _cameras(scenes, camera, fps, (width / cols) / (height / rows), azimuth, elevation)
    cells = []
    for scene, cam in zip(scenes, cameras):
        frames = max(a.frames for a in scene.actors)
        for k, frame in enumerate(np.linspace(0, frames - 1, poses).round().astype(int)):
            title = f"{scene.title}  " if k == 0 and scene.title else ""
            cells.append((Scene(scene.actors, f"{title}frame {frame + 1}", paths=scene.paths), cam, int(frame)))
    canvas = Canvas([(scene, cam) for scene, cam, _ in cells], rows, cols, width, height)
    for (_, _, frame), panel in zip(cells, canvas.panels):
        panel.update(frame, 0)
        panel.counter.set_text("")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        canvas.figure.savefig(tmp, format="png", facecolor=BACKGROUND)
    return path


def _frame_step(path: Path, fps: float) -> int:
    """Every how many frames one is written: GIFs drop frames above GIF_MAX_FPS."""
    return math.ceil(fps / GIF_MAX_FPS) if path.suffix.lower() == ".gif" and fps > GIF_MAX_FPS else 1


def video_frames(scenes: Sequence[Scene], path: Path, fps: float) -> int:
    """How many frames :func:`render_video` writes for these scenes."""
    frames = max((a.frames for s in scenes for a in s.actors), default=0)
    return -(-frames // _frame_step(Path(path), fps))


def _gif_palette():
    """A fixed palette of everything we draw (each colour family, the greys, and their
    antialiased blends with the background and with each other). An adaptive palette
    would merge a thin orange or blue line into the greys around it."""
    from matplotlib.colors import to_rgb
    from PIL import Image

    background = np.array(to_rgb(BACKGROUND))
    inks = [to_rgb(c) for c in (*GIVEN, *GENERATED, *PLAIN, "#000000", "#222222", "#777777", "#8c8c8c", "#333333")]
    levels = np.linspace(0.0, 1.0, 9)[:, None]
    swatches = [background[None] * (1 - levels) + np.array(ink)[None] * levels for ink in inks]
    swatches += [  # a given part fading into a generated one
        np.array(to_rgb(g))[None] * (1 - levels) + np.array(to_rgb(o))[None] * levels for g, o in zip(GIVEN, GENERATED)
    ]
    colours = np.unique(np.round(np.concatenate(swatches) * 255).astype(np.uint8), axis=0)[:256]
    palette = Image.new("P", (1, 1))
    palette.putpalette(colours.ravel().tolist() + [0] * (3 * (256 - len(colours))))
    return palette


class _GifWriter:
    """Collects frames as paletted images (one fixed palette) and saves them with Pillow
    at close. Frame durations alternate between whole hundredths of a second so the clip
    keeps its rate."""

    def __init__(self, path: Path, fps: float) -> None:
        self.path, self.fps, self.frames = path, fps, []
        self.palette = _gif_palette()

    def append_data(self, frame: np.ndarray) -> None:
        from PIL import Image

        self.frames.append(Image.fromarray(frame).quantize(palette=self.palette, dither=Image.Dither.NONE))

    def close(self) -> None:
        if not self.frames:
            return
        ends = np.round(np.arange(1, len(self.frames) + 1) * 100 / self.fps)  # centiseconds
        durations = (np.diff(np.concatenate([[0], ends])) * 10).astype(int).tolist()
        self.frames[0].save(
            self.path, format="GIF", save_all=True, append_images=self.frames[1:], duration=durations, loop=0,
            optimize=False, disposal=1,
        )


def _writer(path: Path, fps: float):
    if path.suffix.lower() == ".gif":
        return _GifWriter(path, fps)
    try:
        import imageio.v2 as imageio
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()  # the bundled binary, or one named by IMAGEIO_FFMPEG_EXE
    except (ImportError, RuntimeError):
        raise SinmdmError("writing mp4 needs imageio-ffmpeg and its ffmpeg binary; install it, or write a .gif") from None
    return imageio.get_writer(
        path, format="FFMPEG", mode="I", fps=fps, codec="libx264", quality=7, pixelformat="yuv420p",
        macro_block_size=16, ffmpeg_log_level="error",
    )
