# SPDX-License-Identifier: GPL-3.0-or-later
"""Loudness normalisation of derivatives: -14 LUFS, true peak at most -1 dBTP."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.recipe import Recipe, StemMix
from app.engine.loudness import measure, normalise, true_peak_dbtp
from app.engine.offline import render, render_derivative
from tests.helpers.audio import SAMPLE_RATE, sine


def _noise(seconds: float, level: float, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((int(seconds * SAMPLE_RATE), 2)) * level).astype(np.float32)


@pytest.mark.parametrize("level", [0.01, 0.05, 0.2])
def test_a_mix_comes_out_at_minus_14_lufs(level: float) -> None:
    out, _ = normalise(_noise(5.0, level), SAMPLE_RATE)
    result = measure(out, SAMPLE_RATE)
    assert result.integrated_lufs == pytest.approx(-14.0, abs=0.1)
    assert result.true_peak_dbtp <= -1.0


def test_a_peaky_mix_reaches_the_target_with_its_peaks_limited() -> None:
    # A quiet bed with loud spikes: gain alone would push the spikes far past the ceiling.
    audio = _noise(5.0, 0.02)
    audio[:: SAMPLE_RATE // 4] = 0.9
    out, gain_db = normalise(audio, SAMPLE_RATE)
    result = measure(out, SAMPLE_RATE)
    assert gain_db > 6.0
    assert result.integrated_lufs == pytest.approx(-14.0, abs=0.1)
    assert result.true_peak_dbtp <= -1.0
    # The limiter touches only the neighbourhood of the spikes: the bed between is gain only.
    bed = slice(SAMPLE_RATE // 8 - 2000, SAMPLE_RATE // 8 + 2000)
    np.testing.assert_allclose(out[bed], audio[bed] * 10 ** (gain_db / 20), rtol=2e-3, atol=1e-6)


def test_the_true_peak_sees_inter_sample_peaks() -> None:
    # A sine at a quarter of the rate, phased so every sample misses its crest by 45 degrees.
    n = np.arange(SAMPLE_RATE)
    tone = np.sin(2 * np.pi * n / 4 + np.pi / 4).astype(np.float32)
    audio = np.stack([tone, tone], axis=1) * np.float32(0.5)
    sample_peak_db = 20 * np.log10(np.abs(audio).max())
    assert true_peak_dbtp(audio, SAMPLE_RATE) > sample_peak_db + 2.5  # ~3 dB above


def test_silence_is_left_alone() -> None:
    silence = np.zeros((SAMPLE_RATE * 2, 2), dtype=np.float32)
    out, gain_db = normalise(silence, SAMPLE_RATE)
    assert gain_db == 0.0 and not out.any()


def test_a_quiet_smooth_mix_is_the_heard_render_times_one_gain() -> None:
    stems = {"a": np.ascontiguousarray(sine(220.0, 3.0, 0.1))}
    recipe = Recipe("s", 1, "t", {"a": StemMix(gain_db=-3.0)})
    heard = render(stems, SAMPLE_RATE, recipe)
    published, gain_db = render_derivative(stems, SAMPLE_RATE, recipe)
    # A sine at -14 LUFS peaks near -11 dBTP: no limiting, one gain.
    np.testing.assert_allclose(published, heard * 10 ** (gain_db / 20), rtol=1e-5, atol=1e-7)
    repeat, _ = render_derivative(stems, SAMPLE_RATE, recipe)
    np.testing.assert_array_equal(published, repeat)
