# SPDX-License-Identifier: GPL-3.0-or-later
"""Stem sources: audio the mixer reads by frame range, made on demand in fixed chunks.

The mixer and the timeline read a stem as ``stem[start:end]`` (float32, (frames, 2)) and ask
its ``shape``; a plain NumPy array is a source, and so is a :class:`ChunkedSource`:

* :class:`EncodedSource` decodes a stem's codec stream (FLAC) a second at a time around where
  it is read: an 8-stem, 4-minute track is not 740 MB of float32 in memory.
* :class:`~app.engine.stretched.StretchedSource` plays a stem at another tempo and/or key.
* :class:`~app.engine.styled.StyledSource` plays a stem through a style model.

A chunked source cuts its output into a fixed grid of ``chunk_frames`` chunks and makes each from
its input alone, never from what was played before, so a chunk is the same sample for sample
whether playback, a seek or an offline render asked for it: that keeps renders equal to what was
heard. Chunks are kept in a small cache around where the reader is; a
:class:`~app.engine.prefetch.Prefetcher` makes the ones ahead of the playhead.

Words: a source *makes* a chunk (computes it, once); a *job* is a chunk's index or a bridge.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core.codec import ByteStream, StreamDecoder
from app.engine.kernel import CHANNELS, equal_power, fade_positions

CACHE_CHUNKS = 12
DECODE_CHUNK_FRAMES = 48_000  # 1 s at 48 kHz: one FLAC seek and decode, ~1 ms
DECODE_CACHE_CHUNKS = 6  # the second being played, the one before, and 3 s made ahead
SEAM_MIN_CORRELATION = -0.9  # below this a seam is left to dip rather than boosted > 10 dB


def frames_of(source: Any) -> int:
    """Length of an array or source in frames."""
    return int(source.shape[0])


@dataclass(eq=False)
class Bridge:
    """Output frames ``[start, end)`` of a chunked source made as one quick piece, so that
    playback can start reading at ``start`` long before the grid chunk there is made; ``end``
    is on the chunk grid, and the grid takes over there with a crossfade (see
    ``StretchedSource.bridge_from``). Compared by identity: a job for the prefetcher."""

    start: int
    end: int
    piece: np.ndarray | None = None  # float32 (end - start + overlap, 2) once made
    making: threading.Event | None = None
    seam: tuple[np.ndarray, np.ndarray] | None = None  # the crossfade into the grid at ``end``


#: What a prefetcher makes: a grid chunk's index, or a bridge.
Job = int | Bridge


class ChunkedSource:
    """A stem made chunk by chunk on demand; slice it like a (frames, 2) float32 array.

    Subclasses define :meth:`_make_chunk`, which returns chunk ``index`` as float32
    ``(chunk_frames + overlap, 2)``: the chunk and ``overlap`` frames of what follows it, which
    are crossfaded with the start of the next chunk. Those that can also make a quick piece
    off the grid (:class:`Bridge`) define :meth:`_make_bridge`.
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
        self._bridge: Bridge | None = None
        #: Chunks the prefetcher is keeping made (set by it): evicted last, so a loop's start
        #: stays made while the playhead is at its end.
        self.wanted: frozenset[int] = frozenset()
        #: Chunks a reader had to wait for (the prefetcher was late): made by the reader, or
        #: still being made by a prefetch thread when it asked.
        self.late_chunks = 0

    @property
    def chunks(self) -> int:
        return -(-self.frames // self.chunk_frames)

    @property
    def bridge(self) -> Bridge | None:
        """The bridge reads go through, if one is set."""
        return self._bridge

    def drop_bridge(self) -> None:
        """Read the grid only from now on (after a seek: what is heard then is what a render
        makes)."""
        self._bridge = None

    def __len__(self) -> int:
        return self.frames

    def __getitem__(self, key: slice) -> np.ndarray:
        start, stop = frame_range(key, self.frames)
        return self.read(start, stop - start)

    def _bridge_for(self, start: int, end: int) -> Bridge | None:
        """The bridge a read of ``[start, end)`` goes through, or None. A read from before a
        bridge drops it: the reader went back, and the grid alone is played from there."""
        bridge = self._bridge
        if bridge is None or end <= bridge.start or start >= bridge.end + self.overlap:
            return None
        if start < bridge.start:
            self._bridge = None
            return None
        return bridge

    def read(self, start: int, frames: int) -> np.ndarray:
        """Frames ``[start, start + frames)`` (clipped to the source): float32 (n, 2)."""
        start = max(0, start)
        end = min(self.frames, start + frames)
        if end <= start:
            return np.zeros((0, CHANNELS), dtype=np.float32)
        size = self.chunk_frames
        bridge = self._bridge_for(start, end)
        first, last = start // size, (end - 1) // size
        past_seam = start - first * size >= self.overlap or first == 0
        if bridge is None and first == last and past_seam:
            # The common case: within one chunk, past its crossfade: a view, no copy.
            chunk = self.chunk(first, wait=True)
            return chunk[start - first * size : end - first * size]
        out = np.empty((end - start, CHANNELS), dtype=np.float32)
        at = start
        while at < end:
            if bridge is not None and at < bridge.end:
                hi = min(end, bridge.end)
                piece = self._bridge_piece(bridge)
                out[at - start : hi - start] = piece[at - bridge.start : hi - bridge.start]
            else:
                index = at // size
                hi = min(end, (index + 1) * size)
                after = bridge if bridge is not None and index * size == bridge.end else None
                out[at - start : hi - start] = self._assembled(
                    index, at - index * size, hi - at, after=after
                )
            at = hi
        return out

    def _assembled(
        self, index: int, offset: int, frames: int, *, after: Bridge | None = None
    ) -> np.ndarray:
        """``frames`` of chunk ``index`` from ``offset``, its head crossfaded with the tail of
        the chunk before (or of the bridge ``after``, which ends where this chunk starts)."""
        piece = self.chunk(index, wait=True)[offset : offset + frames]
        if (index == 0 and after is None) or offset >= self.overlap:
            return piece
        n = min(frames, self.overlap - offset)
        if after is None:
            fade_in, fade_out = self._seam(index)
            tail = self.chunk(index - 1, wait=True)[self.chunk_frames + offset :][:n]
        else:
            bridged = self._bridge_piece(after)
            fade_in, fade_out = self._bridge_seam(after, index)
            tail = bridged[after.end - after.start + offset :][:n]
        piece = piece.copy()
        piece[:n] = piece[:n] * fade_in[offset : offset + n] + tail * fade_out[offset : offset + n]
        return piece

    def _seam(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The crossfade into chunk ``index`` (see :meth:`_crossfade`), kept per index: it
        depends on these two chunks only, so it is the same however the source is read."""
        found = self._seams.get(index)
        if found is not None:
            return found
        head = self.chunk(index, wait=True)[: self.overlap]
        tail = self.chunk(index - 1, wait=True)[self.chunk_frames :]
        fades = self._crossfade(head, tail)
        with self._lock:
            self._seams[index] = fades
            while len(self._seams) > CACHE_CHUNKS:
                self._seams.pop(next(iter(self._seams)))
        return fades

    def _bridge_seam(self, bridge: Bridge, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The crossfade from ``bridge``'s tail into grid chunk ``index``."""
        if bridge.seam is None:
            head = self.chunk(index, wait=True)[: self.overlap]
            tail = self._bridge_piece(bridge)[bridge.end - bridge.start :]
            bridge.seam = self._crossfade(head, tail)
        return bridge.seam

    def _crossfade(self, head: np.ndarray, tail: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fade-in for ``head`` and fade-out for ``tail`` (both (overlap, 2)): equal power,
        corrected for how alike the two sides are.

        Two pieces stretched from different starts carry the same partials with unrelated
        phases: where they are out of phase a plain crossfade would dip (a steady tone by up
        to 4 dB here). With ``rho`` the correlation of the two sides over the overlap, the sum
        ``a*x + b*y`` has power ``a² + b² + 2ab*rho``; dividing by its root keeps the level.
        """
        head64, tail64 = head.astype(np.float64), tail.astype(np.float64)
        energy = float(np.sqrt(np.sum(head64 * head64) * np.sum(tail64 * tail64)))
        rho = float(np.sum(head64 * tail64)) / energy if energy > 0 else 0.0
        rho = min(1.0, max(SEAM_MIN_CORRELATION, rho))
        a, b = self._fade_in[:, 0].astype(np.float64), self._fade_out[:, 0].astype(np.float64)
        norm = 1.0 / np.sqrt(a * a + b * b + 2.0 * a * b * rho)
        return (a * norm).astype(np.float32)[:, None], (b * norm).astype(np.float32)[:, None]

    # --- what a prefetcher asks -----------------------------------------------------------------

    def needs(self, frame: int, *, seam: bool) -> list[Job]:
        """What must be made to read from ``frame`` on, in order; with ``seam``, also what the
        crossfade into it needs (a reader starting there, rather than reading on into it)."""
        bridge = self._bridge
        if bridge is not None and bridge.start <= frame < bridge.end:
            return [bridge]
        index = frame // self.chunk_frames
        if not 0 <= index < self.chunks:
            return []
        if frame % self.chunk_frames < self.overlap:
            if bridge is not None and index * self.chunk_frames == bridge.end:
                return [bridge, index]
            if seam and index > 0:
                return [index - 1, index]
        return [index]

    def unfinished(self, frame: int) -> int | None:
        """The first chunk from ``frame`` on (wrapping round) worth making for later, though
        playback does not need it soon, or None: nothing here keeps such chunks (a source with
        a store, :class:`~app.engine.stretched.StretchedSource`, says otherwise)."""
        return None

    def finish(self, index: int) -> None:
        """Make chunk ``index`` for later (see :meth:`unfinished`)."""

    def made_for(self, frame: int, frames: int) -> bool:
        """Whether reading ``[frame, frame + frames)`` would not wait for anything to be made."""
        end = min(self.frames, frame + max(frames, 1))
        bridge = self._bridge
        if bridge is not None and frame < bridge.start < end:
            bridge = None  # such a read drops the bridge
        at = frame
        while at < end:
            if bridge is not None and bridge.start <= at < bridge.end:
                if not self.is_made(bridge):
                    return False
                at = bridge.end
                continue
            if not all(self.is_made(job) for job in self.needs(at, seam=at == frame)):
                return False
            at = (at // self.chunk_frames + 1) * self.chunk_frames
        return True

    def is_made(self, job: Job) -> bool:
        """Whether ``job`` (a chunk's index, or a bridge) is made."""
        if isinstance(job, Bridge):
            return job.piece is not None
        return self.chunk_made(job)

    def chunk_made(self, index: int) -> bool:
        """Whether chunk ``index`` is made (in the cache)."""
        with self._lock:
            return index in self._cache

    def is_making(self, job: Job) -> bool:
        """Whether some thread is making ``job`` now."""
        with self._lock:
            if isinstance(job, Bridge):
                return job.making is not None
            return job in self._making

    def make(self, job: Job) -> None:
        """Make ``job`` unless it is made (a prefetcher's call)."""
        if isinstance(job, Bridge):
            self._bridge_piece(job)
        elif 0 <= job < self.chunks and not self.chunk_made(job):
            self.chunk(job)

    # --- making -----------------------------------------------------------------------------------

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
            if wait:
                self.late_chunks += 1  # the reader waits for a prefetch thread to finish it
            event.wait()
            with self._lock:
                found = self._cache.get(index)
            if found is not None:
                return found
            return self.chunk(index, wait=wait)  # it was evicted at once: make it again
        try:
            if wait:
                self.late_chunks += 1
            made = self._make_chunk(index)
            with self._lock:
                self._cache[index] = made
                while len(self._cache) > self.cache_chunks:
                    del self._cache[self._evictable()]
            return made
        finally:
            with self._lock:
                del self._making[index]
            event.set()

    def _bridge_piece(self, bridge: Bridge) -> np.ndarray:
        """``bridge``'s piece, made now if nobody is making it (else waited for)."""
        while True:
            with self._lock:
                if bridge.piece is not None:
                    return bridge.piece
                event = bridge.making
                mine = event is None
                if mine:
                    event = bridge.making = threading.Event()
            assert event is not None
            if not mine:
                event.wait()
                continue  # made, or its maker failed: then this thread tries
            try:
                piece = self._make_bridge(bridge.start, bridge.end - bridge.start + self.overlap)
                with self._lock:
                    bridge.piece = piece
                return piece
            finally:
                with self._lock:
                    bridge.making = None
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

    def _make_chunk(self, index: int) -> np.ndarray:
        raise NotImplementedError

    def _make_bridge(self, start: int, frames: int) -> np.ndarray:
        """``frames`` of output from ``start``, made quickly (float32 (frames, 2))."""
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
        open_stream: Callable[[], ByteStream],
        frames: int,
        *,
        chunk_frames: int = DECODE_CHUNK_FRAMES,
    ) -> None:
        super().__init__(frames, chunk_frames, 0, cache_chunks=DECODE_CACHE_CHUNKS)
        self.open_stream = open_stream
        # One decoder that reads on in order: playback asks for chunk after chunk, and a
        # fresh decoder per chunk would search the FLAC stream for its start every time, and
        # the search's many small reads hold the GIL long enough to starve the feeder.
        self._decoder = StreamDecoder(open_stream)
        self._decoding = threading.Lock()

    def _make_chunk(self, index: int) -> np.ndarray:
        start = index * self.chunk_frames
        count = min(self.chunk_frames, self.frames - start)
        with self._decoding:
            return np.ascontiguousarray(self._decoder.read(start, count))


def frame_range(key: slice, frames: int) -> tuple[int, int]:
    """``[start, stop)`` of a source ``frames`` long that ``source[key]`` reads (stop ≥
    start); raises TypeError for anything but a contiguous slice."""
    if not isinstance(key, slice) or key.step not in (None, 1):
        raise TypeError("a stem source is read by contiguous frame ranges")
    start, stop, _ = key.indices(frames)
    return start, max(start, stop)


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
    fade_in, fade_out = equal_power(fade_positions(frames))
    return fade_in[:, None], fade_out[:, None]
