# SPDX-License-Identifier: GPL-3.0-or-later
"""Opening the sound device: an rtmixer stream (PortAudio) whose C callback copies frames from
a ring buffer and never takes the GIL, so Python's pauses cannot glitch the sound."""

from __future__ import annotations

import time
from typing import Any

from app.core.errors import FanfareError
from app.engine.kernel import CHANNELS

DEVICE_BLOCK_FRAMES = 256
BYTES_PER_FRAME = 4 * CHANNELS  # float32 frames in the ring
WAIT_S = 0.1  # how long to wait for the callback to do an action (a count, a cancel)


class OutputUnavailableError(FanfareError):
    """No audio device could be opened; the message says why."""


def preferred_device(sounddevice: Any) -> str | None:
    """On Linux, the sound server's own PortAudio device when there is one.

    ALSA's ``default`` reaches PulseAudio/PipeWire through a plugin that starts late (about a
    second of silence here), while the ``pulse``/``pipewire`` device starts within ~60 ms.
    """
    try:
        names = {d["name"] for d in sounddevice.query_devices() if d["max_output_channels"] > 0}
    except Exception:  # an unusable host API: let PortAudio pick
        return None
    return next((n for n in ("pipewire", "pulse") if n in names), None)


def open_stream(sample_rate: int, device: str | int | None, latency: str | float = "low") -> Any:
    """An rtmixer output stream (not started); raises OutputUnavailableError with the reason."""
    try:
        import rtmixer  # lazy: PortAudio loads here, not at start-up
        import sounddevice
    except OSError as exc:  # sounddevice raises OSError when libportaudio is missing
        raise OutputUnavailableError(
            f"Audio output is unavailable, because PortAudio could not be loaded ({exc})."
        ) from None
    if device is None:
        device = preferred_device(sounddevice)
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


def ring_buffer(frames: int) -> Any:
    """An rtmixer ring buffer of ``frames`` stereo float32 frames (a power of two)."""
    import rtmixer

    return rtmixer.RingBuffer(BYTES_PER_FRAME, frames)


def wait_done(stream: Any, actions: list[Any]) -> None:
    """Wait until the callback has done rtmixer ``actions`` (a callback or two), at most
    ``WAIT_S`` (a stalled device must not hang the transport)."""
    deadline = time.monotonic() + WAIT_S
    while any(a in stream.actions for a in actions) and time.monotonic() < deadline:
        time.sleep(0.002)
