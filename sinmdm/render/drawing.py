"""Drawing on plain 2D matplotlib axes (Agg), updating the artists in place each frame:
depth-sorted bones thinned with distance, a fading floor grid, panels laid out in a
grid."""

from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np

from ..base.errors import SinmdmError
from .camera import FOV, Camera
from .figures import BACKGROUND, Actor, Scene, bone_colours, scene_scale

LAYOUTS = ("grid", "scene")


BONE_WIDTH = 0.009  # bone thickness as a share of the body's size on screen...


BONE_PIXELS = (1.0, 4.0)  # ...within these many pixels (points at 100 dpi)


MAX_GRID_LINES = 16  # across the grid's diameter


GRID_BANDS = 4  # alpha steps of the floor grid's fade
PATH_POINTS = 600  # points drawn of each path on the floor
PATH_COLOUR = (0.18, 0.43, 0.71, 0.7)  # a path is given: the given parts' blue


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


class Panel:
    """The artists of one panel (its actors, their shadows and contacts, the floor grid)
    and how to move them to a frame."""

    PIECES = 12  # grid lines are cut into pieces so the perspective clips them cleanly

    def __init__(
        self, ax, actors: Sequence[Actor], camera: Camera, aspect: float, height_px: float, title: str,
        captions: Optional[Sequence[str]] = None, paths: Sequence[np.ndarray] = (),
    ) -> None:
        self.actors, self.camera, self.floor, self.captions = actors, camera, camera.floor, captions
        scale = scene_scale(actors)
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
        self.colours = [bone_colours(a) for a in actors]  # (F or 1, B_i, 4) each
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
        # Paths on the floor as strokes between points, at most PATH_POINTS per path.
        lines = [p[np.unique(np.r_[np.arange(0, len(p), max(1, len(p) // PATH_POINTS)), len(p) - 1])] for p in paths]
        ground = [np.stack([p[:, 0], np.full(len(p), self.floor), p[:, 1]], axis=-1) for p in lines if len(p) > 1]
        self.path_pieces = np.concatenate([np.stack([g[:-1], g[1:]], axis=1) for g in ground]) if ground else None
        if self.path_pieces is not None:
            self.path_pen = _Pen(ax, len(self.path_pieces), zorder=1.5, edgecolor=PATH_COLOUR, linewidth=1.6, capstyle="round")
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
        if self.path_pieces is not None:
            self.path_pen.set(self.camera.project(self.path_pieces, frame)[0])
        caption = f"{self.captions[min(frame, len(self.captions) - 1)]}   " if self.captions else ""
        self.counter.set_text(f"{caption}{frame + 1}/{total}")

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


def parse_size(size: Optional[str], default: tuple[int, int]) -> tuple[int, int]:
    if size is None:
        return default
    try:
        w, h = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise SinmdmError(f"--size '{size}': expected WIDTHxHEIGHT in pixels, e.g. 640x480") from None
    if not (16 <= w <= 7680 and 16 <= h <= 4320):
        raise SinmdmError(f"--size {w}x{h}: each side must be between 16 and 7680x4320 pixels")
    return w, h


def even(value: float) -> int:
    """Video encoders want sizes in multiples of 16 pixels."""
    return max(16, int(round(value / 16)) * 16)


def grid_shape(n: int) -> tuple[int, int]:
    cols = math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


class Canvas:
    """A figure of panels in a rows x cols grid, each with its own camera."""

    def __init__(self, cells: Sequence[tuple[Scene, Camera]], rows: int, cols: int, width: int, height: int) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(width / 100, height / 100), dpi=100, facecolor=BACKGROUND)
        self.canvas = FigureCanvasAgg(self.figure)
        cell_w, cell_h = width / cols, height / rows
        self.panels: list[Panel] = []
        for k, (scene, camera) in enumerate(cells):
            r, c = divmod(k, cols)
            ax = self.figure.add_axes((c / cols, 1 - (r + 1) / rows, 1 / cols, 1 / rows))
            self.panels.append(Panel(ax, scene.actors, camera, cell_w / cell_h, cell_h, scene.title, scene.captions,
                                     scene.paths))

    def pixels(self) -> np.ndarray:
        self.canvas.draw()
        return np.asarray(self.canvas.buffer_rgba())[..., :3]
