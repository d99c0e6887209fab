"""The tool's own error type: everything a user can cause ends up here.

The CLI prints ``str(error)`` as one line and exits non-zero; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path


class SinmdmError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""


class BVHError(SinmdmError):
    """A BVH file that cannot be read; names the file and, where known, the line."""

    def __init__(self, path: str | Path, problem: str, line: int | None = None) -> None:
        self.path = str(path)
        self.problem = problem
        self.line = line
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")
