# SPDX-License-Identifier: GPL-3.0-or-later
"""Company: a protected stem is never left alone in a channel, the centre, the side or a
passage of a render, while remixes that feature it honestly pass."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from app.core.arrangement import SectionPlay
from app.core.automation import GRID_FRAMES, make_move
from app.core.effects import Eq, MasterFx
from app.core.policy import Policy
from app.core.recipe import Recipe, StemMix
from app.core.track import Section, StemInfo, TrackInfo
from app.engine.company import CompanyMeter, Passage, heard_reasons
from app.engine.offline import render
from tests.helpers.audio import SAMPLE_RATE

SECONDS = 12.0
INTRO_S = 4.0  # the track as written has the lead alone here


def _track() -> TrackInfo:
    sections = (Section("intro", 0.0, INTRO_S), Section("verse", INTRO_S, 8.0),
                Section("chorus", 8.0, SECONDS))  # fmt: skip
    return TrackInfo(
        id="t", version=1, title="T", artist="A", bpm=120, key="C major", time_signature="4/4",
        sample_rate=SAMPLE_RATE, frames=int(SECONDS * SAMPLE_RATE), sections=sections,
        stems=(StemInfo("lead"), StemInfo("bass"), StemInfo("hats")),
    )  # fmt: skip


def _band(low_hz: float, high_hz: float, seed: int, wide: bool) -> np.ndarray:
    """Band-limited noise at about -20 dBFS, float32 (frames, 2): ``wide`` makes its two
    channels partly independent (a stereo recording), otherwise both are the same (mono)."""
    rng = np.random.default_rng(seed)
    frames = int(SECONDS * SAMPLE_RATE)
    sos = butter(4, [low_hz, high_hz], btype="bandpass", fs=SAMPLE_RATE, output="sos")
    common = rng.standard_normal(frames)
    left = common + (rng.standard_normal(frames) if wide else 0.0)
    right = common + (rng.standard_normal(frames) if wide else 0.0)
    out = sosfilt(sos, np.stack([left, right], axis=1), axis=0)
    out *= 0.1 / np.sqrt(np.mean(np.square(out)))
    return np.ascontiguousarray(out, dtype=np.float32)


def _stems(wide: bool = True) -> dict[str, np.ndarray]:
    """A lead in the middle of the spectrum, a bass below it and hats above it; the bass and
    hats come in after the intro."""
    stems = {
        "lead": _band(800.0, 2000.0, 1, wide),
        "bass": _band(40.0, 150.0, 2, wide),
        "hats": _band(6000.0, 12000.0, 3, wide),
    }
    intro = int(INTRO_S * SAMPLE_RATE)
    stems["bass"][:intro] = 0.0
    stems["hats"][:intro] = 0.0
    return stems


def _recipe() -> Recipe:
    return Recipe.default_for(_track())


def _alone(recipe: Recipe, stems: dict[str, np.ndarray] | None = None) -> list[Passage]:
    meter = CompanyMeter()
    render(stems or _stems(), SAMPLE_RATE, recipe, track=_track(), company=meter)
    return meter.alone(["lead"])


def _at(seconds: float) -> int:
    return round(seconds * SAMPLE_RATE / GRID_FRAMES) * GRID_FRAMES


def test_the_track_as_written_passes_though_its_intro_is_the_lead_alone() -> None:
    assert _alone(_recipe()) == []


def test_the_lead_alone_in_the_left_channel_is_found() -> None:
    recipe = _recipe().with_stem("bass", pan=1.0).with_stem("hats", pan=1.0)
    recipe = recipe.with_stem("lead", pan=-1.0)
    passages = _alone(recipe)
    assert [p.views for p in passages] == [("left",)]
    # From where the bass and hats come in (the intro was the lead alone already).
    assert passages[0].start_s == pytest.approx(INTRO_S - 3.0, abs=1.0)
    assert passages[0].end_s == pytest.approx(SECONDS)
    assert "in the left channel (nothing else heard with it)" in passages[0].sentence()


def test_a_lead_panned_off_a_mono_mix_is_alone_in_the_side_channel() -> None:
    # Everything mono in the middle but the lead, panned a little: left minus right is the
    # lead and nothing else.
    mono = _stems(wide=False)
    passages = _alone(_recipe().with_stem("lead", pan=-0.3), mono)
    assert passages and all(p.views == ("side",) for p in passages)
    # Among stereo stems, the same pan keeps company on every side.
    assert _alone(_recipe().with_stem("lead", pan=-0.3)) == []


def test_a_passage_with_the_rest_pulled_down_is_found_and_placed() -> None:
    recipe = _recipe().with_stem("bass", gain_db=-30.0).with_stem("hats", gain_db=-30.0)
    back = _at(9.0)
    recipe = recipe.with_moves(
        (make_move(back, "bass", {"gain_db": 0.0}), make_move(back, "hats", {"gain_db": 0.0}))
    )
    passages = _alone(recipe)
    assert len(passages) == 1
    # The lead is alone from the intro's end to 9 s; windows are 3 s long.
    assert passages[0].start_s == pytest.approx(INTRO_S - 3.0, abs=1.0)
    assert passages[0].end_s == pytest.approx(9.0, abs=1.0)
    assert 25.0 < passages[0].company_db < 35.0


def test_a_breakdown_that_keeps_one_stem_with_the_lead_passes() -> None:
    recipe = _recipe().with_moves(
        (make_move(_at(5.0), "hats", {"mute": True}), make_move(_at(9.0), "hats", {"mute": False}))
    )
    assert _alone(recipe) == []


def test_the_master_eq_cutting_the_rest_away_from_the_lead_is_found() -> None:
    quieter = _recipe().with_stem("bass", gain_db=-14.0).with_stem("hats", gain_db=-14.0)
    assert _alone(quieter) == []
    cut = MasterFx(eq=Eq(low_db=-24.0, high_db=-24.0))
    passages = _alone(quieter.with_master(fx=cut))
    assert passages and passages[0].end_s == pytest.approx(SECONDS)


def test_a_retimed_and_rearranged_remix_is_judged_against_the_places_it_plays() -> None:
    # The intro twice, then the chorus, 25 % faster: the repeated intro is the track as
    # written (the lead alone there already); the chorus with the lead alone on the left is
    # the remix's doing.
    plays = (SectionPlay(0), SectionPlay(0), SectionPlay(2))
    recipe = _recipe().with_arrangement(sections=plays).with_tempo(ratio=1.25)
    assert _alone(recipe) == []
    panned = recipe.with_stem("bass", pan=1.0).with_stem("hats", pan=1.0)
    passages = _alone(panned.with_stem("lead", pan=-1.0))
    intro_twice_s = 2 * INTRO_S / 1.25
    assert [p.views for p in passages] == [("left",)]
    assert passages[0].start_s >= intro_twice_s - 3.0


def test_the_reasons_name_the_stem_the_passage_and_only_protected_stems() -> None:
    recipe = _recipe().with_stem("bass", pan=1.0).with_stem("hats", pan=1.0)
    recipe = recipe.with_stem("lead", pan=-1.0)
    meter = CompanyMeter()
    levels: dict[str, float] = {}
    render(_stems(), SAMPLE_RATE, recipe, track=_track(), levels=levels, company=meter)
    protective = Policy.from_dict({"stems": {k: {"solo": False} for k in recipe.stems}})
    reasons = heard_reasons(protective, levels, meter)
    assert reasons == [meter.alone(["lead"])[0].sentence()]
    assert reasons[0].startswith("the lead stem would be heard almost alone from 0:0")
    relaxed = Policy.from_dict({"stems": {"lead": {"solo": True}}, "min_audible_stems": 2})
    assert heard_reasons(relaxed, levels, meter) == []


def test_a_stem_alone_in_a_mix_of_one_stem_is_left_to_the_other_rules() -> None:
    meter = CompanyMeter()
    only = {"lead": _stems()["lead"]}
    recipe = Recipe(track_id="t", track_version=1, stems={"lead": StemMix()})
    render(only, SAMPLE_RATE, recipe, company=meter)
    assert meter.alone(["lead"]) == []
