# SPDX-License-Identifier: GPL-3.0-or-later
"""The prefetcher makes what playback will read next, across a loop's jump too, and the chunks
it wants are the last to be evicted."""

from __future__ import annotations

import io

import numpy as np

from app.core.codec import encode_flac
from app.engine.prefetch import Prefetcher
from app.engine.sources import DECODE_CHUNK_FRAMES, EncodedSource
from tests.helpers.audio import SAMPLE_RATE, sine
from tests.helpers.waiting import wait_for


def _encoded(seconds: float) -> EncodedSource:
    """A stem decoded on demand from FLAC bytes, as the studio reads one."""
    data = encode_flac(np.ascontiguousarray(sine(220.0, seconds, 0.3)), SAMPLE_RATE)
    return EncodedSource(lambda: io.BytesIO(data), int(seconds * SAMPLE_RATE))


def test_near_a_loops_end_its_start_is_made_ahead_and_kept() -> None:
    stem = _encoded(20.0)
    loop = (2 * DECODE_CHUNK_FRAMES, 14 * DECODE_CHUNK_FRAMES)  # 2 s .. 14 s
    prefetcher = Prefetcher([stem], ahead_frames=3 * SAMPLE_RATE, position=0)
    try:
        # Playback walks up to the loop's end, as the feeder reads and follows.
        for second in range(0, 14):
            stem.read(second * SAMPLE_RATE, 512)
            prefetcher.follow(second * SAMPLE_RATE + 512, loop)
            assert wait_for(lambda s=second: prefetcher.is_made(s * SAMPLE_RATE, SAMPLE_RATE))
        # One second before the jump the loop's first seconds are already made (and not
        # evicted by the chunks being read at the end), so the jump waits for nothing.
        assert wait_for(lambda: prefetcher.is_made(loop[0], 2 * SAMPLE_RATE))
        late = stem.late_chunks
        stem.read(loop[0], 512)
        stem.read(loop[0] + SAMPLE_RATE, 512)
        assert stem.late_chunks == late
    finally:
        prefetcher.close(wait=True)


def test_without_a_loop_only_whats_ahead_is_made() -> None:
    stem = _encoded(10.0)
    prefetcher = Prefetcher([stem], ahead_frames=2 * SAMPLE_RATE, position=6 * SAMPLE_RATE)
    try:
        prefetcher.follow(6 * SAMPLE_RATE)
        assert wait_for(lambda: prefetcher.is_made(6 * SAMPLE_RATE, 2 * SAMPLE_RATE))
        assert not stem.chunk_made(0)  # nothing made for a jump that will not come
    finally:
        prefetcher.close(wait=True)
