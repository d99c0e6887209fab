"""Pictures of motion: stick figures of any skeleton as mp4, GIF or a PNG contact sheet.

We project the 3D points ourselves (a perspective camera, Y up) and draw them on plain 2D
matplotlib axes with the Agg backend, updating the artists in place every frame. That is
several times faster than mplot3d and FuncAnimation.save, and lets bones be depth-sorted
and thinned with distance. Frames stream to the encoder one at a time (mp4) so memory
does not grow with the clip.

Colour says where motion came from: given (reference) parts in blues, generated parts in
oranges, a blend where one fades into the other; a file of unknown origin is slate grey.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..anim.contacts import choose_contacts, contact_labels
from ..anim.motion import Motion
from ..anim.presets import resolve_preset
from ..base.atomic import atomic_path
from ..base.errors import SinmdmError

# Colour families: a few shades each, so individuals in one scene can be told apart.
GIVEN = ("#2f6db5", "#4a8fd6", "#1d4f8a", "#6aa6e0")
GENERATED = ("#e0702a", "#c4521b", "#f0913f", "#a8431a")
PLAIN = ("#3d4653", "#5b6675", "#2a313b", "#727e8e")
STYLES = {"given": GIVEN, "generated": GENERATED, "plain": PLAIN}
BACKGROUND = "#f6f5f1"
CAMERAS = ("follow", "fixed")
LAYOUTS = ("grid", "scene")
VIDEO_SUFFIXES = (".mp4", ".gif")

FOV = math.radians(35.0)  # vertical field of view
FOLLOW_SECONDS = 0.6  # the follow camera smooths the root's path over about this long
BONE_WIDTH = 0.009  # bone thickness as a share of the body's size on screen...
BONE_PIXELS = (1.0, 4.0)  # ...within these many pixels (points at 100 dpi)
MAX_GRID_LINES = 16  # across the grid's diameter
GRID_BANDS = 4  # alpha steps of the floor grid's fade
GIF_MAX_FPS = 50  # browsers slow GIF frames shorter than 20 ms down to 100 ms


@dataclass
class Actor:
    """One figure: ``points`` (F, P, 3) world positions of its joints and End Sites;
    ``parents`` (P,) the point each bone starts from (-1: no bone); ``given`` (F, P) how
    much of the bone ending at each point is given (0 generated .. 1 given), or None for
    a single ``style``; ``contacts`` (F, P) True where a point rests on the floor; ``size``
    the body size (:attr:`sinmdm.skeleton.Skeleton.size`)."""

    points: np.ndarray
    parents: np.ndarray
    given: Optional[np.ndarray]
    contacts: np.ndarray
    size: float
    style: str = "plain"
    shade: int = 0

    @property
    def frames(self) -> int:
        return len(self.points)


def actor(motion: Motion, *, given: Optional[np.ndarray] = None, style: str = "plain", shade: int = 0) -> Actor:
    """An :class:`Actor` for ``motion``. ``given`` (F, J) per joint, as :func:`edit.joint_weights`
    makes it: a bone is coloured by the joint whose rotation orients it (its start)."""
    skeleton = motion.skeleton
    world_rot, world_pos = motion.world()
    points = skeleton.world_points(world_rot, world_pos)
    parents = skeleton.point_parents
    bone_given = None
    if given is not None:
        if given.shape != (motion.n_frames, skeleton.n_joints):
            raise ValueError("given must be (frames, joints)")
        bone_given = np.where(parents >= 0, given[:, np.maximum(parents, 0)], given[:, [0]])
    feet, _ = choose_contacts(motion, None, resolve_preset(skeleton, None))
    contacts = np.zeros(points.shape[:2], dtype=bool)
    contacts[:, feet] = contact_labels(motion, feet) > 0.5
    return Actor(points, parents, bone_given, contacts, skeleton.size, style, shade)


# ----------------------------------------------------------------------------- camera
@dataclass
class Camera:
    """A perspective camera looking at ``target`` (F, 3) from ``distance`` away, at a fixed
    azimuth (degrees about Y, 0 = looking down -Z) and elevation (degrees above the floor)."""

    target: np.ndarray
    distance: float
    azimuth: float
    elevation: float
    floor: float = 0.0  # height of the ground it draws

    def basis(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows right, up, forward of the view, and the offset from target to eye."""
        az, el = math.radians(self.azimuth), math.radians(self.elevation)
        back = np.array([math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az)])
        forward = -back
        right = np.cross(forward, [0.0, 1.0, 0.0])
        right /= np.linalg.norm(right)
        up = np.cross(right, forward)
        return np.stack([right, up, forward]), back * self.distance

    def project(self, points: np.ndarray, frame: int | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Screen coordinates (..., 2) with the panel's half-height = 1, and depth (...).
        ``points`` (..., 3) at ``frame`` (or (F, ..., 3) with a frame index array)."""
        rows, eye = self.basis()
        target = self.target[np.minimum(frame, len(self.target) - 1)]  # held after its last frame
        extra = points.ndim - target.ndim
        eye_at = (target + eye).reshape(target.shape[:-1] + (1,) * extra + (3,))
        view = (points - eye_at) @ rows.T
        depth = view[..., 2]
        focal = 1.0 / math.tan(FOV / 2)
        safe = np.where(depth > 1e-6 * self.distance, depth, np.nan)  # behind the eye: not drawn
        return view[..., :2] * (focal / safe[..., None]), depth


def make_camera(
    actors: Sequence[Actor],
    floor: float,
    mode: str,
    fps: float,
    aspect: float,
    azimuth: Optional[float] = None,
    elevation: float = 20.0,
) -> Camera:
    """Frame every actor of a panel ``aspect`` wide per unit of height: ``follow`` tracks
    their mean root smoothly at a fixed distance; ``fixed`` sees everything they do over
    the whole clip. Either way the distance is fitted so the figures fill the view."""
    if mode not in CAMERAS:
        raise SinmdmError(f"unknown --camera '{mode}': use {' or '.join(CAMERAS)}")
    frames = max(a.frames for a in actors)
    points = np.concatenate([_padded(a.points, frames) for a in actors], axis=1)  # (F, P, 3)
    roots = np.stack([_padded(a.points[:, 0], frames) for a in actors], axis=1).mean(axis=1)  # (F, 3)
    lo, hi = points.min(axis=(0, 1)), points.max(axis=(0, 1))
    lo[1] = min(lo[1], floor)
    if azimuth is None:
        azimuth = _side_view(roots, hi[1] - lo[1])
    if mode == "fixed":
        target = np.broadcast_to(0.5 * (lo + hi), (frames, 3)).copy()
    else:
        target = gaussian_filter1d(roots, max(FOLLOW_SECONDS * fps / 2, 1e-3), axis=0, mode="nearest")
    target[:, 1] = 0.5 * (lo[1] + hi[1])
    # Start from the distance at which a sphere around everything fits, then centre the
    # projected points (about 60 sampled frames) and move in until they fill 90% of the view.
    reach = max(float(np.linalg.norm(points - target[:, None], axis=-1).max()), 0.5 * (hi[1] - lo[1]), 1e-6)
    camera = Camera(target, reach / math.sin(FOV / 2), azimuth, elevation, floor)
    sampled = np.arange(0, frames, max(1, frames // 60))
    rows, _ = camera.basis()
    focal = 1.0 / math.tan(FOV / 2)
    for _ in range(5):
        screen, _ = camera.project(points[sampled], sampled)
        if np.isnan(screen).any():  # a point behind the eye: back off
            camera.distance *= 1.5
            continue
        low = np.percentile(screen.min(axis=1), 2, axis=0)
        high = np.percentile(screen.max(axis=1), 98, axis=0)
        centre = 0.5 * (low + high)
        camera.target = camera.target + (centre[0] * rows[0] + centre[1] * rows[1]) * camera.distance / focal
        extent = max(0.5 * (high[0] - low[0]) / aspect, 0.5 * (high[1] - low[1]))
        camera.distance *= max(extent / 0.9, 0.3)
    return camera


def _side_view(roots: np.ndarray, height: float) -> float:
    """Azimuth that sees the main direction of travel from three-quarters side on, or a
    three-quarters view when the actors stay in place."""
    flat = roots[:, [0, 2]] - roots[:, [0, 2]].mean(axis=0)
    if len(flat) < 2 or np.ptp(flat, axis=0).max() < 0.5 * max(height, 1e-9):
        return 35.0
    _, _, vt = np.linalg.svd(flat, full_matrices=False)
    along = math.degrees(math.atan2(vt[0, 0], vt[0, 1]))  # azimuth of the travel direction
    return along + 90.0 - 30.0


def _padded(values: np.ndarray, frames: int) -> np.ndarray:
    """``values`` (F, ...) held at its last frame up to ``frames``."""
    if len(values) >= frames:
        return values[:frames]
    return np.concatenate([values, np.repeat(values[-1:], frames - len(values), axis=0)])


# ----------------------------------------------------------------------------- drawing
def _grid_spacing(scale: float) -> float:
    """The smallest round number (1, 2 or 5 times a power of ten) not below ``scale``."""
    power = 10 ** math.floor(math.log10(scale))
    return power * min(m for m in (1, 2, 5, 10) if m * power >= scale * 0.9999)


class _Strokes:
    """A fixed number of two-point strokes drawn as one collection. Each stroke's Path is
    a view into one array, so moving them to a new frame is a single numpy write rather
    than thousands of Path objects built by set_segments."""

    def __init__(self, ax, count: int, zorder: int, **style: object) -> None:
        from matplotlib.collections import PathCollection
        from matplotlib.path import Path as MplPath

        self.xy = np.full((count, 2, 2), np.nan)
        paths = [MplPath(self.xy[k]) for k in range(count)]
        self.artist = PathCollection(paths, facecolors="none", transform=ax.transData, zorder=zorder, **style)
        ax.add_collection(self.artist, autolim=False)

    def set(self, xy: np.ndarray, colours: Optional[np.ndarray] = None, widths: Optional[np.ndarray] = None) -> None:
        self.xy[...] = xy
        if colours is not None:
            self.artist.set_edgecolor(colours)
        if widths is not None:
            self.artist.set_linewidth(widths)
        self.artist.stale = True


class _Pen:
    """Many two-point strokes in one style, drawn as a single compound path (Agg strokes
    it in one pass, and overlaps do not darken). Strokes with NaN ends are skipped."""

    def __init__(self, ax, count: int, zorder: int, **style: object) -> None:
        from matplotlib.patches import PathPatch
        from matplotlib.path import Path as MplPath

        self.xy = np.full((count * 2, 2), np.nan)
        codes = np.tile([MplPath.MOVETO, MplPath.LINETO], count).astype(MplPath.code_type)
        self.artist = PathPatch(MplPath(self.xy, codes), facecolor="none", zorder=zorder, **style)
        ax.add_patch(self.artist)

    def set(self, xy: np.ndarray) -> None:
        self.xy[...] = xy.reshape(-1, 2)
        self.artist.stale = True


class _Panel:
    """The artists of one panel (its actors, their shadows and contacts, the floor grid)
    and how to move them to a frame."""

    PIECES = 12  # grid lines are cut into pieces so the perspective clips them cleanly

    def __init__(self, ax, actors: Sequence[Actor], camera: Camera, aspect: float, height_px: float, title: str) -> None:
        self.actors, self.camera, self.floor = actors, camera, camera.floor
        scale = _scale(actors)
        ax.set_xlim(-aspect, aspect)
        ax.set_ylim(-1, 1)
        ax.set_axis_off()
        ax.set_facecolor(BACKGROUND)
        # Bones are drawn about BONE_WIDTH of the body's height on screen wide, so a crowd
        # of small figures gets thin lines and a close-up thick ones.
        self.px_per_unit = scale * height_px / 2 / math.tan(FOV / 2)  # times 1/depth
        # Bones of every actor in one collection, so they can be depth-sorted together:
        # bone k runs from point ``self.ends[k]`` to point ``self.starts[k]``.
        offsets = np.cumsum([0] + [a.points.shape[1] for a in actors])[:-1]
        self.starts = np.concatenate([np.flatnonzero(a.parents >= 0) + o for a, o in zip(actors, offsets)])
        self.ends = np.concatenate([a.parents[a.parents >= 0] + o for a, o in zip(actors, offsets)])
        self.colours = [_bone_colours(a) for a in actors]  # (F or 1, B_i, 4) each
        self.radius = 0.9 * camera.distance  # grid shown around the target, fading out
        # About half a body size per cell, but at most MAX_GRID_LINES lines each way.
        self.spacing = _grid_spacing(max(0.5 * scale, 2 * self.radius / MAX_GRID_LINES))
        self.lines = int(self.radius // self.spacing)
        grid_pieces = 2 * (2 * self.lines + 1) * self.PIECES
        # The grid fades out with distance from the target, in a few bands of alpha.
        self.grid = [
            _Pen(ax, grid_pieces, zorder=1, edgecolor=(0.55, 0.55, 0.55, alpha), linewidth=0.7)
            for alpha in np.linspace(0.45, 0.08, GRID_BANDS)
        ]
        self.shadows = _Pen(
            ax, len(self.starts), zorder=2, edgecolor=(0.0, 0.0, 0.0, 0.14), capstyle="round",
            linewidth=float(np.clip(BONE_WIDTH * self.px_per_unit / camera.distance, *BONE_PIXELS)),
        )
        mark = 2.5 * self.shadows.artist.get_linewidth()  # contact marks a little wider than a bone
        self.marks = ax.scatter([], [], s=mark**2, c="#222222", alpha=0.5, zorder=3, linewidths=0)
        self.bones = _Strokes(ax, len(self.starts), zorder=4, capstyle="round")
        if title:
            ax.text(0.02, 0.97, title, transform=ax.transAxes, va="top", ha="left", fontsize=8, color="#333333")
        self.counter = ax.text(0.98, 0.02, "", transform=ax.transAxes, va="bottom", ha="right", fontsize=7, color="#777777")

    def update(self, frame: int, total: int) -> None:
        camera = self.camera
        points = np.concatenate([a.points[min(frame, a.frames - 1)] for a in self.actors])
        starts, ends = self.starts, self.ends
        screen, depth = camera.project(points, frame)
        mean_depth = 0.5 * (depth[ends] + depth[starts])
        order = np.argsort(-mean_depth)  # far bones first, so near ones cover them
        colours = np.concatenate([c[min(frame, len(c) - 1)] for c in self.colours])
        body_px = self.px_per_unit / np.maximum(mean_depth, 1e-6 * camera.distance)
        widths = np.clip(BONE_WIDTH * body_px, *BONE_PIXELS)
        segments = np.stack([screen[ends], screen[starts]], axis=1)
        self.bones.set(segments[order], colours[order], widths[order])

        ground = points.copy()
        ground[:, 1] = self.floor
        shadow, _ = camera.project(ground, frame)
        self.shadows.set(np.stack([shadow[ends], shadow[starts]], axis=1))
        touching = np.concatenate([a.contacts[min(frame, a.frames - 1)] for a in self.actors])
        self.marks.set_offsets(shadow[touching] if touching.any() else np.zeros((0, 2)))

        self._update_grid(frame)
        self.counter.set_text(f"{frame + 1}/{total}")

    def _update_grid(self, frame: int) -> None:
        centre = self.camera.target[min(frame, len(self.camera.target) - 1)]
        step, count = self.spacing, self.lines
        base = np.round(centre[[0, 2]] / step) * step
        ticks = np.arange(-count, count + 1) * step
        cuts = np.linspace(-count * step, count * step, self.PIECES + 1)
        # Lines along X at each Z tick and along Z at each X tick, in pieces.
        a, b = np.meshgrid(ticks, cuts, indexing="ij")  # (L, PIECES+1)
        along_x = np.stack([base[0] + b, np.full_like(a, self.floor), base[1] + a], axis=-1)
        along_z = np.stack([base[0] + a, np.full_like(a, self.floor), base[1] + b], axis=-1)
        lines = np.concatenate([along_x, along_z])  # (2L, PIECES+1, 3)
        pieces = np.stack([lines[:, :-1], lines[:, 1:]], axis=2).reshape(-1, 2, 3)
        screen, _ = self.camera.project(pieces, frame)
        middle = pieces.mean(axis=1)[:, [0, 2]]
        band = (np.linalg.norm(middle - centre[[0, 2]], axis=-1) / self.radius * GRID_BANDS).astype(int)
        for k, pen in enumerate(self.grid):
            pen.set(np.where((band == k)[:, None, None], screen, np.nan))


def _bone_colours(a: Actor) -> np.ndarray:
    """(F or 1, B, 4) RGBA of the actor's bones: its style's shade, or given/generated
    blended by how much of each bone is given."""
    from matplotlib.colors import to_rgba

    bones = np.flatnonzero(a.parents >= 0)
    if a.given is None:
        family = STYLES[a.style]
        return np.broadcast_to(to_rgba(family[a.shade % len(family)]), (1, len(bones), 4)).copy()
    given = np.array(to_rgba(GIVEN[a.shade % len(GIVEN)]))
    generated = np.array(to_rgba(GENERATED[a.shade % len(GENERATED)]))
    w = np.clip(a.given[:, bones], 0.0, 1.0)[..., None]
    return w * given + (1 - w) * generated


# ----------------------------------------------------------------------------- output
@dataclass
class Scene:
    """What one panel shows: its actors and a title."""

    actors: list[Actor]
    title: str = ""


def _floor(actors: Sequence[Actor]) -> float:
    """The floor height: where the lowest point rests in most frames (robust to jumps)."""
    lowest = np.concatenate([a.points[..., 1].min(axis=1) for a in actors])
    return float(np.percentile(lowest, 5))


def _scale(actors: Sequence[Actor]) -> float:
    """The median body size of the actors."""
    return float(max(np.median([a.size for a in actors]), 1e-6))


def _parse_size(size: Optional[str], default: tuple[int, int]) -> tuple[int, int]:
    if size is None:
        return default
    try:
        w, h = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise SinmdmError(f"--size '{size}': expected WIDTHxHEIGHT in pixels, e.g. 640x480") from None
    if not (16 <= w <= 7680 and 16 <= h <= 4320):
        raise SinmdmError(f"--size {w}x{h}: each side must be between 16 and 7680x4320 pixels")
    return w, h


def _even(value: float) -> int:
    """Video encoders want sizes in multiples of 16 pixels."""
    return max(16, int(round(value / 16)) * 16)


def _grid_shape(n: int) -> tuple[int, int]:
    cols = math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


class _Canvas:
    """A figure of panels in a rows x cols grid, each with its own camera."""

    def __init__(self, cells: Sequence[tuple[Scene, Camera]], rows: int, cols: int, width: int, height: int) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(width / 100, height / 100), dpi=100, facecolor=BACKGROUND)
        self.canvas = FigureCanvasAgg(self.figure)
        cell_w, cell_h = width / cols, height / rows
        self.panels: list[_Panel] = []
        for k, (scene, camera) in enumerate(cells):
            r, c = divmod(k, cols)
            ax = self.figure.add_axes((c / cols, 1 - (r + 1) / rows, 1 / cols, 1 / rows))
            self.panels.append(_Panel(ax, scene.actors, camera, cell_w / cell_h, cell_h, scene.title))

    def pixels(self) -> np.ndarray:
        self.canvas.draw()
        return np.asarray(self.canvas.buffer_rgba())[..., :3]


def _require_actors(scenes: Sequence[Scene]) -> None:
    if not scenes or not any(s.actors for s in scenes):
        raise SinmdmError("nothing to render")


def _cameras(
    scenes: Sequence[Scene], camera: str, fps: float, aspect: float, azimuth: Optional[float], elevation: float
) -> list[Camera]:
    return [make_camera(s.actors, _floor(s.actors), camera, fps, aspect, azimuth, elevation) for s in scenes]


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
    rows, cols = _grid_shape(len(scenes))
    panel = (640, 480) if len(scenes) == 1 else (400, 400)
    width, height = _parse_size(size, (min(panel[0] * cols, 1920), min(panel[1] * rows, 1440)))
    width, height = _even(width), _even(height)
    cameras = _cameras(scenes, camera, fps, (width / cols) / (height / rows), azimuth, elevation)
    canvas = _Canvas(list(zip(scenes, cameras)), rows, cols, width, height)
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
    width, height = _parse_size(size, (min(220 * cols, 2400), min(260 * rows, 2600)))
    cameras = _cameras(scenes, camera, fps, (width / cols) / (height / rows), azimuth, elevation)
    cells = []
    for scene, cam in zip(scenes, cameras):
        frames = max(a.frames for a in scene.actors)
        for k, frame in enumerate(np.linspace(0, frames - 1, poses).round().astype(int)):
            title = f"{scene.title}  " if k == 0 and scene.title else ""
            cells.append((Scene(scene.actors, f"{title}frame {frame + 1}"), cam, int(frame)))
    canvas = _Canvas([(scene, cam) for scene, cam, _ in cells], rows, cols, width, height)
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
