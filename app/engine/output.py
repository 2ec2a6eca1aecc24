# SPDX-License-Identifier: GPL-3.0-or-later
"""Real-time output: the only module that touches the audio device.

The device callback is rtmixer's, written in C: it copies frames from a ring buffer and never
takes the GIL, so Python's pauses cannot glitch the sound. A feeder thread renders blocks with
the :class:`~app.engine.mixer.Mixer` ahead of the callback into that ring buffer.

rtmixer ends a ring-buffer action when the ring runs dry; the feeder counts that as an underrun,
refills the ring and queues the action again, so playback recovers by itself. PortAudio's own
output underflows (the callback itself came late) are fetched from the running stream every
quarter second and counted too; the cut a stream's stop makes is not one.
"""

from __future__ import annotations

import bisect
import contextlib
import enum
import gc
import math
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core.errors import FanfareError
from app.engine import realtime
from app.engine.mixer import CHANNELS, Mixer

DEVICE_BLOCK_FRAMES = 256
STATS_EVERY_S = 0.25  # how often the feeder fetches PortAudio's underflow count
STATS_WAIT_S = 0.1  # how long to wait for the callback to do an action (the last count, a cancel)
# PulseAudio's ALSA plugin reports an underflow in a new stream's first callback or two, about
# one start in five here (before any of the track has been heard): the first count is taken
# 30 ms in, and underflows in it are not counted if it covers no more than this many callbacks,
# plus those that fill the sound server's buffer at once (a Safe buffer's first count covers 19
# callbacks: its start-up underflows were counted as dropouts before).
STATS_FIRST_S = 0.03
END_LOCK_POLL_S = 0.005  # how often the feeder's end looks whether a teardown is taking over
START_GRACE_BLOCKS = 16  # ~85 ms of 256-frame callbacks
# While audio plays, Python hands the GIL between threads every 0.5 ms instead of every 5 ms:
# the feeder must get it back within a few milliseconds of asking, even while the window's
# paint code or a decode holds it, or the low-latency ring (21 ms) runs dry.
PLAYING_SWITCH_INTERVAL_S = 0.0005
_heap_frozen = False  # see _freeze_heap
BYTES_PER_FRAME = 4 * CHANNELS
LOOP_FADE_FRAMES = 240  # 5 ms at 48 kHz


@dataclass(frozen=True)
class Buffering:
    """How much sound is made ahead of the device: the trade between how soon a control is
    heard and how long a pause of the computer the playback survives (a DAW's buffer size).

    Attributes:
        name: the key kept in the user's preferences.
        label: what the user picks.
        ring_frames: the feeder's render-ahead ring (a power of two, frames at 48 kHz). The
            feeder tops it up in mixer blocks (512 frames), so a pause longer than
            ``ring_frames - 512`` frames minus the device's next pull runs it dry.
        device_latency: PortAudio's output latency: ``"low"`` (~11 ms through PulseAudio) or
            seconds. A longer one keeps more in the sound server, which then rides out a pause
            of the whole machine; the device pulls that much at once after one, so the ring
            grows with it.
    """

    name: str
    label: str
    ring_frames: int
    device_latency: str | float

    def expected_latency_s(self, sample_rate: int) -> float:
        """About how long after a control moves it is heard, in seconds (the ring and the
        device's buffer, before the device is open and says its own)."""
        device = 0.0107 if self.device_latency == "low" else float(self.device_latency)
        return self.ring_frames / sample_rate + device


# What each plays through was measured by stopping a playing player's process (SIGSTOP): Low
# latency breaks on 12-16 ms, Balanced plays through 16 ms but not 30, Safe through 30-40 ms
# but not 60 (tests/engine/test_buffering_device.py). The soak benchmark's dropouts on a
# virtual machine that pauses 38-52 ms about once in 10 minutes all followed such a pause.
BUFFERINGS = (
    Buffering("low", "Low latency", 1024, "low"),  # ~21 + 11 ms
    Buffering("balanced", "Balanced", 2048, 0.02),  # ~43 + 21 ms
    Buffering("safe", "Safe", 4096, 0.04),  # ~85 + 48 ms
)
DEFAULT_BUFFERING = BUFFERINGS[0]


def buffering_named(name: str) -> Buffering:
    """The setting called ``name``; the default for a name this version does not know (a
    preferences file from another version must not stop playback)."""
    return next((b for b in BUFFERINGS if b.name == name), DEFAULT_BUFFERING)


class OutputUnavailableError(FanfareError):
    """No audio device could be opened; the message says why."""


class TransportState(enum.Enum):
    STOPPED = "stopped"
    PLAYING = "playing"
    PAUSED = "paused"


def _preferred_device(sounddevice: Any) -> str | None:
    """On Linux, the sound server's own PortAudio device when there is one.

    ALSA's ``default`` reaches PulseAudio/PipeWire through a plugin that starts late (about a
    second of silence here), while the ``pulse``/``pipewire`` device starts within ~60 ms.
    """
    try:
        names = {d["name"] for d in sounddevice.query_devices() if d["max_output_channels"] > 0}
    except Exception:  # an unusable host API: let PortAudio pick
        return None
    return next((n for n in ("pipewire", "pulse") if n in names), None)


def _open_stream(sample_rate: int, device: str | int | None, latency: str | float = "low") -> Any:
    try:
        import rtmixer  # lazy: PortAudio loads here, not at start-up
        import sounddevice
    except OSError as exc:  # sounddevice raises OSError when libportaudio is missing
        raise OutputUnavailableError(
            f"Audio output is unavailable, because PortAudio could not be loaded ({exc})."
        ) from None
    if device is None:
        device = _preferred_device(sounddevice)
    try:
        return rtmixer.Mixer(
            channels=CHANNELS,
            blocksize=DEVICE_BLOCK_FRAMES,
            samplerate=sample_rate,
            latency=latency,
            device=device,
        )
    except Exception as exc:  # PortAudioError or ValueError for a missing device
        raise OutputUnavailableError(
            f"Audio output is unavailable, because the sound device could not be opened ({exc})."
        ) from None


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
        #: Times the ring buffer ran dry (the feeder rendered too late), since the track opened.
        self.ring_underruns = 0
        #: PortAudio output underflows (the device side itself came late), since the track opened.
        self.device_underflows = 0
        self._realtime: str | None = None  # why the last promotion failed, if it did
        self._position = 0  # frames, while not playing
        self._stream: Any = None
        self._ring: Any = None
        self._action: Any = None
        self._base = 0  # track frame at which the current action started
        self._written = 0  # next track frame the feeder renders
        self._stop = threading.Event()
        # The feeder thread lives while the stream plays and runs one feeding run per play or
        # seek: its real-time priority, asked once, carries across seeks (RealtimeKit grants
        # a limited number of requests: 25 in 20 s by default).
        self._thread: threading.Thread | None = None
        self._runs = threading.Condition()
        self._runs_asked = 0  # feeding runs asked for
        self._runs_done = 0  # the last one the feeder thread finished
        self._feeder_token: object | None = None  # the running feeder's; None: it is to end
        #: Loop region in track frames, or None.
        self.loop: tuple[int, int] | None = None
        self._pushed = 0  # frames written to the ring since play()
        # (pushed frames at a block's start, its track frame): maps what the device has
        # consumed back to track positions, across loops.
        self._marks: list[tuple[int, int]] = []
        # Transport changes come from the window, the licence keeper and the feeder itself.
        self._lock = threading.Lock()
        self._block = np.zeros((mixer.block_frames, CHANNELS), dtype=np.float32)
        # A tempo/key switch fades the old sound out and the new one in over one block each.
        self._switch_pending = False
        self._switched = False
        self._stats_action: Any = None  # a fetch of PortAudio's counts, in flight
        self._stats_due = 0.0
        self._stats_first = True  # the next count is the stream's first
        self._start_grace_blocks = START_GRACE_BLOCKS  # see _play
        self._retired: list[Any] = []  # rings of cancelled actions, kept while the stream runs
        mixer.warm(0)

    @property
    def realtime(self) -> str | None:
        """None while the audio threads run at real-time priority; else why they do not (a
        sentence for the user)."""
        return realtime.demoted() or self._realtime

    @property
    def underruns(self) -> int:
        """Dropouts heard since the track opened: dry rings plus PortAudio underflows."""
        return self.ring_underruns + self.device_underflows

    # --- transport ----------------------------------------------------------------------------

    @property
    def position_frames(self) -> int:
        """Frames from the track start to what the listener hears now."""
        action = self._action
        if self.state is TransportState.PLAYING and action is not None:
            return min(self._track_frame(self._base + int(action.done_frames)), self.mixer.frames)
        return self._position

    def set_loop(self, start_frame: int | None, end_frame: int | None = None) -> None:
        """Loop playback over ``[start_frame, end_frame)`` (None: no loop). Heard once the
        frames already rendered ahead (the buffering's ring) have played. Playback only:
        renders and published remixes follow the recipe, never the loop."""
        if start_frame is None or end_frame is None:
            self.loop = None
            return
        start = max(0, min(int(start_frame), self.mixer.frames))
        end = max(0, min(int(end_frame), self.mixer.frames))
        if end - start < 2 * LOOP_FADE_FRAMES + self.mixer.block_frames:
            raise ValueError("a loop must be longer than a few milliseconds")
        self.loop = (start, end)

    def _track_frame(self, pushed: int) -> int:
        """The track frame of the ``pushed``-th frame written to the ring since play()."""
        marks = self._marks
        index = bisect.bisect_right(marks, pushed, key=lambda m: m[0]) - 1
        if index < 0:
            return self._position
        first, track_frame = marks[index]
        if index > 64:  # forget what has long been played
            del marks[: index - 1]
        return track_frame + (pushed - first)

    @property
    def position_s(self) -> float:
        return self.position_frames / self.mixer.sample_rate

    def play(self) -> None:
        """Start or resume from the current position; raises OutputUnavailableError."""
        with self._lock:
            self._play()

    def _play(self) -> None:
        if self.state is TransportState.PLAYING:
            return
        if self._position >= self.mixer.frames:
            self._position = 0
        before_open = realtime.native_threads()
        stream = _open_stream(self.mixer.sample_rate, self.device, self.buffering.device_latency)
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
        # The first count is taken by the callback itself, at a set stream time: the feeder
        # may be late to ask (the first fill can take 0.1 s), and a count taken later would
        # mix the device's start-up with what follows.
        self._stats_first = True
        prefill = math.ceil(float(stream.latency) * self.mixer.sample_rate / DEVICE_BLOCK_FRAMES)
        self._start_grace_blocks = START_GRACE_BLOCKS + prefill
        self._stats_action = stream.fetch_and_reset_stats(time=stream.time + STATS_FIRST_S)
        self._stats_due = time.monotonic() + STATS_EVERY_S
        self._start_feeding()
        self.state = TransportState.PLAYING

    def _start_feeding(self) -> None:
        """Play from ``_position`` on the running stream: a fresh ring, filled, and the feeder
        thread that keeps it filled."""
        import rtmixer

        ring_frames = self.buffering.ring_frames
        self._ring = rtmixer.RingBuffer(BYTES_PER_FRAME, ring_frames)
        if self._switch_now():  # a tempo/key change made while stopped
            self._position = self.mixer.switch(self._position)
        self.mixer.reset(self._position, quick_start=True)
        self._switch_pending = self._switched = False
        self._written = self._position
        self._pushed = 0
        self._marks = []
        self._stop.clear()
        self.mixer.wait_made(self._position, ring_frames)
        self._queue_action()
        with self._runs:
            self._runs_asked += 1
            self._runs.notify_all()
        if self._thread is None:
            token = self._feeder_token = object()
            self._thread = threading.Thread(
                target=self._feeder, args=(token,), name="fanfare-feeder", daemon=True
            )
            self._thread.start()

    def _stop_feeding(self) -> None:
        """Stop the feeding run, and the sound it queued (at once, by an rtmixer cancel); the
        stream runs on, silent, and the feeder thread waits for the next run."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            with self._runs:
                self._runs.wait_for(
                    lambda: self._runs_done == self._runs_asked or not thread.is_alive(),
                    timeout=2.0,
                )
        stream, action, ring = self._stream, self._action, self._ring
        self._action = None
        if stream is None or action is None:
            return
        # The callback may still read the old ring until the cancel is done: keep it alive.
        self._retired.append(ring)
        with contextlib.suppress(Exception):
            _wait_done(stream, [action, stream.cancel(action)])

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

    @property
    def latency_s(self) -> float:
        """About how long after a control moves it is heard, in seconds: the ring, and the
        device's own latency (as the open stream reports it, or as expected)."""
        stream, rate = self._stream, self.mixer.sample_rate
        if stream is None:
            return self.buffering.expected_latency_s(rate)
        return self.buffering.ring_frames / rate + float(stream.latency)

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

    def close(self) -> None:
        with self._lock:
            self._close()
            self._position = 0
            self.state = TransportState.STOPPED
        self.mixer.close()

    # --- feeder thread ------------------------------------------------------------------------

    def _fill(self) -> None:
        """Render blocks into the ring while it has room and the track (or loop) goes on.

        Blocks end on the mixer's block grid (the first after a seek may be short), where
        automation moves land. A waiting tempo or key change is switched to between two
        blocks: the last old block fades out and the first new one fades in (~11 ms each).
        """
        frames = self.mixer.block_frames
        while self._ring.write_available >= frames:
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
                _fade_loop_edges(start, block, loop, jumped)
            if self._switched:
                block *= _fade(count, rising=True)
                self._switched = False
            elif self.mixer.switch_ready(start + count):
                block *= _fade(count, rising=False)
                self._switch_pending = True
            self._marks.append((self._pushed, start))
            self._ring.write(block)
            self._pushed += count
            self._written = start + count
        self.mixer.follow(self._written, self.loop)

    def _switch_to(self) -> int:
        """Switch to the waiting tempo/key and return where to go on from on its timeline."""
        old_frames = max(1, self.mixer.frames)
        start = self.mixer.switch(self._written)
        self._switch_pending, self._switched = False, True
        if self.loop is not None:
            scale = self.mixer.frames / old_frames
            lo, hi = (round(edge * scale) for edge in self.loop)
            self.loop = (
                (lo, hi) if hi - lo > 2 * LOOP_FADE_FRAMES + self.mixer.block_frames else None
            )
        return start

    def _switch_now(self) -> bool:
        """Whether to take a waiting change before playing: always a tempo or key change; a
        style change once it is made (until then the old sound plays, and the feeder switches
        to the styled one with fades when it is ready)."""
        mixer = self.mixer
        return mixer.switch_waiting and (mixer.switch_retimes or mixer.switch_ready(self._position))

    def settle(self) -> None:
        """While not playing: take a waiting tempo/key change at once (a style change once it
        is made), keeping the position at the same moment of the music."""
        with self._lock:
            if self.state is TransportState.PLAYING or not self._switch_now():
                return
            old_frames = max(1, self.mixer.frames)
            self._position = self.mixer.switch(self._position)
            if self.loop is not None:
                scale = self.mixer.frames / old_frames
                self.loop = (round(self.loop[0] * scale), round(self.loop[1] * scale))

    def _queue_action(self) -> None:
        # rtmixer ends the action as soon as the ring is short of a device block: fill it first.
        self._fill()
        self._base = self._pushed - self._ring.read_available
        self._action = self._stream.play_ringbuffer(self._ring)

    def _feeder(self, token: object) -> None:
        """The feeder thread: one feeding run (:meth:`_feed`) per play or seek, until
        :meth:`_end_feeder` (a pause, a stop, the end) takes its token away."""
        # At a real-time priority a woken feeder runs at once, ahead of the window's painting
        # and the style models; it still waits for the GIL, which the switch interval hands
        # over within ~0.5 ms. Its thread is new at each play, and kept across seeks.
        refused = realtime.promote_current(realtime.FEEDER_PRIORITY)
        if refused is not None and self._realtime is None:
            self._realtime = refused
        while True:
            with self._runs:
                self._runs.wait_for(
                    lambda: self._feeder_token is not token or self._runs_asked != self._runs_done
                )
                if self._feeder_token is not token:
                    return
                run = self._runs_asked
            try:
                self._feed()
            finally:
                with self._runs:
                    if self._feeder_token is token:  # else a newer feeder counts the runs
                        self._runs_done = run
                    self._runs.notify_all()

    def _feed(self) -> None:
        """One feeding run: keep the ring filled until stopped or the track ends."""
        period = self.mixer.block_frames / self.mixer.sample_rate
        try:
            while not self._stop.is_set():
                if self.deadline is not None and time.time() >= self.deadline():
                    self._end(TransportState.PAUSED, "Playback stopped: your licence for this "
                              "track has expired.")  # fmt: skip
                    return
                self._fill()
                if self._action not in self._stream.actions:
                    if self._written >= self.mixer.frames and self.loop is None:
                        self._end(TransportState.STOPPED, None)
                        return
                    self.ring_underruns += 1
                    self._queue_action()
                self._count_underflows()
                self._stop.wait(period / 4)
        except Exception as exc:  # an effect or the device failed: stop, and say so
            self._end(TransportState.PAUSED, f"Playback stopped because of an error ({exc}).")

    def _end(self, state: TransportState, message: str | None) -> None:
        """The feeder ends playback by itself (the end, the licence's expiry, an error)."""
        # A pause, stop, seek or close holding the lock stops this run (``_stop``) and waits
        # for it: give way to it. Anything else holding the lock (a fader's settle(), a play()
        # while playing) lets go soon, and the end must not be lost to it.
        while not self._lock.acquire(timeout=END_LOCK_POLL_S):
            if self._stop.is_set():
                return
        try:
            finished = state is TransportState.STOPPED
            self._position = 0 if finished else self.position_frames
            self._end_feeder()  # this thread: it ends after this run
            self._teardown()
            self.state = state
        finally:
            self._lock.release()
        if finished and self.on_finished is not None:
            self.on_finished()
        if message is not None and self.on_stopped is not None:
            self.on_stopped(message)

    def _close(self) -> None:
        self._stop_feeding()
        self._end_feeder()
        self._teardown()

    def _end_feeder(self) -> None:
        """End the feeder thread (its run has stopped): playback is over until the next play."""
        thread, self._thread = self._thread, None
        with self._runs:
            self._feeder_token = None
            self._runs.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)

    def _count_underflows(self) -> None:
        """Add PortAudio's output underflows (fetched from the running stream by an rtmixer
        action, as ``stream.stats`` may only be read from a stopped one) to ``device_underflows``,
        except the device's start-up (see ``START_GRACE_BLOCKS``); fetch again every
        ``STATS_EVERY_S`` (feeder thread)."""
        stream, action = self._stream, self._stats_action
        if action is not None and action not in stream.actions:
            self._add_underflows(action)
            action = self._stats_action = None
        now = time.monotonic()
        if action is None and now >= self._stats_due:
            self._stats_action = stream.fetch_and_reset_stats()
            self._stats_due = now + STATS_EVERY_S

    def _add_underflows(self, fetched: Any) -> None:
        """Count the underflows of a finished fetch (the first since the start: unless only
        the device's start-up is in it)."""
        starting = self._stats_first and fetched.stats.blocks <= self._start_grace_blocks
        if not starting:
            self.device_underflows += int(fetched.stats.output_underflows)
        self._stats_first = False

    def _teardown(self) -> None:
        stream, self._stream = self._stream, None
        self._action = None
        if stream is None:
            return
        # A device that vanished mid-play must not take the app down with it.
        with contextlib.suppress(Exception):
            # The last count is fetched while the stream still runs: the counts read after
            # stop() include the cut itself, which PulseAudio reports as an underflow.
            fetches = (self._stats_action, stream.fetch_and_reset_stats())
            pending = [a for a in fetches if a is not None]
            _wait_done(stream, pending)
            for action in pending:
                if action not in stream.actions:
                    self._add_underflows(action)
        self._stats_action = None
        with contextlib.suppress(Exception):
            stream.stop()
            stream.close()
        self._retired.clear()  # the callback is gone: the rings it read can go too


def _wait_done(stream: Any, actions: list[Any]) -> None:
    """Wait until the callback has done rtmixer ``actions`` (a callback or two), at most
    ``STATS_WAIT_S`` (a stalled device must not hang the transport)."""
    deadline = time.monotonic() + STATS_WAIT_S
    while any(a in stream.actions for a in actions) and time.monotonic() < deadline:
        time.sleep(0.002)


def _freeze_heap() -> None:
    """Once per process, before the first sound: collect, then move every object alive (the
    app, its modules, the open track) out of the garbage collector's reach (``gc.freeze``).

    A full collection holds the GIL while it walks every tracked object: with the studio
    loaded that took ~50 ms here, longer than the low-latency ring (21 ms), and a 10-minute
    soak showed the feeder stalled 25 ms once. Frozen objects are ignored by every later
    collection, so a full one only walks what was made since. The cost: cycles among frozen
    objects are never freed, so the first open track's own cycles, if it has any, outlive it
    (once per process).
    """
    global _heap_frozen
    if _heap_frozen:
        return
    gc.collect()
    gc.freeze()
    _heap_frozen = True


def _fade(frames: int, *, rising: bool) -> np.ndarray:
    """An equal-power fade over ``frames``: float32 (frames, 1), rising 0→1 or falling 1→0."""
    ramp = (np.arange(frames, dtype=np.float32) + 0.5) / frames
    curve = np.sin(ramp * np.pi / 2) if rising else np.cos(ramp * np.pi / 2)
    return curve.astype(np.float32)[:, None]


def _fade_loop_edges(start: int, block: np.ndarray, loop: tuple[int, int], jumped: bool) -> None:
    """A 5 ms fade out before the jump back and in after it, so a loop does not click."""
    positions = np.arange(start, start + block.shape[0])
    gain = np.ones(block.shape[0], dtype=np.float32)
    if loop[1] - positions[-1] <= LOOP_FADE_FRAMES:  # this block runs into the loop's end
        gain *= np.clip((loop[1] - positions - 0.5) / LOOP_FADE_FRAMES, 0.0, 1.0)
    if jumped:
        gain *= np.clip((positions - loop[0] + 0.5) / LOOP_FADE_FRAMES, 0.0, 1.0)
    if gain.min() < 1.0:
        block *= gain[:, None]
