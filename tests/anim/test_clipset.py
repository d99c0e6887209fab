"""Several clips of one creature: names, the one-skeleton check, rates, and the clips laid
end to end."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import synthetic_bvh

from sinmdm.anim.clipset import clip_names, read_clips
from sinmdm.base.errors import SinmdmError


def test_names_are_file_stems_made_unique_and_safe(tmp_path):
    paths = [tmp_path / "a" / "walk.bvh", tmp_path / "b" / "walk.bvh", tmp_path / "roar loud!.bvh"]
    assert clip_names(paths) == ["walk", "walk-2", "roar_loud_"]


def test_clips_on_another_skeleton_are_refused_naming_the_joints(write_clip):
    good = write_clip(synthetic_bvh(40, seed=1, smooth=True), "walk.bvh")
    other = write_clip(synthetic_bvh(40, seed=2, smooth=True, prefix="x_"), "roar.bvh")
    with pytest.raises(SinmdmError, match=r"roar\.bvh: not on the skeleton of .*walk\.bvh: missing joints Hips"):
        read_clips([good, other], None, None)


def test_clips_at_another_rate_are_resampled_to_the_first_ones(write_clip):
    first = write_clip(synthetic_bvh(40, seed=1, smooth=True), "walk.bvh")
    fast = write_clip(synthetic_bvh(81, seed=2, smooth=True, frame_time="0.0166667"), "idle.bvh")
    clips = read_clips([first, fast], None, None)
    assert clips.names == ("walk", "idle")
    assert [m.fps for m in clips.motions] == [30.0, 30.0]
    assert [m.n_frames for m in clips.motions] == [40, 41]
    assert clips.bounds.tolist() == [0, 40, 81] and clips.shortest == 40
    assert all(m.skeleton is clips.motions[0].skeleton for m in clips.motions)  # one body size


def test_selecting_clips_by_name(write_clip):
    paths = [write_clip(synthetic_bvh(30, seed=s, smooth=True), f"c{s}.bvh") for s in range(3)]
    clips = read_clips(paths, None, None)
    assert clips.select(None) == [0, 1, 2] and clips.select(["c2", "c0"]) == [2, 0]
    with pytest.raises(SinmdmError, match="no clip called 'c9' in this run: its clips are c0, c1, c2"):
        clips.select(["c9"])
    with pytest.raises(SinmdmError, match="names a clip twice"):
        clips.select(["c1", "c1"])


def test_joined_clips_continue_along_the_ground(write_clip):
    paths = [write_clip(synthetic_bvh(30, seed=s, smooth=True), f"c{s}.bvh") for s in range(2)]
    clips = read_clips(paths, None, None)
    joined = clips.joined()
    assert joined.n_frames == 60
    root = joined.translations[:, 0]
    assert np.allclose(root[30, [0, 2]], root[29, [0, 2]])  # the second clip starts where the first ended
    assert np.allclose(root[30:, 1], clips.motions[1].translations[:, 0, 1])  # heights are the clip's own
    assert np.array_equal(joined.rotations[30:], clips.motions[1].rotations)
