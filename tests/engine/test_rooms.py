# SPDX-License-Identifier: GPL-3.0-or-later
"""Reverb rooms: the stems' reverbs are sends to one shared reverb per room size. Listened to
against a reverb on each stem, and played block by block against the render."""

from __future__ import annotations

import numpy as np
import pedalboard
import pytest

from app.core.automation import make_move
from app.core.effects import Reverb, StemFx
from app.core.recipe import Recipe, StemMix
from app.engine.gains import channel_gains
from app.engine.mixer import Mixer
from app.engine.offline import render
from app.engine.rooms import ROOM_TAIL_FRAMES, Rooms
from tests.helpers.audio import SAMPLE_RATE, rms_db, sine
from tests.helpers.playback import play_blocks


def _noise(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    audio = rng.standard_normal((int(seconds * SAMPLE_RATE), 2)) * 0.05
    return np.ascontiguousarray(audio.astype(np.float32))


def _burst(seconds: float = 2.0) -> np.ndarray:
    audio = np.zeros((int(seconds * SAMPLE_RATE), 2), dtype=np.float32)
    audio[:4800] = sine(440.0, 0.1, 0.5)
    return audio


def _unlimited(stems: dict[str, StemMix]) -> Recipe:
    return Recipe("s", 1, "t", stems).with_master(limiter_ceiling_db=0.0)


def test_a_shared_room_sounds_like_a_reverb_on_each_stem() -> None:
    """Three stems, panned and faded apart, in one room: the render equals each stem through
    its own reverb (wet at its mix, dry at 1 - mix), panned, faded and summed."""
    stems = {name: _noise(1.5, seed) for seed, name in enumerate(("a", "b", "c"))}
    room = 0.6
    mixes = {"a": StemMix(gain_db=-3.0, pan=-0.7), "b": StemMix(pan=0.5), "c": StemMix()}
    wet = {"a": 0.3, "b": 0.5, "c": 0.2}
    recipe = _unlimited({
        n: StemMix(gain_db=m.gain_db, pan=m.pan, fx=StemFx(reverb=Reverb(room, wet[n])))
        for n, m in mixes.items()
    })  # fmt: skip
    rendered = render(stems, SAMPLE_RATE, recipe)

    gains = channel_gains(recipe.stems, list(recipe.stems))
    expected = np.zeros_like(rendered)
    for i, name in enumerate(recipe.stems):
        reverb = pedalboard.Reverb(room_size=room, wet_level=wet[name], dry_level=0.0)
        tail = reverb.process(stems[name].T, SAMPLE_RATE, buffer_size=512).T
        expected += ((1 - wet[name]) * stems[name] + tail) * gains[i]
    assert np.abs(rendered - expected).max() < 1e-5
    assert rms_db(rendered - (stems["a"] * gains[0] + stems["b"] * gains[1] + stems["c"])) > -40


def test_the_reverb_mix_leaves_the_direct_sound_at_one_minus_mix() -> None:
    """Switching the reverb on must not make the stem louder: its direct sound (before the
    room's first reflection) is (1 - mix) of the dry stem."""
    burst = _burst(1.0)
    dry = render({"x": burst}, SAMPLE_RATE, _unlimited({"x": StemMix()}))
    fx = StemFx(reverb=Reverb(room_size=0.5, mix=0.25))
    wet = render({"x": burst}, SAMPLE_RATE, _unlimited({"x": StemMix(fx=fx)}))
    direct = slice(0, 960)  # the first 20 ms: Freeverb's shortest comb is ~25 ms
    assert rms_db(wet[direct]) - rms_db(dry[direct]) == pytest.approx(20 * np.log10(0.75), abs=0.05)
    assert rms_db(wet[9600:]) > -60 and rms_db(dry[9600:]) < -200  # and the room rings on


def test_stems_in_the_same_room_share_one_reverb() -> None:
    stems = {f"s{i}": _noise(0.2, i) for i in range(8)}
    same = {n: StemMix(fx=StemFx(reverb=Reverb(0.5, 0.2))) for n in stems}
    mixer = Mixer(stems, SAMPLE_RATE, Recipe("s", 1, "t", same))
    mixer.render(0, np.zeros((512, 2), dtype=np.float32))
    assert len(mixer.rooms.live) == 1
    two = {n: StemMix(fx=StemFx(reverb=Reverb(0.5 if i % 2 else 0.8, 0.2))) for i, n in
           enumerate(stems)}  # fmt: skip
    mixer = Mixer(stems, SAMPLE_RATE, Recipe("s", 1, "t", two))
    mixer.render(0, np.zeros((512, 2), dtype=np.float32))
    assert sorted(room.size for room in mixer.rooms.live) == [0.5, 0.8]


def test_moves_of_the_room_the_mix_and_the_faders_play_as_rendered() -> None:
    stems = {name: _noise(2.0, seed) for seed, name in enumerate(("a", "b", "c"))}
    recipe = Recipe("s", 1, "t", {
        "a": StemMix(fx=StemFx(reverb=Reverb(0.5, 0.3))),
        "b": StemMix(pan=0.6, fx=StemFx(reverb=Reverb(0.5, 0.4))),
        "c": StemMix(fx=StemFx(reverb=Reverb(0.8, 0.2))),
    }).with_moves((
        make_move(20_480, "a", {"fx": StemFx(reverb=Reverb(0.7, 0.3))}),  # a new room
        make_move(30_720, "b", {"fx": StemFx(reverb=Reverb(0.5, 0.6))}),  # more send
        make_move(40_960, "b", {"mute": True}),  # its sound in the room rings on
        make_move(51_200, "c", {"fx": StemFx()}),  # reverb off: room 0.8 left to ring
        make_move(61_440, "a", {"gain_db": -9.0}),
    ))  # fmt: skip
    rendered = render(stems, SAMPLE_RATE, recipe)
    np.testing.assert_array_equal(rendered, render(stems, SAMPLE_RATE, recipe))
    mixer = Mixer(stems, SAMPLE_RATE, recipe)
    heard = np.zeros_like(rendered)
    play_blocks(mixer, 0, mixer.frames, heard)
    np.testing.assert_array_equal(heard, rendered)


def test_turning_the_room_knob_keeps_the_tail() -> None:
    """A stem alone in its room moves to another size while its tail rings: the room takes
    the new size and the tail goes on (no gap, no restart)."""
    burst = _burst(2.0)
    recipe = _unlimited({"x": StemMix(fx=StemFx(reverb=Reverb(0.8, 0.4)))})
    mixer = Mixer({"x": burst}, SAMPLE_RATE, recipe)
    out = np.zeros_like(burst)
    play_blocks(mixer, 0, 9_728, out)
    room = mixer.rooms.live[0]
    mixer.set_recipe(recipe.with_stem("x", fx=StemFx(reverb=Reverb(0.6, 0.4))))
    play_blocks(mixer, 9_728, 19_200, out)
    assert mixer.rooms.live == [room] and room.size == 0.6
    after = out[9_728:14_400]
    assert rms_db(after) > -45
    # No step where the knob turned: the tail's sample-to-sample change stays small.
    assert np.abs(np.diff(out[9_000:10_500], axis=0)).max() < 0.05


def test_a_muted_stem_s_reverb_rings_out() -> None:
    """The send is post-fader, as on a desk: muting cuts the direct sound at once and lets
    what is in the room die away."""
    burst = _burst(2.0)
    recipe = _unlimited({"x": StemMix(fx=StemFx(reverb=Reverb(0.8, 0.4)))})
    mixer = Mixer({"x": burst}, SAMPLE_RATE, recipe)
    out = np.zeros_like(burst)
    play_blocks(mixer, 0, 2_048, out)  # inside the burst
    mixer.set_recipe(recipe.with_stem("x", mute=True))
    play_blocks(mixer, 2_048, 48_000, out)
    # The direct 440 Hz stops within the ramp block; the room goes on for a while.
    assert rms_db(out[6_000:14_400]) > -50
    assert rms_db(out[3_000:4_700]) < rms_db(out[1_000:2_000]) - 6


def test_a_room_nobody_sends_to_rings_for_its_tail_then_is_dropped() -> None:
    rooms = Rooms(SAMPLE_RATE)
    assert rooms.assign((0.5, 0.5), 0) == [0, 0]
    assert rooms.assign((0.5, 0.8), 512) == [0, 1]
    first = rooms.live[0]
    # b leaves room 0.5 and the new size 0.3 takes the room left most recently (0.5's, now
    # free); 0.8 is the other stem's.
    assert rooms.assign((None, 0.3), 1024) == [-1, 0]
    assert rooms.live[0] is first and first.size == 0.3 and len(rooms.live) == 2
    assert rooms.assign((None, None), 2048) == [-1, -1]
    assert len(rooms.live) == 2  # both ring on
    assert rooms.assign((None, 0.9), 2048 + ROOM_TAIL_FRAMES) == [-1, 0]
    assert len(rooms.live) == 1  # the other's tail was over: dropped


def test_a_stem_heard_only_through_its_room_counts_as_heard() -> None:
    """The levels the platform attributes royalties by count the send: a stem all in the
    room (mix 1) is as present as the same stem dry."""
    stems = {"dry": _noise(1.0, 1), "wet": _noise(1.0, 2)}
    recipe = _unlimited({
        "dry": StemMix(),
        "wet": StemMix(fx=StemFx(reverb=Reverb(room_size=0.5, mix=1.0))),
    })  # fmt: skip
    levels: dict[str, float] = {}
    render(stems, SAMPLE_RATE, recipe, levels=levels)
    assert levels["wet"] == pytest.approx(levels["dry"], abs=0.5)
