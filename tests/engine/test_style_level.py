# SPDX-License-Identifier: GPL-3.0-or-later
"""A style keeps its stem's level: every shipped model, on demo stems no model was tuned to,
at each knob's ends, leaves the stem within 1 LU of the dry stem, except the model's own level
knob, which moves it by what it says."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf
import soxr

from app.engine.styled import StyledSource
from app.styles.package import StylePackage

ROOT = Path(__file__).resolve().parents[2]
RATE = 48_000
SECONDS = 8
#: Stems of the tracks no model was trained or tuned on (the models' checks use neon-harbour).
STEMS = [("paper-moons", "keys"), ("copper-wire", "guitar"), ("paper-moons", "drums")]
MODELS = sorted(p.parent.name for p in (ROOT / "models").glob("*/manifest.json"))


@functools.cache
def stem(track: str, kind: str) -> np.ndarray:
    catalogue = json.loads((ROOT / "assets" / "demo" / "catalogue.json").read_text())
    entry = next(t for t in catalogue["tracks"] if t["id"] == track)
    audio, rate = sf.read(ROOT / "assets" / "demo" / entry["stems"][kind], dtype="float32")
    audio = np.asarray(soxr.resample(audio, rate, RATE), dtype=np.float32)
    return np.ascontiguousarray(audio[RATE * 10 : RATE * (10 + SECONDS)])


def lufs(audio: np.ndarray) -> float:
    return float(pyloudnorm.Meter(RATE).integrated_loudness(audio.astype(np.float64)))


def styled(package: StylePackage, knobs: dict[str, float], dry: np.ndarray) -> np.ndarray:
    values = package.manifest.knob_values(knobs)
    source = StyledSource(dry, package.processor(values, RATE), 1.0, ("t",), sample_rate=RATE)
    return source.read(0, len(dry))


@pytest.mark.parametrize("model", MODELS)
def test_a_style_keeps_the_stems_loudness_at_every_knobs_ends(model: str) -> None:
    package = StylePackage.from_dir(ROOT / "models" / model)
    settings: list[tuple[dict[str, float], float]] = [({}, 0.0)]
    for knob in package.manifest.knobs:
        for value in (knob.min, knob.max):
            # The model's own level knob is the fan turning it up: it moves the level by itself.
            settings.append(({knob.id: value}, value if knob.id == "level" else 0.0))
    for track, kind in STEMS:
        if kind not in package.manifest.stem_kinds:
            continue  # a melody's timbre model is not offered on drums
        dry = stem(track, kind)
        for knobs, expected_lu in settings[: 1 if model.startswith("timbre") else None]:
            change = lufs(styled(package, knobs, dry)) - lufs(dry)
            assert change == pytest.approx(expected_lu, abs=1.0), (track, kind, knobs, change)
