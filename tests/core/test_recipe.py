# SPDX-License-Identifier: GPL-3.0-or-later
"""Recipe v1: golden file, round trip, migrations and refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core import recipe as recipe_format
from app.core.errors import RecipeError, RecipeVersionError
from app.core.recipe import MasterMix, Recipe, StemMix
from app.core.track import StemInfo, TrackInfo

GOLDEN = Path(__file__).parent / "golden" / "recipe_v1.json"
GOLDEN_V2 = Path(__file__).parent / "golden" / "recipe_v2.json"
TRACK = TrackInfo(
    id="neon-harbour",
    version=1,
    title="Neon Harbour",
    artist="Nova Lane",
    bpm=118,
    key="A major",
    time_signature="4/4",
    sample_rate=48_000,
    frames=48_000,
    stems=tuple(StemInfo(k) for k in ("drums", "bass", "keys", "lead", "pad")),
)


def test_golden_v1_file_migrates_to_the_same_mix_with_neutral_effects() -> None:
    recipe = recipe_format.loads(GOLDEN.read_bytes())
    assert recipe.title == "Harbour lights (night mix)"
    assert recipe.stems["bass"] == StemMix(gain_db=1.5, pan=-0.2)
    assert recipe.stems["pad"].mute
    assert recipe.master == MasterMix(gain_db=-0.5, limiter_ceiling_db=-1.0)
    assert all(not s.fx.active_effects() for s in recipe.stems.values())
    recipe.check_fits(TRACK)


def test_golden_v2_file_round_trips_exactly() -> None:
    recipe = recipe_format.loads(GOLDEN_V2.read_bytes())
    assert recipe.stems["drums"].fx.active_effects() == ["eq", "compressor"]
    assert recipe.stems["keys"].fx.active_effects() == ["filter", "reverb"]
    assert recipe.stems["keys"].fx.reverb.mix == 0.25
    assert recipe.master.fx.active_effects() == ["eq"]
    assert [p.section for p in recipe.arrangement.sections] == [0, 1, 2, 2, 5]
    assert recipe.arrangement.sections[3].mutes == ("lead",)
    assert recipe.arrangement.fade_out_s == 2.5
    # Writing it back gives the same document (the golden file is the format's contract).
    assert recipe.to_dict() == json.loads(GOLDEN_V2.read_text())


def test_round_trip_and_digest_are_stable() -> None:
    recipe = Recipe.default_for(TRACK).with_stem("drums", gain_db=-4.5, solo=True)
    again = recipe_format.loads(recipe.to_json())
    assert again == recipe
    assert again.digest() == recipe.digest()
    assert again.with_stem("drums", gain_db=-4.0).digest() != recipe.digest()


def test_a_newer_recipe_is_refused_with_a_clear_reason() -> None:
    doc = json.loads(GOLDEN_V2.read_text())
    doc["version"] = 3
    with pytest.raises(RecipeVersionError, match="newer Fanfare"):
        recipe_format.loads(json.dumps(doc))


def test_registered_migrations_chain_up_to_the_current_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Pretend a version 3 whose reference level is 1 dB lower than version 2's: a version-1
    # file must come through the real 1 -> 2 migration and then the registered 2 -> 3 one.
    def two_to_three(old: dict) -> dict:
        stems = {
            k: {**v, "gain_db": max(v["gain_db"] - 1.0, -60.0)} for k, v in old["stems"].items()
        }
        return {**old, "version": 3, "stems": stems}

    monkeypatch.setattr(recipe_format, "VERSION", 3)
    monkeypatch.setitem(recipe_format.MIGRATIONS, 2, two_to_three)
    recipe = recipe_format.loads(GOLDEN.read_bytes())
    assert recipe.stems["bass"].gain_db == pytest.approx(0.5)
    assert recipe.stems["drums"].gain_db == pytest.approx(-4.0)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["stems"]["bass"].update(gain_db=40), "outside"),
        (lambda d: d["stems"]["bass"].update(gain_db="loud"), "number"),
        (lambda d: d["stems"]["bass"].update(pan=2), "pan"),
        (lambda d: d["stems"]["bass"].update(mute="yes"), "true or false"),
        (lambda d: d["master"].update(limiter_ceiling_db=3), "ceiling"),
        (lambda d: d.update(stems={}), "no stems"),
        (lambda d: d.update(title=""), "title"),
        (lambda d: d.pop("track"), "malformed"),
        (lambda d: d.update(schema="other"), "not a Fanfare recipe"),
    ],
)
def test_malformed_recipes_are_refused(edit, message: str) -> None:
    doc = json.loads(GOLDEN.read_text())
    edit(doc)
    with pytest.raises(RecipeError, match=message):
        recipe_format.loads(json.dumps(doc))


def test_nan_is_refused() -> None:
    text = GOLDEN.read_text().replace('"gain_db": 1.5', '"gain_db": NaN')
    with pytest.raises(RecipeError, match="finite"):
        recipe_format.loads(text)


def test_recipe_for_another_track_or_version_does_not_fit() -> None:
    recipe = recipe_format.loads(GOLDEN.read_bytes())
    with pytest.raises(RecipeError, match="not neon-harbour v2"):
        recipe.check_fits(TrackInfo(**{**TRACK.__dict__, "version": 2}))
    with pytest.raises(RecipeError, match="do not match"):
        recipe.check_fits(TrackInfo(**{**TRACK.__dict__, "stems": (StemInfo("drums"),)}))


@pytest.mark.parametrize(
    ("fx", "message"),
    [
        ({"reverb": {"mix": 2}}, "reverb.mix"),
        ({"eq": {"mid_hz": 5}}, "eq.mid_hz"),
        ({"flanger": {}}, "unknown effect"),
        ({"delay": {"time_s": "long"}}, "delay.time_s must be a number"),
        ({"drive_db": 10**400}, "finite"),
    ],
)
def test_out_of_range_or_unknown_effects_are_refused(fx: dict, message: str) -> None:
    doc = json.loads(GOLDEN_V2.read_text())
    doc["stems"]["bass"]["fx"] = fx
    with pytest.raises(RecipeError, match=message):
        recipe_format.loads(json.dumps(doc))
