# SPDX-License-Identifier: GPL-3.0-or-later
"""Tempo and key suggested from stems, on music the suggestion was not tuned on: the demo's
tracks, whose tempo and key their makers wrote down."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.studio.analysis import AnalysisError, key_of, suggest

DEMO = Path(__file__).resolve().parents[2] / "assets" / "demo"


@pytest.mark.parametrize("track_id", ["neon-harbour", "paper-moons", "copper-wire"])
def test_the_demo_tracks_tempo_and_key_are_suggested(track_id: str) -> None:
    entry = next(t for t in json.loads((DEMO / "catalogue.json").read_text())["tracks"]
                 if t["id"] == track_id)  # fmt: skip
    stems = {kind: DEMO / path for kind, path in entry["stems"].items()}
    found = suggest(stems)
    assert found.bpm == pytest.approx(entry["bpm"], abs=1.0)
    assert found.key == entry["key"]


def test_a_key_is_the_profile_its_chroma_matches() -> None:
    # A minor triad's pitch classes (A, C, E) loudest, the rest of A natural minor under them.
    chroma = np.full(12, 0.1)
    for note, weight in ((9, 1.0), (0, 0.8), (4, 0.9), (2, 0.4), (7, 0.4), (11, 0.3), (5, 0.3)):
        chroma[note] = weight
    assert key_of(chroma) == "A minor"
    assert key_of(np.roll(chroma, 3)) == "C minor"


def test_unreadable_or_silent_stems_are_a_sentence(tmp_path: Path) -> None:
    noise = tmp_path / "drums.wav"
    noise.write_bytes(b"not audio at all")
    with pytest.raises(AnalysisError, match=r"Stem .drums.: drums\.wav cannot be read"):
        suggest({"drums": noise})
