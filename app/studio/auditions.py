# SPDX-License-Identifier: GPL-3.0-or-later
"""Auditions: one remix per transformation a policy allows, for the artist to hear before
saying yes. Each is the track as written with one thing pushed to the policy's limit: the
tempo and key at their ends, each stem at the top of the fader range over the rest, a section
arrangement, each allowed style model on each stem it may touch. Only those the policy's own
evaluator allows are offered: an audition is something a fan could really make.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.core.arrangement import SectionPlay
from app.core.policy import Decision, Policy
from app.core.recipe import Recipe
from app.core.style_slot import StyleSlot
from app.core.track import TrackInfo
from app.studio.permissions import StylePermissions
from app.studio.style_library import split_ref

BED_DB = 12.0  # how far under the featured stem the rest sits in a "… up front" audition


@dataclass(frozen=True)
class Audition:
    """One allowed transformation: a title for a menu and the remix that plays it."""

    title: str
    recipe: Recipe


def auditions(
    info: TrackInfo,
    policy: Policy,
    permissions: StylePermissions,
    check: Callable[[Recipe], Decision],
) -> list[Audition]:
    """Every audition of ``policy`` on ``info`` that ``check`` (the policy's evaluator with
    the licence's models) allows, in the order a menu shows them."""
    base = Recipe.default_for(info)
    found: list[Audition] = []
    low, high = policy.tempo_ratio_range
    for ratio in sorted({low, high} - {1.0}):
        found.append(Audition(f"Tempo at {ratio:.0%}", base.with_tempo(ratio=ratio)))
    low_key, high_key = policy.key_shift_range
    for shift in sorted({low_key, high_key} - {0}):
        found.append(Audition(f"Key {shift:+d} semitones", base.with_tempo(key_shift=shift)))
    low_db, high_db = policy.gain_db_range
    bed = max(low_db, high_db - BED_DB)
    for kind in info.stem_kinds:
        recipe = base
        for other in info.stem_kinds:
            recipe = recipe.with_stem(other, gain_db=high_db if other == kind else bed)
        found.append(Audition(f"The {kind} up front ({high_db:+g} dB)", recipe))
    if len(info.sections) >= 2:
        last = len(info.sections) - 1
        plays = (SectionPlay(0), SectionPlay(0), SectionPlay(last))
        names = f"{info.sections[0].name} twice, then the {info.sections[last].name}"
        found.append(Audition(f"Rearranged: {names}", base.with_arrangement(sections=plays)))
    for ref in permissions.placeable_refs():
        model, version = split_ref(ref)
        for stem in permissions.restylable:
            slot = StyleSlot(model=model, version=version)
            found.append(Audition(f"{model} on the {stem}", base.with_stem(stem, style=slot)))
    return [a for a in found if check(a.recipe).allowed]
