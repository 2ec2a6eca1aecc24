# SPDX-License-Identifier: GPL-3.0-or-later
"""Arrangement: repeats, drops, reorders, per-section mutes and fades, on the beat grid and
without clicks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from app.core.arrangement import Arrangement, SectionPlay
from app.core.errors import RecipeError
from app.core.policy import Policy, evaluate
from app.core.recipe import Recipe, StemMix
from app.core.track import Section, StemInfo, TrackInfo
from app.engine.mixer import Mixer
from app.engine.offline import render
from tests.helpers.audio import SAMPLE_RATE

SECTION_S = 1.0  # four sections of exactly one second (two bars at 120 BPM... one bar at 240)


def _track() -> TrackInfo:
    sections = tuple(Section(n, i * SECTION_S, (i + 1) * SECTION_S)
                     for i, n in enumerate(("intro", "verse", "chorus", "outro")))  # fmt: skip
    return TrackInfo(
        id="t", version=1, title="T", artist="A", bpm=120, key="C major", time_signature="4/4",
        sample_rate=SAMPLE_RATE, frames=4 * SAMPLE_RATE, sections=sections,
        stems=(StemInfo("a"), StemInfo("b")),
    )  # fmt: skip


def _stems() -> dict[str, np.ndarray]:
    """Stem ``a`` plays a different pitch in each section; ``b`` is a steady low tone."""
    t = np.arange(4 * SAMPLE_RATE) / SAMPLE_RATE
    pitch = np.repeat([220.0, 330.0, 440.0, 550.0], SAMPLE_RATE)
    a = 0.3 * np.sin(2 * np.pi * np.cumsum(pitch) / SAMPLE_RATE)
    b = 0.2 * np.sin(2 * np.pi * 110.0 * t)
    return {k: np.ascontiguousarray(np.stack([v, v], 1).astype(np.float32)) for k, v in
            (("a", a), ("b", b))}  # fmt: skip


def _recipe(**arrangement: object) -> Recipe:
    return Recipe("t", 1, "r", {"a": StemMix(), "b": StemMix()}).with_arrangement(**arrangement)


def _play(*sections: int | SectionPlay) -> tuple[SectionPlay, ...]:
    return tuple(s if isinstance(s, SectionPlay) else SectionPlay(s) for s in sections)


def _render(recipe: Recipe) -> np.ndarray:
    return render(_stems(), SAMPLE_RATE, recipe, track=_track())


def _click_peak(audio: np.ndarray) -> float:
    """Peak of the signal above 8 kHz: our tones live far below, a click does not."""
    sos = butter(4, 8000, "highpass", fs=SAMPLE_RATE, output="sos")
    return float(np.abs(sosfilt(sos, audio[:, 0])).max())


def test_the_identity_arrangement_is_the_track_sample_for_sample() -> None:
    plain = Recipe("t", 1, "r", {"a": StemMix(), "b": StemMix()})
    np.testing.assert_array_equal(_render(plain), _render(_recipe(sections=_play(0, 1, 2, 3))))


def test_a_repeated_section_repeats_sample_exactly_and_lengthens_the_track() -> None:
    out = _render(_recipe(sections=_play(0, 1, 1, 3)))
    assert out.shape[0] == 4 * SAMPLE_RATE
    second, third = out[SAMPLE_RATE : 2 * SAMPLE_RATE], out[2 * SAMPLE_RATE : 3 * SAMPLE_RATE]
    xf = 240  # past the crossfade at the join, the repeat is the section again, exactly
    np.testing.assert_array_equal(second[xf:], third[xf:])
    longer = _render(_recipe(sections=_play(0, 1, 2, 2, 3)))
    assert longer.shape[0] == 5 * SAMPLE_RATE


def test_dropping_and_reordering_sections() -> None:
    out = _render(_recipe(sections=_play(2, 0)))
    assert out.shape[0] == 2 * SAMPLE_RATE
    reference = _render(Recipe("t", 1, "r", {"a": StemMix(), "b": StemMix()}))
    np.testing.assert_array_equal(out[1000:SAMPLE_RATE], reference[2 * SAMPLE_RATE + 1000 :
                                                                   3 * SAMPLE_RATE])  # fmt: skip


@pytest.mark.parametrize("order", [(0, 2), (1, 1), (3, 0), (2, 1, 0)])
def test_no_click_at_an_edit_point(order: tuple[int, ...]) -> None:
    out = _render(_recipe(sections=_play(*order)))
    smooth = _render(Recipe("t", 1, "r", {"a": StemMix(), "b": StemMix()}))
    # The written track changes pitch at section boundaries too: an edit may be no worse.
    assert _click_peak(out) <= 1.5 * _click_peak(smooth) + 1e-3


def test_per_section_mutes_silence_a_stem_for_that_section_only() -> None:
    recipe = _recipe(sections=_play(0, SectionPlay(1, ("a",)), 2, 3))
    out = _render(recipe)
    b_only = _render(Recipe("t", 1, "r", {"a": StemMix(mute=True), "b": StemMix()}))
    inside = slice(SAMPLE_RATE + 500, 2 * SAMPLE_RATE - 500)
    np.testing.assert_allclose(out[inside], b_only[inside], atol=1e-6)
    assert np.abs(out[2 * SAMPLE_RATE + 500 : 3 * SAMPLE_RATE] - b_only[2 * SAMPLE_RATE + 500 :
                  3 * SAMPLE_RATE]).max() > 0.1  # fmt: skip
    assert _click_peak(out) <= 1.5 * _click_peak(b_only + 0) + 0.01


def test_fades_in_and_out() -> None:
    out = _render(_recipe(fade_in_s=0.5, fade_out_s=1.0))
    plain = _render(Recipe("t", 1, "r", {"a": StemMix(), "b": StemMix()}))
    assert np.abs(out[:48]).max() < 0.01
    assert np.abs(out[-48:]).max() < 0.01
    np.testing.assert_array_equal(out[SAMPLE_RATE:-SAMPLE_RATE], plain[SAMPLE_RATE:-SAMPLE_RATE])
    # Half-way through an equal-power fade the level is sin(45 degrees) of the original.
    middle = slice(-SAMPLE_RATE // 2 - 200, -SAMPLE_RATE // 2 + 200)
    ratio = np.abs(out[middle]).max() / np.abs(plain[middle]).max()
    assert ratio == pytest.approx(np.sqrt(0.5), abs=0.03)


def test_playback_block_by_block_equals_the_render() -> None:
    recipe = _recipe(sections=_play(0, SectionPlay(2, ("b",)), 1, 1), fade_out_s=0.3)
    mixer = Mixer(_stems(), SAMPLE_RATE, recipe, track=_track())
    live = np.zeros((mixer.frames, 2), dtype=np.float32)
    for start in range(0, mixer.frames, mixer.block_frames):
        mixer.render(start, live[start : start + mixer.block_frames])
    np.testing.assert_array_equal(live, _render(recipe))


def test_the_policy_checks_every_section_and_the_length() -> None:
    policy = Policy.from_dict({"stems": {"a": {"solo": False}, "b": {"solo": True}},
                               "min_audible_stems": 2, "max_length_s": 5})  # fmt: skip
    alone = _recipe(sections=_play(0, SectionPlay(1, ("b",))))
    assert "the a stem may not be heard on its own" in evaluate(policy, alone).reasons
    thin = _recipe(sections=_play(0, SectionPlay(1, ("a",))))
    assert evaluate(policy, thin).allowed
    assert not evaluate(policy, thin, publishing=True).allowed
    long = _recipe(sections=_play(*([1] * 6)))
    assert any("allows at most 5 s" in r for r in evaluate(policy, long, track=_track()).reasons)


def test_an_arrangement_that_does_not_fit_is_refused() -> None:
    with pytest.raises(RecipeError, match="no section 7"):
        _recipe(sections=_play(7)).check_fits(_track())
    with pytest.raises(RecipeError, match="unknown stems"):
        _recipe(sections=(SectionPlay(0, ("vocals",)),)).check_fits(_track())
    with pytest.raises(TypeError, match="integer"):
        Arrangement.from_dict({"sections": [{"section": "one"}]})


def test_the_loop_edges_fade_so_the_jump_back_does_not_click() -> None:
    from app.engine.output.loops import LOOP_FADE_FRAMES, fade_loop_edges

    loop = (1000, 5000)
    before_end = np.ones((512, 2), dtype=np.float32)
    fade_loop_edges(5000 - 512, before_end, loop, jumped=False)
    assert before_end[-1, 0] < 0.01 and before_end[0, 0] == 1.0
    after_jump = np.ones((512, 2), dtype=np.float32)
    fade_loop_edges(1000, after_jump, loop, jumped=True)
    assert after_jump[0, 0] < 0.01 and after_jump[LOOP_FADE_FRAMES, 0] == 1.0
    inside = np.ones((512, 2), dtype=np.float32)
    fade_loop_edges(2000, inside, loop, jumped=False)
    assert inside.min() == 1.0
