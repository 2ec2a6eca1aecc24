# SPDX-License-Identifier: GPL-3.0-or-later
"""An open track's overview for the timeline: every stem's peak envelope, and the lanes of the
remix as it plays.

The envelopes come from the platform, which measured them when it ingested the track version
(``core/envelopes``); where it cannot give them (offline, a platform without them, a reply
that does not fit the track), two background threads measure them from the stems the track
plays, decrypted and decoded in memory and kept only as envelopes. Either way they live in
memory only.

The threads run at the process's own priority, as the prefetcher's do: the decode releases the
interpreter lock, and a niced thread holding it between native calls would stall the feeder.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from app.core import envelopes
from app.core.errors import AudioFormatError
from app.core.recipe import Recipe
from app.core.track import TrackInfo
from app.engine.lanes import Lane, Lanes, lanes
from app.engine.peaks import BIN_FRAMES, StemPeaks, measure, measure_array

log = logging.getLogger(__name__)

WORKERS = 2
__all__ = ["Lane", "Lanes", "TrackOverview"]


class TrackOverview:
    """The stems' envelopes of one open track, filled in from the moment it is made.

    Args:
        sources: stem kind → an encoded source (``open_stream`` and ``frames``) or a float32
            (frames, channels) array.
        fetch: the envelopes as the platform keeps them (raises when it cannot give them);
            None: measure them here.
    """

    def __init__(
        self,
        track: TrackInfo,
        sources: Mapping[str, Any],
        fetch: Callable[[], bytes] | None = None,
    ) -> None:
        self.track = track
        self.peaks = {kind: StemPeaks(_frames(source)) for kind, source in sources.items()}
        #: Where the envelopes came from: "platform", or "measured" here.
        self.origin = "measured"
        self._sources = dict(sources)
        self._queue = list(track.stem_kinds)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._start, args=(fetch,), name="fanfare-overview-0")
        ]
        self._threads[0].daemon = True
        self._threads[0].start()

    def _start(self, fetch: Callable[[], bytes] | None) -> None:
        """Take the platform's envelopes if they fit; else measure, on ``WORKERS`` threads."""
        if fetch is not None and self._take(fetch):
            return
        more = [
            threading.Thread(target=self._run, name=f"fanfare-overview-{n}", daemon=True)
            for n in range(1, min(WORKERS, len(self._queue)))
        ]
        self._threads += more
        for thread in more:
            thread.start()
        self._run()

    def _take(self, fetch: Callable[[], bytes]) -> bool:
        try:
            found = envelopes.loads(
                fetch(), frames=self.track.frames, kinds=tuple(self.peaks),
                bin_frames=BIN_FRAMES,
            )  # fmt: skip
        except Exception as exc:  # unreachable, refused, an older platform, a damaged reply
            log.info("stem envelopes measured here: the platform's were not usable (%s)", exc)
            return False
        for kind, values in found.stems.items():
            peaks = self.peaks[kind]
            peaks.values[:] = np.frombuffer(values, dtype=np.uint8)
            peaks.done = len(peaks.values)
        self.origin = "platform"
        return True

    @property
    def fraction(self) -> float:
        """How much of every stem is measured, 0..1."""
        total = sum(len(p.values) for p in self.peaks.values())
        return sum(p.done for p in self.peaks.values()) / total if total else 1.0

    @property
    def complete(self) -> bool:
        return all(p.complete or p.error is not None for p in self.peaks.values())

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until every stem is measured (or failed); False after ``timeout_s``."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not self.complete:
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def lanes(self, recipe: Recipe, start_s: float, end_s: float, columns: int) -> Lanes:
        """The view ``[start_s, end_s)`` of ``recipe``'s remix in ``columns`` columns."""
        return lanes(recipe, self.track, self.peaks, start_s, end_s, max(1, columns))

    def close(self) -> None:
        """Stop measuring, before the stems close: each thread ends at its next block (a few
        milliseconds of decoding)."""
        self._stop.set()
        for thread in list(self._threads):
            thread.join(1.0)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                if not self._queue:
                    return
                kind = self._queue.pop(0)
            source, peaks = self._sources[kind], self.peaks[kind]
            try:
                if isinstance(source, np.ndarray):
                    measure_array(source, peaks)
                else:
                    measure(source.open_stream, peaks, self._stop)
            except AudioFormatError:
                pass  # kept in peaks.error; playback reports a stem that does not decode
            except Exception as exc:  # a stem closed under the thread: the track is closing
                peaks.error = str(exc)


def _frames(source: Any) -> int:
    return int(source.shape[0]) if isinstance(source, np.ndarray) else int(source.frames)
