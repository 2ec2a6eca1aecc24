# SPDX-License-Identifier: GPL-3.0-or-later
"""A licensed track's stems, decrypted and decoded as they are played.

The encrypted blobs stay in the on-disk cache; the plaintext FLAC bytes and the decoded PCM
exist only in this process's memory, a few chunks at a time. The engine decodes
a second at a time around the playhead (``app.engine.sources.EncodedSource``), so a long track
costs a few megabytes of memory, not its float32 size.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from app.core.bundle import StemReader
from app.core.codec import ByteStream, audio_info, decode_range
from app.core.errors import AudioFormatError
from app.core.keys import DeviceKeys
from app.core.licence import Licence
from app.core.track import TrackInfo
from app.vault.cache import BlobFile


@dataclass(frozen=True)
class PlainStem:
    """One licensed stem, readable as its plaintext codec (FLAC) stream: decrypted a chunk at a
    time as it is read, in memory only. ``frames`` is its length."""

    reader: StemReader
    frames: int

    def open(self) -> ByteStream:
        """A seekable file over the plaintext, for a decoder (one per reader thread)."""
        return self.reader.open()


def open_stems(
    track: TrackInfo,
    blobs: dict[str, BlobFile],
    licence: Licence,
    keys: DeviceKeys,
) -> dict[str, PlainStem]:
    """Check every stem of ``track`` and make it readable.

    Each blob is authenticated in full (a damaged or swapped file is refused now, not during
    playback), its header read, and its first frame decoded; no plaintext is kept.

    Args:
        blobs: stem kind → the encrypted blob in the cache, opened.
        licence: a verified licence for this track version and device.

    Raises:
        LicenceError subclasses, BundleError subclasses, AudioFormatError.
    """
    licence.require("play")

    def one(kind: str) -> tuple[str, PlainStem]:
        key = licence.content_key(keys, kind)
        blob = blobs[kind]
        reader = StemReader(key, blob.read_at, blob.size, expect=(track.id, track.version, kind))
        reader.verify()
        frames, rate, _ = audio_info(reader.open())
        if rate != track.sample_rate:
            raise AudioFormatError(
                f"Stem '{kind}' is at {rate} Hz, but the track is at {track.sample_rate} Hz."
            )
        decode_range(reader.open(), 0, 1)  # fail now, not during playback, if it does not decode
        return kind, PlainStem(reader, frames)

    # AES-GCM and libsndfile release the GIL: two workers use both cores.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="fanfare-decode") as pool:
        return dict(pool.map(one, track.stem_kinds))
