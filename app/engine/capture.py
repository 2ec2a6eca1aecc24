# SPDX-License-Identifier: GPL-3.0-or-later
"""Capturing a take: an input stream (PortAudio, through sounddevice) into a buffer made before
it starts, with the input clock's time of its first frame and a level for the meter.

The callback copies and measures one block; it allocates nothing and takes no lock, so it
keeps up however busy the window is. A block that does not fit the buffer is dropped and
counted (the take is as long as the buffer allows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core.errors import FanfareError

BLOCK_FRAMES = 256


class InputUnavailableError(FanfareError):
    """No input device could be opened; the message says why."""


@dataclass(frozen=True)
class InputDevice:
    """A PortAudio input: its name and most channels."""

    name: str
    channels: int


def input_devices() -> list[InputDevice]:
    """The inputs PortAudio offers (the sound server's first, where there is one); empty when
    PortAudio cannot be loaded."""
    try:
        import sounddevice
    except OSError:
        return []
    try:
        found = [
            InputDevice(str(d["name"]), int(d["max_input_channels"]))
            for d in sounddevice.query_devices()
            if d["max_input_channels"] > 0
        ]
    except Exception:
        return []
    server = [d for d in found if d.name in ("pipewire", "pulse")]
    return server + [d for d in found if d not in server]


class Capture:
    """One take's input stream into memory.

    Args:
        device: a PortAudio input device name or index (None: the sound server's, or the
            system default).
        sample_rate: frames per second (the track's: a take is mixed without resampling).
        channels: 1 (a voice, a guitar) or 2.
        max_frames: the longest take the buffer holds.
    """

    def __init__(
        self, device: str | int | None, sample_rate: int, channels: int, max_frames: int
    ) -> None:
        if channels not in (1, 2):
            raise ValueError("a take has 1 or 2 channels")
        self.device = device
        self.sample_rate = sample_rate
        self.channels = channels
        self.buffer = np.zeros((max_frames, channels), dtype=np.float32)
        self._scratch = np.zeros((BLOCK_FRAMES * 16, channels), dtype=np.float32)
        #: Frames captured so far (the callback's count).
        self.frames = 0
        #: The input clock's time of the first frame captured (seconds; 0.0 before it).
        self.first_time = 0.0
        #: Peak of the last block, linear (for the input meter).
        self.peak = 0.0
        #: Samples at or beyond full scale, and blocks lost (overflows, or past the buffer).
        self.clipped = 0
        self.lost_blocks = 0
        self._stream: Any = None

    @property
    def latency_s(self) -> float:
        """The input stream's own latency as PortAudio reports it (0.0 when not open)."""
        return float(self._stream.latency) if self._stream is not None else 0.0

    def start(self) -> None:
        """Open the input and start capturing; raises InputUnavailableError with the reason."""
        try:
            import sounddevice
        except OSError as exc:
            raise InputUnavailableError(
                f"Recording is unavailable, because PortAudio could not be loaded ({exc})."
            ) from None
        device = self.device
        if device is None:
            names = [d.name for d in input_devices()]
            device = next((n for n in ("pipewire", "pulse") if n in names), None)
        try:
            stream = sounddevice.InputStream(
                samplerate=self.sample_rate,
                channels=self.channels,
                dtype="float32",
                blocksize=BLOCK_FRAMES,
                latency="low",
                device=device,
                callback=self._callback,
            )
            stream.start()
        except Exception as exc:  # PortAudioError, or ValueError for a missing device
            raise InputUnavailableError(
                f"Recording is unavailable, because the input could not be opened ({exc})."
            ) from None
        self._stream = stream

    def _callback(self, indata: np.ndarray, frames: int, time: Any, status: Any) -> None:
        if status.input_overflow:
            self.lost_blocks += 1
        if self.frames == 0:
            self.first_time = float(time.inputBufferAdcTime)
        at = self.frames
        if at + frames > self.buffer.shape[0] or frames > self._scratch.shape[0]:
            self.lost_blocks += 1
            return
        self.buffer[at : at + frames] = indata
        magnitude = np.abs(indata, out=self._scratch[:frames])
        self.peak = float(magnitude.max()) if frames else 0.0
        if self.peak >= 0.999:
            self.clipped += int(np.count_nonzero(magnitude >= 0.999))
        self.frames = at + frames

    def stop(self) -> np.ndarray:
        """Stop capturing; returns what was captured: float32 (frames, channels), a view of
        the buffer."""
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.stop()
            finally:
                stream.close()
        return self.buffer[: self.frames]
