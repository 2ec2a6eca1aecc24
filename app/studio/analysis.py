# SPDX-License-Identifier: GPL-3.0-or-later
"""Tempo and key suggested from an artist's stems before upload, for the artist to confirm.

librosa's beat tracker gives the tempo; the key is the major or minor Krumhansl–Kessler
profile that best matches the mix's mean chroma (librosa's constant-Q chroma). Both run on
the stems summed to mono at 22.05 kHz (soxr), in memory. librosa is imported here only: its
first call compiles with numba, a few seconds once per machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from app.core.errors import FanfareError

ANALYSIS_RATE = 22_050
MAX_ANALYSED_S = 240.0  # the first four minutes say enough of tempo and key
NOTES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# Krumhansl & Kessler's probe-tone profiles, from C.
MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


class AnalysisError(FanfareError):
    """The stems cannot be analysed (the message names the file)."""


@dataclass(frozen=True)
class Suggestion:
    """What the audio suggests: tempo in BPM (rounded to 0.5) and key ("A minor")."""

    bpm: float
    key: str


def suggest(stems: dict[str, Path]) -> Suggestion:
    """Tempo and key of the stems' mix."""
    mono = _mix(stems)
    import librosa  # heavy (numba): only when an artist asks

    tempo, _ = librosa.beat.beat_track(y=mono, sr=ANALYSIS_RATE)
    bpm = float(np.atleast_1d(tempo)[0])
    chroma = librosa.feature.chroma_cqt(y=mono, sr=ANALYSIS_RATE).mean(axis=1)
    return Suggestion(bpm=round(bpm * 2) / 2, key=key_of(chroma))


def key_of(chroma: np.ndarray) -> str:
    """The key whose profile best matches ``chroma`` (12 mean pitch-class energies, from C)."""
    best, name = -2.0, "C major"
    for profile, mode in ((MAJOR, "major"), (MINOR, "minor")):
        for tonic in range(12):
            score = float(np.corrcoef(np.roll(profile, tonic), chroma)[0, 1])
            if score > best:
                best, name = score, f"{NOTES[tonic]} {mode}"
    return name


def _mix(stems: dict[str, Path]) -> np.ndarray:
    """The stems summed to mono at ``ANALYSIS_RATE``, float32 (frames,)."""
    mix: np.ndarray | None = None
    for kind, path in stems.items():
        try:
            with sf.SoundFile(path) as source:
                frames = min(source.frames, int(MAX_ANALYSED_S * source.samplerate))
                audio = source.read(frames, dtype="float32", always_2d=True)
                rate = source.samplerate
        except (sf.LibsndfileError, RuntimeError, OSError):
            raise AnalysisError(f"Stem '{kind}': {path.name} cannot be read as audio.") from None
        mono = audio.mean(axis=1)
        if rate != ANALYSIS_RATE:
            mono = soxr.resample(mono, rate, ANALYSIS_RATE)
        if mix is None:
            mix = mono
        else:
            n = max(mix.shape[0], mono.shape[0])
            mix = np.pad(mix, (0, n - mix.shape[0])) + np.pad(mono, (0, n - mono.shape[0]))
    if mix is None or not np.any(mix):
        raise AnalysisError("There is nothing to listen to: add stems with sound in them.")
    return np.ascontiguousarray(mix, dtype=np.float32)
