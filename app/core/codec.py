# SPDX-License-Identifier: GPL-3.0-or-later
"""Audio codec bytes in memory: FLAC for delivery and derivatives, decoded to float32 arrays.

Everything works on ``bytes`` and ``io.BytesIO``: decoded audio never passes through a file.
Arrays are float32 of shape (frames, channels).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Protocol

import numpy as np
import soundfile as sf

from app.core.errors import AudioFormatError


class ByteStream(Protocol):
    """A readable, seekable file of codec bytes: what libsndfile reads through (``BinaryIO``
    and ``bundle.PlainStream`` are ones)."""

    def read(self, size: int = -1, /) -> bytes: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...

    def tell(self) -> int: ...


def encode_flac(audio: np.ndarray, sample_rate: int, *, subtype: str = "PCM_24") -> bytes:
    """Encode (frames, channels) float audio as FLAC bytes (24-bit by default)."""
    if audio.ndim != 2 or audio.shape[1] not in (1, 2):
        raise AudioFormatError("Audio must be shaped (frames, 1 or 2 channels).")
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(audio, -1.0, 1.0), sample_rate, format="FLAC", subtype=subtype)
    return buffer.getvalue()


def audio_info(data: bytes | ByteStream) -> tuple[int, int, int]:
    """(frames, sample rate, channels) from the header alone, before any decoding.

    Raises:
        AudioFormatError: the bytes are not audio libsndfile can read.
    """
    try:
        info = sf.info(io.BytesIO(data) if isinstance(data, bytes | bytearray) else data)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioFormatError(f"These bytes are not audio Fanfare can read ({exc}).") from None
    return int(info.frames), int(info.samplerate), int(info.channels)


def decode_audio(data: bytes, *, channels: int = 2) -> tuple[np.ndarray, int]:
    """Decode codec bytes (FLAC, WAV, OGG, ...) into float32 (frames, ``channels``).

    Mono is duplicated to stereo; more than two channels is refused.

    Raises:
        AudioFormatError: the bytes are not audio libsndfile can decode.
    """
    try:
        audio, sample_rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioFormatError(f"These bytes are not audio Fanfare can read ({exc}).") from None
    return _to_channels(audio, channels), int(sample_rate)


def decode_range(
    data: bytes | ByteStream, start: int, frames: int, *, channels: int = 2
) -> np.ndarray:
    """Decode frames ``[start, start + frames)`` of codec bytes (or a seekable file of them):
    float32 (n, ``channels``), n ≤ frames (fewer at the end).

    Raises:
        AudioFormatError: the bytes are not audio libsndfile can decode.
    """
    try:
        source = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
        with sf.SoundFile(source) as audio:
            audio.seek(start)
            piece = audio.read(frames, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioFormatError(f"These bytes are not audio Fanfare can read ({exc}).") from None
    return _to_channels(piece, channels)


class StreamDecoder:
    """Decodes one codec stream by frame ranges, keeping its place: reading on from where the
    last read ended costs no seek (a FLAC seek is a search through the stream).

    Not thread-safe: one reader at a time (the caller holds a lock).

    Raises (from ``read``): AudioFormatError.
    """

    def __init__(self, open_stream: Callable[[], ByteStream], *, channels: int = 2) -> None:
        self._open = open_stream
        self._channels = channels
        self._file: sf.SoundFile | None = None
        self._next = -1  # the frame the open decoder will read next

    def read(self, start: int, frames: int) -> np.ndarray:
        """Frames ``[start, start + frames)``: float32 (n, channels), n ≤ frames."""
        try:
            if self._file is None or start != self._next:
                self.close()
                self._file = sf.SoundFile(self._open())
                self._file.seek(start)
            piece = self._file.read(frames, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
            self.close()
            raise AudioFormatError(f"These bytes are not audio Fanfare can read ({exc}).") from None
        self._next = start + piece.shape[0]
        return _to_channels(piece, self._channels)

    def close(self) -> None:
        file, self._file, self._next = self._file, None, -1
        if file is not None:
            file.close()


def _to_channels(audio: np.ndarray, channels: int) -> np.ndarray:
    if audio.shape[1] == channels:
        return np.ascontiguousarray(audio)
    if audio.shape[1] == 1 and channels == 2:
        return np.ascontiguousarray(np.repeat(audio, 2, axis=1))
    raise AudioFormatError(f"Audio has {audio.shape[1]} channels; Fanfare takes mono or stereo.")
