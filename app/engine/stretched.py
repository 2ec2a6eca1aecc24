# SPDX-License-Identifier: GPL-3.0-or-later
"""A stem at another tempo and/or key: Rubber Band (``pedalboard.time_stretch``, high quality)
one chunk at a time, the chunks crossfaded; see :class:`StretchedSource`."""

from __future__ import annotations

import time
from collections.abc import Hashable
from typing import Any

import numpy as np
import pedalboard
import soxr

from app.engine.chunk_store import ChunkStore, quantize
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

    Grid chunks are rounded to the chunk store's grid (:func:`~app.engine.chunk_store.quantize`)
    and, given a ``store`` and the stem's ``identity``, kept there: a chunk stretched once, by
    playback, a finishing pass or another render, is read back rather than made again.

    Args:
        inner: the stem, (frames, 2) float32 (an array or another source).
        formants: keep the formants when shifting the key (for voices: no chipmunks).
        store: where made chunks are kept (None: nowhere but this source's small cache).
        identity: what ``inner`` is (e.g. track, version, stem, style), hashable; the store's
            keys add the tempo, key and grid to it. Needed with ``store``.
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
        store: ChunkStore | None = None,
        identity: Hashable | None = None,
    ) -> None:
        super().__init__(round(frames_of(inner) / ratio), chunk_frames, STRETCH_OVERLAP_FRAMES)
        self.inner = inner
        self.sample_rate = sample_rate
        self.ratio = ratio
        self.semitones = semitones
        self.formants = formants
        self.store = store if identity is not None else None
        #: The chunks playback and a render read, in the order they are heard (set by the
        #: sound from its arrangement: a section never played is never stretched ahead).
        self.heard: tuple[int, ...] = tuple(range(self.chunks))
        self._finished: tuple[int, ...] | None = None  # the ``heard`` found all stored
        self._identity = (
            identity,
            ratio,
            semitones,
            formants,
            chunk_frames,
            STRETCH_OVERLAP_FRAMES,
        )

    def store_key(self, index: int) -> Hashable:
        """Chunk ``index``'s key in the store."""
        return (self._identity, index)

    def stored(self, index: int) -> bool:
        """Whether chunk ``index`` is kept in the store (False without one)."""
        return self.store is not None and self.store_key(index) in self.store

    def unfinished(self, frame: int) -> int | None:
        """The first chunk heard from ``frame`` on (wrapping round) not in the store, while the
        store has room for it; None when every chunk heard is kept, or there is no room or no
        store."""
        store, heard = self.store, self.heard
        if store is None or heard is self._finished or not store.has_room(self.chunk_bytes()):
            return None
        at = max(frame, 0) // self.chunk_frames
        first = next((n for n, index in enumerate(heard) if index >= at), 0)
        for step in range(len(heard)):
            index = heard[(first + step) % len(heard)]
            if not self.stored(index):
                return index
        self._finished = heard  # searched once: a chunk dropped later is made when read
        return None

    def finish(self, index: int) -> None:
        """Make chunk ``index`` into the store only, unless it is there (a finishing pass: what
        playback will not need soon, kept for the render and for going back)."""
        if self.store is not None and not self.stored(index):
            self.store.put(self.store_key(index), self._made_chunk(index))

    def chunk_bytes(self) -> int:
        """A compressed chunk's size, about (a third of its float32 size)."""
        return (self.chunk_frames + self.overlap) * CHANNELS * 4 // 3

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
        if self.store is None:
            return self._made_chunk(index)
        key = self.store_key(index)
        found = self.store.get(key)
        if found is None:
            found = self._made_chunk(index)
            self.store.put(key, found)
        return found

    def _made_chunk(self, index: int) -> np.ndarray:
        """Chunk ``index`` stretched now, on the store's grid."""
        return quantize(
            self._stretch_range(index * self.chunk_frames, self.chunk_frames + self.overlap)
        )

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
