# SPDX-License-Identifier: GPL-3.0-or-later
"""Placing an excerpt in the remix it was recorded from: its speed and its offset.

Informed watermark detection (``app.server.watermark``) compares an excerpt with the remix's
own audio, so it must first undo what a recording did to time: a cut (the excerpt starts
anywhere), a speed change (tape-like, ±3.5 %), a codec's delay. Two stages:

1. Coarse: onset envelopes at 100 frames a second, the excerpt's stretched over a grid of
   speeds (0.1 % apart, then 0.01 %), each cross-correlated with the remix's (normalised, by
   FFT): the best speed and offset to about 10 ms.
2. Fine: the excerpt resampled to that speed (soxr), then one-second blocks cross-correlated
   with the remix's waveform within ±30 ms; a weighted line through the blocks' lags gives the
   residual speed and the offset to a sample.

Signals are mono float32.
"""

from __future__ import annotations

import itertools

import numpy as np

#: The speeds searched: 1 ± this.
MAX_SPEED_CHANGE = 0.035
#: Envelope frame (samples at 48 kHz): 100 frames a second.
ENVELOPE_HOP = 480
#: Below this normalised envelope correlation, the excerpt is not from this remix.
MIN_CORRELATION = 0.25
#: Fine search: block length and the lag searched either side (samples at 48 kHz).
BLOCK = 48_000
SEARCH = 1_440


def _onsets(mono: np.ndarray) -> np.ndarray:
    """Onset strength at 100 Hz: the positive change of log energy in 8 bands, summed."""
    frames = len(mono) // ENVELOPE_HOP
    if frames < 4:
        return np.zeros(0, dtype=np.float64)
    framed = mono[: frames * ENVELOPE_HOP].reshape(frames, ENVELOPE_HOP).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(framed * np.hanning(ENVELOPE_HOP), axis=1)) ** 2
    edges = np.geomspace(3, ENVELOPE_HOP // 2, 9).astype(int)  # ~300 Hz .. 24 kHz
    bands = np.stack([spectrum[:, a:b].sum(axis=1) for a, b in itertools.pairwise(edges)], 1)
    level = np.log(bands + 1e-10)
    flux = np.maximum(np.diff(level, axis=0, prepend=level[:1]), 0.0).sum(axis=1)
    return flux - flux.mean()


def _best_lag(reference: np.ndarray, probe: np.ndarray) -> tuple[int, float]:
    """Where ``probe`` best matches ``reference`` (normalised cross-correlation by FFT): (lag,
    correlation), the lag being the reference index of the probe's first element; at least
    half of the probe must lie over the reference."""
    p, r = len(probe), len(reference)
    padded = np.concatenate((np.zeros(p), reference, np.zeros(p)))
    size = 1 << (len(padded) + p).bit_length()
    corr = np.fft.irfft(np.fft.rfft(padded, size) * np.conj(np.fft.rfft(probe, size)), size)
    corr = corr[: len(padded) - p + 1]
    energy = np.concatenate(([0.0], np.cumsum(padded**2)))
    local = energy[p:] - energy[:-p]
    score = corr / np.sqrt(np.maximum(local * float(np.sum(probe**2)), 1e-12))
    lags = np.arange(len(corr)) - p
    overlap = np.minimum(lags + p, r) - np.maximum(lags, 0)
    score[overlap < min(p, r) / 2] = -1.0
    best = int(np.argmax(score))
    return int(lags[best]), float(score[best])


def _coarse(reference: np.ndarray, excerpt: np.ndarray) -> tuple[float, int, float]:
    """(speed, offset in samples, correlation) from the onset envelopes."""
    ref_env, exc_env = _onsets(reference), _onsets(excerpt)
    if len(exc_env) < 100 or len(ref_env) < 100:
        return 1.0, 0, 0.0
    positions = np.arange(len(exc_env), dtype=np.float64)

    def trial(speed: float) -> tuple[int, float]:
        # The excerpt's envelope on the remix's time scale: frame k of it is at k * speed.
        stretched = np.interp(np.arange(0.0, len(exc_env) * speed) / speed, positions, exc_env)
        return _best_lag(ref_env, stretched)

    best = (1.0, 0, -1.0)
    for grid in (
        np.arange(1 - MAX_SPEED_CHANGE, 1 + MAX_SPEED_CHANGE + 1e-9, 0.001),
        None,
    ):
        speeds = grid if grid is not None else best[0] + np.arange(-0.001, 0.00101, 0.0001)
        for speed in speeds:
            lag, score = trial(float(speed))
            if score > best[2]:
                best = (float(speed), lag, score)
    return best[0], best[1] * ENVELOPE_HOP, best[2]


def _resample(mono: np.ndarray, speed: float, rate: int) -> np.ndarray:
    """``mono`` at ``rate`` Hz, played ``speed`` times as fast as the remix, back on the
    remix's time scale at 48 kHz."""
    import soxr  # imported here: only tracing needs it

    return np.asarray(soxr.resample(mono, rate / speed, 48_000, quality="HQ"), dtype=np.float32)


def _fine(reference: np.ndarray, aligned: np.ndarray, first: int) -> tuple[float, float] | None:
    """A line ``lag(n) = a + b n`` through the blocks' best lags: (a, b), or None."""
    points, lags, weights = [], [], []
    for start in range(0, len(aligned) - BLOCK + 1, BLOCK):
        lo = first + start - SEARCH
        if lo < 0 or lo + BLOCK + 2 * SEARCH > len(reference):
            continue
        block = aligned[start : start + BLOCK].astype(np.float64)
        window = reference[lo : lo + BLOCK + 2 * SEARCH].astype(np.float64)
        size = 1 << (len(window) + BLOCK).bit_length()
        corr = np.fft.irfft(np.fft.rfft(window, size) * np.conj(np.fft.rfft(block, size)), size)
        corr = corr[: 2 * SEARCH + 1]
        peak = int(np.argmax(corr))
        strength = float(corr[peak]) / max(
            float(np.sqrt(np.sum(block**2) * np.sum(window[peak : peak + BLOCK] ** 2))), 1e-12
        )
        if strength > 0.3:
            points.append(start + BLOCK / 2)
            lags.append(peak - SEARCH)
            weights.append(strength)
    if len(points) < 2:
        return (float(np.median(lags)), 0.0) if points else None
    t, lag, weight = np.array(points), np.array(lags, float), np.array(weights)
    for _ in range(3):  # refit without the blocks far off the line (a repeated bar, a miss)
        b, a = np.polyfit(t, lag, 1, w=weight)
        keep = np.abs(lag - (a + b * t)) <= max(4.0, 3 * np.median(np.abs(lag - (a + b * t))))
        if keep.all() or keep.sum() < 2:
            break
        t, lag, weight = t[keep], lag[keep], weight[keep]
    return float(a), float(b)


def align(
    reference: np.ndarray, excerpt: np.ndarray, rate: int, reference_rate: int
) -> tuple[np.ndarray, int] | None:
    """Place ``excerpt`` (mono, at ``rate`` Hz) in ``reference`` (mono, at ``reference_rate``
    = 48000 Hz): the excerpt resampled onto the reference's timeline and the reference sample
    its first sample falls on; None when it does not match the reference."""
    if reference_rate != 48_000:
        raise ValueError("The reference is read at 48 kHz.")
    at_ref_rate = _resample(excerpt, 1.0, rate) if rate != 48_000 else excerpt
    speed, first, score = _coarse(reference, at_ref_rate)
    if score < MIN_CORRELATION:
        return None
    aligned = _resample(excerpt, speed, rate)
    line = _fine(reference, aligned, first)
    if line is None:
        return aligned, first
    a, b = line
    # Once more from the original, at the corrected speed: one resampling, not two.
    aligned = _resample(excerpt, speed * (1.0 + b), rate)
    return aligned, first + round(a)
