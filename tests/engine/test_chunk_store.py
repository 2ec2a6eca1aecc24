# SPDX-License-Identifier: GPL-3.0-or-later
"""Stretched chunks kept once made: the render reads what playback stretched, playback finishes
the rest while it plays, and none of it changes a sample of what is heard or rendered."""

from __future__ import annotations

import time

import numpy as np

from app.core.recipe import Recipe, StemMix
from app.core.track import StemInfo, TrackInfo
from app.engine.chunk_store import QUANTUM_BITS, ChunkStore, quantize
from app.engine.mixer import Mixer
from app.engine.offline import render
from app.engine.stretched import StretchedSource
from tests.helpers.audio import SAMPLE_RATE
from tests.helpers.playback import play_blocks
from tests.helpers.waiting import wait_for

SECONDS = 3.0


def _stems(seconds: float = SECONDS) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    keys = 0.3 * np.sin(2 * np.pi * 330.0 * t)
    hats = rng.normal(0.0, 0.2, t.size) * (np.sin(2 * np.pi * 4.0 * t) > 0.9)
    return {
        "keys": np.ascontiguousarray(np.stack([keys, 0.8 * keys], 1).astype(np.float32)),
        "drums": np.ascontiguousarray(np.stack([hats, hats], 1).astype(np.float32)),
    }


def _track() -> TrackInfo:
    return TrackInfo(
        id="t", version=1, title="T", artist="A", bpm=120, key="C major", time_signature="4/4",
        sample_rate=SAMPLE_RATE, frames=int(SECONDS * SAMPLE_RATE),
        stems=(StemInfo("keys"), StemInfo("drums")),
    )  # fmt: skip


def _recipe(**tempo: float) -> Recipe:
    recipe = Recipe("t", 1, "r", {"keys": StemMix(gain_db=-2.0), "drums": StemMix(pan=0.3)})
    return recipe.with_tempo(**tempo)


def test_a_chunk_comes_back_from_the_store_exactly_as_it_was_put() -> None:
    rng = np.random.default_rng(1)
    chunk = quantize(rng.normal(0.0, 0.5, (25_024, 2)).astype(np.float32))
    store = ChunkStore(2**20)
    store.put("k", chunk)
    back = store.get("k")
    assert back is not None
    np.testing.assert_array_equal(back, chunk)
    assert store.used_bytes < chunk.nbytes * 0.8  # compressed, though this is noise
    assert store.get("other") is None


def test_quantizing_moves_a_sample_by_at_most_half_a_step_and_clips_past_eight() -> None:
    rng = np.random.default_rng(2)
    audio = rng.normal(0.0, 1.0, (4_096, 2)).astype(np.float32)
    assert np.max(np.abs(quantize(audio) - audio)) <= 2.0 ** -(QUANTUM_BITS + 1) + 1e-9
    loud = np.array([[9.0, -9.0]], dtype=np.float32)
    assert np.all(np.abs(quantize(loud)) < 8.0)


def test_a_full_store_drops_what_was_used_least_recently() -> None:
    chunk = quantize(np.random.default_rng(3).normal(0.0, 0.3, (4_096, 2)).astype(np.float32))
    one = ChunkStore(2**30)
    one.put(0, chunk)
    size = one.used_bytes
    store = ChunkStore(int(size * 2.5))
    store.put("a", chunk)
    store.put("b", chunk)
    assert store.get("a") is not None  # "b" is now the least recently used
    store.put("c", chunk)
    assert "a" in store and "c" in store and "b" not in store
    assert store.used_bytes <= store.budget_bytes
    assert not store.has_room(size)


def test_a_render_from_the_store_equals_one_without_it_and_makes_nothing_again() -> None:
    stems, track = _stems(), _track()
    recipe = _recipe(ratio=1.15, key_shift=2)
    without = render(stems, SAMPLE_RATE, recipe, track=track)
    store = ChunkStore()
    first = render(stems, SAMPLE_RATE, recipe, track=track, store=store)
    # Stretched first on every core into the store, then mixed from it: nothing made twice.
    kept = len(store)
    assert kept == 2 * -(-round(SECONDS * SAMPLE_RATE / 1.15) // 24_000)
    assert store.misses == 0 and store.hits == kept
    again = render(stems, SAMPLE_RATE, recipe, track=track, store=store)
    assert len(store) == kept and store.misses == 0 and store.hits == 2 * kept
    np.testing.assert_array_equal(first, without)
    np.testing.assert_array_equal(again, without)
    # Another key is another sound: nothing of it is in the store yet.
    render(stems, SAMPLE_RATE, _recipe(ratio=1.15), track=track, store=store)
    assert len(store) == 2 * kept


def test_playback_finishes_the_stretch_so_the_render_after_it_makes_nothing() -> None:
    """While a retimed remix plays, the prefetcher makes the rest of every stem into the store
    (after what lies ahead); the render after it reads only the store, and equals playback."""
    stems, track = _stems(), _track()
    recipe = _recipe(ratio=0.9, key_shift=-1)
    store = ChunkStore()
    mixer = Mixer(stems, SAMPLE_RATE, recipe, track=track, store=store)
    try:
        live = np.zeros((mixer.frames, 2), dtype=np.float32)
        mixer.reset(0)
        mixer.follow(0)  # playback at the start: a second ahead is made, then the rest
        sources = [s for s in mixer.stems if isinstance(s, StretchedSource)]
        assert len(sources) == 2
        assert wait_for(
            lambda: all(all(s.stored(i) for i in range(s.chunks)) for s in sources), timeout_s=60
        )
        play_blocks(mixer, 0, mixer.frames, live)
    finally:
        mixer.close()
    misses = store.misses
    rendered = render(stems, SAMPLE_RATE, recipe, track=track, store=store)
    assert store.misses == misses
    np.testing.assert_array_equal(live, rendered)


def test_a_tempo_change_while_playing_then_a_seek_plays_what_the_render_makes() -> None:
    """Reached the way a fan gets there, by changing the tempo and key while playing and then
    seeking, the retimed remix plays sample for sample what the publish render makes."""
    stems, track = _stems(), _track()
    store = ChunkStore()
    mixer = Mixer(stems, SAMPLE_RATE, _recipe(), track=track, store=store)
    final = _recipe(ratio=1.2, key_shift=3)
    try:
        block = np.zeros((mixer.block_frames, 2), dtype=np.float32)
        position = SAMPLE_RATE // 2
        mixer.reset(position)
        mixer.render(position, block)
        position += mixer.block_frames
        mixer.set_recipe(final)
        deadline = time.monotonic() + 20
        while not mixer.switch_ready(position):
            mixer.render(position, block)
            position += mixer.block_frames
            mixer.follow(position)
            time.sleep(mixer.block_frames / SAMPLE_RATE)
            assert time.monotonic() < deadline, "the new tempo never came"
        mixer.switch(position)
        seek = SAMPLE_RATE  # one second into the retimed remix
        mixer.reset(seek)
        live = np.zeros((mixer.frames, 2), dtype=np.float32)
        play_blocks(mixer, seek, mixer.frames, live)
    finally:
        mixer.close()
    rendered = render(stems, SAMPLE_RATE, final, track=track, store=store)
    assert store.hits > 0  # playback's chunks, read back by the render
    np.testing.assert_array_equal(live[seek:], rendered[seek:])
    assert np.abs(rendered[seek:]).max() > 0.1


def test_prestretching_an_arranged_remix_makes_only_what_its_render_reads() -> None:
    from app.core.arrangement import SectionPlay
    from app.core.track import Section
    from app.engine.offline import prestretch

    seconds = 8.0
    stems = _stems(seconds)
    track = TrackInfo(
        id="t", version=1, title="T", artist="A", bpm=120, key="C major", time_signature="4/4",
        sample_rate=SAMPLE_RATE, frames=int(seconds * SAMPLE_RATE),
        stems=(StemInfo("keys"), StemInfo("drums")),
        sections=tuple(Section(name, 2.0 * i, 2.0 * (i + 1)) for i, name in enumerate("abcd")),
    )  # fmt: skip
    recipe = _recipe(ratio=1.25).with_arrangement(sections=(SectionPlay(3), SectionPlay(0)))
    store = ChunkStore()
    made = prestretch(stems, SAMPLE_RATE, recipe, store, track=track, rest=0.0)
    every = 2 * -(-round(seconds * SAMPLE_RATE / 1.25) // 24_000)
    assert 0 < made <= every * 3 // 4  # the middle sections are never heard: not made
    assert prestretch(stems, SAMPLE_RATE, recipe, store, track=track, rest=0.0) == 0
    misses = store.misses
    rendered = render(stems, SAMPLE_RATE, recipe, track=track, store=store)
    assert store.misses == misses  # the render made nothing: all of it was stretched ahead
    np.testing.assert_array_equal(rendered, render(stems, SAMPLE_RATE, recipe, track=track))
    assert prestretch(stems, SAMPLE_RATE, _recipe(), store, track=track) == 0  # nothing to do
