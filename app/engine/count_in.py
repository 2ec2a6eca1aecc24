# SPDX-License-Identifier: GPL-3.0-or-later
"""The count-in before a take, and finding it again in what the input recorded.

The count-in is a bar of clicks played through the output before the track comes in. Each click
is a short burst of seeded noise (a woodblock-like tick): its autocorrelation is one narrow
peak, so where the input heard it (a loopback, or a microphone near the speakers) is found to
the frame. That measures the whole round trip, output and input latency together, for this
very take; a take that did not hear its count-in (headphones) falls back on the stream clocks
and the last round trip measured.
"""

from __future__ import annotations

import numpy as np

from app.engine.kernel import CHANNELS

CLICK_S = 0.012
ACCENT_GAIN = 0.5  # beat one
BEAT_GAIN = 0.3  # the others
#: Normalised correlation above which the count-in counts as heard (unrelated audio: < 0.1).
HEARD_CORRELATION = 0.3


def clicks(bpm: float, beats: int, sample_rate: int) -> np.ndarray:
    """A count-in of ``beats`` beats at ``bpm``: float32 (beats * beat frames, 2)."""
    beat = round(sample_rate * 60.0 / bpm)
    length = round(CLICK_S * sample_rate)
    from scipy import signal  # here: it takes about 2 s to import, and few sessions record

    noise = np.random.default_rng(20261205).standard_normal(length)
    # Band-limited to 1-6 kHz: crisp on small speakers, far from the hum and rumble a
    # microphone picks up; then a fast decay.
    sos = signal.butter(4, (1000, 6000), btype="bandpass", fs=sample_rate, output="sos")
    tick = signal.sosfilt(sos, noise) * np.exp(-np.arange(length) / (0.003 * sample_rate))
    tick /= np.max(np.abs(tick))
    out = np.zeros((beat * beats, CHANNELS), dtype=np.float32)
    for i in range(beats):
        gain = ACCENT_GAIN if i == 0 else BEAT_GAIN
        out[i * beat : i * beat + length] = (gain * tick)[:, None]
    return out


def find(recorded: np.ndarray, pattern: np.ndarray, *, search: int) -> int | None:
    """The frame of ``recorded`` (float32 (n, channels)) where ``pattern`` (the count-in as
    played) begins, looked for in its first ``search`` frames; None when it is not there."""
    from scipy import signal

    mono = recorded.mean(axis=1, dtype=np.float64)
    ref = pattern.mean(axis=1, dtype=np.float64)
    span = mono[: search + ref.shape[0]]
    if span.shape[0] < ref.shape[0]:
        return None
    corr = signal.correlate(span, ref, mode="valid", method="fft")
    # Each lag's correlation over the energies it compares (a loud passage is no better match).
    energy = np.convolve(span * span, np.ones(ref.shape[0]), mode="valid")
    norm = corr / (np.sqrt(np.maximum(energy, 1e-20)) * np.sqrt(np.sum(ref * ref)))
    lag = int(np.argmax(norm))
    return lag if norm[lag] >= HEARD_CORRELATION else None
