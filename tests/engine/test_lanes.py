# SPDX-License-Identifier: GPL-3.0-or-later
"""The timeline's lanes: each stem's peaks where the remix plays them (arranged, retimed), the
gain the mix gives them, and the mix's outline; the envelope measured from real FLAC."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from app.core.arrangement import SectionPlay
from app.core.automation import make_move
from app.core.recipe import Recipe
from app.core.track import Section, StemInfo, TrackInfo
from app.engine.lanes import lanes
from app.engine.peaks import BIN_FRAMES, FULL_SCALE, StemPeaks, measure, measure_array

RATE = 48_000
TRACK = TrackInfo(
    id="t", version=1, title="T", artist="A", bpm=120, key="C major", time_signature="4/4",
    sample_rate=RATE, frames=RATE * 12, stems=(StemInfo("drums"), StemInfo("keys")),
    sections=(Section("intro", 0, 4), Section("verse", 4, 8), Section("chorus", 8, 12)),
)  # fmt: skip


def _burst(at_s: float, length_s: float, level: float) -> np.ndarray:
    """Silence with a tone of peak ``level`` from ``at_s`` for ``length_s``: float32 (12 s, 2)."""
    audio = np.zeros((TRACK.frames, 2), dtype=np.float32)
    start, end = int(at_s * RATE), int((at_s + length_s) * RATE)
    t = np.arange(end - start) / RATE
    audio[start:end] = (level * np.sin(2 * np.pi * 440 * t))[:, None]
    return audio


@pytest.fixture(scope="module")
def peaks() -> dict[str, StemPeaks]:
    stems = {"drums": _burst(9.0, 1.0, 0.5), "keys": _burst(1.0, 1.0, 0.25)}
    return {k: measure_array(a, StemPeaks(len(a))) for k, a in stems.items()}


def _loud_seconds(values: np.ndarray, start_s: float, end_s: float) -> tuple[float, float]:
    """Where the first and last loud column of a view lie, in output seconds."""
    loud = np.flatnonzero(values > 0.05)
    width = (end_s - start_s) / len(values)
    return start_s + loud[0] * width, start_s + (loud[-1] + 1) * width


def test_the_envelope_from_a_flac_stream_matches_the_audio_and_is_only_an_outline() -> None:
    audio = _burst(3.0, 2.0, 0.5)
    buffer = io.BytesIO()
    sf.write(buffer, audio, RATE, format="FLAC", subtype="PCM_24")
    from_flac = measure(lambda: io.BytesIO(buffer.getvalue()), StemPeaks(len(audio)))
    in_memory = measure_array(audio, StemPeaks(len(audio)))
    assert from_flac.complete and from_flac.error is None
    assert np.abs(from_flac.values.astype(int) - in_memory.values.astype(int)).max() <= 1
    bins = from_flac.values
    assert len(bins) == -(-len(audio) // BIN_FRAMES)  # ~47 bytes a second: an outline, no audio
    assert bins.dtype == np.uint8
    loud = np.flatnonzero(bins)
    assert loud[0] * BIN_FRAMES / RATE == pytest.approx(3.0, abs=BIN_FRAMES / RATE)
    assert (loud[-1] + 1) * BIN_FRAMES / RATE == pytest.approx(5.0, abs=BIN_FRAMES / RATE)
    assert bins.max() == pytest.approx(0.5 * FULL_SCALE, abs=2)


def test_bytes_that_are_not_audio_are_refused_with_a_sentence() -> None:
    from app.core.errors import AudioFormatError

    envelope = StemPeaks(RATE)
    with pytest.raises(AudioFormatError, match="not audio"):
        measure(lambda: io.BytesIO(b"fLaC" + bytes(200)), envelope)
    assert envelope.error is not None and not envelope.complete


def test_lanes_follow_the_tempo_and_the_arrangement(peaks) -> None:
    recipe = Recipe.default_for(TRACK)
    view = lanes(recipe, TRACK, peaks, 0.0, 12.0, 600)
    keys, drums = view.lanes[1], view.lanes[0]
    assert _loud_seconds(keys.peaks, 0, 12) == pytest.approx((1.0, 2.0), abs=0.05)
    assert _loud_seconds(drums.peaks, 0, 12) == pytest.approx((9.0, 10.0), abs=0.05)
    # Twice as fast: everything at half the time, the remix 6 s long.
    faster = lanes(recipe.with_tempo(ratio=2.0), TRACK, peaks, 0.0, 6.0, 600)
    assert _loud_seconds(faster.lanes[1].peaks, 0, 6) == pytest.approx((0.5, 1.0), abs=0.05)
    # The chorus first, then the intro: the drums' burst (in the chorus) now at 1 s.
    arranged = recipe.with_arrangement(sections=(SectionPlay(2), SectionPlay(0, mutes=("keys",))))
    view = lanes(arranged, TRACK, peaks, 0.0, 8.0, 400)
    assert _loud_seconds(view.lanes[0].peaks, 0, 8) == pytest.approx((1.0, 2.0), abs=0.05)
    assert _loud_seconds(view.lanes[1].peaks, 0, 8) == pytest.approx((5.0, 6.0), abs=0.05)
    # The intro mutes the keys: their lane is silent there, and the mix has only the drums.
    assert view.lanes[1].gain[:190].min() == 1.0 and view.lanes[1].gain[210:].max() == 0.0
    assert _loud_seconds(view.mix, 0, 8) == pytest.approx((1.0, 2.0), abs=0.05)


def test_lanes_carry_the_mix_mutes_solos_and_recorded_moves(peaks) -> None:
    recipe = Recipe.default_for(TRACK)
    plain = lanes(recipe, TRACK, peaks, 0.0, 12.0, 120)
    assert plain.mix.max() == pytest.approx(0.5, abs=0.02)
    muted = lanes(recipe.with_stem("drums", mute=True), TRACK, peaks, 0.0, 12.0, 120)
    assert muted.lanes[0].gain.max() == 0.0
    assert muted.lanes[0].peaks.max() == pytest.approx(0.5, abs=0.02)  # the stem still shows
    assert muted.mix.max() == pytest.approx(0.25, abs=0.02)  # the mix is only the keys
    soloed = lanes(recipe.with_stem("drums", solo=True), TRACK, peaks, 0.0, 12.0, 120)
    assert soloed.lanes[1].gain.max() == 0.0 and soloed.lanes[0].gain.min() == 1.0
    # A recorded move fades the drums to -6 dB at 9.5 s: the gain drops there, the mark shows.
    move = make_move(int(9.5 * RATE) // 512 * 512, "drums", {"gain_db": -6.0})
    moved = lanes(recipe.with_moves((move,)), TRACK, peaks, 0.0, 12.0, 120)
    gain = moved.lanes[0].gain
    assert gain[90] == 1.0 and gain[100] == pytest.approx(10 ** (-6 / 20), abs=1e-3)
    assert moved.moves == ((move.frame / RATE, "drums"),)
    # A zoomed view shows only its own stretch.
    zoomed = lanes(recipe, TRACK, peaks, 8.5, 10.5, 200)
    assert _loud_seconds(zoomed.lanes[0].peaks, 8.5, 10.5) == pytest.approx((9.0, 10.0), abs=0.02)


def test_columns_not_measured_yet_are_marked_unknown() -> None:
    half = StemPeaks(TRACK.frames)
    measure_array(_burst(1.0, 1.0, 0.5)[: TRACK.frames // 2], half)
    other = measure_array(_burst(1.0, 1.0, 0.5), StemPeaks(TRACK.frames))
    view = lanes(Recipe.default_for(TRACK), TRACK, {"drums": half, "keys": other}, 0, 12, 120)
    known = view.lanes[0].known
    assert known[:55].all() and not known[65:].any()
    assert view.lanes[1].known.all()
