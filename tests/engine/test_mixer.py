# SPDX-License-Identifier: GPL-3.0-or-later
"""The mixer, listened to through numbers: levels, channels, clicks, the limiter, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.recipe import Recipe, StemMix
from app.engine.mixer import Mixer
from app.engine.offline import render
from tests.helpers.audio import SAMPLE_RATE, rms_db, sine

STEMS = {
    "drums": sine(110.0, 2.0, 0.2),
    "bass": sine(55.0, 2.0, 0.2),
    "keys": sine(440.0, 2.0, 0.2),
}


def _recipe(**stems: StemMix) -> Recipe:
    return Recipe("song", 1, "t", {k: StemMix() for k in STEMS} | stems)


def _render(recipe: Recipe, stems: dict | None = None) -> np.ndarray:
    return render(stems or STEMS, SAMPLE_RATE, recipe)


def _only(kind: str, recipe: Recipe) -> np.ndarray:
    """Render with only ``kind`` carrying signal, to measure one strip."""
    silent = {k: np.zeros_like(v) for k, v in STEMS.items()}
    return _render(recipe, silent | {kind: STEMS[kind]})


def test_fader_sets_the_level_in_db() -> None:
    unity = rms_db(_only("keys", _recipe())[4800:])
    down = rms_db(_only("keys", _recipe(keys=StemMix(gain_db=-6.0)))[4800:])
    assert down - unity == pytest.approx(-6.0, abs=0.05)


def test_pan_hard_right_silences_the_left_channel() -> None:
    out = _only("keys", _recipe(keys=StemMix(pan=1.0)))[4800:]
    assert rms_db(out[:, 0]) < -120
    assert rms_db(out[:, 1]) == pytest.approx(rms_db(STEMS["keys"][4800:, 1]), abs=0.05)


def test_mute_and_solo_behave_like_a_mixing_desk() -> None:
    muted = _only("keys", _recipe(keys=StemMix(mute=True)))
    assert np.max(np.abs(muted)) == 0.0
    # Soloing bass silences the others; soloing two keeps both.
    solo = _render(_recipe(bass=StemMix(solo=True)))
    np.testing.assert_allclose(
        solo, _render(_recipe(drums=StemMix(mute=True), keys=StemMix(mute=True)))
    )
    both = _render(_recipe(bass=StemMix(solo=True), keys=StemMix(solo=True)))
    np.testing.assert_allclose(both, _render(_recipe(drums=StemMix(mute=True))))


def test_fader_moves_are_ramped_not_stepped() -> None:
    # A DC stem makes any step visible: the change from 1.0 to 0.25 must spread over a block.
    dc = {"drums": np.full((SAMPLE_RATE, 2), 0.5, dtype=np.float32)}
    mixer = Mixer(dc, SAMPLE_RATE, Recipe("s", 1, "t", {"drums": StemMix()}))
    out = np.zeros((2048, 2), dtype=np.float32)
    mixer.render(0, out[:512])
    mixer.set_recipe(Recipe("s", 1, "t", {"drums": StemMix(gain_db=-12.0)}))
    for start in range(512, 2048, 512):
        mixer.render(start, out[start : start + 512])
    steps = np.abs(np.diff(out[:, 0]))
    assert steps.max() < 0.002  # 0.5 * 0.75 spread over 512 samples is ~0.0007 per sample
    assert out[-1, 0] == pytest.approx(0.5 * 10 ** (-12 / 20), rel=1e-3)


def test_limiter_holds_the_ceiling() -> None:
    hot = {k: sine(hz, 1.0, 0.9) for k, hz in (("drums", 100.0), ("bass", 101.0), ("keys", 99.0))}
    out = render(hot, SAMPLE_RATE, _recipe().with_master(gain_db=6.0))
    assert np.max(np.abs(out)) <= 10 ** (-1.0 / 20) + 1e-6
    assert rms_db(out) > -12  # limited, not silenced


def test_offline_render_is_repeatable_and_equals_block_by_block_playback() -> None:
    recipe = _recipe(drums=StemMix(gain_db=-3.0, pan=-0.5), keys=StemMix(gain_db=2.0))
    first, second = _render(recipe), _render(recipe)
    np.testing.assert_array_equal(first, second)
    mixer = Mixer(STEMS, SAMPLE_RATE, recipe)  # what the real-time feeder does
    live = np.zeros_like(first)
    for start in range(0, live.shape[0], mixer.block_frames):
        mixer.render(start, live[start : start + mixer.block_frames])
    np.testing.assert_array_equal(first, live)


def test_meters_report_per_stem_and_master_peaks() -> None:
    mixer = Mixer(STEMS, SAMPLE_RATE, _recipe(drums=StemMix(mute=True)))
    mixer.render(0, np.zeros((512, 2), dtype=np.float32))
    peaks = dict(zip([*mixer.names, "master"], mixer.peaks, strict=True))
    assert peaks["drums"] == 0.0
    assert 0.05 < peaks["keys"] <= 0.2 + 1e-6
    assert peaks["master"] > 0.0
