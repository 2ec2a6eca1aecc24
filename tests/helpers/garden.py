# SPDX-License-Identifier: GPL-3.0-or-later
"""A published remix's FLAC as its listener's studio holds it in memory: streamed as
ciphertext and opened with the studio's own listen licence (tests read what listeners hear)."""

from __future__ import annotations

import time

from app.core.bundle import decrypt_stem
from app.core.listen_licence import verify_listen_licence
from app.core.segmented import SegmentedReader


def published_flac(studio, derivative_id: str) -> bytes:
    """The remix as ``studio``'s listener hears it (FLAC bytes), opened with a listen licence
    for its device: the same keys and ciphertext the player uses. A remix with watermark
    variants comes as this listener's own stream (the published audio, marked)."""
    profile = studio.profile
    licence = verify_listen_licence(
        studio.client.listen_licence(derivative_id, profile.device_id),
        studio.trusted_keys(),
        user=profile.user_id,
        device=profile.device_id,
        derivative=derivative_id,
        now=time.time(),
    )
    if licence.version == 2:
        stream = studio.client.derivative_stream(derivative_id, licence.licence_id)
        reader = SegmentedReader(
            licence.segment_keys(studio.device_keys()),
            lambda offset, size: stream[offset : offset + size],
            len(stream),
            derivative=derivative_id,
        )
        return reader.read(0, reader.size)
    key = licence.content_key(studio.device_keys())
    stream = studio.client.derivative_stream(derivative_id)
    return bytes(decrypt_stem(key, stream, expect=(derivative_id, 1, "mix")))
