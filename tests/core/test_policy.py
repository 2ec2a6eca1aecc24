# SPDX-License-Identifier: GPL-3.0-or-later
"""The shared policy evaluator: what an artist's rules allow."""

from __future__ import annotations

import pytest

from app.core.automation import make_move
from app.core.errors import PolicyDenied, PolicyError
from app.core.own_part import OwnPart
from app.core.policy import Policy, evaluate
from app.core.recipe import Recipe, StemMix

STEMS = ("drums", "bass", "keys", "lead")
POLICY = Policy.from_dict(
    {
        "version": 1,
        "stems": {
            "lead": {"solo": False, "mute": True},
            "drums": {"solo": True, "mute": False},
            "bass": {"solo": True},
        },
        "min_audible_stems": 2,
        "gain_db_range": [-60, 6],
    }
)


def _recipe(**stems: StemMix) -> Recipe:
    mix = {k: StemMix() for k in STEMS} | stems
    return Recipe("song", 1, "t", mix)


def test_the_neutral_mix_plays_but_is_not_a_remix_to_publish() -> None:
    assert evaluate(POLICY, _recipe()).allowed
    decision = evaluate(POLICY, _recipe(), publishing=True)
    assert decision.reasons == (
        "a remix must change something: this recipe plays the track as written",
    )
    changed = _recipe(keys=StemMix(gain_db=-2.0))
    assert evaluate(POLICY, changed, publishing=True).allowed


def test_a_policy_that_says_nothing_protects_every_stem() -> None:
    """A track published without a policy: no stem alone, two heard, no download (it let any
    stem be soloed and published alone, and downloaded, before)."""
    default = Policy.from_dict({})
    assert default == Policy() and not default.downloadable
    for stem in STEMS:
        alone = evaluate(default, _recipe(**{stem: StemMix(solo=True)}))
        assert f"the {stem} stem may not be soloed" in alone.reasons
    muted = {k: StemMix(mute=True) for k in STEMS[1:]}
    assert (
        "the drums stem may not be heard on its own" in evaluate(default, _recipe(**muted)).reasons
    )
    two = _recipe(**{k: StemMix(mute=True) for k in STEMS[2:]})
    assert evaluate(default, two, publishing=True).allowed  # two stems heard: a remix
    listed = Policy.from_dict({"stems": {"keys": {"mute": False}}})
    assert not listed.rule("keys").solo  # a listed stem is protected unless it says solo: true


def test_a_forbidden_solo_is_refused_with_the_reason() -> None:
    decision = evaluate(POLICY, _recipe(lead=StemMix(solo=True)))
    assert not decision.allowed
    assert "the lead stem may not be soloed" in decision.reasons
    with pytest.raises(PolicyDenied, match="soloed"):
        decision.raise_if_denied()


def test_muting_everything_but_a_no_solo_stem_is_a_solo_by_another_name() -> None:
    muted = {k: StemMix(mute=True) for k in ("bass", "keys")}
    decision = evaluate(POLICY, _recipe(drums=StemMix(gain_db=-60.0), **muted))
    assert "the lead stem may not be heard on its own" in decision.reasons
    assert "the drums stem may not be silenced" in decision.reasons


def test_a_stem_that_may_not_be_muted() -> None:
    assert (
        "the drums stem may not be muted"
        in evaluate(POLICY, _recipe(drums=StemMix(mute=True))).reasons
    )


def test_publishing_needs_enough_audible_stems() -> None:
    recipe = _recipe(bass=StemMix(solo=True))  # bass may be soloed: fine to listen to
    assert evaluate(POLICY, recipe).allowed
    decision = evaluate(POLICY, recipe, publishing=True)
    assert decision.reasons == ("a published remix must keep at least 2 stems audible",)


def test_gain_range_and_remix_switch() -> None:
    assert not evaluate(POLICY, _recipe(bass=StemMix(gain_db=9.0))).allowed
    closed = Policy.from_dict({"remix": False, "publish": False})
    decision = evaluate(closed, _recipe(), publishing=True)
    assert "the artist does not allow remixes of this track" in decision.reasons
    assert "the artist does not allow publishing remixes of this track" in decision.reasons


@pytest.mark.parametrize(
    "doc",
    [
        {"version": 2},
        {"gain_db_range": [6, -60]},
        {"gain_db_range": "loud"},
        {"revenue_split": {"artist": 0.5}},
        {"revenue_split": {"artist": 1.5, "fan": -0.5}},
        {"stems": {"lead": "no"}},
    ],
)
def test_malformed_policies_are_refused(doc: dict) -> None:
    with pytest.raises(PolicyError):
        Policy.from_dict(doc)


def test_round_trip() -> None:
    assert Policy.from_dict(POLICY.to_dict()) == POLICY


def test_effects_outside_the_artists_list_are_refused_by_name() -> None:
    from app.core.effects import Eq, MasterFx, Reverb, StemFx

    policy = Policy.from_dict({"effects": ["eq"]})
    wet = _recipe(keys=StemMix(fx=StemFx(reverb=Reverb(mix=0.3), eq=Eq(low_db=2.0))))
    assert evaluate(policy, wet).reasons == ("the artist does not allow reverb (keys)",)
    master = _recipe().with_master(fx=MasterFx(eq=Eq(high_db=2.0)))
    assert evaluate(policy, master).allowed
    # A neutral effect is not "used": a recipe with every chain neutral passes an empty list.
    assert evaluate(Policy.from_dict({"effects": []}), _recipe()).allowed


def test_a_fader_pulled_near_the_floor_does_not_keep_a_stem_company() -> None:
    # Drums at -59.5 dB under a lead at 0 dB: after normalisation that is the lead alone.
    muted = {k: StemMix(mute=True) for k in ("bass", "keys")}
    recipe = _recipe(drums=StemMix(gain_db=-59.5), **muted)
    decision = evaluate(POLICY, recipe, publishing=True)
    assert "the lead stem may not be heard on its own" in decision.reasons
    audible = _recipe(drums=StemMix(gain_db=-20.0), **muted)
    assert evaluate(POLICY, audible, publishing=True).allowed


def test_tempo_and_key_must_stay_within_the_artists_ranges() -> None:
    fixed = _recipe().with_tempo(ratio=1.1, key_shift=2)
    assert evaluate(POLICY, fixed).reasons == (
        "the artist does not allow changing the tempo",
        "the artist does not allow changing the key",
    )
    ranged = Policy.from_dict({"tempo_ratio_range": [0.8, 1.25], "key_shift_range": [-3, 3]})
    assert evaluate(ranged, fixed).allowed
    assert evaluate(ranged, _recipe().with_tempo(ratio=1.25, key_shift=-3)).allowed
    too_far = evaluate(ranged, _recipe().with_tempo(ratio=1.3, key_shift=4))
    assert too_far.reasons == (
        "the tempo may only change by a ratio within 0.8..1.25",
        "the key may only move within -3..+3 semitones",
    )


def test_a_rule_broken_only_by_an_automation_move_is_refused() -> None:
    # Allowed at the start; 2 seconds in, a recorded move solos the lead.
    moved = _recipe().with_moves((make_move(96256, "lead", {"solo": True}),))
    decision = evaluate(POLICY, moved)
    assert "the lead stem may not be soloed" in decision.reasons
    # A move that mutes the drums for a while is refused too; one that rides a fader is fine.
    muted = _recipe().with_moves((make_move(512, "drums", {"mute": True}),))
    assert evaluate(POLICY, muted).reasons == ("the drums stem may not be muted",)
    ridden = _recipe().with_moves((make_move(512, "drums", {"gain_db": -3.0}),))
    assert evaluate(POLICY, ridden).allowed


def test_style_models_need_the_family_the_model_and_a_stem_that_may_be_restyled() -> None:
    from app.core.style_slot import StyleSlot

    policy = Policy.from_dict(
        {
            "version": 1,
            "stems": {"drums": {"restyle": False}},
            "style_families": ["timbre"],
            "style_models": ["timbre.violin", "timbre.flute"],
        }
    )
    offered = {
        "timbre.violin@1": "timbre",
        "timbre.trumpet@1": "timbre",
        "character.tape@1": "character",
    }
    violin = StyleSlot.make("timbre.violin", 1)
    assert evaluate(policy, _recipe(lead=StemMix(style=violin)), models=offered).allowed
    cases = {
        "drums": (violin, "the drums stem may not be restyled"),
        "bass": (
            StyleSlot.make("character.tape", 1),
            "does not allow the style model character.tape",
        ),
        "keys": (
            StyleSlot.make("timbre.trumpet", 1),
            "does not allow the style model timbre.trumpet",
        ),
        "lead": (StyleSlot.make("timbre.flute", 1), "timbre.flute@1 is not offered"),
    }
    for stem, (slot, reason) in cases.items():
        decision = evaluate(policy, _recipe(**{stem: StemMix(style=slot)}), models=offered)
        assert not decision.allowed
        assert any(reason in r for r in decision.reasons), decision.reasons
    # Without the caller knowing the model (no offer), nothing is allowed by default.
    assert not evaluate(policy, _recipe(lead=StemMix(style=violin))).allowed
    assert Policy.from_dict(policy.to_dict()) == policy


def _cover(replaces: str | None = "lead", **stems: StemMix) -> Recipe:
    recipe = _recipe().with_part(
        "my-vocal",
        OwnPart(role="vocal", take="cd" * 32, offset=0, frames=4800, at_frame=0, replaces=replaces),
    )
    for kind, mix in stems.items():
        recipe = recipe.with_stem(kind, **vars(mix))
    return recipe


def test_covers_need_the_artists_yes_and_replace_only_the_stems_named() -> None:
    cover = _cover(lead=StemMix(mute=True))
    assert evaluate(Policy(), cover).reasons == (
        "the artist does not allow recording your own parts over this track",
    )
    allowed = Policy.from_dict({"own_parts": {"allowed": True, "replaces": ["lead"]}})
    assert evaluate(allowed, cover, publishing=True).allowed
    # A stem the artist keeps in every remix may go when a part stands in for it, and only then.
    keeps_lead = Policy.from_dict(
        {"stems": {"lead": {"mute": False}}, "own_parts": {"allowed": True, "replaces": ["lead"]}}
    )
    assert evaluate(keeps_lead, cover, publishing=True).allowed
    assert (
        "the lead stem may not be muted"
        in evaluate(keeps_lead, _cover(replaces=None, lead=StemMix(mute=True))).reasons
    )
    no_replacing = Policy.from_dict({"own_parts": {"allowed": True}})
    assert evaluate(no_replacing, cover).reasons == (
        "the artist does not allow a recorded part to replace the lead stem",
    )
    assert Policy.from_dict(allowed.to_dict()) == allowed


def test_a_recorded_part_keeps_no_protected_stem_company() -> None:
    policy = Policy.from_dict({"own_parts": {"allowed": True}})
    # The fan's vocal over the lead alone is still the lead alone.
    lone = _cover(replaces=None, **{k: StemMix(mute=True) for k in STEMS if k != "lead"})
    assert "the lead stem may not be heard on its own" in evaluate(policy, lone).reasons
    # The part itself may be soloed: it is the fan's own audio (nothing licensed is heard).
    solo = _cover(replaces=None).with_stem("my-vocal", solo=True)
    assert evaluate(policy, solo).allowed
    assert not evaluate(policy, solo, publishing=True).allowed  # not a remix of the track
