# SPDX-License-Identifier: GPL-3.0-or-later
"""Stem sources: audio the mixer reads by frame range, made on demand in fixed chunks.

The mixer and the timeline read a stem as ``stem[start:end]`` (float32, (frames, 2)) and ask
its ``shape``; a plain NumPy array is a source, and so is a :class:`ChunkedSource`:

* :class:`EncodedSource` decodes a stem's codec stream (FLAC) a second at a time around where
  it is read: an 8-stem, 4-minute track is not 740 MB of float32 in memory.
* :class:`StretchedSource` plays a stem at another tempo and/or key through Rubber Band
  (``pedalboard.time_stretch``, high quality), one chunk at a time, the chunks crossfaded.

A chunked source cuts its output into a fixed grid of ``chunk_frames`` chunks and makes each from
its input alone, never from what was played before, so a chunk is the same sample for sample
whether playback, a seek or an offline render asked for it: that keeps renders equal to what was
heard. Chunks are kept in a small cache around where the reader is; a :class:`Prefetcher`
thread makes the ones ahead of the playhead, so the render thread only copies.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, BinaryIO

import numpy as np
import pedalboard
import soxr

from app.core.codec import StreamDecoder

CHANNELS = 2
STRETCH_CHUNK_FRAMES = 24_000  # 0.5 s at 48 kHz: the grain of a tempo/key change's first audio
STRETCH_MARGIN_FRAMES = 2_400  # input context either side of a chunk, so its edges are settled
STRETCH_OVERLAP_FRAMES = 1_024  # equal-power crossfade between neighbouring chunks (~21 ms)
CACHE_CHUNKS = 12
DECODE_CHUNK_FRAMES = 48_000  # 1 s at 48 kHz: one FLAC seek and decode, ~1 ms
DECODE_CACHE_CHUNKS = 6  # the second being played, the one before, and 3 s made ahead
SEAM_MIN_CORRELATION = -0.9  # below this a seam is left to dip rather than boosted > 10 dB


def frames_of(source: Any) -> int:
    """Length of an array or source in frames."""
    return int(source.shape[0])


class ChunkedSource:
    """A stem made chunk by chunk on demand; slice it like a (frames, 2) float32 array.

    Subclasses define :meth:`_make`, which returns chunk ``index`` as float32
    ``(chunk_frames + overlap, 2)``: the chunk and ``overlap`` frames of what follows it, which
    are crossfaded with the start of the next chunk.
    """

    def __init__(
        self, frames: int, chunk_frames: int, overlap: int = 0, *, cache_chunks: int = CACHE_CHUNKS
    ) -> None:
        self.frames = frames
        self.cache_chunks = cache_chunks
        self.chunk_frames = chunk_frames
        self.overlap = overlap
        self.shape = (frames, CHANNELS)
        self.dtype = np.dtype(np.float32)
        self._cache: dict[int, np.ndarray] = {}
        self._reading = 0  # the chunk the reader last asked for
        self._lock = threading.Lock()
        self._making: dict[int, threading.Event] = {}
        self._fade_in, self._fade_out = _equal_power(overlap)
        self._seams: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        #: Chunks the prefetcher is keeping made (set by it): evicted last, so a loop's start
        #: stays made while the playhead is at its end.
        self.wanted: frozenset[int] = frozenset()
        #: Chunks made while a reader waited for them (the prefetcher was late).
        self.late_chunks = 0

    @property
    def chunks(self) -> int:
        return -(-self.frames // self.chunk_frames)

    def __len__(self) -> int:
        return self.frames

    def __getitem__(self, key: slice) -> np.ndarray:
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("a stem source is read by contiguous frame ranges")
        start, stop, _ = key.indices(self.frames)
        return self.read(start, max(0, stop - start))

    def read(self, start: int, frames: int) -> np.ndarray:
        """Frames ``[start, start + frames)`` (clipped to the source): float32 (n, 2)."""
        start = max(0, start)
        end = min(self.frames, start + frames)
        if end <= start:
            return np.zeros((0, CHANNELS), dtype=np.float32)
        size = self.chunk_frames
        first, last = start // size, (end - 1) // size
        if first == last and (start - first * size >= self.overlap or first == 0):
            # The common case: within one chunk, past its crossfade: a view, no copy.
            chunk = self.chunk(first, wait=True)
            return chunk[start - first * size : end - first * size]
        out = np.empty((end - start, CHANNELS), dtype=np.float32)
        for index in range(first, last + 1):
            lo, hi = max(start, index * size), min(end, (index + 1) * size)
            out[lo - start : hi - start] = self._assembled(index, lo - index * size, hi - lo)
        return out

    def _assembled(self, index: int, offset: int, frames: int) -> np.ndarray:
        """``frames`` of chunk ``index`` from ``offset``, its head crossfaded with the tail of
        the chunk before."""
        piece = self.chunk(index, wait=True)[offset : offset + frames]
        if index == 0 or offset >= self.overlap:
            return piece
        n = min(frames, self.overlap - offset)
        fade_in, fade_out = self._seam(index)
        tail = self.chunk(index - 1, wait=True)[self.chunk_frames + offset :][:n]
        piece = piece.copy()
        piece[:n] = piece[:n] * fade_in[offset : offset + n] + tail * fade_out[offset : offset + n]
        return piece

    def _seam(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The crossfade into chunk ``index``: equal power, corrected for how alike the two
        sides are there.

        Two chunks stretched from different starts carry the same partials with unrelated
        phases: where they are out of phase a plain crossfade would dip (a steady tone by up
        to 4 dB here). With ``rho`` the correlation of the two sides over the overlap, the sum
        ``a*x + b*y`` has power ``a² + b² + 2ab*rho``; dividing by its root keeps the level.
        It depends on these two chunks only, so it is the same however the source is read.
        """
        found = self._seams.get(index)
        if found is not None:
            return found
        head = self.chunk(index, wait=True)[: self.overlap].astype(np.float64)
        tail = self.chunk(index - 1, wait=True)[self.chunk_frames :].astype(np.float64)
        energy = float(np.sqrt(np.sum(head * head) * np.sum(tail * tail)))
        rho = float(np.sum(head * tail)) / energy if energy > 0 else 0.0
        rho = min(1.0, max(SEAM_MIN_CORRELATION, rho))
        a, b = self._fade_in[:, 0].astype(np.float64), self._fade_out[:, 0].astype(np.float64)
        norm = 1.0 / np.sqrt(a * a + b * b + 2.0 * a * b * rho)
        fades = ((a * norm).astype(np.float32)[:, None], (b * norm).astype(np.float32)[:, None])
        with self._lock:
            self._seams[index] = fades
            while len(self._seams) > CACHE_CHUNKS:
                self._seams.pop(next(iter(self._seams)))
        return fades

    def ready(self, index: int) -> bool:
        with self._lock:
            return index in self._cache

    def busy(self, index: int) -> bool:
        """Whether some thread is making chunk ``index`` now."""
        with self._lock:
            return index in self._making

    def chunk(self, index: int, *, wait: bool = False) -> np.ndarray:
        """Chunk ``index`` (raw, with its overlap tail), made now if nobody is making it."""
        with self._lock:
            if wait:
                self._reading = index
            found = self._cache.get(index)
            if found is not None:
                return found
            event = self._making.get(index)
            if event is None:
                event = self._making[index] = threading.Event()
                mine = True
            else:
                mine = False
        if not mine:
            event.wait()
            with self._lock:
                found = self._cache.get(index)
            if found is not None:
                return found
            return self.chunk(index, wait=wait)  # it was evicted at once: make it again
        try:
            if wait:
                self.late_chunks += 1
            made = self._make(index)
            with self._lock:
                self._cache[index] = made
                while len(self._cache) > self.cache_chunks:
                    del self._cache[self._evictable()]
            return made
        finally:
            with self._lock:
                del self._making[index]
            event.set()

    def _evictable(self) -> int:
        """The chunk to drop (lock held): the one furthest behind where the reader is, else the
        one furthest ahead. Never least-recently-used: that would drop chunks made ahead
        before they are played, while the ones just played stay."""
        reading, wanted = self._reading, self.wanted
        spare = [i for i in self._cache if i not in wanted] or list(self._cache)
        behind = [i for i in spare if i < reading - 1]  # keep one behind for seams
        if behind:
            return min(behind)
        return max(spare, key=lambda i: abs(i - reading))

    def prefetch(self, index: int) -> None:
        """Make chunk ``index`` unless it is cached (a prefetcher's call)."""
        if 0 <= index < self.chunks and not self.ready(index):
            self.chunk(index)

    def _make(self, index: int) -> np.ndarray:
        raise NotImplementedError


class EncodedSource(ChunkedSource):
    """A stem read from its codec stream, decoded one chunk at a time.

    Args:
        open_stream: returns a fresh seekable file of the codec bytes (each decode opens its
            own, so decodes on several threads do not share a position); the studio's decrypts
            as it is read.
        frames: the stem's length in frames (from its header).
    """

    def __init__(
        self,
        open_stream: Callable[[], BinaryIO],
        frames: int,
        *,
        chunk_frames: int = DECODE_CHUNK_FRAMES,
    ) -> None:
        super().__init__(frames, chunk_frames, 0, cache_chunks=DECODE_CACHE_CHUNKS)
        self.open_stream = open_stream
        # One decoder that reads on in order: playback asks for chunk after chunk, and a
        # fresh decoder per chunk would search the FLAC stream for its start every time
        # (measured: the search's many small reads held the GIL enough to starve the feeder).
        self._decoder = StreamDecoder(open_stream)
        self._decoding = threading.Lock()

    def _make(self, index: int) -> np.ndarray:
        start = index * self.chunk_frames
        count = min(self.chunk_frames, self.frames - start)
        with self._decoding:
            return np.ascontiguousarray(self._decoder.read(start, count))


class StretchedSource(ChunkedSource):
    """``inner`` at ``ratio`` times the speed and ``semitones`` higher, pitch and tempo
    independent (Rubber Band's finer engine).

    Output frame ``t`` plays input frame ``t * ratio``. Each chunk is stretched from its input
    span plus ``STRETCH_MARGIN_FRAMES`` either side, and neighbouring chunks overlap by
    ``STRETCH_OVERLAP_FRAMES`` with an equal-power crossfade (their phases are independent).

    Args:
        inner: the stem, (frames, 2) float32 (an array or another source).
        formants: keep the formants when shifting the key (for voices: no chipmunks).
    """

    #: Seconds one chunk took to make, recently (a moving average over every stretched source):
    #: how far ahead a tempo or key change starts making its sound.
    recent_make_s = 0.06

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

    def _make(self, index: int) -> np.ndarray:
        ratio, size, margin = self.ratio, self.chunk_frames, STRETCH_MARGIN_FRAMES
        want = size + self.overlap
        begin = int(np.floor(index * size * ratio)) - margin
        end = int(np.ceil((index * size + want) * ratio)) + margin
        segment = window(self.inner, begin, end - begin)
        if not segment.any():  # silence stretches to silence, at no cost
            return np.zeros((want, CHANNELS), dtype=np.float32)
        started = time.perf_counter()
        made = self._stretch(segment, index, begin, want)
        took = time.perf_counter() - started
        StretchedSource.recent_make_s += 0.2 * (took - StretchedSource.recent_make_s)
        return made

    def _stretch(self, segment: np.ndarray, index: int, begin: int, want: int) -> np.ndarray:
        """Chunk ``index`` from ``segment``, the input from frame ``begin`` (with margins)."""
        ratio, size = self.ratio, self.chunk_frames
        rate = float(self.sample_rate)
        if self.semitones and not self.formants:
            # A key change as a stretch to (ratio / shift) and a resample by shift: the same
            # pitch within a cent, at about twice the speed of Rubber Band's own pitch path
            # (which is kept for voices, whose formants it preserves).
            shift = 2.0 ** (self.semitones / 12.0)
            stretched = pedalboard.time_stretch(
                np.ascontiguousarray(segment.T), rate, stretch_factor=ratio / shift,
                high_quality=True, preserve_formants=False,
            ).T  # fmt: skip
            stretched = soxr.resample(stretched, rate * shift, rate, quality="HQ")
        else:
            stretched = pedalboard.time_stretch(
                np.ascontiguousarray(segment.T), rate, stretch_factor=ratio,
                pitch_shift_in_semitones=float(self.semitones), high_quality=True,
                preserve_formants=self.formants,
            ).T  # fmt: skip
        # Output frame (index * size) plays input frame (index * size * ratio), which is
        # (index * size * ratio - begin) / ratio frames into the stretched segment.
        skip = round(index * size - begin / ratio)
        out = np.zeros((want, CHANNELS), dtype=np.float32)
        piece = stretched[skip : skip + want]
        out[: piece.shape[0]] = piece
        return out


class Prefetcher:
    """Makes the chunks ahead of a read position, for a set of sources, on two threads.

    The threads run at a lower priority than the render thread (Linux: per-thread nice), so
    making chunks never starves playback on a two-core machine.
    """

    def __init__(
        self, sources: Sequence[ChunkedSource], ahead_frames: int, position: int = 0
    ) -> None:
        self.sources = list(sources)
        self.ahead_frames = ahead_frames
        self._position = position  # set before the threads start, so none starts elsewhere
        self._loop: tuple[int, int] | None = None
        self._wake = threading.Condition()
        self._closed = False
        self._claimed: set[tuple[int, int]] = set()
        self._threads = [
            threading.Thread(target=self._run, name=f"fanfare-prefetch-{n}", daemon=True)
            for n in range(2)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def position(self) -> int:
        """Where the chunks are made from (the reader's position, as last told)."""
        return self._position

    def follow(self, frame: int, loop: tuple[int, int] | None = None) -> None:
        """The reader is at ``frame``: make what lies ahead of it. With ``loop`` (start, end),
        playback jumps back to ``start`` at ``end``: what lies ahead wraps there too."""
        with self._wake:
            self._position, self._loop = frame, loop
            for source in self.sources:
                source.wanted = frozenset(self._wanted(source))
            self._wake.notify_all()

    def _at(self, frame: int) -> int:
        """Where playback will be at ``frame`` frames of linear play (wrapped at a loop)."""
        loop = self._loop
        if loop is None or frame < loop[1] or loop[1] <= loop[0]:
            return frame
        return loop[0] + (frame - loop[1]) % (loop[1] - loop[0])

    def _wanted(self, source: ChunkedSource) -> set[int]:
        """The chunks of ``source`` that the window ahead of the position covers."""
        size, position = source.chunk_frames, self._position
        found = {max(0, position // size - 1)}  # the one behind, for the seam
        for step in range(0, self.ahead_frames + size, size):
            found.add(self._at(position + step) // size)
        return found

    def ready(self, frame: int, frames: int) -> bool:
        """Whether every source has ``[frame, frame + frames)`` made."""
        for source in self.sources:
            size = source.chunk_frames
            last = min(source.chunks - 1, (frame + max(frames, 1) - 1) // size)
            first = min(max(0, frame // size - (1 if frame % size < source.overlap else 0)), last)
            if not all(source.ready(i) for i in range(first, last + 1)):
                return False
        return True

    def close(self, *, wait: bool = False) -> None:
        """Stop the threads; with ``wait``, until the chunk each may be making is done (at
        most one chunk's time: a Rubber Band call cannot be interrupted, and must not be
        running when the process exits)."""
        with self._wake:
            self._closed = True
            self._wake.notify_all()
        if wait:
            for thread in self._threads:
                if thread is not threading.current_thread():
                    thread.join(timeout=5.0)

    def _next_job(self) -> tuple[ChunkedSource, int] | None:
        """The earliest missing chunk ahead of the position (all sources' chunk k before any
        chunk k + 1), or None."""
        position = self._position
        size = min(s.chunk_frames for s in self.sources) if self.sources else 1
        for step in range(0, self.ahead_frames + size, size):
            at = self._at(position + step)
            for source in self.sources:
                index = at // source.chunk_frames
                head = (step == 0 or at != position + step) and at % source.chunk_frames < (
                    source.overlap
                )
                for wanted in (index - 1, index) if head else (index,):
                    if 0 <= wanted < source.chunks and self._free(source, wanted):
                        return source, wanted
        return None

    def _free(self, source: ChunkedSource, index: int) -> bool:
        """Whether chunk ``index`` of ``source`` should be made now (lock held): it is neither
        made nor being made, and no other chunk of the same source is being made (one thread
        per source, in order: a decoder reading on needs no seek, and FLAC seeks are slow)."""
        return (
            id(source) not in {owner for owner, _ in self._claimed}
            and not source.ready(index)
            and not source.busy(index)
        )

    def _run(self) -> None:
        _lower_priority()
        while True:
            with self._wake:
                if self._closed:
                    return
                job = self._next_job()
                if job is None:
                    self._wake.wait(0.25)
                    continue
                source, index = job
                # Claimed before the lock is let go, so the other thread takes another chunk.
                self._claimed.add((id(source), index))
            try:
                source.prefetch(index)
            except Exception:  # a failing chunk is made again, and reported, by the reader
                with self._wake:
                    self._wake.wait(0.25)
            finally:
                with self._wake:
                    self._claimed.discard((id(source), index))


def _lower_priority() -> None:
    """Nice this thread (not the process) a little, where the OS allows it."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 5)


def window(source: Any, start: int, frames: int) -> np.ndarray:
    """``frames`` of ``source`` from ``start``, zero-padded outside it."""
    total = frames_of(source)
    lo, hi = max(0, start), min(total, start + frames)
    if lo == start and hi - lo == frames:
        return np.asarray(source[lo:hi], dtype=np.float32)
    out = np.zeros((frames, CHANNELS), dtype=np.float32)
    if hi > lo:
        out[lo - start : hi - start] = source[lo:hi]
    return out


def _equal_power(frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Fade-in and fade-out gains of an equal-power crossfade, float32 (frames, 1) each."""
    ramp = (np.arange(frames) + 0.5) / max(frames, 1)
    fade_in = np.sin(ramp * np.pi / 2).astype(np.float32)[:, None]
    fade_out = np.cos(ramp * np.pi / 2).astype(np.float32)[:, None]
    return fade_in, fade_out
