"""Running the ``sinmdm`` command line from Blender: where it is, and one clear line when
it fails. The add-on never imports torch: every model runs in this separate process."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from typing import Optional

ENVIRONMENT = "SINMDM_EXECUTABLE"
STEP = re.compile(r"step (\d+)")
ETA = re.compile(r"ETA (\d+:\d\d:\d\d)")


class SinmdmFailed(RuntimeError):
    """The command line is missing or failed; the message is one line for the user."""


def executable(preference: str = "") -> list[str]:
    """The command to run: the add-on's preference, else $SINMDM_EXECUTABLE (either may
    carry arguments, e.g. ``/venv/bin/python -m sinmdm``), else ``sinmdm`` on PATH."""
    for text in (preference, os.environ.get(ENVIRONMENT, "")):
        if text.strip():
            return shlex.split(text)
    found = shutil.which("sinmdm")
    if found is None:
        raise SinmdmFailed(
            "the sinmdm command line was not found: install it (pip install sinmdm), or set its path in the "
            f"add-on's preferences or in {ENVIRONMENT}"
        )
    return [found]


def run(args: list[str], preference: str = "") -> str:
    """Run ``sinmdm ARGS`` to the end; its standard output, or :class:`SinmdmFailed`."""
    command = executable(preference) + [str(a) for a in args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, errors="replace")
    except OSError as exc:
        raise SinmdmFailed(f"cannot run {command[0]}: {exc.strerror or exc}") from None
    if done.returncode != 0:
        raise SinmdmFailed(error_line(done.stderr, done.returncode))
    return done.stdout


def start(args: list[str], preference: str = "") -> subprocess.Popen:
    """Start ``sinmdm ARGS`` in the background, its output and errors merged into one
    text pipe (read it for :func:`progress` and :func:`error_line`)."""
    command = executable(preference) + [str(a) for a in args]
    env = dict(os.environ, PYTHONUNBUFFERED="1")  # progress lines as they come, not in blocks
    try:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                                env=env)
    except OSError as exc:
        raise SinmdmFailed(f"cannot run {command[0]}: {exc.strerror or exc}") from None


def error_line(output: str, code: int) -> str:
    """The one line that says why a command failed: its own error line, else its last
    line of output."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith("sinmdm: error:"):
            return line[len("sinmdm: error:") :].strip()
    return lines[-1] if lines else f"sinmdm stopped with exit code {code}"


def progress(line: str) -> Optional[tuple[int, str]]:
    """(step, ETA or '') from a line of `sinmdm train`'s progress, or None."""
    step = STEP.search(line)
    if step is None:
        return None
    eta = ETA.search(line)
    return int(step.group(1)), eta.group(1) if eta else ""
