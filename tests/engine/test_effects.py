# SPDX-License-Identifier: GPL-3.0-or-later
"""Channel-strip and master effects, listened to through numbers."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.effects import Compressor, Delay, Eq, Filter, MasterFx, Reverb, StemFx
from app.core.recipe import Recipe, StemMix
from app.engine.effects import Chain
from app.engine.mixer import Mixer
from app.engine.offline import render
from tests.helpers.audio import SAMPLE_RATE, rms_db, sine


def _through(fx: StemFx, audio: np.ndarray) -> np.ndarray:
    """Render one stem through a strip with ``fx`` and nothing else."""
    recipe = Recipe("s", 1, "t", {"x": StemMix(fx=fx)}).with_master(limiter_ceiling_db=0.0)
    return render({"x": np.ascontiguousarray(audio)}, SAMPLE_RATE, recipe)


def _change_db(fx: StemFx, hz: float, amplitude: float = 0.25) -> float:
    tone = sine(hz, 1.0, amplitude)
    return rms_db(_through(fx, tone)[9600:]) - rms_db(tone[9600:])


def test_a_neutral_strip_passes_audio_bit_exact() -> None:
    tone = sine(440.0, 0.5, 0.3)
    np.testing.assert_array_equal(_through(StemFx(), tone), tone)


@pytest.mark.parametrize(("gain_db", "hz"), [(-6.0, 1000.0), (6.0, 1000.0), (-12.0, 2000.0)])
def test_the_mid_band_moves_its_band_by_the_set_amount(gain_db: float, hz: float) -> None:
    fx = StemFx(eq=Eq(mid_db=gain_db, mid_hz=hz))
    assert _change_db(fx, hz) == pytest.approx(gain_db, abs=1.0)
    assert abs(_change_db(fx, 60.0)) < 1.0  # far from the band: untouched


def test_shelves_lift_lows_and_cut_highs() -> None:
    fx = StemFx(eq=Eq(low_db=6.0, high_db=-9.0))
    assert _change_db(fx, 40.0) == pytest.approx(6.0, abs=1.0)
    assert _change_db(fx, 16000.0) == pytest.approx(-9.0, abs=1.0)
    assert abs(_change_db(fx, 1000.0)) < 1.0


def test_high_pass_and_low_pass() -> None:
    fx = StemFx(filter=Filter(highpass_hz=500.0, lowpass_hz=4000.0))
    assert _change_db(fx, 100.0) < -12.0
    assert _change_db(fx, 16000.0) < -12.0
    assert abs(_change_db(fx, 2000.0)) < 1.0


def test_the_compressor_turns_loud_passages_down() -> None:
    fx = StemFx(compressor=Compressor(threshold_db=-24.0, ratio=4.0))
    assert _change_db(fx, 220.0, amplitude=0.5) < -8.0  # ~-9 dBFS RMS, 15 dB over
    assert abs(_change_db(fx, 220.0, amplitude=0.01)) < 0.5  # below threshold: untouched


def test_drive_leaves_quiet_passages_and_rounds_loud_ones() -> None:
    fx = StemFx(drive_db=18.0)
    assert abs(_change_db(fx, 220.0, amplitude=0.005)) < 0.5
    loud = _through(fx, sine(220.0, 0.5, 0.9))
    assert np.abs(loud).max() < 0.5  # saturated: the peaks are rounded off, far below 0.9


def test_reverb_and_delay_ring_on_after_the_sound_stops() -> None:
    burst = np.zeros((SAMPLE_RATE, 2), dtype=np.float32)
    burst[:4800] = sine(440.0, 0.1, 0.5)
    dry_tail = rms_db(_through(StemFx(), burst)[9600:])
    wet_tail = rms_db(_through(StemFx(reverb=Reverb(room_size=0.8, mix=0.4)), burst)[9600:])
    assert dry_tail < -200 and wet_tail > -60
    echo = _through(StemFx(delay=Delay(time_s=0.25, feedback=0.0, mix=0.5)), burst)
    window = slice(int(0.26 * SAMPLE_RATE), int(0.34 * SAMPLE_RATE))
    assert rms_db(echo[window]) > -20  # the echo 250 ms later


def test_changing_a_parameter_keeps_the_reverb_tail() -> None:
    burst = np.zeros((SAMPLE_RATE, 2), dtype=np.float32)
    burst[:4800] = sine(440.0, 0.1, 0.5)
    recipe = Recipe("s", 1, "t", {"x": StemMix(fx=StemFx(reverb=Reverb(0.8, 0.4)))})
    mixer = Mixer({"x": burst}, SAMPLE_RATE, recipe)
    out = np.zeros_like(burst)
    for start in range(0, 9728, 512):
        mixer.render(start, out[start : start + 512])
    mixer.set_recipe(recipe.with_stem("x", fx=StemFx(reverb=Reverb(0.8, 0.5))))
    for start in range(9728, 14848, 512):
        mixer.render(start, out[start : start + 512])
    assert rms_db(out[9728:14848]) > -60


def test_master_effects_run_before_the_limiter() -> None:
    stems = {"x": np.ascontiguousarray(sine(1000.0, 1.0, 0.25))}
    plain = Recipe("s", 1, "t", {"x": StemMix()})
    cut = plain.with_master(fx=MasterFx(eq=Eq(mid_db=-6.0, mid_hz=1000.0)))
    change = rms_db(render(stems, SAMPLE_RATE, cut)[9600:]) - rms_db(
        render(stems, SAMPLE_RATE, plain)[9600:]
    )
    assert change == pytest.approx(-6.0, abs=1.0)


def test_renders_with_effects_are_repeatable_and_match_block_playback() -> None:
    stems = {
        "a": np.ascontiguousarray(sine(220.0, 2.0, 0.4)),
        "b": np.ascontiguousarray(sine(330.0, 2.0, 0.4)),
    }
    recipe = Recipe("s", 1, "t", {
        "a": StemMix(fx=StemFx(reverb=Reverb(mix=0.3), compressor=Compressor(-20.0, 3.0))),
        "b": StemMix(fx=StemFx(delay=Delay(mix=0.4), drive_db=6.0)),
    })  # fmt: skip
    first = render(stems, SAMPLE_RATE, recipe)
    np.testing.assert_array_equal(first, render(stems, SAMPLE_RATE, recipe))
    mixer = Mixer(stems, SAMPLE_RATE, recipe)
    live = np.zeros_like(first)
    for start in range(0, live.shape[0], mixer.block_frames):
        mixer.render(start, live[start : start + mixer.block_frames])
    np.testing.assert_array_equal(first, live)


def test_an_echo_does_not_come_back_out_of_time_after_unmuting() -> None:
    burst = np.zeros((3 * SAMPLE_RATE, 2), dtype=np.float32)
    burst[:4800] = sine(440.0, 0.1, 0.5)
    fx = StemFx(delay=Delay(time_s=1.5, feedback=0.0, mix=0.5))
    recipe = Recipe("s", 1, "t", {"x": StemMix(fx=fx)})
    mixer = Mixer({"x": burst}, SAMPLE_RATE, recipe)
    out = np.zeros_like(burst)
    for start in range(0, SAMPLE_RATE // 2, 512):  # the burst goes into the delay
        mixer.render(start, out[start : start + 512])
    mixer.set_recipe(recipe.with_stem("x", mute=True))
    for start in range(SAMPLE_RATE // 2, SAMPLE_RATE, 512):
        mixer.render(start, out[start : start + 512])
    mixer.set_recipe(recipe)  # unmuted: the source is silent from here on
    for start in range(SAMPLE_RATE, 3 * SAMPLE_RATE, 512):
        mixer.render(start, out[start : start + 512])
    assert np.abs(out[SAMPLE_RATE + 2048 :]).max() < 1e-4


@pytest.mark.parametrize(
    "fx",
    [
        {"eq": {"low_db": 4.0, "mid_db": -6.0, "mid_hz": 900.0, "high_db": 3.0}},
        {"filter": {"highpass_hz": 150.0, "lowpass_hz": 6000.0}},
        {"compressor": {"threshold_db": -24.0, "ratio": 4.0}},
        {"drive_db": 12.0},
        {"chorus": {"rate_hz": 1.5, "depth": 0.4, "mix": 0.5}},
        {"delay": {"time_s": 0.2, "feedback": 0.4, "mix": 0.3}},
        {"reverb": {"room_size": 0.7, "mix": 0.3}},
    ],
)
def test_every_effect_gives_the_same_samples_in_blocks_or_in_long_chunks(fx: dict) -> None:
    """The render runs effects over long chunks and playback over 512-frame blocks (and a
    render starts a plugin with one block, where a move ramps, then goes on in chunks)."""
    rng = np.random.default_rng(3)
    audio = (rng.standard_normal((3 * SAMPLE_RATE, 2)) * 0.2).astype(np.float32)

    def run(sizes: list[int]) -> np.ndarray:
        chain, pieces, pos = Chain(StemFx.from_dict(fx), SAMPLE_RATE), [], 0
        for size in sizes:
            pieces.append(chain.process(audio[pos : pos + size]))
            pos += size
        return np.concatenate(pieces)

    blocks = run([512] * (len(audio) // 512))
    chunked = run([512, 32768, 32768, 512, 65536 - 512])
    np.testing.assert_array_equal(chunked, blocks[: len(chunked)])
