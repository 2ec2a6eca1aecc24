# SPDX-License-Identifier: GPL-3.0-or-later
"""Reverb rooms: one shared reverb per room size, fed by the stems' sends.

A strip's reverb is a send, as on a mixing desk: the stem goes on at ``1 - mix`` of its level
(after the fader and pan), and ``mix`` of it goes into the room of its size. The reverb
(pedalboard's, JUCE's Freeverb) is linear and time-invariant, so the stems that share a room
can share one reverb: for a mix that does not move, the sum equals, to float rounding, what
each stem's own reverb would give (``tests/engine/test_rooms.py``), at a fraction of the cost
(benchmarks/README.md, "Findings").

Freeverb sums its two inputs to mono and feeds that to a left and a right filter bank. The
stems' left sends (panned by their left gains) and right sends differ, so a room runs two
reverbs: one fed the left send, whose left output is the room's left channel, and one fed the
right send, whose right output is its right channel. Either way the cost of a room is that of
two per-stem reverbs, however many stems share it.

Where the faders move, the send is post-fader: what was sent before a move rings on in the
room (a mute lets the room's tail die away instead of cutting it).

Rooms come and go only where the stems' room sizes change (at automation moves or live edits,
on the block grid), so playback and a render make the same rooms at the same frames: a room
no stem sends to any more first takes the size a stem newly asks for (its tail goes on, as
when a room knob is turned), and is otherwise dropped at the first change ``ROOM_TAIL_FRAMES``
after its last send.
"""

from __future__ import annotations

import numpy as np
import pedalboard

from app.engine.effects import PROCESS_FRAMES

ROOM_TAIL_FRAMES = 576_000  # 12 s at 48 kHz: the largest room has died away by -60 dB


class Room:
    """One shared reverb: a room size, and the two reverbs that make its left and right."""

    def __init__(self, size: float, sample_rate: int) -> None:
        self.size = size
        self.sample_rate = sample_rate
        self.idle_since: int | None = None  # output frame its last sender left, None if in use
        # wet_level 1 and dry 0: the send level is set by each stem's mix before the room.
        self._left = pedalboard.Reverb(room_size=size, wet_level=1.0, dry_level=0.0)
        self._right = pedalboard.Reverb(room_size=size, wet_level=1.0, dry_level=0.0)
        self._inputs: dict[int, np.ndarray] = {}  # each reverb's (2, frames) input buffer

    def resize(self, size: float) -> None:
        """A new room size; the tail carries on (Freeverb glides to it)."""
        self.size = size
        self._left.room_size = size
        self._right.room_size = size

    def process_left(self, send: np.ndarray) -> np.ndarray:
        """The room's left channel for the left send (float32 (frames,)); a new array."""
        left: np.ndarray = self._run(self._left, send)[0]
        return left

    def process_right(self, send: np.ndarray) -> np.ndarray:
        """The room's right channel for the right send (float32 (frames,)); a new array."""
        right: np.ndarray = self._run(self._right, send)[1]
        return right

    def _run(self, reverb: pedalboard.Plugin, send: np.ndarray) -> np.ndarray:
        # Freeverb sums its inputs: the send in one channel and silence in the other. Each
        # reverb has its own input buffer (a render runs the left and right on two threads),
        # kept while the length stays the same (the playback block): its silent channel
        # stays silent.
        both = self._inputs.get(id(reverb))
        if both is None or both.shape[1] != send.shape[0]:
            both = self._inputs[id(reverb)] = np.zeros((2, send.shape[0]), dtype=np.float32)
        both[0] = send
        return reverb.process(both, self.sample_rate, buffer_size=PROCESS_FRAMES, reset=False)


class Rooms:
    """The rooms alive, in the order they were made (the order their sound is added in)."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.live: list[Room] = []
        self._sizes: tuple[float | None, ...] | None = None

    def reset(self) -> None:
        """Drop every room and its tail (a seek, or a new tempo or key)."""
        self.live = []
        self._sizes = None

    def assign(self, sizes: tuple[float | None, ...], frame: int) -> list[int]:
        """Rooms for the stems' room sizes (None: no reverb) from output ``frame`` on; returns
        each stem's index into ``live`` (-1: none). Rooms change only when ``sizes`` does."""
        if sizes != self._sizes:
            self._rearrange(sizes, frame)
            self._sizes = sizes
        index = {room.size: k for k, room in enumerate(self.live) if room.idle_since is None}
        return [-1 if size is None else index[size] for size in sizes]

    def _rearrange(self, sizes: tuple[float | None, ...], frame: int) -> None:
        wanted = sorted({size for size in sizes if size is not None})
        serving = {}
        for room in self.live:
            if room.size in wanted and room.size not in serving:
                serving[room.size] = room
        idle = [room for room in self.live if room not in serving.values()]
        for room in idle:
            if room.idle_since is None:
                room.idle_since = frame
        # A size asked for anew takes the room left most recently (a turned room knob).
        idle.sort(key=lambda room: -(room.idle_since or 0))
        for size in wanted:
            if size in serving:
                continue
            if idle:
                room = idle.pop(0)
                room.resize(size)
            else:
                room = Room(size, self.sample_rate)
                self.live.append(room)
            room.idle_since = None
            serving[size] = room
        for room in serving.values():
            room.idle_since = None
        self.live = [
            room
            for room in self.live
            if room.idle_since is None or frame - room.idle_since < ROOM_TAIL_FRAMES
        ]
