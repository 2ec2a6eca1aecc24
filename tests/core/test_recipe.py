# SPDX-License-Identifier: GPL-3.0-or-later
"""Recipes: golden files of every version, round trip, migrations and refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core import recipe as recipe_format
from app.core.automation import make_move
from app.core.errors import RecipeError, RecipeVersionError
from app.core.own_part import OwnPart
from app.core.recipe import MasterMix, Recipe, StemMix
from app.core.track import StemInfo, TrackInfo

GOLDEN = Path(__file__).parent / "golden" / "recipe_v1.json"
GOLDEN_V2 = Path(__file__).parent / "golden" / "recipe_v2.json"
GOLDEN_V3 = Path(__file__).parent / "golden" / "recipe_v3.json"
GOLDEN_V4 = Path(__file__).parent / "golden" / "recipe_v4.json"
GOLDEN_V5 = Path(__file__).parent / "golden" / "recipe_v5.json"
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


def test_golden_v2_file_migrates_to_the_same_remix_at_its_own_tempo() -> None:
    recipe = recipe_format.loads(GOLDEN_V2.read_bytes())
    assert recipe.stems["drums"].fx.active_effects() == ["eq", "compressor"]
    assert recipe.stems["keys"].fx.active_effects() == ["filter", "reverb"]
    assert recipe.stems["keys"].fx.reverb.mix == 0.25
    assert recipe.master.fx.active_effects() == ["eq"]
    assert [p.section for p in recipe.arrangement.sections] == [0, 1, 2, 2, 5]
    assert recipe.arrangement.sections[3].mutes == ("lead",)
    assert recipe.arrangement.fade_out_s == 2.5
    assert (recipe.tempo_ratio, recipe.key_shift, recipe.automation) == (1.0, 0, ())
    # The migrations only add: the version-2 document is the current one minus the new keys.
    doc = recipe.to_dict()
    assert {k: doc.pop(k) for k in ("tempo_ratio", "key_shift", "automation")} == {
        "tempo_ratio": 1.0,
        "key_shift": 0,
        "automation": [],
    }
    assert all(stem.pop("style") is None for stem in doc["stems"].values())
    assert doc.pop("parts") == {}
    assert doc == {**json.loads(GOLDEN_V2.read_text()), "version": 5}


def test_golden_v3_file_migrates_to_the_same_remix_without_styles() -> None:
    recipe = recipe_format.loads(GOLDEN_V3.read_bytes())
    assert all(stem.style is None for stem in recipe.stems.values())
    doc = recipe.to_dict()
    assert all(stem.pop("style") is None for stem in doc["stems"].values())
    assert doc.pop("parts") == {}
    assert doc == {**json.loads(GOLDEN_V3.read_text()), "version": 5}


def test_golden_v4_file_migrates_to_the_same_remix_without_parts() -> None:
    recipe = recipe_format.loads(GOLDEN_V4.read_bytes())
    assert recipe.parts == {} and recipe.track_stems == list(recipe.stems)
    doc = recipe.to_dict()
    assert doc.pop("parts") == {}
    assert doc == {**json.loads(GOLDEN_V4.read_text()), "version": 5}


def test_golden_v5_file_round_trips_exactly() -> None:
    recipe = recipe_format.loads(GOLDEN_V5.read_bytes())
    lead = recipe.stems["lead"].style
    assert lead is not None
    assert (lead.ref, lead.knob_values, lead.mix, lead.octave) == (
        "timbre.violin@1",
        {"breath": 0.3, "brightness": 0.6},
        0.8,
        1,
    )
    assert recipe_format.styles_of(recipe).keys() == {"lead", "bass"}
    assert (recipe.tempo_ratio, recipe.key_shift) == (1.1, -2)
    assert [(m.frame, m.target, m.fields) for m in recipe.automation] == [
        (48128, "drums", ("gain_db",)),
        (96256, "bass", ("fx", "mute")),
        (96256, "master", ("gain_db",)),
    ]
    states = recipe.states()
    assert [frame for frame, _, _ in states] == [0, 48128, 96256]
    assert states[1][1]["drums"].gain_db == -9.0
    assert states[2][1]["bass"].fx.filter.highpass_hz == 400.0
    assert states[2][2].gain_db == -2.0
    part = recipe.parts["my-vocal"]
    assert (part.role, part.offset, part.frames, part.at_frame, part.replaces) == (
        "vocal", 4800, 480000, 96000, "lead"
    )  # fmt: skip
    assert recipe.track_stems == ["drums", "bass", "keys", "lead", "pad"]
    assert recipe.stems["my-vocal"].fx.reverb.mix == 0.25
    # Writing it back gives the same document (the golden file is the format's contract).
    assert recipe.to_dict() == json.loads(GOLDEN_V5.read_text())


def test_a_tempo_change_keeps_recorded_moves_in_place_in_the_music() -> None:
    recipe = recipe_format.loads(GOLDEN_V3.read_bytes())
    # 1.1 -> 1.0 makes the remix 10 % longer: a move 48128 frames in moves to ~52941.
    slower = recipe.with_tempo(ratio=1.0)
    assert slower.automation[0].frame == 52736  # 48128 * 1.1 = 52940.8, on the 512 grid
    assert slower.output_frames(TRACK) == round(recipe.output_frames(TRACK) * 1.1)


def test_round_trip_and_digest_are_stable() -> None:
    recipe = Recipe.default_for(TRACK).with_stem("drums", gain_db=-4.5, solo=True)
    again = recipe_format.loads(recipe.to_json())
    assert again == recipe
    assert again.digest() == recipe.digest()
    assert again.with_stem("drums", gain_db=-4.0).digest() != recipe.digest()


def test_a_newer_recipe_is_refused_with_a_clear_reason() -> None:
    doc = json.loads(GOLDEN_V5.read_text())
    doc["version"] = 6
    with pytest.raises(RecipeVersionError, match="newer Fanfare"):
        recipe_format.loads(json.dumps(doc))


def test_registered_migrations_chain_up_to_the_current_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Pretend a version 5 whose reference level is 1 dB lower than version 4's: a version-1
    # file must come through the real 1 -> 2, 2 -> 3 and 3 -> 4 migrations, then 4 -> 5.
    def four_to_five(old: dict) -> dict:
        stems = {
            k: {**v, "gain_db": max(v["gain_db"] - 1.0, -60.0)} for k, v in old["stems"].items()
        }
        return {**old, "version": 5, "stems": stems}

    monkeypatch.setattr(recipe_format, "VERSION", 5)
    monkeypatch.setitem(recipe_format.MIGRATIONS, 4, four_to_five)
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
        (lambda d: d.update(tempo_ratio=3.0), "tempo ratio of 3 is outside"),
        (lambda d: d.update(tempo_ratio="fast"), "number"),
        (lambda d: d.update(key_shift=1.5), "expected an integer"),
        (lambda d: d.update(key_shift=13), "key shift of 13"),
        (lambda d: d["automation"][0].update(frame=1000), "multiple of 512"),
        (lambda d: d["automation"][0].update(target="cowbell"), "automates 'cowbell'"),
        (lambda d: d["automation"][0]["set"].update(volume=1), "no automatable setting"),
        (lambda d: d["automation"][0]["set"].update(gain_db=40), "outside"),
        (lambda d: d["automation"][1]["set"].update(fx={"flanger": {}}), "unknown effect"),
        (lambda d: d.update(automation={"frame": 0}), "list"),
        (lambda d: d["stems"]["lead"]["style"].update(mix=1.5), "mix must be within 0..1"),
        (lambda d: d["stems"]["lead"]["style"].update(octave=9), "octave must be within"),
        (lambda d: d["stems"]["lead"]["style"].update(knobs={"breath": "lots"}), "number"),
        (lambda d: d["stems"]["lead"]["style"].update(model=""), "1 to 64"),
        (lambda d: d["stems"]["lead"]["style"].update(colour=1), "unknown style field"),
        (lambda d: d["stems"]["bass"].update(style="violin"), "expected an object"),
    ],
)
def test_malformed_recipes_are_refused(edit, message: str) -> None:
    doc = json.loads(GOLDEN_V4.read_text())
    edit(doc)
    with pytest.raises(RecipeError, match=message):
        recipe_format.loads(json.dumps(doc))


@pytest.mark.parametrize("old", ['"gain_db": 1.5', '"tempo_ratio": 1.1'])
def test_nan_is_refused(old: str) -> None:
    text = GOLDEN_V3.read_text() if "tempo" in old else GOLDEN.read_text()
    text = text.replace(old, old.split(":")[0] + ": NaN")
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


def _part(**changes: object) -> OwnPart:
    fields: dict[str, object] = {
        "role": "vocal", "take": "ab" * 32, "offset": 0, "frames": 48_000, "at_frame": 0,
    }  # fmt: skip
    fields.update(changes)
    return OwnPart(**fields)  # type: ignore[arg-type]


def test_a_recorded_part_is_a_stem_of_the_remix_and_goes_with_its_moves() -> None:
    recipe = Recipe.default_for(TRACK).with_part("my-vocal", _part(replaces="lead"))
    assert list(recipe.stems)[-1] == "my-vocal" and recipe.track_stems == list(TRACK.stem_kinds)
    assert not recipe.is_neutral  # a cover changes the track
    recipe.check_fits(TRACK)
    moved = recipe.with_moves((make_move(512, "my-vocal", {"gain_db": -3.0}),))
    gone = moved.with_part("my-vocal", None)
    assert gone.parts == {} and "my-vocal" not in gone.stems and gone.automation == ()
    assert recipe_format.loads(moved.to_json()) == moved


@pytest.mark.parametrize(
    ("name", "part", "reason"),
    [
        ("My Vocal", _part(), "lower-case"),
        ("drums", _part(), "already has a stem"),
        ("my-vocal", _part(at_frame=TRACK.frames - 10), "past the end"),
        ("my-vocal", _part(replaces="choir"), "which the track has not"),
    ],
)
def test_a_part_that_cannot_be_is_refused_with_its_reason(
    name: str, part: OwnPart, reason: str
) -> None:
    with pytest.raises(RecipeError, match=reason):
        Recipe.default_for(TRACK).with_part(name, part).check_fits(TRACK)


@pytest.mark.parametrize(
    ("field", "value"), [("role", "kazoo"), ("take", "ABC"), ("frames", 0), ("offset", -1)]
)
def test_a_malformed_part_in_a_recipe_file_is_refused(field: str, value: object) -> None:
    doc = json.loads(GOLDEN_V5.read_text())
    doc["parts"]["my-vocal"][field] = value
    with pytest.raises(RecipeError, match="malformed"):
        recipe_format.loads(json.dumps(doc))
