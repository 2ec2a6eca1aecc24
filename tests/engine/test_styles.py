# SPDX-License-Identifier: GPL-3.0-or-later
"""Style models in the engine, with the packages shipped in models/: a styled stem renders the
same whether played block by block or rendered, sits where the dry stem sits, takes tempo and
key after the model, and a knob change while playing is made ahead and switched to."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from app.core.errors import StyleModelError
from app.core.recipe import Recipe, StemMix
from app.core.style_slot import StyleSlot
from app.core.track import Section, StemInfo, TrackInfo
from app.engine.mixer import Mixer
from app.engine.offline import render
from app.engine.styled import StyledSource
from app.styles.package import StylePackage
from tests.helpers.audio import SAMPLE_RATE
from tests.helpers.playback import play_blocks

MODELS = Path(__file__).resolve().parents[2] / "models"
SECONDS = 3.0


@pytest.fixture(scope="module")
def packages() -> dict[str, StylePackage]:
    found = {p.parent.name: StylePackage.from_dir(p.parent) for p in MODELS.glob("*/manifest.json")}
    assert {"timbre.violin", "character.tape"} <= set(found), "shipped models are missing"
    return {package.manifest.ref: package for package in found.values()}


def _melody(seconds: float = SECONDS) -> np.ndarray:
    """A sawtooth-ish melody (A4, C5, E5, A4 for equal shares), with a rest at the end."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    notes = np.array([440.0, 523.25, 659.26, 440.0])
    hz = notes[np.minimum((t / seconds * 4).astype(int), 3)]
    phase = 2 * np.pi * np.cumsum(hz) / SAMPLE_RATE
    wave = sum(np.sin(k * phase) / k for k in range(1, 8)) * 0.2
    wave[t > seconds * 0.9] = 0.0
    return np.ascontiguousarray(np.stack([wave, wave], 1).astype(np.float32))


def _stems() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    bass = 0.2 * np.sin(2 * np.pi * 110 * np.arange(int(SECONDS * SAMPLE_RATE)) / SAMPLE_RATE)
    bass = bass + 0.01 * rng.standard_normal(bass.shape)
    return {
        "lead": _melody(),
        "bass": np.ascontiguousarray(np.stack([bass, bass], 1).astype(np.float32)),
    }


def _track() -> TrackInfo:
    return TrackInfo(
        id="t", version=1, title="T", artist="A", bpm=120, key="A minor", time_signature="4/4",
        sample_rate=SAMPLE_RATE, frames=int(SECONDS * SAMPLE_RATE),
        sections=(Section("all", 0.0, SECONDS),), stems=(StemInfo("lead"), StemInfo("bass")),
    )  # fmt: skip


def _styled_recipe(**knobs: float) -> Recipe:
    return Recipe(
        "t", 1, "r",
        {
            "lead": StemMix(style=StyleSlot.make("timbre.violin", 1, knobs)),
            "bass": StemMix(style=StyleSlot.make("character.tape", 1, {"drive": 0.8}, mix=0.7)),
        },
    )  # fmt: skip


def test_styled_playback_block_by_block_equals_the_render(packages) -> None:
    stems = _stems()
    recipe = _styled_recipe().with_tempo(ratio=1.1, key_shift=2)
    mixer = Mixer(stems, SAMPLE_RATE, recipe, track=_track(), styles=packages.__getitem__)
    live = np.zeros((mixer.frames, 2), dtype=np.float32)
    for start in range(0, mixer.frames, mixer.block_frames):
        mixer.render(start, live[start : start + mixer.block_frames])
    mixer.close()
    rendered = render(stems, SAMPLE_RATE, recipe, track=_track(), styles=packages.__getitem__)
    np.testing.assert_array_equal(live, rendered)
    dry = render(
        stems, SAMPLE_RATE, recipe.with_stem("lead", style=None), track=_track(),
        styles=packages.__getitem__,
    )  # fmt: skip
    assert float(np.max(np.abs(rendered - dry))) > 0.05  # the violin is heard


def test_a_styled_stem_stays_where_the_dry_stem_is(packages) -> None:
    """The violin's notes start where the melody's do and it rests where the melody rests (the
    model's own alignment, to the sample, is checked in tests/styles)."""
    t = np.arange(int(SECONDS * SAMPLE_RATE)) / SAMPLE_RATE
    stem = _melody()
    stem[(t < 0.5) | ((t > 1.2) & (t < 1.5))] = 0.0  # rests before two of the notes
    package = packages["timbre.violin@1"]
    source = StyledSource(stem, package.processor({}, SAMPLE_RATE), 1.0, ("t",))
    wet = source[0 : len(stem)][:, 0]
    hop = SAMPLE_RATE // 1000

    def envelope(signal: np.ndarray) -> np.ndarray:
        return np.sqrt(np.convolve(signal.astype(np.float64) ** 2, np.ones(hop) / hop, "same"))

    dry_env, wet_env = envelope(stem[:, 0]), envelope(wet)
    for onset_s in (0.5, 1.5):
        at = int(onset_s * SAMPLE_RATE)
        dry, styled = dry_env[at - 9600 : at + 9600], wet_env[at - 9600 : at + 9600]
        dry_on = np.argmax(dry > 0.5 * dry[14400:].mean())
        wet_on = np.argmax(styled > 0.5 * styled[14400:].mean())
        # Within 15 ms: a bowed attack takes a few ms to reach half its level; a delay of the
        # styled stem would show as tens of ms.
        assert abs(int(wet_on) - int(dry_on)) <= 0.015 * SAMPLE_RATE, onset_s
    rest = slice(int(0.93 * len(stem)), len(stem))  # the melody's final rest
    assert wet_env[rest].max() < 0.1 * wet_env.max()


def test_a_knob_change_while_playing_is_made_ahead_and_switched_to(packages) -> None:
    mixer = Mixer(_stems(), SAMPLE_RATE, _styled_recipe(), track=_track(),
                  styles=packages.__getitem__)  # fmt: skip
    block = np.zeros((mixer.block_frames, 2), dtype=np.float32)
    position = SAMPLE_RATE // 2
    mixer.reset(position)
    for _ in range(4):
        mixer.render(position, block)
        position += mixer.block_frames
    lead = mixer.stems[0]
    mixer.set_recipe(_styled_recipe(breath=2.0))
    assert mixer.stems[0] is lead  # still the old sound
    waited = time.perf_counter()
    while not mixer.switch_ready(position):
        assert time.perf_counter() - waited < 2.0, "the new styled sound was not made in time"
        mixer.render(position, block)
        position += mixer.block_frames
        time.sleep(0.002)
    took = time.perf_counter() - waited
    assert mixer.switch(position) == position  # same timeline, same place
    assert mixer.stems[0] is not lead
    assert mixer.stems[0].adjustment is lead.adjustment  # the pitch analysis was shared
    mixer.render(position, block)
    assert np.abs(block).max() > 0.01
    mixer.close()
    assert took < 1.0


def test_a_model_the_engine_cannot_get_is_refused_with_the_reason(packages) -> None:
    def nothing(ref: str) -> StylePackage:
        raise StyleModelError(f"The style model {ref} is not offered by this platform.")

    with pytest.raises(StyleModelError, match=r"timbre\.violin@1 is not offered"):
        Mixer(_stems(), SAMPLE_RATE, _styled_recipe(), track=_track(), styles=nothing)
    mixer = Mixer(_stems(), SAMPLE_RATE, _styled_recipe().with_stem("lead", style=None)
                  .with_stem("bass", style=None), track=_track(), styles=nothing)  # fmt: skip
    with pytest.raises(StyleModelError):
        mixer.set_recipe(_styled_recipe())
    assert mixer.recipe.stems["lead"].style is None  # the mixer goes on as it was
    mixer.close()


class _Watched:
    """A stem that notes every read made after it was closed (as a cache file would fail)."""

    def __init__(self, audio: np.ndarray) -> None:
        self.audio, self.shape, self.closed, self.late_reads = audio, audio.shape, False, 0

    def __getitem__(self, key: slice) -> np.ndarray:
        self.late_reads += self.closed
        return self.audio[key]


def test_closing_while_a_style_is_analysed_stops_reading_the_stem(packages) -> None:
    """A track closed just after a timbre model was placed on a long stem: the analysis in
    progress reads nothing more, and closing waits at most for the step it is in."""
    lead = _Watched(_melody(120.0))
    bass = np.ascontiguousarray(np.resize(_stems()["bass"], lead.shape))
    plain = Recipe("t", 1, "r", {"lead": StemMix(), "bass": StemMix()})
    mixer = Mixer({"lead": lead, "bass": bass}, SAMPLE_RATE, plain, styles=packages.__getitem__)
    mixer.set_recipe(plain.with_stem("lead", style=StyleSlot.make("timbre.violin", 1)))
    mixer.follow(0)  # as playback would: the new sound starts being made ahead
    time.sleep(0.05)
    closing = time.perf_counter()
    mixer.close()
    lead.closed = True  # the track closes its files once the mixer is closed
    assert time.perf_counter() - closing < 6.0
    time.sleep(3.0)  # whatever analysis step was running has ended by now
    assert lead.late_reads == 0


def test_a_style_and_tempo_reached_while_playing_then_a_seek_play_what_the_render_makes(
    packages,
) -> None:
    """From the dry remix, place the styles and change tempo and key while playing, then seek:
    what plays is the publish render sample for sample, the studio's chunk store in between."""
    from app.engine.chunk_store import ChunkStore

    stems, track, store = _stems(), _track(), ChunkStore()
    final = _styled_recipe().with_tempo(ratio=0.9, key_shift=-2)
    mixer = Mixer(stems, SAMPLE_RATE, Recipe("t", 1, "r", {"lead": StemMix(), "bass": StemMix()}),
                  track=track, styles=packages.__getitem__, store=store)  # fmt: skip
    try:
        block = np.zeros((mixer.block_frames, 2), dtype=np.float32)
        position = SAMPLE_RATE // 4
        mixer.reset(position)
        for recipe in (_styled_recipe(), final):
            mixer.set_recipe(recipe)
            waited = time.perf_counter()
            while not mixer.switch_ready(position):
                assert time.perf_counter() - waited < 20.0, "the new sound never came"
                mixer.render(position, block)
                position += mixer.block_frames
                mixer.follow(position)
                time.sleep(0.002)
            position = mixer.switch(position)
        seek = SAMPLE_RATE // 2
        mixer.reset(seek)
        live = np.zeros((mixer.frames, 2), dtype=np.float32)
        play_blocks(mixer, seek, mixer.frames, live)
    finally:
        mixer.close()
    rendered = render(stems, SAMPLE_RATE, final, track=track, styles=packages.__getitem__,
                      store=store)  # fmt: skip
    np.testing.assert_array_equal(live[seek:], rendered[seek:])
    alone = render(stems, SAMPLE_RATE, final, track=track, styles=packages.__getitem__)
    np.testing.assert_array_equal(rendered, alone)  # the store changed nothing
