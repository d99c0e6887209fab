"""BVH reading and writing: every quirk of real files, canonical output, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import synthetic_bvh

from sinmdm.anim.bvh import motion_to_channels, parse_bvh, read_bvh, write_bvh
from sinmdm.base.errors import BVHError, SinmdmError

FRAMES = 12


def assert_round_trip(path, tmp_path) -> None:
    """read -> write -> read reproduces every world position within 1e-5 of the height."""
    first = read_bvh(path)
    out = tmp_path / "out.bvh"
    write_bvh(out, first)
    second = read_bvh(out)
    assert second.skeleton.difference(first.skeleton) is None
    assert second.n_frames == first.n_frames
    assert second.frame_time == pytest.approx(first.frame_time, rel=1e-9)
    err = np.abs(second.world_positions() - first.world_positions()).max()
    assert err <= 1e-5 * first.skeleton.size


def test_mixed_channel_counts_and_orders(write_clip, tmp_path):
    motion = read_bvh(write_clip(synthetic_bvh(FRAMES)))
    sk = motion.skeleton
    assert motion.n_frames == FRAMES
    assert [len(c) for c in sk.channels] == [6, 3, 3, 0, 3, 6, 3, 3]
    assert [sk.rotation_order(j) for j in range(sk.n_joints)] == ["ZXY", "XYZ", "YXZ", "", "ZYX", "XZY", "YZX", "XYZ"]
    assert len(sk.end_site_parents) == 4
    assert_round_trip(write_clip(synthetic_bvh(FRAMES)), tmp_path)


def test_rotation_channels_follow_the_file_order(write_clip):
    """``Zrotation Xrotation Yrotation`` means R = Rz @ Rx @ Ry (scipy's intrinsic "ZXY")."""
    from scipy.spatial.transform import Rotation

    text = synthetic_bvh(FRAMES)
    motion = read_bvh(write_clip(text))
    rows = np.array([[float(v) for v in line.split()] for line in text.strip().splitlines()[-FRAMES:]])
    expected = Rotation.from_euler("ZXY", rows[:, 3:6], degrees=True).as_matrix()
    np.testing.assert_allclose(motion.rotations[:, 0], expected, atol=1e-12)
    # LeftFoot: 6 channels, rotation "XZY" after its positions.
    start = 6 + 3 + 3 + 3
    expected = Rotation.from_euler("XZY", rows[:, start + 3 : start + 6], degrees=True).as_matrix()
    np.testing.assert_allclose(motion.rotations[:, 5], expected, atol=1e-12)


def test_position_channels_on_a_non_root_joint_replace_its_offset(write_clip):
    text = synthetic_bvh(FRAMES)
    motion = read_bvh(write_clip(text))
    rows = np.array([[float(v) for v in line.split()] for line in text.strip().splitlines()[-FRAMES:]])
    start = 6 + 3 + 3 + 3  # LeftFoot's first channel
    np.testing.assert_allclose(motion.translations[:, 5], rows[:, start : start + 3])
    np.testing.assert_allclose(motion.translations[:, 1], np.broadcast_to([0, 3, 0.5], (FRAMES, 3)))


@pytest.mark.parametrize(
    "quirk",
    [
        dict(newline="\r\n"),
        dict(brace_on_joint_line=True),
        dict(end_site_word="End site"),
        dict(frames_sep="\t"),
        dict(number_format="{:.6e}"),
        dict(number_format="{:.4E}"),
        dict(prefix="mixamorig:"),
        dict(trailing_newline=False),
        dict(newline="\r\n", trailing_newline=False, brace_on_joint_line=True),
    ],
    ids=lambda q: ",".join(f"{k}={v!r}" for k, v in q.items()),
)
def test_quirks_read_and_round_trip(quirk, write_clip, tmp_path):
    plain = read_bvh(write_clip(synthetic_bvh(FRAMES), "plain.bvh"))
    path = write_clip(synthetic_bvh(FRAMES, **quirk))
    motion = read_bvh(path)
    assert motion.n_frames == FRAMES  # the last frame survives a missing trailing newline
    assert len(motion.skeleton.end_site_parents) == 4
    tol = 1e-3 * plain.skeleton.size if "number_format" in quirk else 1e-9
    np.testing.assert_allclose(motion.world_positions(), plain.world_positions(), atol=tol)
    assert_round_trip(path, tmp_path)


def test_numbers_without_leading_digit_and_with_exponents():
    text = "HIERARCHY\nROOT a\n{\n OFFSET .5 -.25 1e-008\n CHANNELS 3 Xposition Yposition Zposition\n}\n"
    text += "MOTION\nFrames: 2\nFrame Time: .0083333\n.1 -.2 3E+01\n1.5e-3 +2 -0.\n"
    motion = parse_bvh(text.encode())
    np.testing.assert_allclose(motion.skeleton.offsets[0], [0.5, -0.25, 1e-8])
    np.testing.assert_allclose(motion.translations[:, 0], [[0.1, -0.2, 30.0], [1.5e-3, 2.0, 0.0]])
    assert motion.frame_time == pytest.approx(0.0083333)


def test_prefixed_names_are_kept_verbatim(write_clip, tmp_path):
    motion = read_bvh(write_clip(synthetic_bvh(FRAMES, prefix="mixamorig7:")))
    assert motion.skeleton.names[0] == "mixamorig7:Hips"
    write_bvh(tmp_path / "out.bvh", motion)
    text = (tmp_path / "out.bvh").read_text()
    assert "ROOT mixamorig7:Hips\n" in text and "JOINT mixamorig7:LeftFoot\n" in text


def test_names_with_spaces_are_kept():
    text = "HIERARCHY\nROOT My Root {\n OFFSET 0 0 0\n CHANNELS 3 Xposition Yposition Zposition\n JOINT Left Arm\n {\n"
    text += "  OFFSET 1 0 0\n  CHANNELS 3 Zrotation Xrotation Yrotation\n  End Site\n  {\n   OFFSET 1 0 0\n  }\n }\n}\n"
    text += "MOTION\nFrames: 1\nFrame Time: 0.04\n0 0 0 0 0 0\n"
    assert parse_bvh(text.encode()).skeleton.names == ("My Root", "Left Arm")


def test_zero_channel_root(write_clip, tmp_path):
    """Blender exports can have a dummy root without channels above the real hips."""
    text = "HIERARCHY\nROOT Armature\n{\n OFFSET 0 0 0\n CHANNELS 0\n JOINT Hips\n {\n  OFFSET 0 1 0\n"
    text += "  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\n  End Site\n  {\n   OFFSET 0 1 0\n  }\n }\n}\n"
    text += "MOTION\nFrames: 3\nFrame Time: 0.04\n0 1 0 0 0 0\n1 1 0 90 0 0\n2 1 0 180 0 0\n"
    path = write_clip(text)
    motion = read_bvh(path)
    assert motion.skeleton.channels[0] == ()
    np.testing.assert_allclose(motion.world_positions()[:, 1], [[0, 1, 0], [1, 1, 0], [2, 1, 0]], atol=1e-12)
    assert_round_trip(path, tmp_path)


def test_written_file_has_the_canonical_layout(write_clip, tmp_path):
    path = write_clip(synthetic_bvh(FRAMES, brace_on_joint_line=True, newline="\r\n", frame_time="0.0083333"))
    write_bvh(tmp_path / "out.bvh", read_bvh(path))
    raw = (tmp_path / "out.bvh").read_bytes()
    assert b"\r" not in raw
    lines = raw.decode().splitlines()
    head = lines[: lines.index("MOTION")]
    for line in head:
        word = line.split()[0]
        assert word in {"HIERARCHY", "ROOT", "JOINT", "End", "OFFSET", "CHANNELS", "{", "}"}, line
        if word in "{}":
            assert line.strip() == word  # braces stand alone on their lines
    assert sum(line.strip() == "End Site" for line in head) == 4
    assert lines[lines.index("MOTION") + 1] == f"Frames: {FRAMES}"
    assert float(lines[lines.index("MOTION") + 2].split(":")[1]) == pytest.approx(0.0083333)
    assert len(lines) == lines.index("MOTION") + 3 + FRAMES


def test_euler_angles_are_unwrapped_over_time(tmp_path):
    """A root spinning two full turns must not jump at +-180 degrees."""
    frames = 73
    spin = np.linspace(0, 720, frames)
    rows = "\n".join(f"0 0 0 0 {y:.6f} 10" for y in spin)
    text = "HIERARCHY\nROOT r\n{\n OFFSET 0 0 0\n CHANNELS 6 Xposition Yposition Zposition Xrotation Yrotation Zrotation\n"
    text += f" End Site\n {{\n  OFFSET 0 1 1\n }}\n}}\nMOTION\nFrames: {frames}\nFrame Time: 0.04\n{rows}\n"
    motion = parse_bvh(text.encode())
    angles = motion_to_channels(motion)[:, 3:]
    assert np.abs(np.diff(angles, axis=0)).max() < 20
    write_bvh(tmp_path / "spin.bvh", motion)
    again = read_bvh(tmp_path / "spin.bvh")
    np.testing.assert_allclose(again.world_positions(), motion.world_positions(), atol=1e-6)


def test_motion_block_of_a_large_clip_parses_fast_enough_to_be_vectorised(tmp_path):
    """5,000 frames of the synthetic creature read in one pass (a per-joint scan would not)."""
    path = tmp_path / "long.bvh"
    path.write_text(synthetic_bvh(5000))
    assert read_bvh(path).n_frames == 5000


# ------------------------------------------------------------------ errors
def _error(text: str | bytes) -> BVHError:
    with pytest.raises(BVHError) as info:
        parse_bvh(text.encode() if isinstance(text, str) else text, "bad.bvh")
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("bad.bvh")
    return info.value


def _lines(text: str) -> list[str]:
    return text.splitlines()


def test_frame_count_disagreeing_with_header_names_the_line():
    lines = _lines(synthetic_bvh(FRAMES))
    frames_line = next(i for i, line in enumerate(lines) if line.startswith("Frames:"))
    lines[frames_line] = f"Frames: {FRAMES + 1}"
    err = _error("\n".join(lines) + "\n")
    assert "header says 13 frames but the file has 12" in err.problem
    assert err.line == len(lines)
    del lines[-1]
    lines[frames_line] = f"Frames: {FRAMES}"
    assert "header says 12 frames but the file has 11" in _error("\n".join(lines)).problem


def test_rows_beyond_the_header_count_are_all_read_as_blender_reads_them():
    lines = _lines(synthetic_bvh(FRAMES))
    frames_line = next(i for i, line in enumerate(lines) if line.startswith("Frames:"))
    lines[frames_line] = f"Frames: {FRAMES - 1}"  # an exporter that miscounts by one
    motion = parse_bvh(("\n".join(lines) + "\n").encode())
    assert motion.n_frames == FRAMES
    np.testing.assert_array_equal(motion.translations, parse_bvh(synthetic_bvh(FRAMES).encode()).translations)


def test_row_of_wrong_width_names_its_line():
    lines = _lines(synthetic_bvh(FRAMES))
    lines[-3] += " 1.0"
    err = _error("\n".join(lines) + "\n")
    assert err.line == len(lines) - 2
    assert "expected" in err.problem


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: "", "empty"),
        (lambda t: t.replace("HIERARCHY", "HIERARCHX"), "expected 'HIERARCHY'"),
        (lambda t: t.split("MOTION")[0], "no MOTION section"),
        (lambda t: t.replace("Frame Time: 0.0333333", "Frame Time: 0"), "frame time must be a positive"),
        (lambda t: t.replace("Frame Time: 0.0333333", "Frame Time: -1"), "frame time must be a positive"),
        (lambda t: t.replace("Frame Time: 0.0333333", "Frame Time: abc"), "not a number"),
        (lambda t: t.replace("Frame Time: 0.0333333\n", ""), "expected 'Frame Time:'"),
        (lambda t: t.replace("Frames: 12", "Frames: 0"), "no frames"),
        (lambda t: t.replace("Frames: 12", "Frames: twelve"), "not a whole number"),
        (lambda t: t.replace("Xrotation Yrotation Zrotation", "Xrotation Yrotation Wrotation", 1), "unknown channel"),
        (lambda t: t.replace("JOINT Head", "JOINT Spine"), "duplicate joint names"),
        (lambda t: t.replace("OFFSET 0.000000 4.000000 0.000000", "OFFSET 0 4"), "OFFSET"),
        (lambda t: t.replace("OFFSET 0.000000 4.000000 0.000000", "OFFSET 0 nan 0"), "non-finite"),
        (lambda t: t.replace("CHANNELS 3 Xrotation Yrotation Zrotation", "CHANNELS 2 Xrotation Yrotation"), "rotation"),
        (lambda t: t.rstrip() + " 12abc\n", "values, expected"),
        (lambda t: t.replace("MOTION", "}\nMOTION"), "outside of any joint"),
        (lambda t: t.replace("\tJOINT Spine\n\t{", "\tJOINT Spine\n\tOFFSET 1 1 1"), "expected '{'"),
    ],
    ids=[
        "empty",
        "not-bvh",
        "truncated-hierarchy",
        "zero-frame-time",
        "negative-frame-time",
        "bad-frame-time",
        "missing-frame-time",
        "no-frames",
        "bad-frame-count",
        "unknown-channel",
        "duplicate-names",
        "short-offset",
        "nan-offset",
        "two-rotation-channels",
        "extra-token",
        "extra-brace",
        "missing-brace",
    ],
)
def test_bad_files_give_one_line_errors(edit, message):
    assert message in str(_error(edit(synthetic_bvh(FRAMES))))


def test_nan_and_garbage_in_frames_name_their_line():
    lines = _lines(synthetic_bvh(FRAMES))
    row = lines[-2].split()
    row[4] = "nan"
    lines[-2] = " ".join(row)
    err = _error("\n".join(lines) + "\n")
    assert "NaN" in err.problem and err.line == len(lines) - 1
    row[4] = "1.2.3"
    lines[-2] = " ".join(row)
    err = _error("\n".join(lines) + "\n")
    assert "'1.2.3' is not a number" in err.problem and err.line == len(lines) - 1


def test_binary_and_non_utf8_input():
    assert "binary" in _error(b"\x00\x01\x02garbage\xff").problem
    text = synthetic_bvh(FRAMES).encode().replace(b"JOINT Head", b"JOINT He\xffad")
    err = _error(text)
    assert "UTF-8" in err.problem and err.line is not None


def test_missing_file_and_directory_errors(tmp_path):
    with pytest.raises(BVHError, match="no such file"):
        read_bvh(tmp_path / "missing.bvh")
    with pytest.raises(BVHError, match="directory"):
        read_bvh(tmp_path)


PROPER_EULER = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Zrotation
  JOINT Leg
  {
    OFFSET 0 -5 0
    CHANNELS 3 Yrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 -5 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.0333333
0 10 0 10 20 30 5 6 7
0 10 0 11 21 31 5 6 8
"""


def test_proper_euler_orders_read_as_scipy_and_round_trip(tmp_path):
    """A rotation axis named twice (ZXZ) is a proper Euler order, not a duplicate channel."""
    from scipy.spatial.transform import Rotation

    path = tmp_path / "zxz.bvh"
    path.write_text(PROPER_EULER)
    motion = read_bvh(path)
    assert [motion.skeleton.rotation_order(j) for j in range(2)] == ["ZXZ", "YXY"]
    np.testing.assert_allclose(motion.rotations[1, 0], Rotation.from_euler("ZXZ", [11, 21, 31], degrees=True).as_matrix(), atol=1e-12)
    np.testing.assert_allclose(motion.rotations[0, 1], Rotation.from_euler("YXY", [5, 6, 7], degrees=True).as_matrix(), atol=1e-12)
    write_bvh(tmp_path / "again.bvh", motion)
    again = read_bvh(tmp_path / "again.bvh")
    np.testing.assert_allclose(again.world_positions(), motion.world_positions(), atol=1e-6)


@pytest.mark.parametrize(
    "channels, message",
    [("Xposition Xposition Zposition Zrotation Xrotation Yrotation", "position channel twice"),
     ("Xposition Yposition Zposition Xrotation Xrotation Yrotation", "valid Euler order")],
)
def test_repeated_channels_that_are_no_euler_order_are_refused(tmp_path, channels, message):
    path = tmp_path / "bad.bvh"
    path.write_text(PROPER_EULER.replace("Xposition Yposition Zposition Zrotation Xrotation Zrotation", channels))
    with pytest.raises(SinmdmError, match=message):
        read_bvh(path)
