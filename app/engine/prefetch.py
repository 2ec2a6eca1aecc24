# SPDX-License-Identifier: GPL-3.0-or-later
"""The prefetcher: threads that make chunked sources' chunks ahead of the playhead, so the
render thread only copies; see :class:`Prefetcher`."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from app.engine.sources import ChunkedSource, Job

FINISH_AFTER_S = 3.0  # playback steady this long before a sound is finished (see Prefetcher)


class Prefetcher:
    """Makes the chunks ahead of a read position, for a set of sources, on two threads.

    When everything ahead is made, the first thread *finishes* the sources that keep what they
    make (a stretched stem with a chunk store): it makes the rest of each, from the position
    on, into the store, resting half as long as each chunk took, so that a render or a seek
    later finds it made. It starts once playback has gone ``FINISH_AFTER_S`` without a jump or
    a switch, and stops while a switch to another sound is near (``follow`` with ``ahead``)
    and when the store is full.

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
        self._steady_since = time.monotonic()  # since the last jump or switch (see _finishing_job)
        self._threads = [
            threading.Thread(
                target=self._run, args=(n == 0,), name=f"fanfare-prefetch-{n}", daemon=True
            )
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
            # A jump (a seek, a loop's wrap) or a switch coming: the cores go to what is heard.
            if ahead is not None or abs(frame - self._position) > self.ahead_frames:
                self._steady_since = time.monotonic()
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

    def is_made(self, frame: int, frames: int) -> bool:
        """Whether every source has ``[frame, frame + frames)`` made."""
        return all(source.made_for(frame, frames) for source in self.sources)

    @property
    def running(self) -> bool:
        """Whether any of its threads is still alive."""
        return any(thread.is_alive() for thread in self._threads)

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
            and not source.is_made(job)
            and not source.is_making(job)
        )

    def _finishing_job(self, busy: set[int]) -> tuple[ChunkedSource, int] | None:
        """A chunk to make for later, of a source none of ``busy`` (ids) is making: none until
        playback has gone on without a jump or a switch for ``FINISH_AFTER_S`` (a fan trying
        tempos and seeking needs both cores for the bridges). Called without the lock: the
        store is searched here, and the feeder's ``follow`` must never wait for that."""
        if self._ahead < self.ahead_frames:
            return None
        if time.monotonic() - self._steady_since < FINISH_AFTER_S:
            return None
        position = self._position
        for source in self.sources:
            if id(source) in busy:
                continue
            index = source.unfinished(position)
            if index is not None:
                return source, index
        return None

    def _finish(self, source: ChunkedSource, index: int) -> None:
        """Make ``index`` of ``source`` for later, then rest half as long as that took."""
        started = time.perf_counter()
        try:
            source.finish(index)
        except Exception:  # made again, and reported, if a reader ever needs it
            pass
        finally:
            with self._wake:
                self._claimed.discard((id(source), index))
                self._wake.wait(0.5 * (time.perf_counter() - started))

    def _run(self, finisher: bool) -> None:
        # At the process's own priority, not niced: these threads hold the GIL between native
        # calls, and a niced thread left waiting behind a busy core stalls the feeder that
        # needs the GIL next (benchmarks/README.md, "Findings").
        while True:
            with self._wake:
                if self._closed:
                    return
                job = self._next_job()
                if job is None and not finisher:
                    self._wake.wait(0.25)
                    continue
                busy = {owner for owner, _ in self._claimed}
                if job is not None:  # claimed before the lock is let go: the other thread
                    self._claimed.add((id(job[0]), job[1]))  # takes another job
            if job is None:
                later = self._finishing_job(busy)
                with self._wake:
                    if later is None or id(later[0]) in {o for o, _ in self._claimed}:
                        if later is None and not self._closed:
                            self._wake.wait(0.25)
                        continue
                    self._claimed.add((id(later[0]), later[1]))
                self._finish(*later)
                continue
            source, what = job
            try:
                source.make(what)
            except Exception:  # a failing chunk is made again, and reported, by the reader
                with self._wake:
                    self._wake.wait(0.25)
            finally:
                with self._wake:
                    self._claimed.discard((id(source), what))
