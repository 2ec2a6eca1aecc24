# SPDX-License-Identifier: GPL-3.0-or-later
"""The engine's insides the benchmarks look at, in one place.

A benchmark times what no public call reports: when the feeder renders a block, when it switches
to a new sound, what the ring still holds then. Each such look is a function here, so that a
change of the engine's insides is mended in this file alone. Where issue 15 renames a member,
both names are tried (the old code is benchmarked too, for before/after figures).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def queued_s(player: Any) -> float:
    """Seconds of sound in the player's ring now: what plays before a block written next."""
    if hasattr(player, "queued_s"):
        return float(player.queued_s)
    ring = player._ring  # before issue 15
    return ring.read_available / player.mixer.sample_rate if ring is not None else 0.0


def device_latency_s(player: Any) -> float:
    """The open stream's output latency as PortAudio reports it (0 while none is open)."""
    if hasattr(player, "device_latency_s"):
        return float(player.device_latency_s)
    stream = player._stream  # before issue 15
    return float(stream.latency) if stream is not None else 0.0


def open_stream(sample_rate: int, latency: str | float) -> Any:
    """The rtmixer stream the player opens (not started), on the default device."""
    try:
        from app.engine.output.device import open_stream as opened
    except ImportError:  # before issue 15
        from app.engine.output import _open_stream as opened
    return opened(sample_rate, None, latency)


def ring_buffer(frames: int) -> Any:
    """An rtmixer ring of ``frames`` stereo float32 frames, as the player's."""
    try:
        from app.engine.output.device import ring_buffer as made
    except ImportError:  # before issue 15
        import rtmixer

        from app.engine.output import BYTES_PER_FRAME

        return rtmixer.RingBuffer(BYTES_PER_FRAME, frames)
    return made(frames)


def switch_waiting(mixer: Any) -> bool:
    """Whether a tempo, key or style change waits for the feeder (or a settle) to take it."""
    return bool(mixer.switch_waiting)


def take_waiting_switch(player: Any) -> None:
    """While stopped: take a waiting change at once (``Player.settle`` before issue 15)."""
    take = getattr(player, "take_waiting_switch", None) or player.settle  # settle: before
    take()


def time_renders(mixer: Any) -> list[float]:
    """Record how long each block render of ``mixer`` takes (seconds), wherever it is called
    from (the feeder thread, while playing); returns the list the times are appended to."""
    took: list[float] = []
    render = mixer.render

    def timed(start: int, out: np.ndarray) -> None:
        begin = time.perf_counter()
        render(start, out)
        took.append(time.perf_counter() - begin)

    mixer.render = timed
    return took


class ChangeClock:
    """Times a change (a fader, a tempo, a style knob) from its call to when it is heard.

    Heard = the end of rendering the first block that reflects the change, plus what the ring
    still held before that block, plus the stream's output latency: when that block reaches the
    listener. A fader is reflected by the first block whose render starts after the call that
    changes it has returned; a tempo, key or style change by the first block rendered after the
    feeder switched to the new sound (``needs_switch``). Made on the mixer the player renders;
    then :meth:`change` once per change.
    """

    def __init__(self, player: Any, mixer: Any) -> None:
        self.heard: list[float] = []  # seconds, one per change heard
        #: Seconds from a ``later`` change's call until it reached the mixer (``applied``).
        self.arrived: list[float] = []
        self._lock = threading.Lock()
        self._called_at: float | None = None  # the change's call, while one is timed
        self._needs_switch = False
        self._after: float | None = None  # a block rendered from then on reflects the change
        self._done = threading.Event()
        render, switch = mixer.render, mixer.switch

        def timed_render(start: int, out: np.ndarray) -> None:
            begin = time.perf_counter()
            render(start, out)
            with self._lock:
                if self._called_at is None or self._after is None or begin < self._after:
                    return
                took = time.perf_counter() - self._called_at
                self.heard.append(took + queued_s(player) + device_latency_s(player))
                self._called_at = None
                self._done.set()

        def timed_switch(frame: int) -> int:
            with self._lock:
                if self._called_at is not None and self._needs_switch:
                    self._after = time.perf_counter()
            return int(switch(frame))

        mixer.render = timed_render
        mixer.switch = timed_switch

    def applied(self) -> None:
        """The change reached the mixer now (for a change ``make`` only sets off, with
        ``later=True``: a MIDI message, which another thread applies)."""
        with self._lock:
            if self._called_at is not None and self._after is None:
                self._after = time.perf_counter()
                self.arrived.append(self._after - self._called_at)

    def change(
        self,
        make: Callable[[], object],
        *,
        needs_switch: bool,
        limit_s: float = 5.0,
        later: bool = False,
    ) -> float:
        """Call ``make()`` (the change), wait until its first block is rendered and return the
        seconds from the call to heard. With ``later``, the change reaches the mixer when
        :meth:`applied` is called, not when ``make`` returns. Raises RuntimeError when nothing
        reflects it within ``limit_s``: a timeout is a failure, never a figure."""
        with self._lock:
            self._done.clear()
            self._needs_switch, self._after = needs_switch, None
            self._called_at = time.perf_counter()
        make()
        if not needs_switch and not later:
            with self._lock:
                self._after = time.perf_counter()
        if not self._done.wait(limit_s):
            with self._lock:
                self._called_at = None
            raise RuntimeError(f"a change was not heard within {limit_s:.0f} s")
        return self.heard[-1]


def stem_sources(track: Any) -> dict[str, Any]:
    """An open track's stems as the mixer reads them (encoded sources), by kind."""
    return dict(track._stems)
