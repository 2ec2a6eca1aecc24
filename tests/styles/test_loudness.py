# SPDX-License-Identifier: GPL-3.0-or-later
"""The piecewise loudness meter gives pyloudnorm's integrated loudness, however it is fed."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest

from app.styles.loudness import LoudnessMeter


@pytest.mark.parametrize("rate", [16_000, 48_000])
@pytest.mark.parametrize("seconds", [0.9, 3.3, 12.0])
def test_pieces_measure_what_pyloudnorm_measures_on_the_whole(rate: int, seconds: float) -> None:
    rng = np.random.default_rng(rate + int(seconds * 10))
    frames = int(seconds * rate)
    # Rising noise with a quiet stretch: both gates have something to do.
    audio = rng.standard_normal((frames, 2)) * np.geomspace(1e-4, 0.5, frames)[:, None]
    expected = pyloudnorm.Meter(rate).integrated_loudness(audio)
    meter = LoudnessMeter(rate, 2)
    for start in range(0, frames, 7_777):
        meter.add(audio[start : start + 7_777])
    assert meter.integrated() == pytest.approx(expected, abs=1e-9)


def test_a_mono_signal_on_both_sides_counts_twice_and_silence_is_minus_infinity() -> None:
    rate = 16_000
    mono = 0.1 * np.sin(2 * np.pi * 440 * np.arange(2 * rate) / rate)
    both = pyloudnorm.Meter(rate).integrated_loudness(np.stack([mono, mono], 1))
    meter = LoudnessMeter(rate, 1, copies=2)
    meter.add(mono[:, None])
    assert meter.integrated() == pytest.approx(both, abs=1e-9)
    silent = LoudnessMeter(rate, 1)
    silent.add(np.zeros((rate, 1)))
    assert silent.integrated() == float("-inf")
