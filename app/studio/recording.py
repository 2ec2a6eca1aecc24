# SPDX-License-Identifier: GPL-3.0-or-later
"""Recording a take over the track: count-in, capture, and placing the take on the beat.

A take starts where the playhead is. The output plays a bar of clicks (``engine.count_in``)
and then the track; the input records from before the first click. When it stops, the take is
placed on the track by the round trip of this very take where the input heard its count-in (a
loopback, or a microphone hearing the speakers): found to the frame. Where it did not (a singer
on headphones), the stream clocks PortAudio reports place it, corrected by the last round trip
a count-in measured. The take is then the audio from the track's entry on, kept by the
:class:`~app.studio.takes.TakeStore`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from app.core.track import TrackInfo
from app.engine import count_in
from app.engine.capture import Capture, input_devices
from app.studio.errors import RecordingError

#: How far from where the clocks expect it the count-in is looked for, in seconds.
SEARCH_S = 0.5
#: A take shorter than this is a slip of the finger, not kept.
SHORTEST_TAKE_S = 0.25
#: The input runs this long before the count-in plays: a sound server delivers a new input's
#: first blocks late, and a count-in played meanwhile would be missed.
INPUT_SETTLE_S = 0.15
INPUT_START_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Take:
    """A recorded take, kept (see ``TakeStore``).

    ``at_frame``: the frame of the track as written that the take's first frame lands on.
    ``aligned_by``: "count-in" (this take heard its count-in: placed to the frame),
    "measured" (the clocks, corrected by an earlier take's count-in) or "clock" (the clocks
    alone). ``clock_error_ms``: how far the stream clocks alone would have placed it off, as
    its count-in showed (None: it did not hear it).
    """

    digest: str
    frames: int
    channels: int
    sample_rate: int
    at_frame: int
    aligned_by: str
    clock_error_ms: float | None
    peak_db: float
    clipped: bool
    number: int = 1

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


@dataclass(frozen=True)
class Alignment:
    """What placing a take found: where the track came in, in captured frames, and how."""

    entry: int
    aligned_by: str
    #: The count-in's offset from where the clocks put it, in frames (for later takes).
    clock_error: int | None


class TakeRecording:
    """One take being recorded: its capture and its count-in (see the module docstring).

    Args:
        track: the track recorded over (its tempo and metre set the count-in).
        start_frame: where the track comes in, in frames of the track as written.
        device, channels: the input.
        clock_error: the last count-in's offset from the clocks, in frames (None: none yet).
        beats: the count-in's length (None: one bar of the track's metre).
    """

    def __init__(
        self,
        track: TrackInfo,
        start_frame: int,
        *,
        device: str | int | None = None,
        channels: int = 1,
        clock_error: int | None = None,
        beats: int | None = None,
    ) -> None:
        rate = track.sample_rate
        bar = beats_per_bar(track.time_signature)
        self.track = track
        self.start_frame = start_frame
        self.clicks = count_in.clicks(track.bpm or 120.0, beats or bar, rate)
        self.clock_error = clock_error
        longest = self.clicks.shape[0] + (track.frames - start_frame) + 2 * rate
        self.capture = Capture(device, rate, channels, longest)

    @property
    def count_in_s(self) -> float:
        return float(self.clicks.shape[0] / self.track.sample_rate)

    def start(self) -> None:
        """Start capturing, and return once the input delivers sound (then play the count-in).

        Raises:
            InputUnavailableError: the input would not open.
            RecordingError: it opened but gave nothing.
        """
        self.capture.start()
        settled = round(INPUT_SETTLE_S * self.track.sample_rate)
        deadline = time.monotonic() + INPUT_START_TIMEOUT_S
        while self.capture.frames < settled:
            if time.monotonic() > deadline:
                self.capture.stop()
                raise RecordingError("The input opened but gives no sound; check the device.")
            time.sleep(0.01)

    def finish(self, count_in_time: float) -> tuple[np.ndarray, Alignment]:
        """Stop capturing and place the take: returns the audio from the track's entry on,
        float32 (frames, channels), and how it was placed.

        Args:
            count_in_time: the output clock's time of the count-in's first frame at the
                device (``Player.count_in_time``); 0.0 if it never played.

        Raises:
            RecordingError: nothing usable was captured.
        """
        first_time = self.capture.first_time
        captured = self.capture.stop()
        rate = self.track.sample_rate
        if count_in_time <= 0.0 or captured.shape[0] == 0:
            raise RecordingError("Nothing was recorded: the input gave no sound.")
        expected = round((count_in_time - first_time) * rate)
        corrected = expected + (self.clock_error or 0)
        search = max(0, corrected) + round(SEARCH_S * rate)
        found = count_in.find(captured, self.clicks, search=search)
        clicks = self.clicks.shape[0]
        if found is not None:
            alignment = Alignment(found + clicks, "count-in", found - expected)
        else:
            how = "measured" if self.clock_error is not None else "clock"
            alignment = Alignment(corrected + clicks, how, None)
        entry = alignment.entry
        room = self.track.frames - self.start_frame
        audio = captured[max(0, entry) : max(0, entry) + room]
        if entry < 0:  # the input started late: what it missed of the start is silence
            audio = np.concatenate([np.zeros((-entry, audio.shape[1]), np.float32), audio])[:room]
        if audio.shape[0] < SHORTEST_TAKE_S * rate:
            raise RecordingError("The take is too short to keep (under a quarter second).")
        return np.ascontiguousarray(audio), alignment


def beats_per_bar(time_signature: str) -> int:
    """The beats of one bar of ``time_signature`` ("4/4", "6/8"); 4 when it says nothing."""
    head = time_signature.split("/")[0].strip()
    return int(head) if head.isdigit() and 1 <= int(head) <= 16 else 4


def input_names() -> list[str]:
    """The names of the inputs a take may be recorded from (the sound server's first)."""
    return [device.name for device in input_devices()]


def level_db(audio: np.ndarray) -> float:
    """Peak level of ``audio`` in dBFS (-inf: silence)."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    return 20.0 * float(np.log10(peak)) if peak > 0 else float("-inf")


def describe(take: Take) -> str:
    """One line for the takes list: "Take 2 · 0:42 · −6 dB · on the beat (count-in)"."""
    minutes, seconds = divmod(int(take.duration_s), 60)
    how = {
        "count-in": "placed by its count-in",
        "measured": "placed by the last measured latency",
        "clock": "placed by the device clocks",
    }[take.aligned_by]
    level = f"{take.peak_db:.0f} dB" if take.peak_db > -200 else "silent"
    return f"Take {take.number} · {minutes}:{seconds:02d} · peak {level} · {how}" + (
        " · clipped" if take.clipped else ""
    )
