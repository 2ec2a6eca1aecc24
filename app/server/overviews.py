# SPDX-License-Identifier: GPL-3.0-or-later
"""Stem envelopes for the studio's timeline: measured from a track version's decoded stems when
it is ingested (or, for a version ingested before, the first time a studio asks), and kept as
one blob per version beside its stems (``app.core.envelopes``)."""

from __future__ import annotations

import numpy as np

from app.core.envelopes import Envelopes
from app.engine.peaks import BIN_FRAMES, StemPeaks, measure_array
from app.server.blobs import BlobStore


def blob_name(track_id: str, version: int) -> str:
    return f"overviews/{track_id}/{version}.json"


def measure(stems: dict[str, np.ndarray]) -> Envelopes:
    """The envelopes of decoded stems: float32 (frames, channels) each, all one length."""
    frames = max(len(audio) for audio in stems.values())
    return Envelopes(
        BIN_FRAMES,
        frames,
        {k: measure_array(a, StemPeaks(frames)).values.tobytes() for k, a in stems.items()},
    )


def keep(blobs: BlobStore, track_id: str, version: int, stems: dict[str, np.ndarray]) -> str:
    """Measure ``stems`` and write their envelopes atomically; returns the blob's name."""
    name = blob_name(track_id, version)
    blobs.put(name, measure(stems).to_json())
    return name


def kept(blobs: BlobStore, track_id: str, version: int) -> bytes | None:
    """The version's envelopes as kept, or None when they were never measured."""
    try:
        return blobs.get(blob_name(track_id, version))
    except FileNotFoundError:
        return None
