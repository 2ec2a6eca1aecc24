# SPDX-License-Identifier: GPL-3.0-or-later
"""May a stem be restyled, with which model, and why not: the one answer the session, the open
track and the style panel share (no platform needed)."""

from __future__ import annotations

from typing import Any

from app.core.licence import Licence
from app.core.policy import Policy, StemRule
from app.studio.permissions import StylePermissions
from app.studio.style_library import OfferedModel

STEMS = ("drums", "bass", "lead")
VIOLIN = OfferedModel(id="timbre.violin", version=1, ref="timbre.violin@1", family="timbre",
                      display_name="Violin")  # fmt: skip
TAPE = OfferedModel(id="character.tape", version=1, ref="character.tape@1", family="character",
                    display_name="Tape")  # fmt: skip


def _licence(**changes: Any) -> Licence:
    fields: dict[str, Any] = {
        "licence_id": "lic_1", "user": "usr_1", "device": "dev_1", "track": "t",
        "track_version": 1, "policy": {}, "issued_at": 0, "not_before": 0, "expires_at": 10,
        "renew_after": 5, "offline_grace_s": 0,
        "rights": {"play": True, "remix": True, "restyle": True}, "sealed_keys": {},
        "watermark_session": "w",
        "models": {"timbre.violin@1": "timbre", "character.tape@1": "character"},
    }  # fmt: skip
    return Licence(**{**fields, **changes})


def _permissions(policy: Policy, licence: Licence | None = None) -> StylePermissions:
    return StylePermissions("Nova Lane", policy, licence or _licence(), STEMS)


def test_the_artist_says_which_stems_and_families() -> None:
    policy = Policy(style_families=("timbre",), stems={"drums": StemRule(restyle=False)})
    permissions = _permissions(policy)
    assert permissions.stem_refusal("drums") == "Nova Lane does not allow restyling the drums stem."
    assert permissions.stem_refusal("lead") is None
    assert permissions.restylable == ["bass", "lead"]
    assert permissions.model_stems(VIOLIN) == (True, ["bass", "lead"])
    assert permissions.model_stems(TAPE) == (False, [])
    assert permissions.model_refusal(VIOLIN, "lead") is None
    assert permissions.model_refusal(TAPE, "lead") == (
        "Nova Lane does not allow character models on this track."
    )
    assert permissions.placeable_refs() == ["timbre.violin@1"]

    nothing = _permissions(Policy())
    assert nothing.stem_refusal("lead") == "Nova Lane allows no style models on this track."
    assert _permissions(Policy(remix=False)).stem_refusal("lead") == (
        "Nova Lane does not allow remixing this track."
    )
    narrowed = _permissions(Policy(style_families=("timbre",), style_models=("timbre.flute",)))
    assert narrowed.model_refusal(VIOLIN, "lead") == (
        "Nova Lane does not allow the Violin model on this track."
    )


def test_the_licence_says_which_keys_and_models() -> None:
    policy = Policy(style_families=("timbre", "character"))
    licence = _licence(key_rights={"lead": ("play", "remix")}, models={"timbre.violin@1": "timbre"})
    permissions = _permissions(policy, licence)
    assert permissions.stem_refusal("lead") is None  # the artist allows it; the licence does not
    assert permissions.restylable == ["drums", "bass"]
    assert permissions.model_refusal(VIOLIN, "lead") == (
        "Your licence for this track does not allow restyling the lead stem."
    )
    assert permissions.model_refusal(TAPE, "bass") == (
        "Your licence for this track does not cover the Tape model."
    )
    assert permissions.placeable_refs() == ["timbre.violin@1"]


def test_a_recorded_part_takes_any_model_the_licence_covers() -> None:
    # The artist allows no style models on the track's stems; the fan's own part is theirs.
    permissions = _permissions(Policy())
    assert permissions.stem_refusal("lead") == "Nova Lane allows no style models on this track."
    assert permissions.stem_refusal("my-vocal") is None
    assert permissions.model_refusal(VIOLIN, "my-vocal") is None
    narrow = _permissions(Policy(), _licence(models={"character.tape@1": "character"}))
    assert narrow.model_refusal(VIOLIN, "my-vocal") == (
        "Your licence for this track does not cover the Violin model."
    )
