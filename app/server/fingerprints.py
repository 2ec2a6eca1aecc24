# SPDX-License-Identifier: GPL-3.0-or-later
"""Chromaprint fingerprints of audio, computed in memory, and how far apart two of them are.

A fingerprint is Chromaprint's raw form: one 32-bit sub-fingerprint every ``ITEM_S`` seconds
(≈ 0.124 s), each bit a coarse comparison of chroma energies (Chromaprint's default algorithm,
the one AcoustID uses). Two recordings of the same music share most bits at the right
alignment; unrelated music differs in about half of them. So ``difference`` is a bit error
rate (BER) at the best alignment: 0 for identical audio, ≈ 0.5 for unrelated audio.

libchromaprint is reached through pyacoustid's ``chromaprint`` module (ctypes over Debian's
``libchromaprint1``); nothing is written to disk and no ``fpcalc`` process is started.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from app.core.errors import FanfareError

#: The rate Chromaprint analyses at: audio is brought there first (soxr, much faster than
#: Chromaprint's own resampler), so Chromaprint itself only frames and hashes.
ANALYSIS_RATE = 11025
#: Seconds between sub-fingerprints: Chromaprint's 4096-sample frames overlap by two thirds.
ITEM_S = 1365 / ANALYSIS_RATE
#: Alignments are voted on by the sub-fingerprints' top bits (as AcoustID's index does): a
#: re-encoded copy keeps more of its top 20 bits intact than of all 32.
KEY_SHIFT = 12
#: A key more frequent than this in one fingerprint is a held chord or silence, which votes
#: for every alignment at once: it is left out of the vote.
COMMON_KEY = 32
#: The fewest sub-fingerprints two fingerprints must overlap by for a BER to mean something
#: (≈ 5 s): over a few items, unrelated audio can agree by chance.
MIN_OVERLAP_ITEMS = 40
#: Alignments tried after the vote, best first (and the unshifted one).
ALIGNMENTS_TRIED = 3

# Bits set in each 16-bit value: the popcount behind every BER, on whole arrays at once.
_POPCOUNT16 = np.unpackbits(np.arange(65536, dtype="<u2").view(np.uint8)).reshape(-1, 16)
_POPCOUNT16 = _POPCOUNT16.sum(axis=1).astype(np.uint8)


class FingerprintError(FanfareError):
    """Audio could not be fingerprinted (the message says why)."""


class AudioFileError(FingerprintError):
    """A file given to trace is not audio that can be decoded here."""


@dataclass(frozen=True)
class Comparison:
    """How far apart two fingerprints are, at their best alignment.

    Attributes:
        ber: bit error rate over the overlap, 0.0 (identical) to ≈ 0.5 (unrelated); 1.0 where
            the two do not overlap by ``MIN_OVERLAP_ITEMS`` at any alignment.
        offset_s: where ``b`` starts in ``a``'s time, in seconds (negative: ``b`` starts
            before ``a``).
        overlap_s: the duration compared, in seconds.
    """

    ber: float
    offset_s: float
    overlap_s: float


def fingerprint(audio: np.ndarray, rate: float) -> np.ndarray:
    """Chromaprint's raw fingerprint of ``audio``, whole (not capped at 120 s as ``fpcalc`` is).

    Args:
        audio: float samples in -1..1, (frames, channels) or (frames,); channels are averaged.
        rate: its sample rate in Hz. A fractional rate is allowed: passing ``rate / s``
            undoes a speed-up by factor ``s`` (what ``trace`` does to find a sped-up copy).

    Returns:
        uint32 (items,): one sub-fingerprint every ``ITEM_S`` seconds; empty for audio shorter
        than about two seconds (Chromaprint needs that much to fill its filters).
    """
    import chromaprint  # ctypes loads libchromaprint: only where fingerprints are made

    samples = np.asarray(audio, dtype=np.float32)
    if samples.ndim not in (1, 2) or not np.isfinite(rate) or rate <= 0:
        raise FingerprintError("Fingerprints are made of (frames, channels) audio at a set rate.")
    if samples.shape[0] == 0:
        return np.zeros(0, dtype=np.uint32)
    # One channel to resample instead of two; MQ is plenty for chroma bands under 3.5 kHz.
    mono = soxr.resample(_downmix(samples), rate, ANALYSIS_RATE, quality="MQ")
    # Chroma does not depend on level, but clipping does change it: a sum of stems at unity
    # or a copy turned up is brought under full scale rather than clipped.
    peak = float(np.max(np.abs(mono)))
    scale = 32767.0 / peak if peak > 1.0 else 32767.0
    pcm = (mono * scale).astype("<i2")
    printer = chromaprint.Fingerprinter()
    try:
        printer.start(ANALYSIS_RATE, 1)
        printer.feed(pcm.tobytes())
        encoded = printer.finish()
        if not encoded:
            return np.zeros(0, dtype=np.uint32)
        # The binding hands out the compressed form only; decoding it is lossless and cheap.
        raw, _ = chromaprint.decode_fingerprint(encoded)
    except chromaprint.FingerprintError:
        raise FingerprintError("Chromaprint could not fingerprint this audio.") from None
    return np.asarray(raw, dtype=np.uint32)


def _downmix(samples: np.ndarray) -> np.ndarray:
    """The channels' average, float32 (frames,).

    Column by column: numpy's ``mean(axis=1)`` over two channels is several times slower.
    """
    if samples.ndim == 1:
        return samples
    mono = samples[:, 0].copy()
    for channel in range(1, samples.shape[1]):
        mono += samples[:, channel]
    mono *= np.float32(1.0 / samples.shape[1])
    return mono


def to_bytes(fp: np.ndarray) -> bytes:
    """A fingerprint as stored: uint32 little-endian."""
    return np.asarray(fp, dtype="<u4").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    """The fingerprint ``to_bytes`` stored (uint32 (items,))."""
    return np.frombuffer(data, dtype="<u4").astype(np.uint32)


def bit_errors(a: np.ndarray, b: np.ndarray) -> int:
    """The number of differing bits between two equally long uint32 arrays."""
    diff = np.bitwise_xor(a, b).astype("<u4", copy=False).view("<u2")
    return int(_POPCOUNT16[diff].sum(dtype=np.int64))


def ber_at(a: np.ndarray, b: np.ndarray, offset: int) -> tuple[float, int]:
    """BER of ``b`` laid at ``offset`` items into ``a``, and how many items overlap."""
    start_a, start_b = max(offset, 0), max(-offset, 0)
    count = min(len(a) - start_a, len(b) - start_b)
    if count <= 0:
        return 1.0, 0
    errors = bit_errors(a[start_a : start_a + count], b[start_b : start_b + count])
    return errors / (32 * count), count


def aligned_votes(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Alignments at which ``b``'s keys meet ``a``'s, and how many keys meet there.

    Returns:
        (offsets, votes): int64 offsets (items ``b`` starts into ``a``), most voted first, and
        their votes counting the neighbouring offsets too (an excerpt rarely starts on
        Chromaprint's frame grid, so its matches split between two neighbours).
    """
    key_a, key_b = a >> KEY_SHIFT, b >> KEY_SHIFT
    order = np.argsort(key_b, kind="stable")
    sorted_b = key_b[order]
    lo = np.searchsorted(sorted_b, key_a, side="left")
    hi = np.searchsorted(sorted_b, key_a, side="right")
    counts = hi - lo
    counts[counts > COMMON_KEY] = 0
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    pos_a = np.repeat(np.arange(len(a)), counts)
    first = np.repeat(lo - (np.cumsum(counts) - counts), counts)
    pos_b = order[first + np.arange(total)]
    offsets = pos_a - pos_b
    shift = len(b) + 1  # offsets run from -len(b) to len(a): shift them to count with bincount
    votes = np.bincount(offsets + shift, minlength=len(a) + len(b) + 3)
    smoothed = votes.copy()
    smoothed[1:] += votes[:-1]
    smoothed[:-1] += votes[1:]
    best = np.argsort(smoothed, kind="stable")[::-1]
    best = best[smoothed[best] > 0]
    return best.astype(np.int64) - shift, smoothed[best].astype(np.int64)


def best_alignment(
    a: np.ndarray, b: np.ndarray, candidates: list[int], min_overlap: int
) -> tuple[float, int, int]:
    """The lowest BER among ``candidates`` and their neighbours: (ber, offset, overlap items)."""
    best = (1.0, 0, 0)
    for candidate in candidates:
        for offset in (candidate - 1, candidate, candidate + 1):
            ber, count = ber_at(a, b, offset)
            if count >= min_overlap and ber < best[0]:
                best = (ber, offset, count)
    return best


def difference(a: np.ndarray, b: np.ndarray) -> Comparison:
    """How different two fingerprints are: the BER at their best alignment.

    Args:
        a, b: uint32 (items,) fingerprints (``fingerprint``), of any lengths: ``b`` may be an
            excerpt of ``a`` or a whole other recording.

    Returns:
        The BER (0 identical, ≈ 0.5 unrelated) at the alignment where their sub-fingerprints'
        top bits agree most often (tried with the unshifted one), its offset and overlap.
    """
    a, b = np.asarray(a, dtype=np.uint32), np.asarray(b, dtype=np.uint32)
    min_overlap = min(MIN_OVERLAP_ITEMS, len(a), len(b))
    if min_overlap == 0:
        return Comparison(ber=1.0, offset_s=0.0, overlap_s=0.0)
    offsets, _ = aligned_votes(a, b)
    candidates = [0, *(int(o) for o in offsets[:ALIGNMENTS_TRIED])]
    ber, offset, count = best_alignment(a, b, candidates, min_overlap)
    return Comparison(ber=ber, offset_s=offset * ITEM_S, overlap_s=count * ITEM_S)


def read_audio_file(path: Path) -> tuple[np.ndarray, float]:
    """Decode a whole audio file (WAV, FLAC, OGG, MP3, AIFF…) with pedalboard's reader.

    Returns:
        float32 (frames, channels) and the file's sample rate in Hz.
    """
    from pedalboard.io import AudioFile  # the DSP library: loaded only for a file to trace

    if not path.is_file():
        raise AudioFileError(f"There is no file {path}.")
    try:
        with AudioFile(str(path)) as reader:
            rate = float(reader.samplerate)
            audio = reader.read(reader.frames)
    except (OSError, ValueError, RuntimeError):
        raise AudioFileError(
            f"{path.name} is not audio that can be read here (use WAV, FLAC, OGG or MP3)."
        ) from None
    # pedalboard reads (channels, frames); Fanfare's buffers are (frames, channels).
    return np.ascontiguousarray(audio.T, dtype=np.float32), rate
