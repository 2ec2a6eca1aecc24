# SPDX-License-Identifier: GPL-3.0-or-later
"""Tempo and key: Rubber Band through chunked sources, measured by ear's proxies (length, pitch,
level), deterministic chunk for chunk, and switched to while playing without a gap."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.arrangement import SectionPlay
from app.core.effects import Reverb, StemFx
from app.core.recipe import Recipe, StemMix
from app.core.track import Section, StemInfo, TrackInfo
from app.engine.mixer import Mixer
from app.engine.offline import render
from app.engine.stretched import BRIDGE_MIN_FRAMES, StretchedSource
from tests.helpers.audio import SAMPLE_RATE

SECONDS = 4.0


def _tone(hz: float, seconds: float = SECONDS, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    wave = level * np.sin(2 * np.pi * hz * t)
    return np.ascontiguousarray(np.stack([wave, wave], 1).astype(np.float32))


def _track(frames: int) -> TrackInfo:
    sections = tuple(Section(f"s{i}", i * 1.0, (i + 1) * 1.0) for i in range(int(SECONDS)))
    return TrackInfo(
        id="t", version=1, title="T", artist="A", bpm=120, key="A minor", time_signature="4/4",
        sample_rate=SAMPLE_RATE, frames=frames, sections=sections,
        stems=(StemInfo("keys"), StemInfo("bass")),
    )  # fmt: skip


def _stems() -> dict[str, np.ndarray]:
    return {"keys": _tone(440.0), "bass": _tone(110.0, level=0.2)}


def _recipe(**tempo: float) -> Recipe:
    recipe = Recipe("t", 1, "r", {"keys": StemMix(), "bass": StemMix(mute=True)})
    return recipe.with_tempo(**tempo) if tempo else recipe


def _pitch_hz(audio: np.ndarray) -> float:
    """The strongest partial, to a hundredth of a cent (zero-padded FFT of the steady middle)."""
    middle = audio[len(audio) // 4 : 3 * len(audio) // 4, 0].astype(np.float64)
    size = 1 << 22
    spectrum = np.abs(np.fft.rfft(middle * np.hanning(len(middle)), size))
    return float(np.argmax(spectrum)) * SAMPLE_RATE / size


def _cents(hz: float, reference: float) -> float:
    return 1200.0 * float(np.log2(hz / reference))


def test_tempo_1_25_shortens_by_a_fifth_and_keeps_the_pitch() -> None:
    plain = render(_stems(), SAMPLE_RATE, _recipe(), track=_track(int(SECONDS * SAMPLE_RATE)))
    faster = render(
        _stems(), SAMPLE_RATE, _recipe(ratio=1.25), track=_track(int(SECONDS * SAMPLE_RATE))
    )
    assert len(faster) == round(len(plain) * 0.8)
    assert abs(_cents(_pitch_hz(faster), _pitch_hz(plain))) <= 5.0
    # Same loudness: the stretch neither gains nor loses level on a steady tone.
    rms = [float(np.sqrt(np.mean(a[len(a) // 4 : -len(a) // 4] ** 2))) for a in (plain, faster)]
    assert 20 * np.log10(rms[1] / rms[0]) == pytest.approx(0.0, abs=0.5)


@pytest.mark.parametrize("semitones", [2, -3])
def test_a_key_shift_moves_the_pitch_by_whole_semitones_and_keeps_the_length(
    semitones: int,
) -> None:
    track = _track(int(SECONDS * SAMPLE_RATE))
    plain = render(_stems(), SAMPLE_RATE, _recipe(), track=track)
    shifted = render(_stems(), SAMPLE_RATE, _recipe(key_shift=semitones), track=track)
    assert len(shifted) == len(plain)
    assert _cents(_pitch_hz(shifted), _pitch_hz(plain)) == pytest.approx(100 * semitones, abs=5)


def test_tempo_and_key_together_are_independent() -> None:
    track = _track(int(SECONDS * SAMPLE_RATE))
    plain = render(_stems(), SAMPLE_RATE, _recipe(), track=track)
    both = render(_stems(), SAMPLE_RATE, _recipe(ratio=0.8, key_shift=2), track=track)
    assert len(both) == round(len(plain) / 0.8)
    assert _cents(_pitch_hz(both), _pitch_hz(plain)) == pytest.approx(200, abs=5)


def test_a_stretched_source_gives_the_same_samples_however_it_is_read() -> None:
    stem = _tone(330.0, 3.0)
    whole = StretchedSource(stem, SAMPLE_RATE, 1.1, 1)[0 : round(len(stem) / 1.1)]
    source = StretchedSource(stem, SAMPLE_RATE, 1.1, 1)
    # Backwards, in odd sizes, across chunk seams: a chunk never depends on what was read.
    pieces = {}
    for start in reversed(range(0, source.frames, 777)):
        pieces[start] = source[start : start + 777]
    again = np.concatenate([pieces[k] for k in sorted(pieces)])
    np.testing.assert_array_equal(again, whole)
    assert len(whole) == source.frames


def test_chunk_seams_do_not_click_or_dip() -> None:
    stem = _tone(440.0, 3.0)
    out = StretchedSource(stem, SAMPLE_RATE, 0.9, 0)[0 : round(len(stem) / 0.9)]
    steady = out[SAMPLE_RATE // 4 : -SAMPLE_RATE // 4, 0]
    # A steady tone stays steady across every seam: 5 ms RMS windows within 1 dB.
    window = 240
    frames = len(steady) - len(steady) % window
    rms = np.sqrt(np.mean(steady[:frames].reshape(-1, window) ** 2, axis=1))
    spread_db = 20 * np.log10(rms.max() / rms.min())
    assert spread_db < 1.0


def test_retimed_playback_block_by_block_equals_the_render() -> None:
    track = _track(int(SECONDS * SAMPLE_RATE))
    stems = _stems()
    recipe = (
        Recipe("t", 1, "r", {"keys": StemMix(fx=StemFx(reverb=Reverb(mix=0.3))), "bass": StemMix()})
        .with_tempo(ratio=1.2, key_shift=-2)
        .with_arrangement(sections=(SectionPlay(1), SectionPlay(0, ("bass",)), SectionPlay(3)))
    )
    mixer = Mixer(stems, SAMPLE_RATE, recipe, track=track)
    live = np.zeros((mixer.frames, 2), dtype=np.float32)
    for start in range(0, mixer.frames, mixer.block_frames):
        mixer.render(start, live[start : start + mixer.block_frames])
    rendered = render(stems, SAMPLE_RATE, recipe, track=track)
    np.testing.assert_array_equal(live, rendered)
    # Three one-second sections at 1.2x last 2.5 s.
    assert len(rendered) == pytest.approx(3 * SAMPLE_RATE / 1.2, abs=2)


def test_a_tempo_change_while_playing_switches_over_within_a_quarter_second() -> None:
    """The old sound plays on while the new one is made; the switch keeps the place in the
    music, comes within a quarter second of music, and the new sound is the retimed one."""
    import time

    track = _track(int(SECONDS * SAMPLE_RATE))
    mixer = Mixer(_stems(), SAMPLE_RATE, _recipe(), track=track)
    block = np.zeros((mixer.block_frames, 2), dtype=np.float32)
    period = mixer.block_frames / SAMPLE_RATE
    position = SAMPLE_RATE  # one second in
    mixer.reset(position)
    mixer.render(position, block)
    position += mixer.block_frames
    mixer.set_recipe(_recipe(ratio=1.25))
    changed_at = position
    assert mixer.frames == int(SECONDS * SAMPLE_RATE)  # still the old sound
    while True:  # playback goes on, block by block, in real time, as the feeder plays it
        mixer.render(position, block)
        position += mixer.block_frames
        if mixer.switch_ready(position):
            break
        mixer.follow(position)
        assert position - changed_at < SAMPLE_RATE, "the new tempo never came"
        time.sleep(period)
    assert position - changed_at <= SAMPLE_RATE // 4
    new_position = mixer.switch(position)
    assert new_position == round(position / 1.25)
    assert mixer.frames == round(SECONDS * SAMPLE_RATE / 1.25)
    mixer.render(new_position, block)
    assert np.abs(block).max() > 0.1
    mixer.close()


def _rms_spread_db(audio: np.ndarray, window: int = 240) -> float:
    """Spread of 5 ms RMS windows (dB): a steady tone that dips or jumps at a seam shows it."""
    frames = len(audio) - len(audio) % window
    rms = np.sqrt(np.mean(audio[:frames].reshape(-1, window) ** 2, axis=1))
    return float(20 * np.log10(rms.max() / rms.min()))


def test_a_bridge_plays_from_the_switch_point_then_hands_over_to_the_grid() -> None:
    """A change switched to mid-chunk starts with a bridge (quicker to make than a chunk): in
    tune and steady through the handover, and from the grid on exactly what a render plays."""
    stem = _tone(440.0, 4.0)
    grid = StretchedSource(stem, SAMPLE_RATE, 1.1, 2)
    bridged = StretchedSource(stem, SAMPLE_RATE, 1.1, 2)
    start = 30_000  # inside chunk 1
    bridge = bridged.bridge_from(start)
    assert bridge is not None and bridge.start == start
    assert bridge.end % grid.chunk_frames == 0 and bridge.end - start >= BRIDGE_MIN_FRAMES
    heard = bridged[start : grid.frames]
    handover = bridge.end - start + grid.overlap
    np.testing.assert_array_equal(heard[handover:], grid[start : grid.frames][handover:])
    through_bridge = heard[: bridge.end - start, 0]
    assert abs(_cents(_pitch_hz(heard[: bridge.end - start]), 440.0 * 2 ** (2 / 12))) < 5
    # Steady across the bridge and into the grid (the first 50 ms of a Rubber Band call
    # settle; a switch fades in over them anyway), and no click at the handover: the second
    # difference of a 494 Hz tone is ~0.003 at this level, a cut between two phases ~0.1+.
    steady = heard[2_400 : handover + SAMPLE_RATE // 4, 0]
    assert _rms_spread_db(steady) < 1.0
    assert np.abs(np.diff(steady, 2)).max() < 0.01
    assert np.abs(through_bridge).max() > 0.2
    # The grid chunk under the bridge was never made: the bridge replaced it.
    assert not bridged.chunk_made(bridge.end // bridged.chunk_frames - 1)


def test_reading_from_before_a_bridge_plays_the_grid_alone() -> None:
    """A seek back before where a change was switched to: the bridge is dropped, and what is
    heard is what a render makes."""
    stem = _tone(330.0, 3.0)
    grid = StretchedSource(stem, SAMPLE_RATE, 0.9, 0)
    bridged = StretchedSource(stem, SAMPLE_RATE, 0.9, 0)
    bridge = bridged.bridge_from(40_000)
    assert bridge is not None
    assert not bridged.made_for(40_000, 512)  # the bridge is not made yet
    bridged.make(bridge)
    assert bridged.made_for(40_000, 512) and not bridged.made_for(39_000, 2_000)
    np.testing.assert_array_equal(bridged[20_000:60_000], grid[20_000:60_000])
    assert bridged.bridge is None


def test_play_where_the_chunks_are_not_made_starts_with_bridges_and_warming_avoids_them() -> None:
    """Play on a retimed remix at a place not yet made starts from bridges (quick to make);
    where the transport stood long enough for the chunks to be made, from the grid."""
    from tests.helpers.waiting import wait_for

    track = _track(int(SECONDS * SAMPLE_RATE))
    mixer = Mixer(_stems(), SAMPLE_RATE, _recipe(ratio=1.1), track=track)
    try:
        cold = 70_000
        mixer.reset(cold, quick_start=True)
        bridges = [stem.bridge for stem in mixer.stems]
        assert all(b is not None and b.start == cold for b in bridges)
        assert mixer.wait_made(cold, 1024)
        block = np.zeros((mixer.block_frames, 2), dtype=np.float32)
        mixer.render(cold, block)
        assert np.abs(block).max() > 0.1
        warm = 40_000
        mixer.warm(warm)
        assert wait_for(lambda: all(s.made_for(warm, 4 * mixer.block_frames) for s in mixer.stems))
        mixer.reset(warm, quick_start=True)
        assert all(stem.bridge is None for stem in mixer.stems)
        mixer.reset(cold)  # a reset that is not a playback start reads the grid alone
        assert all(stem.bridge is None for stem in mixer.stems)
    finally:
        mixer.close()
