# SPDX-License-Identifier: GPL-3.0-or-later
"""The shipped character models and their runtime (``app.styles.waveform``)."""

from __future__ import annotations

import functools
import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from app.core.errors import StyleModelError
from app.core.style_manifest import parse_manifest
from app.engine.sources import window
from app.styles.base import Reader
from app.styles.package import StylePackage
from app.styles.waveform import WaveformProcessor

SR = 48_000
MODELS = Path(__file__).resolve().parents[2] / "models"
CHARACTER = sorted(p.parent for p in MODELS.glob("character.*/manifest.json"))
IDS = [p.name for p in CHARACTER]


@cache
def package(folder: Path) -> StylePackage:
    return StylePackage.from_dir(folder)


def reader(audio: np.ndarray) -> Reader:
    """A reader over a stereo signal, zero outside it (what the engine passes)."""
    return functools.partial(window, audio)


@cache
def music(seconds: float = 1.5) -> np.ndarray:
    """A seeded stand-in for a stem: decaying chord plucks over filtered noise, (n, 2)."""
    rng = np.random.default_rng(3)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    out = np.zeros((n, 2), np.float32)
    for k, at in enumerate(range(0, n, SR // 4)):
        env = np.where(t >= at / SR, np.exp(-(t - at / SR) * 6.0), 0.0)
        for hz in (110.0 * 2 ** (k % 5 / 12), 220.0 * 1.26, 330.0):
            out[:, 0] += (0.15 * env * np.sin(2 * np.pi * hz * t)).astype(np.float32)
            out[:, 1] += (0.12 * env * np.sin(2 * np.pi * hz * 1.003 * t)).astype(np.float32)
    out += np.convolve(rng.standard_normal(n), np.ones(8) / 8, "same")[:, None] * 0.02
    return out.astype(np.float32)


def test_two_character_models_ship() -> None:
    assert {"character.tape", "character.tube"} <= set(IDS)


@pytest.mark.parametrize("folder", CHARACTER, ids=IDS)
def test_golden_self_test_and_manifest(folder: Path) -> None:
    pkg = package(folder)
    assert pkg.self_test() <= pkg.manifest.golden_atol
    m = pkg.manifest
    assert (m.family, m.runtime, m.sample_rate) == ("character", "waveform", SR)
    assert m.look_behind_samples == m.synth["receptive_field"] - 1
    for setting in ("drive=0", "drive=0.5", "drive=1"):
        assert m.training["held_out"][setting]["esr"] <= 0.05


@pytest.mark.parametrize("folder", CHARACTER, ids=IDS)
def test_drive_adds_harmonics(folder: Path) -> None:
    """A 200 Hz sine (−18 dBFS) picks up more harmonic distortion as drive rises."""
    n = SR // 2
    sine = (0.125 * np.sin(2 * np.pi * 200.0 * np.arange(n) / SR)).astype(np.float32)
    audio = np.stack([sine, sine], axis=1)

    def thd(drive: float) -> float:
        wet = package(folder).processor({"drive": drive}, SR).render(reader(audio), 0, n)
        spectrum = np.abs(np.fft.rfft(wet[SR // 4 :, 0] * np.hanning(n - SR // 4)))
        bin_hz = SR / (n - SR // 4)
        peaks = [spectrum[round(k * 200 / bin_hz) - 2 : round(k * 200 / bin_hz) + 3].max()
                 for k in range(1, 10)]  # fmt: skip
        return float(np.sqrt(np.sum(np.square(peaks[1:]))) / peaks[0])

    low, mid, high = thd(0.0), thd(0.5), thd(1.0)
    assert low < mid < high
    assert high > 2.0 * low


@pytest.mark.parametrize("folder", CHARACTER, ids=IDS)
def test_a_range_equals_the_same_range_of_a_longer_render(folder: Path) -> None:
    audio = music()
    proc = package(folder).processor({"drive": 0.7}, SR)
    whole = proc.render(reader(audio), 0, len(audio))
    part = proc.render(reader(audio), 12_345, 20_000)
    assert whole.dtype == part.dtype == np.float32 and part.shape == (20_000, 2)
    np.testing.assert_allclose(part, whole[12_345:32_345], rtol=0, atol=1e-6)


@pytest.mark.parametrize("folder", CHARACTER, ids=IDS)
def test_chunks_join_without_clicks(folder: Path) -> None:
    """Chunks rendered one by one (as the engine asks) join into the one long render."""
    audio = music()
    proc = package(folder).processor({}, SR)
    whole = proc.render(reader(audio), 0, len(audio))
    chunk = 4_800
    joined = np.concatenate(
        [proc.render(reader(audio), s, chunk) for s in range(0, len(audio), chunk)]
    )[: len(audio)]
    np.testing.assert_allclose(joined, whole, rtol=0, atol=1e-6)
    steps = np.abs(np.diff(joined[:, 0]))
    joins = steps[chunk - 1 :: chunk]
    assert joins.max() <= steps.max()  # no join stands out from the signal's own steps


@pytest.mark.parametrize("folder", CHARACTER, ids=IDS)
def test_output_is_aligned_with_input(folder: Path) -> None:
    """The dry/wet cross-correlation peaks within 1 ms (48 frames) of zero lag."""
    audio = music()
    wet = package(folder).processor({"drive": 0.0}, SR).render(reader(audio), 0, len(audio))
    x, y, m = audio[:, 0], wet[:, 0], 480
    corr = [float(np.dot(x[m:-m], y[m + k : len(y) - m + k])) for k in range(-m, m + 1)]
    assert abs(int(np.argmax(corr)) - m) <= SR // 1000


@pytest.mark.parametrize("folder", CHARACTER, ids=IDS)
def test_level_knob_is_a_gain(folder: Path) -> None:
    audio = music(0.5)
    base = package(folder).processor({"level": 0.0}, SR).render(reader(audio), 0, 6_000)
    down = package(folder).processor({"level": -6.0}, SR).render(reader(audio), 0, 6_000)
    np.testing.assert_allclose(down, base * 10 ** (-6 / 20), rtol=0, atol=1e-6)


def test_another_engine_rate_is_resampled() -> None:
    """At 44.1 kHz the model still runs (resampled); chunks stay continuous."""
    audio = music()
    proc = package(CHARACTER[0]).processor({"drive": 0.5}, 44_100)
    assert isinstance(proc, WaveformProcessor)
    whole = proc.render(reader(audio), 0, 20_000)
    joined = np.concatenate([proc.render(reader(audio), s, 5_000) for s in range(0, 20_000, 5_000)])
    assert whole.shape == joined.shape == (20_000, 2)
    np.testing.assert_allclose(joined, whole, rtol=0, atol=1e-4)


def test_a_tampered_model_is_refused() -> None:
    folder = CHARACTER[0]
    manifest = parse_manifest((folder / "manifest.json").read_bytes())
    files = {name: (folder / name).read_bytes() for name in manifest.files}
    onnx = bytearray(files["model.onnx"])
    onnx[len(onnx) // 2] ^= 0x01  # one flipped bit in the weights
    with pytest.raises(StyleModelError, match=r"model\.onnx does not match its signed manifest"):
        StylePackage(manifest, {**files, "model.onnx": bytes(onnx)})
    assert json.loads((folder / "manifest.json").read_text())["id"] == folder.name
