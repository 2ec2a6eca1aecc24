# SPDX-License-Identifier: GPL-3.0-or-later
"""Real playback through PortAudio into the PulseAudio null sink that scripts/test starts.

The null sink is paced by PulseAudio's timer, which here runs at 0.4-1.0x real time and may
take a second or two to start pulling: these tests assert that audio flows and count
underruns, and never assert an exact rate.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import numpy as np
import pytest

from app.core.recipe import Recipe, StemMix
from app.engine.mixer import Mixer
from app.engine.output import Player, TransportState
from tests.helpers.audio import SAMPLE_RATE, sine
from tests.helpers.playback import playing, start
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.device


@pytest.fixture
def player() -> Iterator[Player]:
    player = playing(4.0)
    yield player
    player.close()


def test_audio_flows_through_the_device_without_underruns(player: Player) -> None:
    assert wait_for(lambda: player.position_s > 0.5), "the device did not pull audio"
    assert np.max(player.mixer.peaks) > 0.2  # the feeder rendered real signal, not silence
    assert player.underruns == 0


def test_what_is_alive_at_the_first_play_is_out_of_the_collectors_reach(player: Player) -> None:
    """A full collection walking the loaded studio held the GIL ~50 ms, past the 21 ms ring:
    the heap is frozen at the first Play, so later ones walk only what is new."""
    import gc

    assert gc.get_freeze_count() > 0


def test_pause_keeps_the_position_and_play_resumes(player: Player) -> None:
    assert wait_for(lambda: player.position_s > 0.3)
    player.pause()
    held = player.position_frames
    assert player.state is TransportState.PAUSED
    time.sleep(0.3)
    assert player.position_frames == held
    player.play()
    assert wait_for(lambda: player.position_frames > held + SAMPLE_RATE // 10)
    assert player.underruns == 0


def test_seek_and_play_to_the_end(player: Player) -> None:
    finished: list[bool] = []
    player.on_finished = lambda: finished.append(True)
    player.seek(int(3.6 * SAMPLE_RATE))
    assert player.position_s >= 3.6
    assert wait_for(lambda: bool(finished)), "playback did not reach the end"
    assert player.state is TransportState.STOPPED
    assert player.position_frames == 0


def test_seeking_while_playing_is_not_counted_as_a_dropout(player: Player) -> None:
    """A seek restarts the stream; PulseAudio reports the stopped stream's cut as an
    underflow, which the dropout counter must not show (it used to, one seek in three)."""
    assert wait_for(lambda: player.position_s > 0.2)
    for second in (2.0, 0.5, 3.0, 1.0, 2.5, 0.2):
        player.seek(int(second * SAMPLE_RATE))
        assert wait_for(lambda at=second: player.position_s > at + 0.05)
    assert player.state is TransportState.PLAYING
    assert player.underruns == 0


def test_seeking_in_a_retimed_remix_plays_on_from_there_without_a_dropout() -> None:
    """At another tempo a seek lands where no chunk is made: playback resumes from bridges
    on the running stream, at the new place, and nothing drops out."""
    stems = {
        name: np.ascontiguousarray(sine(hz, 12.0, 0.2))
        for name, hz in (("keys", 440.0), ("bass", 110.0), ("lead", 660.0), ("pad", 330.0))
    }
    recipe = Recipe("s", 1, "t", {name: StemMix() for name in stems}).with_tempo(ratio=1.1)
    player = start(Player(Mixer(stems, SAMPLE_RATE, recipe)))
    try:
        assert wait_for(lambda: player.position_s > 0.3)
        for second in (7.0, 2.0, 9.5):
            player.seek(int(second * SAMPLE_RATE))
            assert wait_for(lambda at=second: player.position_s > at + 0.2)
            assert player.position_s < second + 2.0  # from the new place, not the old one
        assert player.state is TransportState.PLAYING
        assert np.max(player.mixer.peaks) > 0.1
        assert player.underruns == 0
    finally:
        player.close()


def test_a_loop_keeps_the_playhead_inside_it(player: Player) -> None:
    start, end = int(1.0 * SAMPLE_RATE), int(1.5 * SAMPLE_RATE)
    player.set_loop(start, end)
    player.seek(start)
    assert wait_for(lambda: player.position_frames > start + SAMPLE_RATE // 10)
    seen = []
    deadline = time.monotonic() + 2.5  # several passes of a 0.5 s loop, on a slow null sink
    while time.monotonic() < deadline:
        seen.append(player.position_frames)
        time.sleep(0.01)
    assert min(seen) >= start and max(seen) < end
    assert any(b < a for a, b in itertools.pairwise(seen))  # it went round
    assert player.state is TransportState.PLAYING
    # The feeder kept up through the jumps back. PortAudio's own underflows are left out: the
    # machine's pauses cause them for the simplest player too (benchmarks: "device floor").
    assert player.ring_underruns == 0
    player.set_loop(None)
    assert wait_for(lambda: player.position_frames > end)  # and then plays on past it


def test_a_tempo_change_while_playing_switches_without_a_gap_or_a_lost_place() -> None:
    player = playing(10.0)
    mixer, recipe = player.mixer, player.mixer.recipe
    try:
        assert wait_for(lambda: player.position_frames > SAMPLE_RATE // 2)
        mixer.set_recipe(recipe.with_tempo(ratio=1.25, key_shift=2))
        before = player.position_frames
        assert wait_for(lambda: not mixer.switch_waiting, timeout_s=3.0)
        after = player.position_frames
        # The same place in the music on the new, shorter timeline (give or take the ring
        # and the time the switch took).
        assert mixer.frames == round(10.0 * SAMPLE_RATE / 1.25)
        assert before / 1.25 - SAMPLE_RATE // 10 <= after <= before / 1.25 + SAMPLE_RATE
        # A recipe the engine cannot take is refused, and the music goes on.
        with pytest.raises(ValueError, match="other stems"):
            mixer.set_recipe(Recipe("s", 1, "t", {"bass": StemMix()}))
        moving = player.position_frames
        assert wait_for(lambda: player.position_frames > moving + SAMPLE_RATE // 10)
        assert player.state is TransportState.PLAYING
        assert player.underruns == 0
    finally:
        player.close()


def test_play_right_after_placing_a_timbre_model_starts_at_once_and_styles_when_ready() -> None:
    """The model's analysis of a long stem takes seconds: play starts with the stem as it was
    and switches to the styled one when it is made, without a gap."""
    from pathlib import Path

    from app.core.style_slot import StyleSlot
    from app.styles.package import StylePackage

    folder = Path(__file__).resolve().parents[2] / "models" / "timbre.violin"
    package = StylePackage.from_dir(folder)
    t = np.arange(int(60 * SAMPLE_RATE)) / SAMPLE_RATE
    melody = 0.2 * np.sin(2 * np.pi * np.where(t % 1 < 0.5, 440.0, 660.0) * t)
    stems = {"lead": np.ascontiguousarray(np.stack([melody, melody], 1).astype(np.float32))}
    recipe = Recipe("s", 1, "t", {"lead": StemMix()})
    mixer = Mixer(stems, SAMPLE_RATE, recipe, styles={package.manifest.ref: package}.__getitem__)
    player = Player(mixer)
    mixer.set_recipe(recipe.with_stem("lead", style=StyleSlot.make("timbre.violin", 1)))
    player.take_waiting_switch()
    assert mixer.switch_waiting  # not made yet: the old sound stays until it is
    start(player)
    try:
        assert wait_for(lambda: player.position_frames > SAMPLE_RATE // 10)
        assert wait_for(lambda: not mixer.switch_waiting, timeout_s=30.0)
        assert type(mixer.stems[0]).__name__ == "StyledSource"
        moving = player.position_frames
        assert wait_for(lambda: player.position_frames > moving + SAMPLE_RATE // 5)
        assert player.underruns == 0
    finally:
        player.close()


def test_the_end_is_not_lost_to_a_fader_move_at_that_moment(player: Player) -> None:
    """A control (take_waiting_switch, or any short call) holding the player's lock just as
    the track ends: playback still ends, and says so, once the call lets go."""
    finished: list[bool] = []
    player.on_finished = lambda: finished.append(True)
    player.seek(int(3.7 * SAMPLE_RATE))
    with player.lock:  # a long control call, as the window's fader moves make, over the end
        time.sleep(0.6)
    assert wait_for(lambda: bool(finished)), "the end was lost"
    assert player.state is TransportState.STOPPED
