"""The sampling plan on several clips: every frame of every chosen clip once per pass, no
piece across two clips, sequences in order with free transitions, and their parsing."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from sinmdm.anim.clipset import ClipSet
from sinmdm.base.errors import SinmdmError
from sinmdm.sampling.plan import (
    Plan,
    Span,
    parse_sequence,
    sequence_captions,
    shuffled_plans,
    transition_weight,
)


def frames_of(plans: np.ndarray) -> np.ndarray:
    return plans[..., 0].astype(int)


def test_a_plan_of_two_clips_plays_each_frame_of_both_once_per_pass():
    a = np.arange(60, dtype=np.float64)[:, None] * np.ones((1, 2))
    b = (1000 + np.arange(40, dtype=np.float64))[:, None] * np.ones((1, 2))
    plans = frames_of(shuffled_plans([a, b], 4, 200, 10, np.random.default_rng(0)))
    whole = sorted(list(range(60)) + list(range(1000, 1040)))
    for plan in plans:
        for start in (0, 100):
            assert sorted(plan[start : start + 100]) == whole
        pieces = np.split(plan[:100], np.flatnonzero(np.diff(plan[:100]) != 1) + 1)
        for piece in pieces:  # a piece never runs from one clip into the other
            assert (piece < 1000).all() or (piece >= 1000).all()
    firsts = {tuple(p[:100]) for p in plans}
    assert len(firsts) == 4


def test_a_plan_of_one_clip_is_the_one_clip_plan_it_always_was():
    # The same draws as before several clips existed: the pinned outputs depend on them.
    clip = np.arange(100, dtype=np.float64)[:, None]
    plans = frames_of(shuffled_plans([clip], 2, 120, 20, np.random.default_rng(3)))
    rng = np.random.default_rng(3)
    share = rng.dirichlet(np.ones(5)) * (100 - 5 * 10)
    ends = np.cumsum(10 + np.floor(share).astype(np.int64))
    ends[-1] = 100
    starts = np.concatenate([[0], ends[:-1]])
    first = np.concatenate([np.arange(starts[k], ends[k]) for k in rng.permutation(5)])
    assert np.array_equal(plans[0, :100], first)


def test_transitions_leave_the_borders_to_the_model():
    w = transition_weight([30, 30, 30], 10, loop=False)
    assert w.shape == (90,)
    assert w[29] < 0.05 and w[30] < 0.05 and w[59] < 0.05 and w[60] < 0.05
    assert np.all(w[:24] == 1) and np.all(w[36:54] == 1) and np.all(w[66:] == 1)
    looped = transition_weight([30, 30], 10, loop=True)
    assert looped[0] < 0.05 and looped[-1] < 0.05  # the seam is a border too
    assert np.all(transition_weight([30, 30], 0, loop=False) == 1)


def fake_clips() -> ClipSet:
    motion = SimpleNamespace(n_frames=90)
    return ClipSet(("walk", "roar"), (motion, motion))


def test_a_sequence_is_parsed_by_clip_name_and_length():
    spans = parse_sequence("walk:2s, roar:45,walk:0.5x", fake_clips(), 30.0)
    assert spans == (Span(0, 60), Span(1, 45), Span(0, 45))
    plan = Plan(sequence=spans, transition=10)
    assert plan.frames == 150
    captions = sequence_captions(plan, ("walk", "roar"))
    assert len(captions) == 150 and captions[0] == "walk" and captions[70] == "roar"
    assert captions[58] == "walk > roar" and captions[62] == "walk > roar"


@pytest.mark.parametrize("text, message", [
    ("fly:2s", "no clip called 'fly' in this run: its clips are walk, roar"),
    ("walk:2q", "--sequence length of walk '2q' is not understood"),
    ("walk", "'walk' is not CLIP:LENGTH"),
    ("walk:2s,", "'' is not CLIP:LENGTH"),
    ("walk:1", "must come to a whole number of frames, at least 2"),
])
def test_bad_sequences_are_refused_with_one_line(text, message):
    with pytest.raises(SinmdmError, match=message.replace("(", r"\(").replace("'", "'")):
        parse_sequence(text, fake_clips(), 30.0)
