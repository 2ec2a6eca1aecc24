# SPDX-License-Identifier: GPL-3.0-or-later
"""May a stem be restyled, with which model, and why not: answered here, once.

The artist's policy and the fan's licence both have a say. A stem that is not the track's is the
fan's own recorded part: any model the licence covers may go on it, whatever the artist's rules
for the track's stems (they protect the artist's audio, and a part is the fan's).

The session asks which tracks a model may go on, the open track asks whether a recipe's styled
stems are allowed and which stems each offered model may go on, and the window asks why a Style
button or a model is greyed out.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.licence import Licence
from app.core.policy import Policy
from app.core.recipe import Recipe, styles_of
from app.core.track import TrackInfo
from app.studio.style_library import OfferedModel, split_ref

RESTYLE = "restyle"


@dataclass(frozen=True)
class StylePermissions:
    """What a track's policy and licence allow of style models, with the reasons in sentences."""

    artist: str
    policy: Policy
    licence: Licence
    stems: tuple[str, ...]

    @classmethod
    def of(cls, info: TrackInfo, policy: Policy, licence: Licence) -> StylePermissions:
        return cls(info.artist, policy, licence, tuple(info.stem_kinds))

    # --- stems ----------------------------------------------------------------------------------

    def stem_refusal(self, stem: str) -> str | None:
        """The artist's reason no style model may go on ``stem`` at all (None when some may)."""
        artist, policy = self.artist, self.policy
        if not policy.remix:
            return f"{artist} does not allow remixing this track."
        if stem not in self.stems:  # the fan's own recorded part
            covered = bool(self.licence.models)
            return None if covered else "Your licence for this track covers no style models."
        if not policy.style_families:
            return f"{artist} allows no style models on this track."
        if not policy.rule(stem).restyle:
            return f"{artist} does not allow restyling the {stem} stem."
        return None

    def licenced(self, stem: str) -> bool:
        """Whether the licence grants the restyle right on ``stem``'s key."""
        return RESTYLE in self.licence.rights_for(stem)

    @property
    def restylable(self) -> list[str]:
        """The stems both the artist's rule and the licence let a model go on."""
        return [s for s in self.stems if self.licenced(s) and self.policy.rule(s).restyle]

    def recipe_refusals(self, recipe: Recipe) -> list[str]:
        """The licence's reasons against the styled stems of ``recipe`` (the policy evaluator
        gives the artist's)."""
        return [
            f"your licence does not allow restyling the {stem} stem"
            for stem in styles_of(recipe)
            if stem in self.stems and not self.licenced(stem)
        ]

    # --- models ---------------------------------------------------------------------------------

    def covers(self, ref: str, model_id: str, family: str) -> bool:
        """Whether the licence covers the model ``ref`` and the artist allows it."""
        return ref in self.licence.models and self.policy.allows_model(model_id, family)

    def placeable_refs(self) -> list[str]:
        """The models of the licence that may go on some stem of this track."""
        if not self.restylable:
            return []
        return [
            ref
            for ref, family in self.licence.models.items()
            if self.policy.allows_model(split_ref(ref)[0], family)
        ]

    def model_stems(self, model: OfferedModel) -> tuple[bool, list[str]]:
        """``(allowed, stems)``: whether ``model`` may go on some stem, and on which."""
        covered = self.covers(model["ref"], model["id"], model["family"])
        restylable = self.restylable
        return covered and bool(restylable), restylable if covered else []

    def model_refusal(self, model: OfferedModel, stem: str) -> str | None:
        """Why ``model`` may not go on ``stem``, in the artist's terms where it is the artist's
        rule; None when it may."""
        if stem not in self.stems:  # the fan's own part: the licence's models
            if model["ref"] in self.licence.models:
                return None
            name = str(model.get("display_name", model["id"]))
            return f"Your licence for this track does not cover the {name} model."
        allowed, stems = self.model_stems(model)
        if allowed and stem in stems:
            return None
        stem_reason = self.stem_refusal(stem)
        if stem_reason is not None:
            return stem_reason
        artist, policy = self.artist, self.policy
        family, name = str(model.get("family", "")), str(model.get("display_name", model["id"]))
        if family not in policy.style_families:
            return f"{artist} does not allow {family} models on this track."
        if policy.style_models is not None and model["id"] not in policy.style_models:
            return f"{artist} does not allow the {name} model on this track."
        if not allowed:
            return f"Your licence for this track does not cover the {name} model."
        return f"Your licence for this track does not allow restyling the {stem} stem."
