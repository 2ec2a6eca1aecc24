# SPDX-License-Identifier: GPL-3.0-or-later
"""The transport: play, pause, stop, seek over one mixer and the sound device.

A feeder thread (:mod:`~app.engine.output.feeder`) renders blocks with the
:class:`~app.engine.mixer.Mixer` ahead of the device's callback into a ring buffer. rtmixer ends
a ring-buffer action when the ring runs dry; the feeder counts that as a dropout
(:mod:`~app.engine.output.dropouts`), refills the ring and queues the action again, so playback
recovers by itself.
"""

from __future__ import annotations

import contextlib
import enum
import gc
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from app.engine import realtime
from app.engine.kernel import CHANNELS
from app.engine.mixer import Mixer
from app.engine.output.buffering import DEFAULT_BUFFERING, Buffering
from app.engine.output.device import OutputUnavailableError, open_stream, ring_buffer, wait_done
from app.engine.output.dropouts import DropoutCounter
from app.engine.output.feeder import FeederThread
from app.engine.output.loops import fade, fade_loop_edges, rescale_loop, shortest_loop
from app.engine.output.playhead import PlayheadMap

END_LOCK_POLL_S = 0.005  # how often the feeder's end looks whether a teardown is taking over
# While audio plays, Python hands the GIL between threads every 0.5 ms instead of every 5 ms:
# the feeder must get it back within a few milliseconds of asking, even while the window's
# paint code or a decode holds it, or the low-latency ring (21 ms) runs dry.
PLAYING_SWITCH_INTERVAL_S = 0.0005
_heap_frozen = False  # see _freeze_heap


class TransportState(enum.Enum):
    STOPPED = "stopped"
    PLAYING = "playing"
    PAUSED = "paused"


class Player:
    """A transport (play, pause, stop, seek) over one mixer and the sound device.

    Args:
        mixer: renders the audio; its block size is the feeder's render size.
        device: a PortAudio device name or index; None for the system default.
        on_finished: called from the feeder thread when playback reaches the end.
        deadline: returns the Unix time at which playback must stop (a licence's expiry); it is
            read on every feeder pass, so a renewed licence moves it.
        on_stopped: called from the feeder thread with the reason when the deadline stops play.
        buffering: how far ahead to render (see :class:`Buffering`); change it with
            :meth:`set_buffering`.
    """

    def __init__(
        self,
        mixer: Mixer,
        *,
        device: str | int | None = None,
        on_finished: Callable[[], None] | None = None,
        deadline: Callable[[], float] | None = None,
        on_stopped: Callable[[str], None] | None = None,
        buffering: Buffering = DEFAULT_BUFFERING,
    ) -> None:
        self.mixer = mixer
        self.buffering = buffering
        self.deadline = deadline
        self.on_stopped = on_stopped
        self.device = device
        self.on_finished = on_finished
        self.state = TransportState.STOPPED
        #: Loop region in track frames, or None.
        self.loop: tuple[int, int] | None = None
        self.dropouts = DropoutCounter()
        self._realtime: str | None = None  # why the last promotion failed, if it did
        self._position = 0  # frames, while not playing
        # Transport changes come from the window, the licence keeper and the feeder itself.
        self._lock = threading.Lock()
        self._stream: Any = None
        self._retired: list[Any] = []  # rings of cancelled actions, kept while the stream runs
        # What the feeder writes: the ring, the device's action on it, the next track frame,
        # one block's buffer, and where each written block lies on the track.
        self._feeder = FeederThread(self._feed, self._promote_feeder)
        self._ring: Any = None
        self._action: Any = None
        self._written = 0
        self._block = np.zeros((mixer.block_frames, CHANNELS), dtype=np.float32)
        self._playhead = PlayheadMap()
        # A tempo/key switch fades the old sound out and the new one in over one block each.
        self._switch_pending = False
        self._switched = False
        # A count-in (float32 (frames, 2)) played before the track comes in, and how much of
        # it is in the ring; the action that began with it (its DAC time says when it sounded).
        self._lead_in: np.ndarray | None = None
        self._lead_done = 0
        self._lead_action: Any = None
        mixer.warm(0)

    # --- what the window reads ----------------------------------------------------------------

    @property
    def realtime(self) -> str | None:
        """None while the audio threads run at real-time priority; else why they do not (a
        sentence for the user)."""
        return realtime.demoted() or self._realtime

    @property
    def ring_underruns(self) -> int:
        """Times the ring buffer ran dry (the feeder rendered too late), since the track opened."""
        return self.dropouts.ring_underruns

    @property
    def device_underflows(self) -> int:
        """PortAudio output underflows (the device side came late), since the track opened."""
        return self.dropouts.device_underflows

    @property
    def underruns(self) -> int:
        """Dropouts heard since the track opened: dry rings plus PortAudio underflows."""
        return self.dropouts.total

    @property
    def position_frames(self) -> int:
        """Frames from the track start to what the listener hears now."""
        action = self._action
        if self.state is TransportState.PLAYING and action is not None:
            frame = self._playhead.track_frame(int(action.done_frames), self._position)
            return max(0, min(frame, self.mixer.frames))  # a count-in is before the start
        return self._position

    @property
    def position_s(self) -> float:
        return self.position_frames / self.mixer.sample_rate

    @property
    def latency_s(self) -> float:
        """About how long after a control moves it is heard, in seconds: the ring, and the
        device's own latency (as the open stream reports it, or as expected)."""
        stream, rate = self._stream, self.mixer.sample_rate
        if stream is None:
            return self.buffering.expected_latency_s(rate)
        return self.buffering.ring_frames / rate + float(stream.latency)

    @property
    def queued_s(self) -> float:
        """Seconds of sound in the ring now, written and not yet played (0 while stopped)."""
        ring = self._ring
        return ring.read_available / self.mixer.sample_rate if ring is not None else 0.0

    @property
    def device_latency_s(self) -> float:
        """The open stream's own output latency in seconds (0 while stopped)."""
        stream = self._stream
        return float(stream.latency) if stream is not None else 0.0

    def is_fed_by(self, native_id: int) -> bool:
        """Whether the OS thread ``native_id`` is this player's feeder thread."""
        return self._feeder.is_fed_by(native_id)

    @property
    def lock(self) -> threading.Lock:
        """The transport's lock: every control holds it while it changes the transport."""
        return self._lock

    # --- transport ----------------------------------------------------------------------------

    def set_loop(self, start_frame: int | None, end_frame: int | None = None) -> None:
        """Loop playback over ``[start_frame, end_frame)`` (None: no loop). Heard once the
        frames already rendered ahead (the buffering's ring) have played. Playback only:
        renders and published remixes follow the recipe, never the loop."""
        if start_frame is None or end_frame is None:
            self.loop = None
            return
        start = max(0, min(int(start_frame), self.mixer.frames))
        end = max(0, min(int(end_frame), self.mixer.frames))
        if end - start < shortest_loop(self.mixer.block_frames):
            raise ValueError("a loop must be longer than a few milliseconds")
        self.loop = (start, end)

    def play(self, count_in: np.ndarray | None = None) -> None:
        """Start or resume from the current position; raises OutputUnavailableError.

        ``count_in`` (float32 (frames, 2)), when given and stopped or paused, is played first,
        the track coming in after it (see :attr:`count_in_time`)."""
        with self._lock:
            if count_in is not None and self.state is not TransportState.PLAYING:
                self._lead_in, self._lead_done = np.ascontiguousarray(count_in), 0
            self._play()

    @property
    def count_in_time(self) -> float:
        """The output stream's time (seconds, its clock) at which the last count-in's first
        frame reached the device, as PortAudio reports it; 0.0 before it has."""
        action = self._lead_action
        return float(action.actual_time) if action is not None else 0.0

    @property
    def stream_time(self) -> float:
        """The output stream's clock now, in seconds (0.0 while stopped)."""
        stream = self._stream
        return float(stream.time) if stream is not None else 0.0

    def pause(self) -> None:
        """Stop the sound and keep the position."""
        with self._lock:
            if self.state is TransportState.PLAYING:
                self._position = self.position_frames
                self._close()
                self.state = TransportState.PAUSED

    def stop(self) -> None:
        """Stop the sound and return to the start."""
        with self._lock:
            self._close()
            self._position = 0
            self.state = TransportState.STOPPED
            self.mixer.warm(0)

    def seek(self, frame: int) -> None:
        """Move the playhead to ``frame`` (clamped); keeps playing if it was playing."""
        with self._lock:
            frame = max(0, min(int(frame), self.mixer.frames))
            self._position = frame
            if self.state is not TransportState.PLAYING:
                self.mixer.warm(frame)
                return
            # The stream keeps running: restarting it took longer, and PulseAudio reports
            # underflows around a new stream's start.
            self._stop_feeding()
            self._start_feeding()

    def set_buffering(self, buffering: Buffering) -> None:
        """Render this far ahead from now on. While playing, the device is opened again with
        the new buffer at the same place (a moment of silence: a setting, not a live edit)."""
        with self._lock:
            if buffering == self.buffering:
                return
            self.buffering = buffering
            if self.state is TransportState.PLAYING:
                self._position = self.position_frames
                self._close()
                self.state = TransportState.PAUSED
                self._play()

    def take_waiting_switch(self) -> None:
        """While not playing: take a waiting tempo/key change at once (a style change once it
        is made), keeping the position at the same moment of the music."""
        with self._lock:
            if self.state is TransportState.PLAYING or not self._switch_now():
                return
            old_frames = max(1, self.mixer.frames)
            self._position = self.mixer.switch(self._position)
            self.loop = rescale_loop(
                self.loop, self.mixer.frames / old_frames, self.mixer.block_frames
            )

    def close(self) -> None:
        with self._lock:
            self._close()
            self._position = 0
            self.state = TransportState.STOPPED
        self.mixer.close()

    # --- starting and stopping the sound --------------------------------------------------------

    def _play(self) -> None:
        if self.state is TransportState.PLAYING:
            return
        if self._position >= self.mixer.frames:
            self._position = 0
        before_open = realtime.native_threads()
        stream = open_stream(self.mixer.sample_rate, self.device, self.buffering.device_latency)
        _freeze_heap()
        sys.setswitchinterval(min(sys.getswitchinterval(), PLAYING_SWITCH_INTERVAL_S))
        try:
            stream.start()
        except Exception as exc:  # PortAudioError: the device went away between open and start
            with contextlib.suppress(Exception):
                stream.close()
            raise OutputUnavailableError(
                f"Audio output is unavailable, because the sound device did not start ({exc})."
            ) from None
        self._stream = stream
        started = realtime.device_threads(before_open, realtime.native_threads())
        self._realtime = realtime.promote_all(started, realtime.DEVICE_PRIORITY)
        self.dropouts.start(stream, self.mixer.sample_rate)
        self._start_feeding()
        self.state = TransportState.PLAYING

    def _start_feeding(self) -> None:
        """Play from ``_position`` on the running stream: a fresh ring, filled, and a feeding
        run that keeps it filled."""
        ring_frames = self.buffering.ring_frames
        self._ring = ring_buffer(ring_frames)
        if self._switch_now():  # a tempo/key change made while stopped
            self._position = self.mixer.switch(self._position)
        self.mixer.reset(self._position, quick_start=True)
        self._switch_pending = self._switched = False
        self._written = self._position
        self._playhead.restart()
        self.mixer.wait_made(self._position, ring_frames)
        self._queue_action()
        self._feeder.start_run()

    def _stop_feeding(self) -> None:
        """Stop the feeding run, and the sound it queued (at once, by an rtmixer cancel); the
        stream runs on, silent, and the feeder thread waits for the next run."""
        self._feeder.stop_run()
        self._lead_in = None  # a count-in stopped part-way is not played later
        stream, action, ring = self._stream, self._action, self._ring
        self._action = None
        if stream is None or action is None:
            return
        # The callback may still read the old ring until the cancel is done: keep it alive.
        self._retired.append(ring)
        with contextlib.suppress(Exception):
            wait_done(stream, [action, stream.cancel(action)])

    def _close(self) -> None:
        self._stop_feeding()
        self._feeder.end()
        self._teardown()

    def _teardown(self) -> None:
        stream, self._stream = self._stream, None
        self._action = None
        if stream is None:
            return
        # A device that vanished mid-play must not take the app down with it.
        with contextlib.suppress(Exception):
            self.dropouts.finish(stream)
        with contextlib.suppress(Exception):
            stream.stop()
            stream.close()
        self._retired.clear()  # the callback is gone: the rings it read can go too

    # --- the feeder thread's work -----------------------------------------------------------------

    def _promote_feeder(self) -> None:
        """At a real-time priority a woken feeder runs at once, ahead of the window's painting
        and the style models; it still waits for the GIL (see PLAYING_SWITCH_INTERVAL_S)."""
        refused = realtime.promote_current(realtime.FEEDER_PRIORITY)
        if refused is not None and self._realtime is None:
            self._realtime = refused

    def _feed(self) -> None:
        """One feeding run: keep the ring filled until stopped or the track ends."""
        period = self.mixer.block_frames / self.mixer.sample_rate
        stop = self._feeder.stop
        try:
            while not stop.is_set():
                if self.deadline is not None and time.time() >= self.deadline():
                    self._end(TransportState.PAUSED, "Playback stopped: your licence for this "
                              "track has expired.")  # fmt: skip
                    return
                self._fill()
                if self._action not in self._stream.actions:
                    if self._written >= self.mixer.frames and self.loop is None:
                        self._end(TransportState.STOPPED, None)
                        return
                    self.dropouts.ring_ran_dry()
                    self._queue_action()
                self.dropouts.poll(self._stream)
                stop.wait(period / 4)
        except Exception as exc:  # an effect or the device failed: stop, and say so
            self._end(TransportState.PAUSED, f"Playback stopped because of an error ({exc}).")

    def _fill(self) -> None:
        """Render blocks into the ring while it has room and the track (or loop) goes on.

        Blocks end on the mixer's block grid (the first after a seek may be short), where
        automation moves land. A waiting tempo or key change is switched to between two
        blocks: the last old block fades out and the first new one fades in (~11 ms each).
        """
        frames = self.mixer.block_frames
        while self._ring.write_available >= frames:
            lead = self._lead_in
            if lead is not None:  # the count-in first, marked as the frames before the start
                count = min(frames, lead.shape[0] - self._lead_done)
                self._playhead.wrote(self._written - (lead.shape[0] - self._lead_done), count)
                self._ring.write(lead[self._lead_done : self._lead_done + count])
                self._lead_done += count
                if self._lead_done >= lead.shape[0]:
                    self._lead_in = None
                continue
            start, jumped = self._written, False
            if self._switch_pending:
                start = self._switch_to()
            loop = self.loop
            count = frames - start % frames
            if loop is not None:
                if start >= loop[1]:
                    start, jumped = loop[0], True
                    count = frames - start % frames
                count = min(count, loop[1] - start)
            elif start >= self.mixer.frames:
                return
            block = self._block[:count]
            self.mixer.render(start, block)
            if loop is not None:
                fade_loop_edges(start, block, loop, jumped)
            if self._switched:
                block *= fade(count, rising=True)
                self._switched = False
            elif self.mixer.switch_ready(start + count):
                block *= fade(count, rising=False)
                self._switch_pending = True
            self._playhead.wrote(start, count)
            self._ring.write(block)
            self._written = start + count
        self.mixer.follow(self._written, self.loop)

    def _switch_to(self) -> int:
        """Switch to the waiting tempo/key and return where to go on from on its timeline."""
        old_frames = max(1, self.mixer.frames)
        start = self.mixer.switch(self._written)
        self._switch_pending, self._switched = False, True
        scale = self.mixer.frames / old_frames
        self.loop = rescale_loop(self.loop, scale, self.mixer.block_frames)
        return start

    def _switch_now(self) -> bool:
        """Whether to take a waiting change before playing: always a tempo or key change; a
        style change once it is made (until then the old sound plays, and the feeder switches
        to the styled one with fades when it is ready)."""
        mixer = self.mixer
        return mixer.switch_waiting and (mixer.switch_retimes or mixer.switch_ready(self._position))

    def _queue_action(self) -> None:
        # rtmixer ends the action as soon as the ring is short of a device block: fill it first.
        leading = self._lead_in is not None and self._lead_done == 0
        self._fill()
        self._playhead.action_started(self._ring.read_available)
        self._action = self._stream.play_ringbuffer(self._ring)
        if leading:
            self._lead_action = self._action

    def _end(self, state: TransportState, message: str | None) -> None:
        """The feeder ends playback by itself (the end, the licence's expiry, an error)."""
        # A pause, stop, seek or close holding the lock stops this run and waits for it: give
        # way to it. Anything else holding the lock (a fader's take_waiting_switch(), a play()
        # while playing) lets go soon, and the end must not be lost to it.
        while not self._lock.acquire(timeout=END_LOCK_POLL_S):
            if self._feeder.stop.is_set():
                return
        try:
            finished = state is TransportState.STOPPED
            self._position = 0 if finished else self.position_frames
            self._feeder.end()  # this thread: it ends after this run
            self._teardown()
            self.state = state
        finally:
            self._lock.release()
        if finished and self.on_finished is not None:
            self.on_finished()
        if message is not None and self.on_stopped is not None:
            self.on_stopped(message)


def _freeze_heap() -> None:
    """Once per process, before the first sound: collect, then move every object alive (the
    app, its modules, the open track) out of the garbage collector's reach (``gc.freeze``).

    A full collection holds the GIL while it walks every tracked object, longer than the
    low-latency ring (benchmarks/README.md, "Findings"); frozen objects are ignored by every
    later collection. The cost: cycles among frozen objects are never freed, so the first open
    track's own cycles, if it has any, outlive it (once per process).
    """
    global _heap_frozen
    if _heap_frozen:
        return
    gc.collect()
    gc.freeze()
    _heap_frozen = True
