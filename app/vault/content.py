# SPDX-License-Identifier: GPL-3.0-or-later
"""Decrypt a licensed track's stems into memory and decode them to float32 arrays.

The plaintext FLAC bytes and the decoded PCM exist only in this process's memory.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from app.core.bundle import decrypt_stem
from app.core.codec import decode_audio
from app.core.errors import AudioFormatError
from app.core.keys import DeviceKeys
from app.core.licence import Licence
from app.core.track import TrackInfo


def open_stems(
    track: TrackInfo, blobs: dict[str, bytes], licence: Licence, keys: DeviceKeys
) -> dict[str, np.ndarray]:
    """Decrypt and decode every stem of ``track``.

    Args:
        blobs: stem kind → encrypted blob as downloaded.
        licence: a verified licence for this track version and device.

    Returns:
        stem kind → float32 (frames, 2) at ``track.sample_rate``.

    Raises:
        LicenceError subclasses, BundleError subclasses, AudioFormatError.
    """
    licence.require("play")

    def one(kind: str) -> tuple[str, np.ndarray]:
        key = licence.content_key(keys, kind)
        plain = decrypt_stem(key, blobs[kind], expect=(track.id, track.version, kind))
        audio, rate = decode_audio(plain)
        del plain  # drop the codec plaintext as soon as it is decoded
        if rate != track.sample_rate:
            raise AudioFormatError(
                f"Stem '{kind}' is at {rate} Hz, but the track is at {track.sample_rate} Hz."
            )
        return kind, audio

    # libsndfile and AES-GCM release the GIL: two workers use both cores.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="fanfare-decode") as pool:
        return dict(pool.map(one, track.stem_kinds))
