# SPDX-License-Identifier: GPL-3.0-or-later
"""The forensic watermark of walled streams: the DSP (embedding once, informed detection).

A published remix is cut into segments of ``SEGMENT_FRAMES`` samples. For every segment the
platform makes two variants once, at publication: ``A = x - w`` and ``B = x + w``, where ``w``
is a keyed spread-spectrum modulation of the music's own short-time spectrum. Each listener's
stream is a choice of A or B per segment (``app.server.segments``), so a recording of it carries
that listener's bits without any per-listener signal processing.

The modulation is the multiplicative spread spectrum of Cox, Kilian, Leighton and Shamoon,
"Secure spread spectrum watermarking for multimedia" (IEEE Trans. Image Processing 6(12),
1997): each coefficient ``v`` becomes ``v (1 + alpha s)``, with ``s = ±1`` pseudo-random from a
key. The coefficients are STFT magnitudes in 0.5–8 kHz, as audio spread-spectrum marks do
(Kirovski and Malvar, "Spread-spectrum watermarking of audio signals", IEEE Trans. Signal
Processing 51(4), 2003); the ±1 pattern over time-frequency tiles is the patchwork of Bender,
Gruhl, Morimoto and Lu, "Techniques for data hiding" (IBM Systems Journal 35(3/4), 1996), and
the A/B blocks with a keyed pattern are what audiowmark does. ``alpha`` follows the music:
per Bark band it is the tonal masking offset of Johnston, "Transform coding of audio signals
using perceptual noise criteria" (IEEE JSAC 6(2), 1988), ``-(14.5 + z)`` dB, so the mark sits
below the mask even of a pure tone in its own band.

Detection is informed: only the platform runs it, with the remix's unmarked audio at hand. It
finds the excerpt's speed and place in the remix, undoes them, and for each segment correlates
the excerpt's magnitudes minus the reference's with the segment's pattern: a soft bit, +1 for
B, -1 for A, near 0 where two copies were averaged. Embedding and detection run only here: the
pattern's key never leaves the platform.

Audio is float32 (frames, channels) at ``RATE`` Hz throughout.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import soxr
from scipy.ndimage import minimum_filter1d

from app.core.errors import AudioFormatError

#: The rate marks are made and read at (the platform's published remixes are 48 kHz).
RATE = 48_000
#: STFT window (sine window, 21.3 ms) and hop: 50 % overlap adds back perfectly.
WINDOW = 1024
HOP = WINDOW // 2
#: Samples per segment (1.365 s): 16 FLAC blocks of 4096, and 128 hops.
SEGMENT_FRAMES = 65_536
HOPS_PER_SEGMENT = SEGMENT_FRAMES // HOP
#: Where the mark lives (Hz): above most bass energy, below what MP3 at 128 kbit/s drops.
BAND_HZ = (500.0, 8000.0)
#: Samples faded in and out at each segment's edges: any splice of A and B is seamless there.
EDGE = 256
#: Extra margin under Johnston's tonal masking offset (dB).
MARGIN_DB = 3.0
#: Hops left out at each segment's edges when reading (the faded edges, and frames that
#: straddle into the neighbour, whose variant may differ).
READ_SKIP_HOPS = 2
#: The patchwork tiles: frames by bins sharing one sign.
TILE_HOPS = 4
TILE_BINS = 2
#: Bands of the reading, each weighted by its own noise.
WEIGHT_BANDS = 8

#: True peak as BS.1770 measures it: 4x oversampled, each block with this much real context.
OVERSAMPLE = 4
_OVERSAMPLE_CONTEXT = 512
#: How far under the headroom the true-peak hold keeps the mark where it holds it.
_TRUE_PEAK_TRIM = 0.98
#: What counts as passing the ceiling: under a 24-bit step, so float rounding does not.
_TRUE_PEAK_TOLERANCE = 2.0**-24

_BINS = np.arange(WINDOW // 2 + 1) * RATE / WINDOW
_BAND = np.flatnonzero((BAND_HZ[0] <= _BINS) & (BAND_HZ[1] >= _BINS))


def bark(hz: np.ndarray) -> np.ndarray:
    """Critical-band rate (Bark) of frequencies in Hz (Zwicker and Terhardt, 1980)."""
    return 13.0 * np.arctan(0.00076 * hz) + 3.5 * np.arctan((hz / 7500.0) ** 2)


#: Per band bin: the mark's relative depth ``alpha`` (a magnitude ratio), Johnston's tonal
#: masking offset ``-(14.5 + z)`` dB less ``MARGIN_DB``: -20.5 dB at 0.5 kHz, -37 dB at 8 kHz.
ALPHA = (10.0 ** (-(14.5 + bark(_BINS[_BAND]) + MARGIN_DB) / 20.0)).astype(np.float32)


def pattern(secret: bytes, first_hop: int, hops: int) -> np.ndarray:
    """The keyed ±1 pattern for global STFT frames ``[first_hop, first_hop + hops)``: int8
    (hops, band bins), constant over tiles of TILE_HOPS frames by TILE_BINS bins (the
    patchwork's patches). A tile's row depends only on the key and its index, so any stretch
    of the remix is made or read on its own; SHAKE-256 of the key, never leaving the platform."""
    rows = np.empty((hops, len(_BAND)), dtype=np.int8)
    tiles = -(-len(_BAND) // TILE_BINS)
    width = (tiles + 7) // 8
    cache: dict[int, np.ndarray] = {}
    for row in range(hops):
        tile = (first_hop + row) // TILE_HOPS
        if tile not in cache:
            stream = hashlib.shake_256(secret + tile.to_bytes(8, "big")).digest(width)
            bits = np.unpackbits(np.frombuffer(stream, dtype=np.uint8))[:tiles]
            cache[tile] = np.repeat(bits.astype(np.int8) * 2 - 1, TILE_BINS)[: len(_BAND)]
        rows[row] = cache[tile]
    return rows


def _window() -> np.ndarray:
    return np.sin(np.pi * (np.arange(WINDOW) + 0.5) / WINDOW).astype(np.float32)


_SINE = _window()


def _stft(mono: np.ndarray) -> np.ndarray:
    """Frames centred every HOP samples from sample 0 of ``mono`` (which must carry HOP samples
    of context before and after): complex (frames, bins)."""
    frames = np.lib.stride_tricks.sliding_window_view(mono, WINDOW)[::HOP]
    return np.fft.rfft(frames * _SINE, axis=1)


def _istft(spectrum: np.ndarray, length: int) -> np.ndarray:
    """Overlap-add of the sine-windowed inverse frames (the inverse of :func:`_stft` at 50 %
    overlap): ``length`` samples starting HOP samples after the first frame's start."""
    frames = np.fft.irfft(spectrum, n=WINDOW, axis=1).astype(np.float32) * _SINE
    out = np.zeros((len(frames) + 1) * HOP, dtype=np.float32)
    out[: len(frames) * HOP] += frames[:, :HOP].reshape(-1)
    out[HOP : (len(frames) + 1) * HOP] += frames[:, HOP:].reshape(-1)
    return out[HOP : HOP + length]


def _taper(length: int) -> np.ndarray:
    """1 inside a segment, a raised-cosine fade over EDGE samples at both ends."""
    ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(EDGE) + 0.5) / EDGE)).astype(np.float32)
    taper = np.ones(length, dtype=np.float32)
    taper[:EDGE] = ramp[: min(EDGE, length)]
    taper[-EDGE:] = np.minimum(taper[-EDGE:], ramp[::-1][-min(EDGE, length) :])
    return taper


def segment_count(frames: int) -> int:
    """How many segments a remix of ``frames`` samples has (the last may be short)."""
    return max(1, -(-frames // SEGMENT_FRAMES))


def mark(audio: np.ndarray, secret: bytes) -> np.ndarray:
    """The watermark ``w`` of ``audio`` (float (frames, channels) at RATE): variant A of
    segment ``i`` is ``audio - w`` there, variant B ``audio + w``. Float32, the shape of
    ``audio``; zero at every segment edge, and never pushing the remix past its own true peak
    (4x oversampled, between samples too: loudness and true peak stay as published)."""
    if audio.ndim != 2:
        raise AudioFormatError("A watermark is made from (frames, channels) audio.")
    frames, channels = audio.shape
    x = audio.astype(np.float32, copy=False)
    w = np.zeros_like(x)
    # Each segment on its own, with HOP samples of context either side: memory stays a few
    # megabytes however long the remix, and a segment's mark depends on nothing outside it.
    padded = np.pad(x, ((HOP, SEGMENT_FRAMES + HOP), (0, 0)))
    for index in range(segment_count(frames)):
        start = index * SEGMENT_FRAMES
        length = min(SEGMENT_FRAMES, frames - start)
        signs = pattern(secret, index * HOPS_PER_SEGMENT, HOPS_PER_SEGMENT + 1)
        depth = ALPHA * signs
        for channel in range(channels):
            piece = padded[start : start + SEGMENT_FRAMES + 2 * HOP, channel]
            spectrum = _stft(piece)
            marked = np.zeros_like(spectrum)
            marked[:, _BAND] = spectrum[:, _BAND] * depth * _neighbour_gain(spectrum[:, _BAND])
            w[start : start + length, channel] = _istft(marked, SEGMENT_FRAMES)[:length]
        w[start : start + length] *= _taper(length)[:, None]
    return _under_true_peak(x, w)


def _neighbour_gain(band: np.ndarray) -> np.ndarray:
    """Per frame and Bark band, ``min(1, sqrt(E_quietest neighbour / E_frame))``: (frames,
    band bins).

    A frame's mark spreads over its whole 21 ms window, half of it into each neighbouring
    frame; where the music in a band is much quieter in a neighbour (just before an attack,
    in a gap) the mark would stand out there (a pre-echo, the classic artefact of transform
    coders). So no frame carries more mark than its quieter neighbour can hide."""
    energy = np.abs(band) ** 2
    groups = np.floor(bark(_BINS[_BAND])).astype(int)
    per_band = np.stack([energy[:, groups == g].sum(axis=1) for g in np.unique(groups)], 1)
    padded = np.pad(per_band, ((1, 1), (0, 0)), mode="edge")
    quietest = np.minimum(np.minimum(padded[:-2], padded[2:]), per_band)
    gain = np.sqrt(quietest / np.maximum(per_band, 1e-30))
    return gain[:, np.searchsorted(np.unique(groups), groups)].astype(np.float32)


def _oversampled(audio: np.ndarray, start: int, length: int) -> np.ndarray:
    """``audio[start : start + length]`` (frames, channels) 4x oversampled, with real context
    either side so it is what a whole-file resampling gives there: (length * OVERSAMPLE,
    channels) float32."""
    before = min(start, _OVERSAMPLE_CONTEXT)
    piece = audio[start - before : start + length + _OVERSAMPLE_CONTEXT]
    up = soxr.resample(piece, RATE, RATE * OVERSAMPLE, quality="HQ")
    return np.asarray(up[before * OVERSAMPLE : (before + length) * OVERSAMPLE])


def _under_true_peak(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``w`` scaled down where ``x ± w`` would pass ``x``'s own true peak, sample or
    between samples, by a smooth gain (a 64-sample moving minimum, then a 32-sample moving
    average: never above what any point needs).

    Resampling is linear, so the oversampled ``x ± w`` is ``X ± W`` and both variants fit
    while ``|W| <= ceiling - |X|``. Only blocks whose own true peak comes within twice the
    mark's sample peak of the ceiling are resampled (the mark, 500 Hz to 8 kHz at 48 kHz, does
    not overshoot between samples by that much)."""
    frames = x.shape[0]
    if not frames:
        return w
    starts = range(0, frames, SEGMENT_FRAMES)
    block_peaks = [
        float(np.max(np.abs(_oversampled(x, s, min(SEGMENT_FRAMES, frames - s))))) for s in starts
    ]
    ceiling = max(block_peaks)
    gain = np.ones(frames, dtype=np.float32)
    for start, peak in zip(starts, block_peaks, strict=True):
        length = min(SEGMENT_FRAMES, frames - start)
        if peak + 2.0 * float(np.max(np.abs(w[start : start + length]))) < ceiling:
            continue  # nowhere near the ceiling
        room = np.maximum(ceiling - np.abs(_oversampled(x, start, length)), 0.0)
        magnitude = np.abs(_oversampled(w, start, length))
        over = np.flatnonzero(magnitude > room + _TRUE_PEAK_TOLERANCE)
        limit = room.ravel()[over] / magnitude.ravel()[over]
        np.minimum.at(gain, start + over // magnitude[0].size // OVERSAMPLE, limit)
    if gain.min() >= 1.0:
        return w
    # The 65-sample minimum holds the gain flat for 16 samples either side of every point that
    # needs it, after the 32-sample average: there the oversampled ``g w`` is ``g W`` but for
    # the interpolation filter's far tails, which the trim covers.
    low = minimum_filter1d(gain, 65, mode="nearest")  # O(n) whatever the window
    smooth = np.convolve(np.pad(low, (16, 15), mode="edge"), np.ones(32) / 32, mode="valid")
    held = np.minimum(smooth, gain)
    held = np.where(held < 1.0, _TRUE_PEAK_TRIM * held, 1.0)
    return (w * held[:, None]).astype(np.float32)


@dataclass(frozen=True)
class SegmentReading:
    """What an excerpt says about one segment of the remix.

    Attributes:
        index: the segment.
        soft: +1 reads as variant B, -1 as A (0: no mark, or two copies averaged).
        z: ``soft`` over its standard error (how sure the reading is).
    """

    index: int
    soft: float
    z: float


def _mid(audio: np.ndarray) -> np.ndarray:
    return (audio.mean(axis=1) if audio.ndim == 2 else audio).astype(np.float32)


def read_segments(
    reference: np.ndarray, secret: bytes, excerpt: np.ndarray, rate: int
) -> list[SegmentReading]:
    """Read the segments an excerpt covers.

    Args:
        reference: the remix as published, float (frames, channels) at RATE.
        secret: the remix's watermark pattern key.
        excerpt: a recording of (part of) a stream, float (frames, channels) or (frames,),
            at ``rate`` Hz: re-encoded, resampled, louder or quieter, faster or slower by up to
            3.5 %.

    Returns the segments covered (each by at least 80 %), in order; empty when the excerpt
    cannot be placed in the remix.
    """
    from app.server.alignment import align  # the search: a module of its own

    ref = _mid(reference)
    placed = align(ref, _mid(excerpt), rate, RATE)
    if placed is None:
        return []
    aligned, first = placed  # the excerpt on the reference's timeline, from sample ``first``
    readings = []
    for index in range(segment_count(len(ref))):
        start = index * SEGMENT_FRAMES
        lo, hi = max(start, first), min(start + SEGMENT_FRAMES, first + len(aligned), len(ref))
        if hi - lo < 0.8 * min(SEGMENT_FRAMES, len(ref) - start):
            continue
        reading = _read_one(ref, aligned, first, index, secret)
        if reading is not None:
            readings.append(reading)
    return readings


def _read_one(
    ref: np.ndarray, aligned: np.ndarray, first: int, index: int, secret: bytes
) -> SegmentReading | None:
    """One segment's soft bit: a weighted least-squares fit of the magnitude difference
    ``|Y|/g - |X|`` to the B-minus-reference template ``alpha s |X|``."""
    start = index * SEGMENT_FRAMES
    span = SEGMENT_FRAMES + 2 * HOP
    x = np.zeros(span, dtype=np.float32)
    y = np.zeros(span, dtype=np.float32)
    lo = start - HOP
    ref_part = ref[max(lo, 0) : lo + span]
    x[max(-lo, 0) : max(-lo, 0) + len(ref_part)] = ref_part
    got = aligned[max(lo - first, 0) : lo - first + span]
    offset = max(first - lo, 0)
    y[offset : offset + len(got)] = got[: span - offset]
    covered = np.zeros(span, dtype=bool)
    covered[offset : offset + len(got)] = True
    hops = np.arange(READ_SKIP_HOPS, HOPS_PER_SEGMENT + 1 - READ_SKIP_HOPS)
    # Only frames the excerpt covers in full.
    hops = hops[[covered[h * HOP : h * HOP + WINDOW].all() for h in hops]]
    if len(hops) < 8:
        return None
    ref_mag = np.abs(_stft(x)[hops][:, _BAND])
    got_mag = np.abs(_stft(y)[hops][:, _BAND])
    signs = pattern(secret, index * HOPS_PER_SEGMENT, HOPS_PER_SEGMENT + 1)[hops]
    # The excerpt's level (±6 dB, a codec's own gain), fitted per segment.
    gain = float(np.sum(got_mag * ref_mag) / max(float(np.sum(ref_mag**2)), 1e-20))
    if gain <= 1e-6:
        return None
    diff = got_mag / gain - ref_mag
    # Relative to the music in each bin (a codec's error grows with it), then each of
    # WEIGHT_BANDS bands weighted by how noisy it is here (a codec is coarser in some bands
    # than others): a weighted least-squares fit, its error from the residual.
    floor = 1e-3 * float(np.max(ref_mag)) + 1e-9
    relative = diff / np.maximum(ref_mag, floor)
    carrier = ALPHA * signs * (ref_mag > floor)
    soft = _fit(relative, carrier, np.ones(len(_BAND)))
    noise = (relative - soft * carrier) ** 2
    groups = np.array_split(np.arange(len(_BAND)), WEIGHT_BANDS)
    weight = np.empty(len(_BAND))
    for group in groups:
        weight[group] = 1.0 / max(float(np.mean(noise[:, group])), 1e-12)
    soft = _fit(relative, carrier, weight)
    energy = float(np.sum(weight * carrier**2))
    residual = relative - soft * carrier
    # The error of the fit, from the residual summed per patchwork tile first: the bins of a
    # tile share a sign, so their errors do not average out against each other.
    rows = (index * HOPS_PER_SEGMENT + hops) // TILE_HOPS
    columns = np.arange(len(_BAND)) // TILE_BINS
    tiles = (rows - rows[0])[:, None] * (columns[-1] + 1) + columns[None, :]
    per_tile = np.bincount(tiles.ravel(), weights=(weight * carrier * residual).ravel())
    spread = float(np.sqrt(np.sum(per_tile**2))) / max(energy, 1e-30)
    return SegmentReading(index, soft, soft / max(spread, 1e-12))


def _fit(relative: np.ndarray, carrier: np.ndarray, weight: np.ndarray) -> float:
    """The least-squares scale of ``carrier`` in ``relative``, with per-bin ``weight``."""
    energy = float(np.sum(weight * carrier**2))
    return float(np.sum(weight * relative * carrier)) / energy if energy > 0 else 0.0


@dataclass(frozen=True)
class Inaudibility:
    """How far under the music a mark sits (see :func:`inaudibility`).

    Attributes:
        snr_db: music to mark energy over the whole remix.
        nmr_p99_db, nmr_max_db: the mark's noise-to-mask ratio per Bark band and STFT frame
            (21 ms), under Johnston's rule with the tonal-masker offset; 99th percentile and
            maximum. Below 0 dB the mark is masked even if all the music were tonal.
    """

    snr_db: float
    nmr_p99_db: float
    nmr_max_db: float


def _spreading(centres: np.ndarray) -> np.ndarray:
    """Schroeder's spreading function between Bark bands (the one Johnston uses), as energy
    factors: (bands, bands), [masker, maskee]."""
    dz = centres[None, :] - centres[:, None] + 0.474
    return 10 ** ((15.81 + 7.5 * dz - 17.5 * np.sqrt(1 + dz**2)) / 10)


def inaudibility(audio: np.ndarray, w: np.ndarray) -> Inaudibility:
    """Measure a mark ``w`` of ``audio`` (both float (frames, channels) at RATE).

    Johnston's (1988) rule per STFT frame (21 ms): the music's energy in each Bark band of the
    mark's range, spread across bands with Schroeder's spreading function, lowered by the
    offset for a tonal masker, ``14.5 + z`` dB (the strictest: a noise-like masker's is
    5.5 dB), is the mask; the mark's energy in the band over it is the noise-to-mask ratio.
    Temporal masking is left out (so a frame beside an attack counts as unmasked). Frames
    where the music in a band is 60 dB or more under its loudest are left out."""
    z = np.floor(bark(_BINS[_BAND])).astype(int)
    bands = [np.flatnonzero(z == b) for b in np.unique(z)]
    centres = np.array([float(np.mean(bark(_BINS[_BAND][i]))) for i in bands])
    spread = _spreading(centres)
    offsets = 10 ** (-(14.5 + centres) / 10)
    ratios = []
    for channel in range(audio.shape[1]):
        x = np.pad(audio[:, channel], HOP).astype(np.float32)
        m = np.pad(w[:, channel], HOP).astype(np.float32)
        sx = np.abs(_stft(x)[:, _BAND]) ** 2
        sw = np.abs(_stft(m)[:, _BAND]) ** 2
        ex = np.stack([sx[:, i].sum(axis=1) for i in bands], axis=1)
        ew = np.stack([sw[:, i].sum(axis=1) for i in bands], axis=1)
        mask = (ex @ spread) * offsets
        loud = ex > 1e-6 * float(ex.max())
        nmr = 10 * np.log10(np.maximum(ew, 1e-30) / np.maximum(mask, 1e-30))
        ratios.append(nmr[loud])
    every = np.concatenate(ratios)
    music = float(np.sum(audio.astype(np.float64) ** 2))
    snr = 10 * np.log10(music / max(float(np.sum(w.astype(np.float64) ** 2)), 1e-30))
    return Inaudibility(float(snr), float(np.percentile(every, 99)), float(every.max()))
