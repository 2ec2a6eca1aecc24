# SPDX-License-Identifier: GPL-3.0-or-later
"""The shipped timbre models and the DDSP processor that plays them."""

from __future__ import annotations

import functools
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pyloudnorm
import pytest

from app.engine.sources import window
from app.styles import ddsp_synth as ds
from app.styles.ddsp import DdspProcessor
from app.styles.package import StylePackage

MODELS = Path(__file__).resolve().parents[2] / "models"
SHIPPED = ("timbre.violin", "timbre.flute", "timbre.trumpet", "timbre.synth-lead")
RATE = 48_000


@lru_cache(maxsize=8)
def package(model_id: str) -> StylePackage:
    return StylePackage.from_dir(MODELS / model_id)


def melody(base_hz: float, seconds: float = 3.0, rest_at: float = 1.8) -> np.ndarray:
    """A saw-ish phrase at 48 kHz: five notes, with a rest from ``rest_at`` to ``rest_at`` +
    0.5 s. Returns float32 (frames, 2)."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    steps = np.array([0, 2, 4, 7, 5])
    f0 = base_hz * 2 ** (steps[np.minimum((t / seconds * len(steps)).astype(int), 4)] / 12)
    phase = np.cumsum(2 * np.pi * f0 / RATE)
    wave = sum(np.sin(k * phase) / k for k in range(1, 6))
    env = np.clip(np.minimum(t, seconds - t) * 50, 0, 1)
    env[(t >= rest_at) & (t < rest_at + 0.5)] = 0.0
    mono = (0.2 * wave * env).astype(np.float32)
    return np.stack([mono, mono], axis=1)


def reader(stereo: np.ndarray) -> Any:
    """What the engine passes a processor: the stem by frame range, zero outside it."""
    return functools.partial(window, stereo)


def styled(model_id: str, stereo: np.ndarray, **knobs: float) -> tuple[DdspProcessor, object]:
    processor = package(model_id).processor(knobs, RATE)
    assert isinstance(processor, DdspProcessor)
    adjustment = processor.prepare(reader(stereo), len(stereo))
    return processor, adjustment


def pitch(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from swift_f0 import SwiftF0

    result = SwiftF0(threads=1, spin=False).detect(audio[:, 0], RATE)
    return result.timestamps, result.pitch_hz, result.confidence >= 0.5


@pytest.mark.parametrize("model_id", SHIPPED)
def test_shipped_package_passes_its_golden_self_test(model_id: str) -> None:
    pkg = package(model_id)
    assert pkg.manifest.runtime == "ddsp" and pkg.manifest.family == "timbre"
    assert pkg.self_test() <= pkg.manifest.golden_atol
    lo, hi = pkg.manifest.conditioning["f0_hz"]
    assert 50 < lo < hi < 2100


def test_styled_melody_follows_the_pitch_with_level_and_silent_rests() -> None:
    dry = melody(440.0)
    processor, adjustment = styled("timbre.violin", dry)
    assert adjustment.octave_shift == 0 and adjustment.message == ""
    wet = processor.render(reader(dry), 0, len(dry))
    assert wet.shape == dry.shape and wet.dtype == np.float32
    assert np.array_equal(wet[:, 0], wet[:, 1])
    _, hz_in, voiced_in = pitch(dry)
    _, hz_out, voiced_out = pitch(wet)
    both = voiced_in & voiced_out
    assert both.sum() > 0.5 * voiced_in.sum()
    assert np.median(np.abs(1200 * np.log2(hz_out[both] / hz_in[both]))) < 20
    meter = pyloudnorm.Meter(RATE)
    assert abs(meter.integrated_loudness(wet) - meter.integrated_loudness(dry)) < 1.0  # LU
    rest = wet[int(1.9 * RATE) : int(2.2 * RATE)]
    assert np.abs(rest).max() < 1e-3


def test_a_range_equals_the_same_range_of_a_longer_render_and_chunks_join() -> None:
    dry = melody(330.0)
    processor, _ = styled("timbre.flute", dry)
    read = reader(dry)
    whole = processor.render(read, 0, len(dry))
    np.testing.assert_allclose(
        processor.render(read, 40_001, 17_777), whole[40_001:57_778], atol=1e-6
    )
    again, _ = styled("timbre.flute", dry)  # a fresh processor: no cache shared
    np.testing.assert_allclose(again.render(read, 40_001, 17_777), whole[40_001:57_778], atol=1e-6)
    chunk = 4_800
    joined = np.concatenate([processor.render(read, s, chunk) for s in range(0, len(dry), chunk)])
    np.testing.assert_allclose(joined[: len(dry)], whole, atol=1e-6)
    # No click at the joins: the high-passed signal there is no larger than elsewhere.
    high = np.abs(np.diff(joined[: len(dry), 0], n=2))
    joins = np.arange(chunk, len(dry) - 1, chunk) - 1
    assert high[joins].max() <= high.max() * 1.0001
    assert high[joins].max() < 0.05


def test_a_too_low_melody_is_moved_into_the_models_range_and_reported() -> None:
    dry = melody(98.0)  # from G2, median B2 (123 Hz): below any violin
    processor, adjustment = styled("timbre.violin", dry)
    lo, hi = package("timbre.violin").manifest.conditioning["f0_hz"]
    assert lo <= 123.5 * 2 <= hi
    assert adjustment.octave_shift == 1
    assert adjustment.message == "The melody was moved up one octave to suit the Violin."
    wet = processor.render(reader(dry), 0, len(dry))
    _, hz_in, voiced_in = pitch(dry)
    _, hz_out, voiced_out = pitch(wet)
    both = voiced_in & voiced_out
    cents = 1200 * np.log2(hz_out[both] / hz_in[both]) - 1200 * adjustment.octave_shift
    assert np.median(np.abs(cents)) < 20


def test_a_fixed_octave_shift_is_kept() -> None:
    dry = melody(440.0, seconds=1.0, rest_at=2.0)
    processor = package("timbre.trumpet").processor({}, RATE, octave_shift=-1)
    adjustment = processor.prepare(reader(dry), len(dry))
    assert adjustment.octave_shift == -1 and "down one octave" in adjustment.message


def test_a_stem_without_melody_gets_a_clear_message_and_silence() -> None:
    rng = np.random.default_rng(0)
    noise = (0.1 * rng.standard_normal((RATE, 2))).astype(np.float32)
    for stem in (np.zeros((RATE, 2), np.float32), noise):
        processor, adjustment = styled("timbre.synth-lead", stem)
        assert adjustment.octave_shift == 0
        assert "No melody" in adjustment.message
        assert not processor.render(reader(stem), 0, RATE).any()


def test_knobs_change_the_sound() -> None:
    dry = melody(440.0, seconds=1.0, rest_at=2.0)
    plain = styled("timbre.trumpet", dry)[0].render(reader(dry), 0, len(dry))
    no_breath = styled("timbre.trumpet", dry, breath=0.0)[0].render(reader(dry), 0, len(dry))
    bright = styled("timbre.trumpet", dry, brightness=1.0)[0].render(reader(dry), 0, len(dry))
    assert not np.allclose(plain, no_breath) and not np.allclose(plain, bright)

    def centroid(x: np.ndarray) -> float:
        spectrum = np.abs(np.fft.rfft(x[:, 0]))
        return float((spectrum * np.arange(len(spectrum))).sum() / spectrum.sum())

    assert centroid(bright) > centroid(plain)


def test_synth_noise_is_a_function_of_the_frame_only() -> None:
    a = ds.frame_noise(np.arange(10, 20), 160)
    b = ds.frame_noise(np.arange(15, 25), 160)
    np.testing.assert_array_equal(a[5:], b[:5])
    assert a.min() >= -1.0 and a.max() < 1.0 and abs(float(a.mean())) < 0.05


def test_with_knobs_shares_the_analysis_and_renders_as_a_fresh_processor() -> None:
    dry = melody(440.0, seconds=1.0, rest_at=2.0)
    processor, _ = styled("timbre.violin", dry)
    turned = processor.with_knobs({"breath": 0.5, "brightness": -0.5})
    fresh, _ = styled("timbre.violin", dry, breath=0.5, brightness=-0.5)
    np.testing.assert_array_equal(
        turned.render(reader(dry), 0, len(dry)), fresh.render(reader(dry), 0, len(dry))
    )
    assert processor.brightness == 0.0  # the original keeps its knobs
