# SPDX-License-Identifier: GPL-3.0-or-later
"""The audio buffer setting: how much sound is made ahead of the device (a DAW's buffer size)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Buffering:
    """How much sound is made ahead of the device: the trade between how soon a control is
    heard and how long a pause of the computer the playback survives.

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


# What pause of the machine each plays through: benchmarks/README.md, "Findings".
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
