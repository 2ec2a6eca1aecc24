# SPDX-License-Identifier: GPL-3.0-or-later
"""A stem's peak envelope for the timeline: the loudest sample in every ``BIN_FRAMES`` frames.

Made in memory from the stem's codec stream (decrypted as it is read), a block at a time, and
kept as one byte per bin: about 47 values a second at 48 kHz. That is an outline to draw, not
audio: nothing of the waveform's shape inside a bin survives, so no stem can be rebuilt from it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import soundfile as sf

from app.core.codec import ByteStream
from app.core.errors import AudioFormatError

BIN_FRAMES = 1024  # 21.3 ms at 48 kHz: a pixel's worth at the timeline's closest zoom
_BLOCK_BINS = 64  # bins decoded per read (65,536 frames, 1.4 s at 48 kHz)
FULL_SCALE = 255  # a bin's value for a sample at 0 dBFS


class StemPeaks:
    """The peak envelope of one stem, filled in as its decode goes on.

    ``values`` is uint8 (bins,): each bin's largest absolute sample over both channels, scaled so
    ``FULL_SCALE`` is 0 dBFS (rounded up, so a bin with any sound shows). ``done`` is how many
    bins are filled; the rest read 0 until they are. Readers on other threads may look at both
    at any time: a bin is written once, before ``done`` passes it.
    """

    def __init__(self, frames: int, bin_frames: int = BIN_FRAMES) -> None:
        self.frames = frames
        self.bin_frames = bin_frames
        self.values = np.zeros(-(-frames // bin_frames), dtype=np.uint8)
        self.done = 0
        self.error: str | None = None

    @property
    def complete(self) -> bool:
        return self.done >= len(self.values)

    def add(self, block: np.ndarray) -> None:
        """The next decoded frames: int16 or float32 (n, channels), from a bin's start."""
        frames = block.shape[0]
        if frames == 0:
            return
        bins = -(-frames // self.bin_frames)
        if frames != bins * self.bin_frames:  # the stem's last bin: pad it with silence
            padded = np.zeros((bins * self.bin_frames, block.shape[1]), dtype=block.dtype)
            padded[:frames] = block
            block = padded
        # Each row one bin, both channels: max and min along rows are the fast reductions.
        rows = np.ascontiguousarray(block).reshape(bins, -1)
        highest = rows.max(axis=1).astype(np.float32)
        lowest = rows.min(axis=1).astype(np.float32)
        loudest = np.maximum(highest, -lowest)
        scale = FULL_SCALE / 32768.0 if block.dtype == np.int16 else float(FULL_SCALE)
        values = np.minimum(np.ceil(loudest * scale), FULL_SCALE).astype(np.uint8)
        first = self.done
        end = min(first + bins, len(self.values))
        self.values[first:end] = values[: end - first]
        self.done = end


def measure(
    open_stream: Callable[[], ByteStream],
    peaks: StemPeaks,
    stop: threading.Event | None = None,
) -> StemPeaks:
    """Decode a stem from its start and fill ``peaks`` as it goes; returns ``peaks``.

    Decodes to int16 (the envelope needs no finer step, and it is the cheapest output), in blocks
    of whole bins so each bin sees all its frames. Stops early when ``stop`` is set.

    Raises:
        AudioFormatError: the stream is not audio libsndfile can decode.
    """
    block = peaks.bin_frames * _BLOCK_BINS
    try:
        with sf.SoundFile(open_stream()) as audio:
            while not peaks.complete and not (stop is not None and stop.is_set()):
                piece = audio.read(block, dtype="int16", always_2d=True)
                if piece.shape[0] == 0:
                    break
                peaks.add(piece)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        peaks.error = f"These bytes are not audio Fanfare can read ({exc})."
        raise AudioFormatError(peaks.error) from None
    return peaks


def measure_array(audio: np.ndarray, peaks: StemPeaks) -> StemPeaks:
    """Fill ``peaks`` from a stem already in memory: float32 (frames, channels)."""
    for start in range(0, audio.shape[0], peaks.bin_frames * _BLOCK_BINS):
        peaks.add(audio[start : start + peaks.bin_frames * _BLOCK_BINS])
    return peaks
