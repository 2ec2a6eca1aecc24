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

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np
import pedalboard
import soxr

from app.core.codec import StreamDecoder
from app.engine.kernel import CHANNELS, equal_power, fade_positions

STRETCH_CHUNK_FRAMES = 24_000  # 0.5 s at 48 kHz: the grain of a tempo/key change's first audio
STRETCH_MARGIN_FRAMES = 2_400  # input context either side of a chunk, so its edges are settled
STRETCH_OVERLAP_FRAMES = 1_024  # equal-power crossfade between neighbouring chunks (~21 ms)
# A bridge (see StretchedSource.bridge_from) spans at least this much, so that the grid chunk
# after it is made by the time playback reaches it (8 stems: 4 rounds of ~60 ms on two cores),
# even when the switch to it comes up to 0.125 s late (mixer.SWITCH_SLACK_FRAMES).
BRIDGE_MIN_FRAMES = 18_000  # 0.375 s at 48 kHz
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
    :meth:`StretchedSource.bridge_from`). Compared by identity: a job for the prefetcher."""

    start: int
    end: int
    piece: np.ndarray | None = None  # float32 (end - start + overlap, 2) once made
    making: threading.Event | None = None
    seam: tuple[np.ndarray, np.ndarray] | None = None  # the crossfade into the grid at ``end``


#: What a prefetcher makes: a grid chunk's index, or a bridge.
Job = int | Bridge


class ChunkedSource:
    """A stem made chunk by chunk on demand; slice it like a (frames, 2) float32 array.

    Subclasses define :meth:`_make`, which returns chunk ``index`` as float32
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
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("a stem source is read by contiguous frame ranges")
        start, stop, _ = key.indices(self.frames)
        return self.read(start, max(0, stop - start))

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

    def covered(self, frame: int, frames: int) -> bool:
        """Whether reading ``[frame, frame + frames)`` would not wait for anything to be made."""
        end = min(self.frames, frame + max(frames, 1))
        bridge = self._bridge
        if bridge is not None and frame < bridge.start < end:
            bridge = None  # such a read drops the bridge
        at = frame
        while at < end:
            if bridge is not None and bridge.start <= at < bridge.end:
                if not self.made(bridge):
                    return False
                at = bridge.end
                continue
            if not all(self.made(job) for job in self.needs(at, seam=at == frame)):
                return False
            at = (at // self.chunk_frames + 1) * self.chunk_frames
        return True

    def made(self, job: Job) -> bool:
        """Whether ``job`` (a chunk's index, or a bridge) is made."""
        if isinstance(job, Bridge):
            return job.piece is not None
        return self.ready(job)

    def ready(self, index: int) -> bool:
        with self._lock:
            return index in self._cache

    def busy(self, job: Job) -> bool:
        """Whether some thread is making ``job`` now."""
        with self._lock:
            if isinstance(job, Bridge):
                return job.making is not None
            return job in self._making

    def prefetch(self, job: Job) -> None:
        """Make ``job`` unless it is made (a prefetcher's call)."""
        if isinstance(job, Bridge):
            self._bridge_piece(job)
        elif 0 <= job < self.chunks and not self.ready(job):
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

    def _make(self, index: int) -> np.ndarray:
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
        mode (~13 ms against ~40 for a chunk here): a little less smooth for those few
        hundred ms, then the grid, exactly as a render makes it, crossfaded in at ``g``."""
        size = self.chunk_frames
        end = min(self.frames, -(-(frame + BRIDGE_MIN_FRAMES) // size) * size)
        self._bridge = Bridge(frame, end) if 0 <= frame < end else None
        return self._bridge

    def _make(self, index: int) -> np.ndarray:
        return self._made(index * self.chunk_frames, self.chunk_frames + self.overlap)

    def _make_bridge(self, start: int, frames: int) -> np.ndarray:
        return self._made(start, frames, quick=True)

    def _made(self, start: int, frames: int, *, quick: bool = False) -> np.ndarray:
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


class Prefetcher:
    """Makes the chunks ahead of a read position, for a set of sources, on two threads.

    The threads run at the process's own priority (see ``_run`` for why they are not niced).
    """

    def __init__(
        self, sources: Sequence[ChunkedSource], ahead_frames: int, position: int = 0
    ) -> None:
        self.sources = list(sources)
        self.ahead_frames = ahead_frames
        self._ahead = ahead_frames  # how far ahead to make now (see follow)
        self._position = position  # set before the threads start, so none starts elsewhere
        self._loop: tuple[int, int] | None = None
        self._wake = threading.Condition()
        self._closed = False
        self._claimed: set[tuple[int, Job]] = set()
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

    def follow(
        self, frame: int, loop: tuple[int, int] | None = None, *, ahead: int | None = None
    ) -> None:
        """The reader is at ``frame``: make what lies ahead of it. With ``loop`` (start, end),
        playback jumps back to ``start`` at ``end``: what lies ahead wraps there too. With
        ``ahead``, make only that many frames ahead (less than ``ahead_frames``: this sound
        is about to be left for another, which needs the cores)."""
        with self._wake:
            self._position, self._loop = frame, loop
            self._ahead = self.ahead_frames if ahead is None else min(ahead, self.ahead_frames)
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
        for step in range(0, self._ahead + size, size):
            found.add(self._at(position + step) // size)
        return found

    def ready(self, frame: int, frames: int) -> bool:
        """Whether every source has ``[frame, frame + frames)`` made."""
        return all(source.covered(frame, frames) for source in self.sources)

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

    def _next_job(self) -> tuple[ChunkedSource, Job] | None:
        """The earliest missing chunk (or bridge) ahead of the position: every source's
        chunk k before any chunk k + 1; or None."""
        position = self._position
        size = min(s.chunk_frames for s in self.sources) if self.sources else 1
        for step in range(0, self._ahead + size, size):
            at = self._at(position + step)
            seam = step == 0 or at != position + step  # read from here, not read on into it
            for source in self.sources:
                for job in source.needs(at, seam=seam):
                    if self._free(source, job):
                        return source, job
        return None

    def _free(self, source: ChunkedSource, job: Job) -> bool:
        """Whether ``job`` of ``source`` should be made now (lock held): it is neither made
        nor being made, and nothing else of the same source is being made (one thread per
        source, in order: a decoder reading on needs no seek, and FLAC seeks are slow)."""
        return (
            id(source) not in {owner for owner, _ in self._claimed}
            and not source.made(job)
            and not source.busy(job)
        )

    def _run(self) -> None:
        # At the process's own priority, not niced: these threads hold the GIL between native
        # calls, and a niced thread the scheduler leaves waiting behind a busy core stalls the
        # feeder that needs the GIL next (both cores busy: 101 dry rings in 90 s at nice 10,
        # 5 at nice 0).
        while True:
            with self._wake:
                if self._closed:
                    return
                job = self._next_job()
                if job is None:
                    self._wake.wait(0.25)
                    continue
                source, what = job
                # Claimed before the lock is let go, so the other thread takes another job.
                self._claimed.add((id(source), what))
            try:
                source.prefetch(what)
            except Exception:  # a failing chunk is made again, and reported, by the reader
                with self._wake:
                    self._wake.wait(0.25)
            finally:
                with self._wake:
                    self._claimed.discard((id(source), what))


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
