# SPDX-License-Identifier: GPL-3.0-or-later
"""The estimate of how long a remix takes to publish: its render here and its verification on
the platform, from its length, its heard stems and what is done to them."""

from __future__ import annotations

import pytest

from app.core.recipe import Recipe
from app.core.style_slot import StyleSlot
from app.core.track import Section, StemInfo, TrackInfo
from app.engine.stretched import StretchedSource
from app.studio.publishing import (
    LONG_S,
    VERIFY_EXTRA_S_PER_S,
    PublishEstimate,
    estimate,
    note_render,
)

RATE = 48_000
KINDS = ("drums", "bass", "keys", "lead", "pad", "vox", "fx", "perc")


def _track(seconds: float) -> TrackInfo:
    return TrackInfo(
        id="t", version=1, title="T", artist="A", bpm=120, key="C major", time_signature="4/4",
        sample_rate=RATE, frames=int(seconds * RATE),
        sections=(Section("a", 0.0, seconds / 2), Section("b", seconds / 2, seconds)),
        stems=tuple(StemInfo(kind) for kind in KINDS),
    )  # fmt: skip


def test_a_longer_retimed_transposed_or_styled_remix_is_estimated_longer() -> None:
    four_minutes, one_minute = _track(240.0), _track(60.0)
    plain = estimate(Recipe.default_for(four_minutes), four_minutes)
    assert plain.render_s > estimate(Recipe.default_for(one_minute), one_minute).render_s
    assert plain.verify_s == pytest.approx(plain.render_s + 240.0 * VERIFY_EXTRA_S_PER_S)
    retimed = estimate(Recipe.default_for(four_minutes).with_tempo(ratio=1.1), four_minutes)
    transposed = estimate(Recipe.default_for(four_minutes).with_tempo(key_shift=2), four_minutes)
    # 480 chunks of 0.5 s per stem, 8 stems, on the render's two threads, at the speed of a
    # chunk this process measured (Rubber Band's finer engine).
    stretching = 480 * 8 * StretchedSource.recent_make_s / 2
    assert transposed.mix_s == pytest.approx(plain.mix_s + stretching)
    assert retimed.mix_s < transposed.mix_s  # 10 % shorter
    assert transposed.long and transposed.render_s + transposed.verify_s > LONG_S
    styled = Recipe.default_for(four_minutes).with_stem("lead", style=StyleSlot("m", 1))
    assert estimate(styled, four_minutes).mix_s > plain.mix_s
    # A muted stem is not rendered.
    muted = Recipe.default_for(four_minutes).with_stem("pad", mute=True)
    assert estimate(muted, four_minutes).mix_s < plain.mix_s


def test_what_playback_and_the_platform_stretched_ahead_is_not_estimated_again() -> None:
    four_minutes = _track(240.0)
    plain = estimate(Recipe.default_for(four_minutes), four_minutes)
    retimed = Recipe.default_for(four_minutes).with_tempo(ratio=1.1)
    cold = estimate(retimed, four_minutes)
    half = estimate(retimed, four_minutes, stretched=0.5)
    ahead = estimate(retimed, four_minutes, stretched=1.0, platform_stretched=True)
    assert cold.render_s > half.render_s > ahead.render_s
    assert half.verify_s == pytest.approx(cold.verify_s)  # the platform still stretches it all
    # All stretched on both sides: a plain mix of the retimed remix's (shorter) length.
    assert ahead.render_s == pytest.approx(plain.render_s / 1.1, rel=1e-3)
    assert ahead.verify_s == pytest.approx(
        ahead.render_s + 240.0 / 1.1 * VERIFY_EXTRA_S_PER_S, rel=1e-3
    )


def test_the_estimate_follows_the_speed_this_process_measured() -> None:
    track = _track(60.0)
    recipe = Recipe.default_for(track)
    before = estimate(recipe, track)
    try:
        note_render(recipe, track, mix_s=4.0 * before.mix_s, finish_s=before.render_s)
        after = estimate(recipe, track)
        assert after.mix_s == pytest.approx(4.0 * before.mix_s)
        assert after.render_s == pytest.approx(4.0 * before.mix_s + before.render_s)
        # A retimed render does not say how fast a plain mix is.
        note_render(recipe.with_tempo(ratio=1.1), track, mix_s=99.0, finish_s=before.render_s)
        assert estimate(recipe, track).mix_s == pytest.approx(after.mix_s)
    finally:  # the speeds as they were, for the tests after this one
        note_render(recipe, track, before.mix_s, before.render_s - before.mix_s)


def test_the_sentence_rounds_as_a_person_would() -> None:
    assert PublishEstimate(10.0, 23.4, 31.7).sentence() == (
        "This remix takes about 23 s to render and 32 s to verify."
    )
    assert PublishEstimate(100.0, 131.0, 0.2).sentence() == (
        "This remix takes about 130 s to render and 1 s to verify."
    )
    assert not PublishEstimate(1.0, 8.0, 9.0).long
