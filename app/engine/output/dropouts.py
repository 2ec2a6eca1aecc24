# SPDX-License-Identifier: GPL-3.0-or-later
"""The dropout counter: dry rings (the feeder was late) and PortAudio's output underflows (the
device side came late), without the device's own start-up."""

from __future__ import annotations

import math
import time
from typing import Any

from app.engine.output.device import DEVICE_BLOCK_FRAMES, wait_done

STATS_EVERY_S = 0.25  # how often the feeder fetches PortAudio's underflow count
# PulseAudio's ALSA plugin reports an underflow in a new stream's first callback or two (before
# any of the track is heard): the first count is taken this soon, and not counted if it covers
# no more than START_GRACE_BLOCKS callbacks plus those that fill the sound server's buffer.
STATS_FIRST_S = 0.03
START_GRACE_BLOCKS = 16  # ~85 ms of 256-frame callbacks


class DropoutCounter:
    """Dropouts heard since the track opened.

    PortAudio's counts may only be read from a stopped stream, so they are fetched from the
    running one by an rtmixer action (``fetch_and_reset_stats``) every ``STATS_EVERY_S``, on
    the feeder thread; the cut a stream's stop makes is not counted.
    """

    def __init__(self) -> None:
        #: Times the ring buffer ran dry (the feeder rendered too late).
        self.ring_underruns = 0
        #: PortAudio output underflows (the device side itself came late).
        self.device_underflows = 0
        self._fetch: Any = None  # a fetch of PortAudio's counts, in flight
        self._due = 0.0
        self._first = True  # the next count is the stream's first
        self._grace_blocks = START_GRACE_BLOCKS

    @property
    def total(self) -> int:
        """Dry rings plus PortAudio underflows."""
        return self.ring_underruns + self.device_underflows

    def ring_ran_dry(self) -> None:
        self.ring_underruns += 1

    def start(self, stream: Any, sample_rate: int) -> None:
        """A stream has just started: its first count is taken by the callback itself, at a
        set stream time (the feeder may be late to ask, and a later count would mix the
        device's start-up with what follows)."""
        prefill = math.ceil(float(stream.latency) * sample_rate / DEVICE_BLOCK_FRAMES)
        self._grace_blocks = START_GRACE_BLOCKS + prefill
        self._first = True
        self._fetch = stream.fetch_and_reset_stats(time=stream.time + STATS_FIRST_S)
        self._due = time.monotonic() + STATS_EVERY_S

    def poll(self, stream: Any) -> None:
        """Count a finished fetch and ask for the next one when it is due (feeder thread)."""
        fetch = self._fetch
        if fetch is not None and fetch not in stream.actions:
            self._add(fetch)
            fetch = self._fetch = None
        now = time.monotonic()
        if fetch is None and now >= self._due:
            self._fetch = stream.fetch_and_reset_stats()
            self._due = now + STATS_EVERY_S

    def finish(self, stream: Any) -> None:
        """The stream is about to stop: take the last count while it still runs (counts read
        after ``stop()`` include the cut itself, which PulseAudio reports as an underflow)."""
        in_flight, self._fetch = self._fetch, None  # never counted twice, even if this fails
        fetches = (in_flight, stream.fetch_and_reset_stats())
        pending = [a for a in fetches if a is not None]
        wait_done(stream, pending)
        for fetch in pending:
            if fetch not in stream.actions:
                self._add(fetch)

    def _add(self, fetched: Any) -> None:
        """Count the underflows of a finished fetch (the first since the start: unless only
        the device's start-up is in it)."""
        starting = self._first and fetched.stats.blocks <= self._grace_blocks
        if not starting:
            self.device_underflows += int(fetched.stats.output_underflows)
        self._first = False
