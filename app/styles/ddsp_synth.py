# SPDX-License-Identifier: GPL-3.0-or-later
"""The numpy half of a DDSP timbre model: conditioning features and harmonic + noise synthesis.

The ONNX decoder turns per-frame (f0, loudness) into controls; everything here is plain numpy so
that it is exact, deterministic and cheap. The training script (``models/train/ddsp_train.py``)
uses the *same* formulas in torch, and its tests compare the two.

Conventions (model rate ``sr``, usually 16 kHz, hop ``hop`` samples):

* Frame ``n`` is centred on sample ``n * hop``; a signal of ``N`` samples has ``N // hop + 1``
  frames.
* Between frame centres ``n * hop`` and ``(n + 1) * hop`` every control (f0, harmonic amplitudes,
  noise band magnitudes) moves linearly from frame ``n``'s value to frame ``n + 1``'s.
* The oscillator phase at frame centres, :func:`frame_phase`, is summed once over the whole stem
  in float64, so a chunk rendered alone starts at the phase the continuous signal has.
* Noise for frame ``n`` is a hash of the global sample index (:func:`frame_noise`): the same
  frame gets the same noise whichever chunk asked for it.
"""

from __future__ import annotations

import numpy as np

LOUDNESS_FLOOR_DB = -100.0  # the loudness feature of digital silence (dB re full-scale power)
LOUDNESS_N_FFT = 512  # analysis window of the loudness feature at the model rate


LOUDNESS_BLOCK_FRAMES = 500  # frames per FFT call in loudness_db (5 s at hop 160)


def a_weighting(freqs_hz: np.ndarray) -> np.ndarray:
    """IEC 61672 A-weighting as a power gain (linear), for ``freqs_hz`` (any shape)."""
    f2 = np.square(np.asarray(freqs_hz, dtype=np.float64))
    num = (12194.0**2) * f2 * f2
    den = (f2 + 20.6**2) * np.sqrt((f2 + 107.7**2) * (f2 + 737.9**2)) * (f2 + 12194.0**2)
    gain = num / np.maximum(den, 1e-30)
    return np.square(gain) * 10 ** (2.0 / 10)  # +2.0 dB: unity at 1 kHz


def loudness_db(audio: np.ndarray, sr: int, hop: int) -> np.ndarray:
    """A-weighted power per frame in dB re full scale (a 1 kHz sine of peak 1 reads -3 dB).

    Args:
        audio: float mono (N,) at ``sr``.
    Returns:
        float32 (N // hop + 1,), clipped below at :data:`LOUDNESS_FLOOR_DB`.
    """
    n_fft = LOUDNESS_N_FFT
    frames = len(audio) // hop + 1
    padded = np.zeros(frames * hop + n_fft, dtype=np.float64)
    padded[n_fft // 2 : n_fft // 2 + len(audio)] = audio
    # Frame n covers [n*hop - n_fft/2, n*hop + n_fft/2): centred on sample n*hop.
    view = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop][:frames]
    window = np.hanning(n_fft + 1)[:-1]
    weights = a_weighting(np.fft.rfftfreq(n_fft, 1.0 / sr))
    scale = 2.0 / (n_fft * np.sum(window**2))
    power = np.empty(frames)
    # A few seconds of frames at a time: the same numbers as all at once, without a whole
    # stem's spectra in memory (a 4-minute stem would be ~250 MB) or one long FFT call.
    for lo in range(0, frames, LOUDNESS_BLOCK_FRAMES):
        spectrum = np.fft.rfft(view[lo : lo + LOUDNESS_BLOCK_FRAMES] * window, axis=1)
        power[lo : lo + LOUDNESS_BLOCK_FRAMES] = (np.square(np.abs(spectrum)) @ weights) * scale
    db: np.ndarray = np.maximum(10 * np.log10(power + 1e-12), LOUDNESS_FLOOR_DB)
    return db.astype(np.float32)


def scale_f0(f0_hz: np.ndarray) -> np.ndarray:
    """The decoder's pitch input: MIDI note / 127 (float32, same shape)."""
    midi: np.ndarray = 69.0 + 12.0 * np.log2(np.maximum(f0_hz, 1.0) / 440.0)
    return (midi / 127.0).astype(np.float32)


def scale_loudness(db: np.ndarray) -> np.ndarray:
    """The decoder's loudness input: dB mapped from [floor, 0] to [0, 1] (float32)."""
    return ((np.asarray(db) - LOUDNESS_FLOOR_DB) / -LOUDNESS_FLOOR_DB).astype(np.float32)


def frame_phase(f0_hz: np.ndarray, sr: int, hop: int) -> np.ndarray:
    """Oscillator phase (radians in [0, 2π), float64) at each frame centre, starting at 0.

    With f0 linear between frame centres, the phase advance from frame n to n + 1 is
    ``2π/sr · (hop·f[n] + (f[n+1] - f[n])·(hop - 1)/2)`` (the sum of the per-sample
    frequencies); summing it in float64 keeps the phase exact over hours.
    """
    f0 = np.asarray(f0_hz, dtype=np.float64)
    step = 2 * np.pi / sr * (hop * f0[:-1] + (f0[1:] - f0[:-1]) * (hop - 1) / 2)
    return np.mod(np.concatenate(([0.0], np.cumsum(step))), 2 * np.pi)


def harmonic_amplitudes(
    amp: np.ndarray, harmonics: np.ndarray, f0_hz: np.ndarray, sr: int, brightness: float = 0.0
) -> np.ndarray:
    """Per-harmonic amplitudes per frame: the distribution tilted by ``brightness`` (harmonic k
    weighted by k**brightness), zeroed at and above Nyquist, normalised to sum 1, times amp.

    Args:
        amp: (F,) or (F, 1); harmonics: (F, K); f0_hz: (F,).
    Returns:
        float32 (F, K).
    """
    k = np.arange(1, harmonics.shape[-1] + 1, dtype=np.float32)
    dist = harmonics.astype(np.float32) * (k**brightness if brightness else 1.0)
    dist = np.where(f0_hz[:, None] * k[None, :] < sr / 2, dist, 0.0)
    dist = dist / np.maximum(dist.sum(axis=1, keepdims=True), 1e-7)
    weighted: np.ndarray = dist * np.reshape(amp, (-1, 1))
    return weighted.astype(np.float32)


def harmonic_signal(
    partials: np.ndarray, f0_hz: np.ndarray, phase: np.ndarray, sr: int, hop: int
) -> np.ndarray:
    """Sum of sines between the first and last frame centre.

    Args:
        partials: (F, K) amplitudes from :func:`harmonic_amplitudes`.
        f0_hz: (F,) and phase: (F,) radians at the same frames (:func:`frame_phase`).
    Returns:
        float32 ((F - 1) * hop,): samples from frame 0's centre up to frame F-1's centre.
    """
    f0 = np.asarray(f0_hz, dtype=np.float64)
    j = np.arange(hop, dtype=np.float64)
    slope = (f0[1:] - f0[:-1])[:, None]
    inner = 2 * np.pi / sr * (j[None, :] * f0[:-1, None] + slope * (j * (j - 1) / (2 * hop)))
    phi = np.mod(phase[:-1, None] + inner, 2 * np.pi).astype(np.float32)  # (F-1, hop)
    # Only as many harmonics as can sound below Nyquist here (the rest are zero anyway).
    active = np.flatnonzero(np.any(partials != 0, axis=0))
    count = int(active[-1]) + 1 if active.size else 0
    if count == 0:
        return np.zeros((len(f0) - 1) * hop, dtype=np.float32)
    k = np.arange(1, count + 1, dtype=np.float32)
    sines = np.sin(phi[:, :, None] * k)  # (F-1, hop, count)
    start = partials[:-1, :count, None]
    delta = partials[1:, :count, None] - start
    ramp = (j / hop).astype(np.float32)
    out: np.ndarray = np.matmul(sines, start)[..., 0] + ramp * np.matmul(sines, delta)[..., 0]
    return out.reshape(-1).astype(np.float32)


def frame_noise(frames: np.ndarray, hop: int) -> np.ndarray:
    """Uniform noise in [-1, 1), (len(frames), 2*hop) float32: a hash (SplitMix64) of the
    global sample index, so it depends on nothing but the frame number."""
    index = np.asarray(frames, dtype=np.int64).astype(np.uint64)[:, None] * np.uint64(2 * hop)
    z = index + np.arange(2 * hop, dtype=np.uint64)[None, :] + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return ((z >> np.uint64(40)).astype(np.float32) * np.float32(2.0 / 2**24) - 1.0).astype(
        np.float32
    )


def band_matrix(n_bands: int, hop: int) -> np.ndarray:
    """(hop + 1, n_bands) float32: linear interpolation from band magnitudes (evenly spaced
    from 0 Hz to Nyquist) to the rfft bins of a 2*hop window."""
    bins = np.linspace(0.0, n_bands - 1, hop + 1)
    eye = np.eye(n_bands)
    return np.stack([np.interp(bins, np.arange(n_bands), row) for row in eye], axis=1).astype(
        np.float32
    )


def noise_window(hop: int) -> np.ndarray:
    """Sine window of 2*hop samples: overlapping halves sum to unit *power*, so independent
    noise frames overlap-add without a level ripple."""
    return np.sin(np.pi * (np.arange(2 * hop) + 0.5) / (2 * hop)).astype(np.float32)


def noise_signal(
    magnitudes: np.ndarray, frames: np.ndarray, hop: int, tilt: float = 0.0
) -> np.ndarray:
    """Filtered noise between the first and last frame centre.

    Each frame's noise (2*hop samples centred on the frame) is filtered by its band
    magnitudes in the frequency domain (zero phase), windowed, and overlap-added.

    Args:
        magnitudes: (F, B) band magnitudes; frames: (F,) global frame numbers.
        tilt: brightness; the bands, low to high, weighted by 0.25 … 1.75 (linearly) to the
            power ``tilt`` (0: unchanged).
    Returns:
        float32 ((F - 1) * hop,): samples from frame 0's centre up to frame F-1's centre.
    """
    bands = magnitudes.shape[1]
    mags = magnitudes.astype(np.float32)
    if tilt:
        mags = mags * (np.linspace(0.25, 1.75, bands, dtype=np.float32) ** tilt)
    response = mags @ band_matrix(bands, hop).T  # (F, hop + 1)
    filtered = np.fft.irfft(np.fft.rfft(frame_noise(frames, hop), axis=1) * response, n=2 * hop)
    segments = (filtered * noise_window(hop)).astype(np.float32)  # (F, 2*hop)
    # Frame n spans [(n-1)*hop, (n+1)*hop); the output spans [frames[0]*hop, frames[-1]*hop).
    out: np.ndarray = segments[:-1, hop:] + segments[1:, :hop]
    return out.reshape(-1).astype(np.float32)
