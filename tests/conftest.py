"""Shared fixtures: the real clips, and tiny synthetic BVH files built in the tests."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path | None:
    """``$SINMDM_DATA`` or ``../shared/data`` beside the checkout, if present."""
    candidates = [os.environ.get("SINMDM_DATA"), ROOT.parent / "shared" / "data"]
    for c in candidates:
        if c and Path(c).is_dir():
            return Path(c)
    return None


def real_clips() -> list[Path]:
    folder = data_dir()
    return sorted(folder.rglob("*.bvh")) if folder else []


@pytest.fixture(scope="session")
def clips() -> list[Path]:
    found = real_clips()
    if not found:
        if os.environ.get("CI"):
            pytest.fail("real clips not found: set SINMDM_DATA or put shared/data beside the checkout")
        pytest.skip("real clips not found (set SINMDM_DATA)")
    return found


def clip_params() -> list:
    """One pytest param per real clip, so failures name the clip; CI insists on them."""
    found = real_clips()
    if found:
        return [pytest.param(p, id=f"{p.parent.name}/{p.stem}") for p in found]
    mark = pytest.mark.skipif(not os.environ.get("CI"), reason="real clips not found (set SINMDM_DATA)")
    return [pytest.param(None, id="no-data", marks=mark)]


def tool(name: str, hint: str) -> str:
    """An executable on PATH; without it the test fails under CI and is skipped elsewhere."""
    import shutil

    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} not found: {hint}")
        pytest.skip(f"{name} not found ({hint})")
    return found


def require(path: Path | None) -> Path:
    if path is None:
        pytest.fail("real clips not found: set SINMDM_DATA or put shared/data beside the checkout")
    return path


# A small creature: root with 6 channels, a 0-channel joint, 3-channel joints in several
# rotation orders, a non-root joint with position channels, and End Sites.
def synthetic_bvh(
    frames: int = 12,
    *,
    seed: int = 0,
    newline: str = "\n",
    brace_on_joint_line: bool = False,
    end_site_word: str = "End Site",
    frames_sep: str = " ",
    trailing_newline: bool = True,
    number_format: str = "{:.6f}",
    prefix: str = "",
    frame_time: str = "0.0333333",
    smooth: bool = False,
) -> str:
    rng = np.random.default_rng(seed)
    joints = [
        # name, parent index, offset, channels
        ("Hips", -1, (0, 10, 0), "Xposition Yposition Zposition Zrotation Xrotation Yrotation"),
        ("Spine", 0, (0, 3, 0.5), "Xrotation Yrotation Zrotation"),
        ("Head", 1, (0, 4, 0), "Yrotation Xrotation Zrotation"),
        ("Fixed", 0, (1, 0, 0), ""),
        ("LeftLeg", 0, (1.5, -1, 0), "Zrotation Yrotation Xrotation"),
        ("LeftFoot", 4, (0, -8, 0.2), "Xposition Yposition Zposition Xrotation Zrotation Yrotation"),
        ("RightLeg", 0, (-1.5, -1, 0), "Yrotation Zrotation Xrotation"),
        ("RightFoot", 6, (0, -8, 0.2), "Xrotation Yrotation Zrotation"),
    ]
    open_line = " {" if brace_on_joint_line else ""
    lines = ["HIERARCHY"]
    depth = {}
    children = {i: [c for c, j in enumerate(joints) if j[1] == i] for i in range(len(joints))}

    def emit(i: int, level: int) -> None:
        name, parent, offset, chans = joints[i]
        pad = "\t" * level
        keyword = "ROOT" if parent < 0 else "JOINT"
        lines.append(f"{pad}{keyword} {prefix}{name}{open_line}")
        if not brace_on_joint_line:
            lines.append(f"{pad}{{")
        lines.append(f"{pad}\tOFFSET " + " ".join(number_format.format(v) for v in offset))
        count = len(chans.split())
        lines.append(f"{pad}\tCHANNELS {count} {chans}".rstrip())
        for c in children[i]:
            emit(c, level + 1)
        if not children[i]:
            lines.extend([f"{pad}\t{end_site_word}", f"{pad}\t{{", f"{pad}\t\tOFFSET 0 -1 0.5", f"{pad}\t}}"])
        lines.append(f"{pad}}}")
        depth[i] = level

    emit(0, 0)
    width = sum(len(j[3].split()) for j in joints)
    if smooth:  # sinusoids of a few periods: something a model can learn
        t = np.arange(frames)[:, None]
        period = rng.uniform(15, 40, size=(1, width))
        values = 40 * np.sin(2 * np.pi * t / period + rng.uniform(0, 6, size=(1, width)))
        values[:, 0] = 0.3 * t[:, 0]  # walk along X
        values[:, 1:3] = [10, 0] + 0.5 * values[:, 1:3] / 40
    else:
        values = rng.uniform(-60, 60, size=(frames, width))
        values[:, 0:3] = rng.uniform(-5, 5, size=(frames, 3)) + [0, 10, 0]
    lines += ["MOTION", f"Frames:{frames_sep}{frames}", f"Frame Time: {frame_time}"]
    lines += [" ".join(number_format.format(v) for v in row) for row in values]
    text = newline.join(lines)
    return text + newline if trailing_newline else text


@pytest.fixture
def write_clip(tmp_path: Path):
    """Write text (or bytes) to a file in the test's folder and return its path."""

    def write(content: str | bytes, name: str = "clip.bvh") -> Path:
        path = tmp_path / name
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path

    return write
