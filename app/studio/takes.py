# SPDX-License-Identifier: GPL-3.0-or-later
"""The fan's recorded takes, kept as FLAC files named by their SHA-256.

A take is the fan's own audio (their voice, their instrument), so unlike the licensed stems it
may be kept on disk: in the studio's takes folder, where a project's parts find it again by
its digest. The audio a part mixes is always the decoded file, in the studio as on the
platform, so the two renders agree sample for sample.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import numpy as np

from app.core.codec import audio_info, decode_audio, encode_flac
from app.core.errors import AudioFormatError
from app.core.files import atomic_write
from app.studio.errors import RecordingError, TakeMissingError

#: Decoded takes kept in memory (a few minutes of stereo float32 each).
CACHED_TAKES = 8


class TakeStore:
    """Takes on disk by digest, decoded on first use and kept in memory."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._decoded: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        #: The last count-in's offset from where the stream clocks put it, in frames: takes
        #: that do not hear their count-in are placed with it (None: none measured yet).
        self.clock_error: int | None = None

    def path(self, digest: str) -> Path:
        return self.folder / f"{digest}.flac"

    def keep(self, audio: np.ndarray, sample_rate: int) -> str:
        """Write ``audio`` (float32 (frames, 1 or 2)) as a 24-bit FLAC take; returns its
        digest. Raises RecordingError when it cannot be written (the reason in a sentence)."""
        data = encode_flac(audio, sample_rate)
        digest = hashlib.sha256(data).hexdigest()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if not self.path(digest).exists():
                atomic_write(self.path(digest), data, mode=0o600, fsync=True)
        except OSError as exc:
            raise RecordingError(f"The take could not be saved in {self.folder} ({exc}).") from None
        decoded, _ = decode_audio(data, channels=audio.shape[1])
        self._remember(digest, decoded)
        return digest

    def data(self, digest: str) -> bytes:
        """The take's FLAC bytes (to upload with a remix that uses it)."""
        try:
            data = self.path(digest).read_bytes()
        except OSError:
            raise TakeMissingError(
                "A recorded part of this remix is not on this computer (its take "
                f"{digest[:12]}… was recorded elsewhere)."
            ) from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise TakeMissingError(f"The take {digest[:12]}… on this computer is damaged.")
        return data

    def audio(self, digest: str) -> np.ndarray:
        """The take decoded: float32 (frames, channels) as recorded."""
        with self._lock:
            found = self._decoded.get(digest)
        if found is not None:
            return found
        data = self.data(digest)
        try:
            decoded, _ = decode_audio(data, channels=_channels(data))
        except AudioFormatError as exc:
            raise TakeMissingError(f"The take {digest[:12]}… cannot be read ({exc}).") from None
        self._remember(digest, decoded)
        return decoded

    def _remember(self, digest: str, audio: np.ndarray) -> None:
        audio.flags.writeable = False
        with self._lock:
            self._decoded[digest] = audio
            while len(self._decoded) > CACHED_TAKES:
                self._decoded.pop(next(iter(self._decoded)))


def _channels(data: bytes) -> int:
    return min(2, max(1, audio_info(data)[2]))
