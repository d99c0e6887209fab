"""BVH reading and writing for any topology.

We do not use the ``bvh`` package (bvh-python 0.3): it raises IndexError when ``{`` sits
on the joint's own line, silently drops the last frame of a file without a trailing
newline (both checked), reads frames one joint at a time, and cannot write. The
hierarchy is small, so a line-aware tokenizer below reads it; the MOTION block is
parsed into numpy in one call.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

import numpy as np

from ..base.atomic import atomic_write
from ..base.errors import BVHError, SinmdmError
from .body import calibrate
from .motion import Motion
from .rotations import euler_to_matrix, matrix_to_euler, unwrap_euler
from .skeleton import POSITION_CHANNELS, ROTATION_CHANNELS, Skeleton

KNOWN_CHANNELS = {c.lower(): c for c in POSITION_CHANNELS + ROTATION_CHANNELS}
_WHITESPACE = np.frombuffer(b" \t\n\r\v\f", dtype=np.uint8)
# Larger numbers are not motion: 1e8 is 100 km in millimetres, or 280,000 turns in degrees.
MAX_MAGNITUDE = 1e8
MAX_HEADER_LINE = 1 << 20  # bytes; a hierarchy line is a keyword and a few numbers
CHUNK_BYTES = 8 << 20  # MOTION rows are parsed this much at a time, so memory stays bounded
CONVERT_FRAMES = 8192  # and turned into rotations this many frames at a time


# ------------------------------------------------------------------- reading
def read_bvh(path: str | Path, up: str | None = None) -> Motion:
    """Read a BVH file. Raises :class:`BVHError` naming the file and line on bad input.
    The skeleton knows the file's up axis (``up``, else detected) and the body's size
    (see :mod:`sinmdm.anim.body`)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise BVHError(path, "is a directory, not a BVH file") from None
    except FileNotFoundError:
        raise BVHError(path, "no such file") from None
    except OSError as exc:
        raise BVHError(path, f"cannot read: {exc.strerror or exc}") from None
    parsed = _parse(raw, path)
    del raw  # the file's bytes are not needed while the rows become rotations
    return calibrate(channels_to_motion(*parsed), up)


def parse_bvh(raw: bytes, path: str | Path = "<bvh>", up: str | None = None) -> Motion:
    """Parse the bytes of a BVH file; ``path`` is only used in error messages."""
    return calibrate(channels_to_motion(*_parse(raw, path)), up)


def _parse(raw: bytes, path: str | Path) -> tuple[Skeleton, np.ndarray, float]:
    """The skeleton, the MOTION rows (F, C) and the frame time."""
    if not raw.strip():
        raise BVHError(path, "file is empty")
    lines = _Lines(raw, path)
    skeleton, motion_line = _parse_hierarchy(lines, path)
    frames, frame_time, data_start, data_line = _parse_motion_header(lines, motion_line, path)
    data = _parse_frames(memoryview(raw)[data_start:], data_line, frames, skeleton.n_channels, path)
    return skeleton, data, frame_time


class _Lines:
    """Lazy line access with byte offsets, so a huge MOTION block is never split in Python."""

    def __init__(self, raw: bytes, path: str | Path) -> None:
        self.raw, self.path = raw, path
        self.pos = 0
        self.number = 0

    def next(self) -> tuple[int, str] | None:
        """The next line as (1-based number, decoded text), or None at end of file."""
        if self.pos >= len(self.raw):
            return None
        end = self.raw.find(b"\n", self.pos)
        end = len(self.raw) if end < 0 else end
        self.number += 1
        if end - self.pos > MAX_HEADER_LINE:
            raise BVHError(self.path, f"a line of {(end - self.pos) / 1e6:.1f} MB where the header has short lines", self.number)
        chunk = self.raw[self.pos : end]
        self.pos = end + 1
        if b"\0" in chunk:
            raise BVHError(self.path, "binary data where text was expected (not a BVH file?)", self.number)
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError:
            raise BVHError(self.path, "line is not valid UTF-8 text", self.number) from None
        if self.number == 1:
            text = text.lstrip("\ufeff")
        return self.number, text


def _parse_hierarchy(lines: _Lines, path: str | Path) -> tuple[Skeleton, int]:
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float] | None] = []
    channels: list[tuple[str, ...]] = []
    end_parents: list[int] = []
    end_offsets: list[list[float] | None] = []
    end_slots: list[int] = []  # how many child joints of its parent come before each End Site
    child_count: list[int] = []
    # Each open block is ("joint", index) or ("end", index); `pending` waits for its "{".
    stack: list[tuple[str, int]] = []
    pending: tuple[str, int] | None = None
    seen_header = False
    tokens: deque[str] = deque()
    lineno = 0

    def need(count: int, what: str) -> list[str]:
        if len(tokens) < count:
            raise BVHError(path, f"{what} needs {count} value(s) on the same line", lineno)
        return [tokens.popleft() for _ in range(count)]

    def numbers(values: list[str], what: str) -> list[float]:
        try:
            out = [float(v) for v in values]
        except ValueError:
            raise BVHError(path, f"{what} has a value that is not a number: {' '.join(values)}", lineno) from None
        if not np.all(np.isfinite(out)):
            raise BVHError(path, f"{what} has a non-finite value: {' '.join(values)}", lineno)
        if np.abs(out).max(initial=0.0) > MAX_MAGNITUDE:
            raise BVHError(path, f"{what} has an absurd magnitude: {' '.join(values)}", lineno)
        return out

    def current() -> tuple[str, int]:
        if not stack:
            raise BVHError(path, f"'{word}' outside of any joint block", lineno)
        return stack[-1]

    while True:
        if not tokens:
            line = lines.next()
            if line is None:
                raise BVHError(path, "file ends inside the HIERARCHY section (no MOTION section)", lines.number)
            lineno, text = line
            tokens = deque(text.split())
            continue
        word = tokens.popleft()
        key = word.upper()
        if pending is not None and word != "{":
            raise BVHError(path, f"expected '{{' after the joint name, found '{word}'", lineno)
        if not seen_header:
            if key != "HIERARCHY":
                raise BVHError(path, f"expected 'HIERARCHY' at the start, found '{word[:40]}'", lineno)
            seen_header = True
        elif key in ("ROOT", "JOINT"):
            if key == "ROOT" and (stack or names):
                raise BVHError(path, "a second ROOT; only one skeleton per file is supported", lineno)
            if key == "JOINT" and (not stack or stack[-1][0] != "joint"):
                raise BVHError(path, "JOINT outside of a joint block", lineno)
            # A name runs to the end of the line (names may contain spaces), minus a "{".
            brace = bool(tokens) and tokens[-1] == "{"
            rest = list(tokens)[: len(tokens) - brace]
            if not rest:
                raise BVHError(path, f"{key} without a name", lineno)
            tokens = deque(["{"] if brace else [])
            names.append(" ".join(rest))
            parents.append(stack[-1][1] if stack else -1)
            offsets.append(None)
            channels.append(())
            child_count.append(0)
            if stack:
                child_count[stack[-1][1]] += 1
            pending = ("joint", len(names) - 1)
        elif key == "END":
            site = tokens.popleft() if tokens else ""
            if site.upper() != "SITE":
                raise BVHError(path, "expected 'End Site'", lineno)
            kind, parent = current()
            if kind != "joint":
                raise BVHError(path, "End Site inside an End Site", lineno)
            # Exporters put a name or a comment after "End Site" (`End Site #name: Tail4`);
            # Blender's importer ignores the rest of the line, and so do we (but a "{").
            tokens = deque(["{"] if tokens and tokens[-1] == "{" else [])
            end_parents.append(parent)
            end_offsets.append(None)
            end_slots.append(child_count[parent])
            pending = ("end", len(end_parents) - 1)
        elif word == "{":
            if pending is None:
                raise BVHError(path, "unexpected '{'", lineno)
            stack.append(pending)
            pending = None
        elif word == "}":
            kind, index = current()
            if kind == "joint" and offsets[index] is None:
                raise BVHError(path, f"joint '{names[index]}' has no OFFSET", lineno)
            if kind == "end" and end_offsets[index] is None:
                raise BVHError(path, "End Site has no OFFSET", lineno)
            stack.pop()
        elif key == "OFFSET":
            kind, index = current()
            value = numbers(need(3, "OFFSET"), "OFFSET")
            (offsets if kind == "joint" else end_offsets)[index] = value
        elif key == "CHANNELS":
            kind, index = current()
            if kind != "joint":
                raise BVHError(path, "CHANNELS inside an End Site", lineno)
            count_word = need(1, "CHANNELS")[0]
            if not count_word.isdigit():
                raise BVHError(path, f"CHANNELS count '{count_word}' is not a whole number", lineno)
            found = need(int(count_word), "CHANNELS")
            unknown = [c for c in found if c.lower() not in KNOWN_CHANNELS]
            if unknown:
                raise BVHError(path, f"unknown channel name '{unknown[0]}'", lineno)
            canonical = tuple(KNOWN_CHANNELS[c.lower()] for c in found)
            # A rotation axis may come twice (proper Euler orders such as ZXZ); the
            # skeleton checks that the rotation channels form a valid order.
            positions = [c for c in canonical if c in POSITION_CHANNELS]
            if len(set(positions)) != len(positions):
                raise BVHError(path, f"joint '{names[index]}' lists a position channel twice", lineno)
            channels[index] = canonical
        elif key == "MOTION":
            if stack or pending:
                raise BVHError(path, "MOTION before the hierarchy's braces are closed", lineno)
            if not names:
                raise BVHError(path, "no ROOT joint in the HIERARCHY section", lineno)
            if tokens:
                raise BVHError(path, f"unexpected '{tokens[0]}' after MOTION", lineno)
            break
        else:
            raise BVHError(path, f"unexpected '{word[:40]}' in the HIERARCHY section", lineno)

    try:
        skeleton = Skeleton(
            names=tuple(names),
            parents=np.array(parents, dtype=np.int64),
            offsets=np.array(offsets, dtype=np.float64).reshape(-1, 3),
            channels=tuple(channels),
            end_site_parents=np.array(end_parents, dtype=np.int64),
            end_site_offsets=np.array(end_offsets, dtype=np.float64).reshape(-1, 3),
            end_site_slots=np.array(end_slots, dtype=np.int64),
        )
    except SinmdmError as exc:
        raise BVHError(path, str(exc)) from None
    return skeleton, lineno


def _parse_motion_header(lines: _Lines, motion_line: int, path: str | Path) -> tuple[int, float, int, int]:
    """Reads ``Frames:`` and ``Frame Time:``; returns them, the data's byte offset and line."""
    values: dict[str, str] = {}
    for label in ("frames", "frame time"):
        while True:
            line = lines.next()
            if line is None:
                raise BVHError(path, f"file ends before the '{label.title()}:' line", lines.number)
            lineno, text = line
            if text.strip():
                break
        head, colon, value = text.partition(":")
        if not colon or " ".join(head.split()).lower() != label:
            raise BVHError(path, f"expected '{label.title()}:', found '{text.strip()[:40]}'", lineno)
        values[label] = value.strip()
        if label == "frames":
            if not values[label].isdigit():
                raise BVHError(path, f"frame count '{values[label]}' is not a whole number", lineno)
            if int(values[label]) < 1:
                raise BVHError(path, "the clip has no frames", lineno)
        else:
            try:
                frame_time = float(values[label])
            except ValueError:
                raise BVHError(path, f"frame time '{values[label]}' is not a number", lineno) from None
            if not (np.isfinite(frame_time) and frame_time > 0):
                raise BVHError(path, f"frame time must be a positive number, got '{values[label]}'", lineno)
    return int(values["frames"]), frame_time, lines.pos, lines.number + 1


def _parse_frames(data: memoryview, first_line: int, frames: int, width: int, path: str | Path) -> np.ndarray:
    """(rows, width) float64 from the MOTION rows, checking every row's width. Fewer rows
    than the header's ``frames`` is an error (a truncated file); more are all read, as
    Blender's importer reads them (some exporters miscount by one).

    The rows are read in chunks of whole lines of about CHUNK_BYTES, so the temporary
    arrays stay small however long the clip; within a chunk, values per line are counted
    on the raw bytes (token starts per line) without a Python loop. Lines are numbered by
    content, so a missing trailing newline needs no special case.
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.concatenate(
        [np.flatnonzero(buf[i : i + CHUNK_BYTES] == ord("\n")) + i for i in range(0, len(buf), CHUNK_BYTES)] + [[len(buf)]]
    )
    # A row holds `width` numbers; far longer lines are not rows (and are not tokenised).
    longest = 64 * (width + 1) + 1024
    line_bytes = np.diff(newlines, prepend=-1) - 1
    if line_bytes.max() > longest:
        line = int(np.argmax(line_bytes > longest))
        raise BVHError(path, f"a frame row of {line_bytes[line]:,} bytes, far too long for {width} values", first_line + line)
    out = np.empty((frames, width))
    row, line, start, last_row_line = 0, 0, 0, first_line
    while start < len(buf):
        # Whole lines up to about CHUNK_BYTES further on (at least one line).
        last = max(int(np.searchsorted(newlines, start + CHUNK_BYTES, side="right")) - 1, line)
        stop = int(newlines[last]) + 1
        counts = _values_per_line(buf[start:stop], last - line + 1)
        rows = np.flatnonzero(counts)
        bad = np.flatnonzero(counts[rows] != width)
        if len(bad):
            raise BVHError(path, f"frame row has {counts[rows[bad[0]]]} values, expected {width}", first_line + line + int(rows[bad[0]]))
        if row + len(rows) > len(out):  # more rows than the header counts: an exporter's miscount
            out = np.concatenate([out, np.empty((row + len(rows) - len(out), width))])
        if width and len(rows):
            out[row : row + len(rows)] = _numbers(bytes(data[start:stop]), first_line + line, path).reshape(-1, width)
        row += len(rows)
        last_row_line = first_line + line + int(rows[-1]) if len(rows) else last_row_line
        line, start = last + 1, stop
    if row < frames:  # a truncated file
        raise BVHError(path, f"header says {frames} frames but the file has {row}", last_row_line)
    return out


def _values_per_line(buf: np.ndarray, lines: int) -> np.ndarray:
    """How many whitespace-separated values each of ``lines`` lines in ``buf`` holds."""
    space = np.isin(buf, _WHITESPACE)
    starts = ~space
    starts[1:] &= space[:-1]
    newline = buf == ord("\n")
    line_of_byte = np.cumsum(newline, dtype=np.int32) - newline
    return np.bincount(line_of_byte[starts], minlength=lines)[:lines]


def _numbers(chunk: bytes, first_line: int, path: str | Path) -> np.ndarray:
    """The values of whole lines of numbers, naming the line of the first bad one."""
    try:
        values = np.array(chunk.split(), dtype=np.float64)
    except ValueError:
        token = next(t for t in chunk.split() if not _is_number(t))
        index = chunk.find(token)
        text = token[:40].decode("utf-8", "replace")
        raise BVHError(path, f"'{text}' is not a number", first_line + chunk.count(b"\n", 0, index)) from None
    bad = ~np.isfinite(values) | (np.abs(values) > MAX_MAGNITUDE)
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        where = first_line + chunk.count(b"\n", 0, chunk.find(chunk.split()[index]))
        problem = "a NaN or infinite value" if not np.isfinite(values[index]) else f"an absurd magnitude ({values[index]:g})"
        raise BVHError(path, f"frame data holds {problem}", where)
    return values


def _is_number(token: bytes) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def channels_to_motion(skeleton: Skeleton, data: np.ndarray, frame_time: float) -> Motion:
    """A Motion from MOTION rows (F, C): Euler channels become matrices, position
    channels replace the joint's OFFSET components. Converted CONVERT_FRAMES at a time,
    so the temporaries of a long clip stay small."""
    frames = len(data)
    rotations = np.broadcast_to(np.eye(3), (frames, skeleton.n_joints, 3, 3)).copy()
    cols, axes = skeleton.rotation_columns
    if len(cols):
        for start in range(0, frames, CONVERT_FRAMES):
            part = slice(start, start + CONVERT_FRAMES)
            rotations[part, skeleton.rotating_joints] = euler_to_matrix(np.radians(data[part, cols]), axes)
    translations = np.broadcast_to(skeleton.offsets, (frames, skeleton.n_joints, 3)).copy()
    joint, axis, col = skeleton.position_columns
    translations[:, joint, axis] = data[:, col]
    return Motion(skeleton, rotations, translations, frame_time)


# ------------------------------------------------------------------- writing
def motion_to_channels(motion: Motion) -> np.ndarray:
    """MOTION rows (F, C) in degrees, Euler angles unwrapped over time."""
    skeleton = motion.skeleton
    data = np.zeros((motion.n_frames, skeleton.n_channels))
    cols, _ = skeleton.rotation_columns
    joints = skeleton.rotating_joints
    orders = np.array([skeleton.rotation_order(j) for j in joints.tolist()])
    for order in np.unique(orders).tolist():  # one scipy call per distinct order, not per joint
        sel = np.flatnonzero(orders == order)
        angles = matrix_to_euler(motion.rotations[:, joints[sel]], order)
        data[:, cols[sel]] = np.degrees(unwrap_euler(angles, order))
    joint, axis, col = skeleton.position_columns
    data[:, col] = motion.translations[:, joint, axis]
    return data


def write_bvh(path: str | Path, motion: Motion) -> None:
    """Write ``motion`` atomically in the layout Blender's line-based importer reads:
    one keyword per line, braces on their own lines, original names, order, channels,
    End Sites and the true frame time."""
    path = Path(path)
    skeleton = motion.skeleton
    # Lengths get enough decimals for 1e-7 of the skeleton's height at any scale; angles
    # in degrees need no scale.
    decimals = max(6, 7 - int(np.floor(np.log10(skeleton.size))))
    length = f"%.{decimals}f"
    fmt = []
    for chans in skeleton.channels:
        fmt += [length if c in POSITION_CHANNELS else "%.6f" for c in chans]
    data = motion_to_channels(motion)
    try:
        with atomic_write(path, "w", newline="\n", encoding="utf-8") as out:
            out.write(_hierarchy_text(skeleton, length))
            out.write(f"MOTION\nFrames: {motion.n_frames}\nFrame Time: {motion.frame_time:.9g}\n")
            if data.shape[1]:
                np.savetxt(out, data, fmt=fmt, delimiter=" ")
            else:
                out.write("\n" * motion.n_frames)
    except OSError as exc:
        raise SinmdmError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _hierarchy_text(skeleton: Skeleton, length: str) -> str:
    out = ["HIERARCHY"]
    # Each joint's End Sites in file order, with how many child joints come before each.
    ends: dict[int, deque[tuple[int, np.ndarray]]] = {}
    for parent, slot, offset in zip(skeleton.end_site_parents.tolist(), skeleton.end_site_slots.tolist(), skeleton.end_site_offsets):
        ends.setdefault(parent, deque()).append((slot, offset))
    written = np.zeros(skeleton.n_joints, dtype=np.int64)  # child joints written so far

    def vec(v: np.ndarray) -> str:
        return " ".join(length % x for x in v)

    def end_sites(j: int, up_to: float, pad: str) -> None:
        """Write joint ``j``'s End Sites that stand before child number ``up_to``."""
        queue = ends.get(j, deque())
        while queue and queue[0][0] <= up_to:
            offset = queue.popleft()[1]
            out.extend([f"{pad}End Site", f"{pad}{{", f"{pad}\tOFFSET {vec(offset)}", f"{pad}}}"])

    open_joints: list[int] = []

    def close(down_to: int) -> None:
        while len(open_joints) > down_to:
            j = open_joints.pop()
            end_sites(j, np.inf, "\t" * (len(open_joints) + 1))
            out.append("\t" * len(open_joints) + "}")

    for j in range(skeleton.n_joints):
        close(int(skeleton.depths[j]))
        pad = "\t" * len(open_joints)
        parent = int(skeleton.parents[j])
        if parent >= 0:
            end_sites(parent, written[parent], pad)
            written[parent] += 1
        keyword = "ROOT" if j == 0 else "JOINT"
        chans = skeleton.channels[j]
        out += [f"{pad}{keyword} {skeleton.names[j]}", f"{pad}{{", f"{pad}\tOFFSET {vec(skeleton.offsets[j])}"]
        out.append(f"{pad}\tCHANNELS {len(chans)}" + "".join(" " + c for c in chans))
        open_joints.append(j)
    close(0)
    return "\n".join(out) + "\n"
