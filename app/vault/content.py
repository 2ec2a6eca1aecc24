# SPDX-License-Identifier: GPL-3.0-or-later
"""Decrypt a licensed track's stems into memory, to be decoded as they are played.

The plaintext FLAC bytes and the decoded PCM exist only in this process's memory. The studio keeps
a stem as its FLAC bytes and the engine decodes a second at a time around the playhead
(``app.engine.sources.EncodedSource``), so a long track costs its compressed size in memory, not
its float32 size.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from app.core.bundle import decrypt_stem
from app.core.codec import audio_info, decode_range
from app.core.errors import AudioFormatError
from app.core.keys import DeviceKeys
from app.core.licence import Licence
from app.core.track import TrackInfo


@dataclass(frozen=True)
class PlainStem:
    """One decrypted stem: its codec (FLAC) bytes, in memory only, and its length in frames."""

    data: bytes
    frames: int


def open_stems(
    track: TrackInfo, blobs: dict[str, bytes], licence: Licence, keys: DeviceKeys
) -> dict[str, PlainStem]:
    """Decrypt every stem of ``track`` and check that it decodes as the track says.

    Args:
        blobs: stem kind → encrypted blob as downloaded.
        licence: a verified licence for this track version and device.

    Returns:
        stem kind → its plaintext codec bytes and length, at ``track.sample_rate``.

    Raises:
        LicenceError subclasses, BundleError subclasses, AudioFormatError.
    """
    licence.require("play")

    def one(kind: str) -> tuple[str, PlainStem]:
        key = licence.content_key(keys, kind)
        decrypted = decrypt_stem(key, blobs[kind], expect=(track.id, track.version, kind))
        plain = bytes(decrypted)  # immutable: decoders share it instead of copying it
        decrypted[:] = b"\0" * len(decrypted)
        frames, rate, _ = audio_info(plain)
        if rate != track.sample_rate:
            raise AudioFormatError(
                f"Stem '{kind}' is at {rate} Hz, but the track is at {track.sample_rate} Hz."
            )
        decode_range(plain, 0, 1)  # fail now, not during playback, if it does not decode
        return kind, PlainStem(plain, frames)

    # libsndfile and AES-GCM release the GIL: two workers use both cores.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="fanfare-decode") as pool:
        return dict(pool.map(one, track.stem_kinds))
