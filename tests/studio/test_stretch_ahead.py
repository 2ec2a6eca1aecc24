# SPDX-License-Identifier: GPL-3.0-or-later
"""A retimed remix, worked on a while, publishes without stretching anything again: playback
stretched the rest of it into the studio's chunk store, the studio then told the platform the
tempo and key, the platform stretched the same, and neither the publish render nor the
platform's verification made a chunk."""

from __future__ import annotations

from app.core.arrangement import SectionPlay
from app.engine.stretched import StretchedSource
from app.studio.session import Studio
from tests.helpers.waiting import wait_for


def test_a_retimed_remix_worked_on_publishes_from_what_was_stretched(
    studio: Studio, embedded: object
) -> None:
    track = studio.open_track("neon-harbour")
    try:
        track.set_stem("keys", mute=True)
        track.set_stem("pad", mute=True)
        track.set_tempo(ratio=1.08, key_shift=1)
        track.apply(track.recipe.with_arrangement(sections=(SectionPlay(3),)))
        # The fan listens from the top: the prefetcher makes what lies ahead, then the rest.
        track.mixer.reset(0)
        track.mixer.follow(0)
        sources = [s for s in track.mixer.stems if isinstance(s, StretchedSource)]
        assert len(sources) == 5
        platform = embedded.app.state.platform  # type: ignore[attr-defined]
        assert wait_for(lambda: platform.warmer.made > 0 and platform.warmer.idle(), 240)
        # Only the section played was stretched, by the studio and by the platform.
        heard = sources[0].heard
        assert len(heard) < sources[0].chunks
        assert all(s.stored(i) for s in sources for i in heard if i < s.chunks)
        studio_misses = track.chunk_store.misses
        platform_misses = platform.stem_cache.chunks.misses
        result = track.publish(title="Harbour, a little faster")
        assert result["status"] == "published"
        assert track.chunk_store.misses == studio_misses  # the render stretched nothing
        assert platform.stem_cache.chunks.misses == platform_misses  # nor did verification
    finally:
        track.close()
