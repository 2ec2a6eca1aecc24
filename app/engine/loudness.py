# SPDX-License-Identifier: GPL-3.0-or-later
"""Loudness normalisation of a finished render: -14 LUFS integrated, true peak <= -1 dBTP.

A derivative gets one make-up gain to the target loudness (pyloudnorm, BS.1770), then a
look-ahead true-peak limiter (peaks measured on a 4x oversampled copy, as BS.1770 describes)
holds the ceiling; a peaky mix is limited rather than left quiet. Deterministic: the client and
the platform compute the same result from the same render.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr

TARGET_LUFS = -14.0
TRUE_PEAK_CEILING_DBTP = -1.0
# The 24-bit FLAC encode rounds samples; aim a little under the ceiling so the file stays under.
TRUE_PEAK_MARGIN_DB = 0.05
OVERSAMPLE = 4
SILENCE_LUFS = -70.0
LIMITER_WINDOW_S = 0.005
LUFS_TOLERANCE = 0.1
PASSES = 4


@dataclass(frozen=True)
class Loudness:
    """Measurements of a render: integrated loudness (LUFS) and true peak (dBTP)."""

    integrated_lufs: float
    true_peak_dbtp: float


def measure(audio: np.ndarray, sample_rate: int) -> Loudness:
    """Integrated loudness and true peak of float32 (frames, 2) audio."""
    if audio.shape[0] < int(0.4 * sample_rate):  # shorter than one gating block
        return Loudness(SILENCE_LUFS, true_peak_dbtp(audio, sample_rate))
    # Imported here: pyloudnorm loads scipy.signal (about 2 s), and every command line and
    # window start imports this module without measuring anything.
    import pyloudnorm

    lufs = float(pyloudnorm.Meter(sample_rate).integrated_loudness(audio.astype(np.float64)))
    return Loudness(lufs if np.isfinite(lufs) else SILENCE_LUFS, true_peak_dbtp(audio, sample_rate))


def true_peak_dbtp(audio: np.ndarray, sample_rate: int) -> float:
    """The peak of a 4x oversampled copy, in dB true peak."""
    if audio.size == 0:
        return -np.inf
    upsampled = soxr.resample(audio, sample_rate, sample_rate * OVERSAMPLE, quality="HQ")
    peak = float(np.max(np.abs(upsampled)))
    return 20.0 * np.log10(peak) if peak > 0.0 else -np.inf


def _true_peak_envelope(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Per frame, the highest oversampled peak near it (both channels): shape (frames,)."""
    upsampled = soxr.resample(audio, sample_rate, sample_rate * OVERSAMPLE, quality="HQ")
    frames = audio.shape[0]
    peaks = np.abs(upsampled[: frames * OVERSAMPLE]).reshape(-1, OVERSAMPLE, audio.shape[1])
    envelope = np.zeros(frames, dtype=np.float64)
    envelope[: peaks.shape[0]] = peaks.max(axis=(1, 2))
    return envelope


def limit_true_peak(audio: np.ndarray, sample_rate: int, ceiling_dbtp: float) -> np.ndarray:
    """A look-ahead true-peak limiter for a whole render (offline, deterministic).

    The gain needed at each frame is spread by a minimum filter of twice the window and
    smoothed by a moving average of the window, so the gain falls over ``LIMITER_WINDOW_S``
    before a peak and recovers over the same time after it, and is at or below what every peak
    needs. A final trim catches the rounding of the oversampling.
    """
    ceiling = 10.0 ** (ceiling_dbtp / 20.0)
    envelope = _true_peak_envelope(audio, sample_rate)
    needed = np.minimum(1.0, ceiling / np.maximum(envelope, 1e-12))
    if needed.min() >= 1.0:
        return audio
    from scipy.ndimage import minimum_filter1d, uniform_filter1d  # 0.4 s to import: when used

    window = max(1, int(LIMITER_WINDOW_S * sample_rate))
    held = minimum_filter1d(needed, size=2 * window + 1, mode="nearest")
    gain = uniform_filter1d(held, size=window + 1, mode="nearest")
    out: np.ndarray = (audio * gain[:, None]).astype(np.float32)
    excess = true_peak_dbtp(out, sample_rate) - ceiling_dbtp
    if excess > 0.0:
        out *= np.float32(10.0 ** (-(excess + 0.005) / 20.0))
    return out


def normalise(
    audio: np.ndarray,
    sample_rate: int,
    *,
    target_lufs: float = TARGET_LUFS,
    ceiling_dbtp: float = TRUE_PEAK_CEILING_DBTP,
) -> tuple[np.ndarray, float]:
    """Bring a render to ``target_lufs`` with its true peak at most ``ceiling_dbtp``.

    Gain to the target, then the true-peak limiter; limiting lowers the loudness a little, so
    the gain is corrected and the pass repeated (at most ``PASSES`` times).

    Returns:
        (normalised float32 copy, total make-up gain in dB before limiting). Silence is
        returned unchanged.
    """
    before = measure(audio, sample_rate)
    if before.integrated_lufs <= SILENCE_LUFS:
        return audio.copy(), 0.0
    gain_db = target_lufs - before.integrated_lufs
    out = audio
    for _ in range(PASSES):
        scaled = (audio * np.float32(10.0 ** (gain_db / 20.0))).astype(np.float32)
        out = limit_true_peak(scaled, sample_rate, ceiling_dbtp - TRUE_PEAK_MARGIN_DB)
        shortfall = target_lufs - measure(out, sample_rate).integrated_lufs
        if abs(shortfall) <= LUFS_TOLERANCE:
            break
        gain_db += shortfall
    return out, float(gain_db)
