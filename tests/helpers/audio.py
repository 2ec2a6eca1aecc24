# SPDX-License-Identifier: GPL-3.0-or-later
"""Test signals (cached stereo sines) and their level."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

SAMPLE_RATE = 48_000


@lru_cache(maxsize=32)
def _sine(hz: float, seconds: float, amplitude: float, sample_rate: int) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    mono = (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    out = np.stack([mono, mono], axis=1)
    out.flags.writeable = False
    return out


def sine(hz: float, seconds: float = 1.0, amplitude: float = 0.5, sample_rate: int = SAMPLE_RATE):
    """A cached stereo sine, float32 (frames, 2); copy before writing."""
    return _sine(hz, seconds, amplitude, sample_rate)


def rms_db(audio: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(audio, dtype=np.float64))) + 1e-12))
