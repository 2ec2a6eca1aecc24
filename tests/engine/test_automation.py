# SPDX-License-Identifier: GPL-3.0-or-later
"""Automation: moves recorded while playing land on the block where they were heard, and the
render plays them back there, sample for sample."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.automation import make_move
from app.core.effects import Eq, StemFx
from app.core.recipe import Recipe, StemMix
from app.engine.mixer import Mixer
from app.engine.offline import render
from tests.helpers.audio import SAMPLE_RATE
from tests.helpers.playback import play_blocks


def _stems(seconds: float = 3.0) -> dict[str, np.ndarray]:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    out = {}
    for name, hz in (("a", 220.0), ("b", 330.0), ("c", 495.0)):
        wave = 0.2 * np.sin(2 * np.pi * hz * t)
        out[name] = np.ascontiguousarray(np.stack([wave, wave], 1).astype(np.float32))
    return out


def _recipe() -> Recipe:
    return Recipe("t", 1, "r", {k: StemMix() for k in ("a", "b", "c")})


def test_live_moves_are_recorded_where_heard_and_the_render_reproduces_the_playback() -> None:
    stems = _stems()
    mixer = Mixer(stems, SAMPLE_RATE, _recipe())
    heard = np.zeros((mixer.frames, 2), dtype=np.float32)
    recipe = mixer.recipe
    # Play from 0.3 s (after a seek: off the grid), ride the fader, EQ and mute while playing.
    mixer.reset(14_400)
    edits = [
        (30_000, ("a", {"gain_db": -6.0})),
        (50_000, ("b", {"fx": StemFx(eq=Eq(high_db=-9.0))})),
        (70_000, ("c", {"mute": True})),
        (90_000, ("master", {"gain_db": -3.0})),
        (110_000, ("c", {"mute": False})),
    ]
    position = 14_400
    for at, live in edits:
        play_blocks(mixer, position, at, heard)
        position = at
        recipe = mixer.set_recipe(recipe, live=live)
    play_blocks(mixer, position, mixer.frames, heard)
    # Each move sits on the grid at the first block that started after the edit.
    frames = [m.frame for m in recipe.automation]
    assert frames == [30_208, 50_176, 70_144, 90_112, 110_080]
    assert all(f % 512 == 0 for f in frames)
    rendered = render(stems, SAMPLE_RATE, recipe)
    # The playback started 0.3 s in; from there on the render is what was heard.
    np.testing.assert_array_equal(heard[14_400:], rendered[14_400:])
    # And it audibly did what was asked: c silent between its mute and unmute.
    assert np.abs(rendered[75_000:105_000]).max() < np.abs(rendered[40_000:60_000]).max()


def test_a_fixed_recipe_renders_the_same_every_time_and_equals_playback() -> None:
    stems = _stems()
    recipe = _recipe().with_moves(
        (make_move(20_480, "a", {"pan": -1.0}), make_move(61_440, "b", {"solo": True}))
    )
    first = render(stems, SAMPLE_RATE, recipe)
    second = render(stems, SAMPLE_RATE, recipe)
    np.testing.assert_array_equal(first, second)
    mixer = Mixer(stems, SAMPLE_RATE, recipe)
    heard = np.zeros_like(first)
    play_blocks(mixer, 0, mixer.frames, heard)
    np.testing.assert_array_equal(heard, first)
    # The solo at 61 440 leaves only b: its 330 Hz is all there is after it.
    after = first[70_000:100_000, 0]
    spectrum = np.abs(np.fft.rfft(after))
    peak_hz = np.argmax(spectrum) * SAMPLE_RATE / len(after)
    assert peak_hz == pytest.approx(330.0, abs=2.0)
    assert spectrum[round(220.0 * len(after) / SAMPLE_RATE)] < spectrum.max() / 100


def test_seeking_into_automation_plays_the_mix_of_that_moment() -> None:
    stems = _stems()
    recipe = _recipe().with_moves((make_move(20_480, "a", {"gain_db": -60.0}),))
    rendered = render(stems, SAMPLE_RATE, recipe)
    mixer = Mixer(stems, SAMPLE_RATE, recipe)
    heard = np.zeros_like(rendered)
    mixer.reset(40_960)
    play_blocks(mixer, 40_960, 60_000, heard)
    np.testing.assert_array_equal(heard[40_960:60_000], rendered[40_960:60_000])
    assert mixer.mix_at(40_960)[0]["a"].gain_db == -60.0
    assert mixer.mix_at(0)[0]["a"].gain_db == 0.0
