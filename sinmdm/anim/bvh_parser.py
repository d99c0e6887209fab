"""The BVH text parser: the HIERARCHY section a token at a time, the MOTION rows in bounded
chunks of bytes (never a Python loop over rows), with the file and line of every error."""

from __future__ import annotations

from collections import deque
from pathlib import Path

import numpy as np

from ..base.errors import BVHError, SinmdmError
from .skeleton import POSITION_CHANNELS, ROTATION_CHANNELS, Skeleton

KNOWN_CHANNELS = {c.lower(): c for c in POSITION_CHANNELS + ROTATION_CHANNELS}
_WHITESPACE = np.frombuffer(b" \t\n\r\v\f", dtype=np.uint8)
# Larger numbers are not motion: 1e8 is 100 km in millimetres, or 280,000 turns in degrees.
MAX_MAGNITUDE = 1e8
MAX_HEADER_LINE = 1 << 20  # bytes; a hierarchy line is a keyword and a few numbers
CHUNK_BYTES = 8 << 20  # MOTION rows are parsed this much at a time, so memory stays bounded


def parse_channels(raw: bytes, path: str | Path) -> tuple[Skeleton, np.ndarray, float]:
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
    """The skeleton of the HIERARCHY section, and the line of its MOTION keyword."""
    return _Hierarchy(lines, path).parse()


class _Hierarchy:
    """The HIERARCHY section, read a token at a time: one method per keyword. Each open
    block is ("joint", index) or ("end", index); ``pending`` waits for its "{"."""

    def __init__(self, lines: _Lines, path: str | Path) -> None:
        self.lines, self.path = lines, path
        self.names: list[str] = []
        self.parents: list[int] = []
        self.offsets: list[list[float] | None] = []
        self.channels: list[tuple[str, ...]] = []
        self.end_parents: list[int] = []
        self.end_offsets: list[list[float] | None] = []
        self.end_slots: list[int] = []  # how many child joints of its parent come before each End Site
        self.child_count: list[int] = []
        self.stack: list[tuple[str, int]] = []
        self.pending: tuple[str, int] | None = None
        self.tokens: deque[str] = deque()
        self.lineno = 0
        self.word = ""

    def fail(self, message: str) -> BVHError:
        return BVHError(self.path, message, self.lineno)

    def parse(self) -> tuple[Skeleton, int]:
        handlers = {
            "ROOT": self.joint, "JOINT": self.joint, "END": self.end_site, "{": self.open, "}": self.close,
            "OFFSET": self.offset, "CHANNELS": self.channel_list,
        }
        first = self.next_word()
        if first.upper() != "HIERARCHY":
            raise self.fail(f"expected 'HIERARCHY' at the start, found '{first[:40]}'")
        while True:
            word = self.next_word()
            key = word.upper()
            if self.pending is not None and word != "{":
                raise self.fail(f"expected '{{' after the joint name, found '{word}'")
            if key == "MOTION":
                self.motion()
                return self.skeleton(), self.lineno
            if key not in handlers:
                raise self.fail(f"unexpected '{word[:40]}' in the HIERARCHY section")
            handlers[key](key)

    def next_word(self) -> str:
        while not self.tokens:
            line = self.lines.next()
            if line is None:
                raise BVHError(self.path, "file ends inside the HIERARCHY section (no MOTION section)", self.lines.number)
            self.lineno, text = line
            self.tokens = deque(text.split())
        self.word = self.tokens.popleft()
        return self.word

    def need(self, count: int, what: str) -> list[str]:
        if len(self.tokens) < count:
            raise self.fail(f"{what} needs {count} value(s) on the same line")
        return [self.tokens.popleft() for _ in range(count)]

    def numbers(self, values: list[str], what: str) -> list[float]:
        try:
            out = [float(v) for v in values]
        except ValueError:
            raise self.fail(f"{what} has a value that is not a number: {' '.join(values)}") from None
        if not np.all(np.isfinite(out)):
            raise self.fail(f"{what} has a non-finite value: {' '.join(values)}")
        if np.abs(out).max(initial=0.0) > MAX_MAGNITUDE:
            raise self.fail(f"{what} has an absurd magnitude: {' '.join(values)}")
        return out

    def current(self) -> tuple[str, int]:
        if not self.stack:
            raise self.fail(f"'{self.word}' outside of any joint block")
        return self.stack[-1]

    def joint(self, key: str) -> None:
        stack = self.stack
        if key == "ROOT" and (stack or self.names):
            raise self.fail("a second ROOT; only one skeleton per file is supported")
        if key == "JOINT" and (not stack or stack[-1][0] != "joint"):
            raise self.fail("JOINT outside of a joint block")
        # A name runs to the end of the line (names may contain spaces), minus a "{".
        brace = bool(self.tokens) and self.tokens[-1] == "{"
        rest = list(self.tokens)[: len(self.tokens) - brace]
        if not rest:
            raise self.fail(f"{key} without a name")
        self.tokens = deque(["{"] if brace else [])
        self.names.append(" ".join(rest))
        self.parents.append(stack[-1][1] if stack else -1)
        self.offsets.append(None)
        self.channels.append(())
        self.child_count.append(0)
        if stack:
            self.child_count[stack[-1][1]] += 1
        self.pending = ("joint", len(self.names) - 1)

    def end_site(self, key: str) -> None:
        site = self.tokens.popleft() if self.tokens else ""
        if site.upper() != "SITE":
            raise self.fail("expected 'End Site'")
        kind, parent = self.current()
        if kind != "joint":
            raise self.fail("End Site inside an End Site")
        # Exporters put a name or a comment after "End Site" (`End Site #name: Tail4`);
        # Blender's importer ignores the rest of the line, and so do we (but a "{").
        self.tokens = deque(["{"] if self.tokens and self.tokens[-1] == "{" else [])
        self.end_parents.append(parent)
        self.end_offsets.append(None)
        self.end_slots.append(self.child_count[parent])
        self.pending = ("end", len(self.end_parents) - 1)

    def open(self, key: str) -> None:
        if self.pending is None:
            raise self.fail("unexpected '{'")
        self.stack.append(self.pending)
        self.pending = None

    def close(self, key: str) -> None:
        kind, index = self.current()
        if kind == "joint" and self.offsets[index] is None:
            raise self.fail(f"joint '{self.names[index]}' has no OFFSET")
        if kind == "end" and self.end_offsets[index] is None:
            raise self.fail("End Site has no OFFSET")
        self.stack.pop()

    def offset(self, key: str) -> None:
        kind, index = self.current()
        value = self.numbers(self.need(3, "OFFSET"), "OFFSET")
        (self.offsets if kind == "joint" else self.end_offsets)[index] = value

    def channel_list(self, key: str) -> None:
        kind, index = self.current()
        if kind != "joint":
            raise self.fail("CHANNELS inside an End Site")
        count_word = self.need(1, "CHANNELS")[0]
        if not count_word.isdigit():
            raise self.fail(f"CHANNELS count '{count_word}' is not a whole number")
        found = self.need(int(count_word), "CHANNELS")
        unknown = [c for c in found if c.lower() not in KNOWN_CHANNELS]
        if unknown:
            raise self.fail(f"unknown channel name '{unknown[0]}'")
        canonical = tuple(KNOWN_CHANNELS[c.lower()] for c in found)
        # A rotation axis may come twice (proper Euler orders such as ZXZ); the
        # skeleton checks that the rotation channels form a valid order.
        positions = [c for c in canonical if c in POSITION_CHANNELS]
        if len(set(positions)) != len(positions):
            raise self.fail(f"joint '{self.names[index]}' lists a position channel twice")
        self.channels[index] = canonical

    def motion(self) -> None:
        if self.stack or self.pending:
            raise self.fail("MOTION before the hierarchy's braces are closed")
        if not self.names:
            raise self.fail("no ROOT joint in the HIERARCHY section")
        if self.tokens:
            raise self.fail(f"unexpected '{self.tokens[0]}' after MOTION")

    def skeleton(self) -> Skeleton:
        try:
            return Skeleton(
                names=tuple(self.names),
                parents=np.array(self.parents, dtype=np.int64),
                offsets=np.array(self.offsets, dtype=np.float64).reshape(-1, 3),
                channels=tuple(self.channels),
                end_site_parents=np.array(self.end_parents, dtype=np.int64),
                end_site_offsets=np.array(self.end_offsets, dtype=np.float64).reshape(-1, 3),
                end_site_slots=np.array(self.end_slots, dtype=np.int64),
            )
        except SinmdmError as exc:
            raise BVHError(self.path, str(exc)) from None


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
