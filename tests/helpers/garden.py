# SPDX-License-Identifier: GPL-3.0-or-later
"""A published remix's FLAC as its listener's studio holds it in memory: streamed as
ciphertext and opened with the studio's own listen licence (tests read what listeners hear)."""

from __future__ import annotations

import time

from app.core.bundle import decrypt_stem
from app.core.listen_licence import verify_listen_licence


def published_flac(studio, derivative_id: str) -> bytes:
    """The remix as published (its FLAC bytes), opened with a listen licence for ``studio``'s
    device: the same key and ciphertext the player uses."""
    profile = studio.profile
    licence = verify_listen_licence(
        studio.client.listen_licence(derivative_id, profile.device_id),
        studio.trusted_keys(),
        user=profile.user_id,
        device=profile.device_id,
        derivative=derivative_id,
        now=time.time(),
    )
    key = licence.content_key(studio.device_keys())
    stream = studio.client.derivative_stream(derivative_id)
    return bytes(decrypt_stem(key, stream, expect=(derivative_id, 1, "mix")))
