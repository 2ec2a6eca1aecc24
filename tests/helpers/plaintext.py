# SPDX-License-Identifier: GPL-3.0-or-later
"""What must never reach the disk, as 4 KiB windows to search files for (walled-garden tests)."""

from __future__ import annotations

import numpy as np

from app.core.bundle import decrypt_stem

WINDOW = 4096


def windows(data: bytes, stride: int = WINDOW * 16) -> set[bytes]:
    """Every ``stride``-th ``WINDOW``-byte window of ``data``."""
    return {data[i : i + WINDOW] for i in range(0, len(data) - WINDOW, stride)}


def audio_windows(audio: np.ndarray, stride: int = WINDOW * 16) -> set[bytes]:
    """Windows of float32 PCM and of its int16 form (what a careless writer would store)."""
    int16 = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
    return windows(audio.tobytes(), stride) | windows(int16, stride)


def track_windows(studio, track, stride: int = WINDOW * 16) -> set[bytes]:
    """Each stem's decrypted FLAC stream and decoded PCM, for an open track of ``studio``."""
    found: set[bytes] = set()
    for kind in track.info.stem_kinds:
        blob = studio.cache.get(track.info.id, track.info.version, kind)
        key = track.licence.content_key(studio.device_keys(), kind)
        found |= windows(bytes(decrypt_stem(key, blob)), stride)
        found |= audio_windows(track._stems[kind][:], stride)  # decoded whole, as played
    return found
