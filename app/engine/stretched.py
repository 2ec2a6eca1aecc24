# SPDX-License-Identifier: GPL-3.0-or-later
"""A stem at another tempo and/or key: Rubber Band (``pedalboard.time_stretch``, high quality)
one chunk at a time, the chunks crossfaded; see :class:`StretchedSource`."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pedalboard
import soxr

from app.engine.kernel import CHANNELS
from app.engine.sources import Bridge, ChunkedSource, frames_of, window

STRETCH_CHUNK_FRAMES = 24_000  # 0.5 s at 48 kHz: the grain of a tempo/key change's first audio
STRETCH_MARGIN_FRAMES = 2_400  # input context either side of a chunk, so its edges are settled
STRETCH_OVERLAP_FRAMES = 1_024  # equal-power crossfade between neighbouring chunks (~21 ms)
# A bridge (see StretchedSource.bridge_from) spans at least this much, so that the grid chunk
# after it is made by the time playback reaches it (8 stems: 4 rounds of ~60 ms on two cores),
# even when the switch to it comes up to 0.125 s late (switching.SWITCH_SLACK_FRAMES).
BRIDGE_MIN_FRAMES = 18_000  # 0.375 s at 48 kHz


class StretchedSource(ChunkedSource):
    """``inner`` at ``ratio`` times the speed and ``semitones`` higher, pitch and tempo
    independent (Rubber Band's finer engine).

    Output frame ``t`` plays input frame ``t * ratio``. Each chunk is stretched from its input
    span plus ``STRETCH_MARGIN_FRAMES`` either side, and neighbouring chunks overlap by
    ``STRETCH_OVERLAP_FRAMES`` with an equal-power crossfade (their phases are independent).

    A tempo or key change made while playing starts with a bridge (:meth:`bridge_from`): the
    stretch from the switch point to the grid, made with the finer engine's short window,
    about three times as fast as a chunk, so the change is heard sooner.

    Args:
        inner: the stem, (frames, 2) float32 (an array or another source).
        formants: keep the formants when shifting the key (for voices: no chipmunks).
    """

    #: Seconds one chunk took to make, recently (a moving average over every stretched source).
    recent_make_s = 0.06
    #: Seconds one bridge took to make, recently: how far ahead a tempo or key change starts
    #: making its sound.
    recent_bridge_s = 0.02

    def __init__(
        self,
        inner: Any,
        sample_rate: int,
        ratio: float,
        semitones: float,
        *,
        formants: bool = False,
        chunk_frames: int = STRETCH_CHUNK_FRAMES,
    ) -> None:
        super().__init__(round(frames_of(inner) / ratio), chunk_frames, STRETCH_OVERLAP_FRAMES)
        self.inner = inner
        self.sample_rate = sample_rate
        self.ratio = ratio
        self.semitones = semitones
        self.formants = formants

    def bridge_from(self, frame: int) -> Bridge | None:
        """Playback will start reading at output ``frame`` (a change switched to there): read
        ``[frame, g)`` from a bridge, where ``g`` is the first chunk boundary at least
        ``BRIDGE_MIN_FRAMES`` on, so that the grid chunk at ``g`` is made while the bridge
        plays. The bridge is stretched with Rubber Band's finer engine in its short-window
        mode (about a third of a chunk's time): a little less smooth for those few hundred
        ms, then the grid, exactly as a render makes it, crossfaded in at ``g``."""
        size = self.chunk_frames
        end = min(self.frames, -(-(frame + BRIDGE_MIN_FRAMES) // size) * size)
        self._bridge = Bridge(frame, end) if 0 <= frame < end else None
        return self._bridge

    def _make_chunk(self, index: int) -> np.ndarray:
        return self._stretch_range(index * self.chunk_frames, self.chunk_frames + self.overlap)

    def _make_bridge(self, start: int, frames: int) -> np.ndarray:
        return self._stretch_range(start, frames, quick=True)

    def _stretch_range(self, start: int, frames: int, *, quick: bool = False) -> np.ndarray:
        """Output ``[start, start + frames)`` stretched from its input span with margins
        (silence stretches to silence, at no cost); its time goes into ``recent_bridge_s``
        (``quick``) or ``recent_make_s``."""
        ratio, margin = self.ratio, STRETCH_MARGIN_FRAMES
        begin = int(np.floor(start * ratio)) - margin
        end = int(np.ceil((start + frames) * ratio)) + margin
        segment = window(self.inner, begin, end - begin)
        if not segment.any():
            return np.zeros((frames, CHANNELS), dtype=np.float32)
        started = time.perf_counter()
        stretched = self._stretch(segment, quick=quick)
        took = time.perf_counter() - started
        if quick:
            StretchedSource.recent_bridge_s += 0.2 * (took - StretchedSource.recent_bridge_s)
        else:
            StretchedSource.recent_make_s += 0.2 * (took - StretchedSource.recent_make_s)
        # Output frame ``start`` plays input frame ``start * ratio``, which is
        # (start * ratio - begin) / ratio frames into the stretched segment.
        skip = round(start - begin / ratio)
        out = np.zeros((frames, CHANNELS), dtype=np.float32)
        piece = stretched[skip : skip + frames]
        out[: piece.shape[0]] = piece
        return out

    def _stretch(self, segment: np.ndarray, *, quick: bool) -> np.ndarray:
        """``segment`` (frames, 2) at this source's tempo and key; ``quick``: Rubber Band's
        short window (a bridge)."""
        rate = float(self.sample_rate)
        window_long = False if quick else None  # None: the engine's own choice (multi-window)
        if self.semitones and not self.formants:
            # A key change as a stretch to (ratio / shift) and a resample by shift: the same
            # pitch within a cent, at about twice the speed of Rubber Band's own pitch path
            # (which is kept for voices, whose formants it preserves).
            shift = 2.0 ** (self.semitones / 12.0)
            stretched = pedalboard.time_stretch(
                np.ascontiguousarray(segment.T), rate, stretch_factor=self.ratio / shift,
                high_quality=True, preserve_formants=False, use_long_fft_window=window_long,
            ).T  # fmt: skip
            resampled: np.ndarray = soxr.resample(stretched, rate * shift, rate, quality="HQ")
            return resampled
        return pedalboard.time_stretch(
            np.ascontiguousarray(segment.T), rate, stretch_factor=self.ratio,
            pitch_shift_in_semitones=float(self.semitones), high_quality=True,
            preserve_formants=self.formants, use_long_fft_window=window_long,
        ).T  # fmt: skip
