# SPDX-License-Identifier: GPL-3.0-or-later
"""The artist's policy and the one evaluator that the window, the engine and the platform share.

Policy document (JSON, version 1)::

    {"version": 1, "remix": true, "publish": true, "gain_db_range": [-60.0, 6.0],
     "stems": {"lead": {"solo": false, "mute": true}}, "min_audible_stems": 2,
     "tempo_ratio_range": [0.8, 1.25], "key_shift_range": [-3, 3],
     "effects": ["eq", "reverb"], "style_families": ["timbre"],
     "style_models": ["timbre.violin"], "max_length_s": 600,
     "downloadable": false, "revenue_split": {"artist": 0.6, "fan": 0.1, "platform": 0.3},
     "min_security_level": "file", "offline_min_security_level": "keyring"}

``stems`` holds per-stem overrides. The defaults protect the artist: a stem not listed may be
muted and restyled but never heard alone (``solo: false``: by solo, or by muting everything
else), because a remix that is one stem alone is that stem leaked; ``solo: true`` lets it be. A
published remix keeps at least two stems audible unless ``min_audible_stems`` says otherwise,
is not downloadable unless ``downloadable`` says so, and must change something: a recipe that
plays the track as written is not a remix. ``restyle: false`` keeps style models off a stem.

Fingerprints: ``min_difference`` is the share of Chromaprint fingerprint bits (0.5 for unrelated
audio) in which a published remix must differ from the track's own mix and from each of its
stems; the platform's floor is ``MIN_DIFFERENCE``, and an artist may only raise it.

Review: ``review`` is "none" (a verified remix is published at once) or "artist" (it waits
for the artist's approval).

Own parts: ``own_parts`` says whether fans may record their own parts over the track (covers)
and which stems such a part may replace: ``{"allowed": true, "replaces": ["lead"]}``. A stem a
part replaces may be muted even where its rule says otherwise; a part is the fan's own audio,
so it may be soloed, restyled and given effects, and it never counts as company for a stem the
artist protects, nor towards ``min_audible_stems``. Without it, covers are not allowed.

Devices: ``min_security_level`` is the weakest device (``app.core.security_level``: "file",
"keyring", "hardware") that may open the track; ``offline_min_security_level`` the weakest
that may keep its licence to open it offline. Both default to "file": every device, with the
shorter licences the platform gives weaker devices.

Style models: ``style_families`` names the families ("timbre", "character") a fan may place on
the stems that allow restyling; ``style_models``, when present, narrows that to these model ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from app.core.errors import PolicyDenied, PolicyError
from app.core.recipe import GAIN_DB_MIN, Recipe, styles_of
from app.core.security_level import SecurityLevel
from app.core.track import TrackInfo
from app.core.validate import flag as _flag
from app.core.validate import integer as _integer
from app.core.validate import listing as _list
from app.core.validate import mapping as _object
from app.core.validate import number as _number

VERSION = 1


#: The least share of fingerprint bits a remix must differ in from the original mix and each
#: stem (unrelated audio: ~0.5; the original re-encoded: ~0.03; honest remixes from 0.15; see
#: benchmarks/README.md, "Trust").
MIN_DIFFERENCE = 0.12
#: Above this even unrelated recordings would fail (their difference scatters around 0.5).
MAX_DIFFERENCE = 0.4


@dataclass(frozen=True)
class StemRule:
    """What may be done to one stem."""

    solo: bool = False
    mute: bool = True
    restyle: bool = True


@dataclass(frozen=True)
class OwnPartsRule:
    """Whether fans may record their own parts, and which stems a part may replace."""

    allowed: bool = False
    replaces: tuple[str, ...] = ()


@dataclass(frozen=True)
class Policy:
    """A parsed policy (see the module docstring for the fields)."""

    remix: bool = True
    publish: bool = True
    gain_db_range: tuple[float, float] = (GAIN_DB_MIN, 6.0)
    stems: dict[str, StemRule] = field(default_factory=dict)
    min_audible_stems: int = 2
    tempo_ratio_range: tuple[float, float] = (1.0, 1.0)
    key_shift_range: tuple[int, int] = (0, 0)
    effects: tuple[str, ...] = ()
    style_families: tuple[str, ...] = ()
    style_models: tuple[str, ...] | None = None
    max_length_s: float = 600.0
    downloadable: bool = False
    revenue_split: dict[str, float] = field(default_factory=lambda: {"artist": 1.0})
    #: The weakest device that may open the track, and that may keep its licence offline.
    min_security_level: SecurityLevel = SecurityLevel.FILE
    offline_min_security_level: SecurityLevel = SecurityLevel.FILE
    #: Who says a published remix goes out: "none" (at once, once verified) or "artist"
    #: (it waits for the artist's approval).
    review: str = "none"
    #: Share of fingerprint bits a remix must differ in from the mix and from each stem.
    min_difference: float = MIN_DIFFERENCE
    #: Covers: the fan's own recorded parts.
    own_parts: OwnPartsRule = OwnPartsRule()

    def rule(self, stem: str) -> StemRule:
        return self.stems.get(stem, StemRule())

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Policy:
        """Parse a policy document strictly; raises PolicyError with the reason.

        Unknown fields are refused rather than ignored: a typo must not silently replace an
        artist's rule with the permissive default. Numbers must be finite and signable
        (integers within +-2**53), since the policy travels inside signed licences.
        """
        try:
            if not isinstance(doc, dict):
                raise TypeError("a policy is a JSON object")
            unknown = sorted(set(doc) - _FIELDS)
            if unknown:
                raise ValueError(f"unknown field(s) {', '.join(unknown)}")
            if doc.get("version", VERSION) != VERSION:
                raise ValueError(f"unsupported policy version {doc.get('version')!r}")
            policy = cls(
                remix=_flag(doc.get("remix", True)),
                publish=_flag(doc.get("publish", True)),
                gain_db_range=_pair(doc.get("gain_db_range", [GAIN_DB_MIN, 6.0]), _number),
                stems={_name(k): _stem_rule(v) for k, v in _object(doc.get("stems", {})).items()},
                min_audible_stems=_integer(doc.get("min_audible_stems", 2)),
                tempo_ratio_range=_pair(doc.get("tempo_ratio_range", [1.0, 1.0]), _number),
                key_shift_range=_pair(doc.get("key_shift_range", [0, 0]), _integer),
                effects=tuple(_name(e) for e in _list(doc.get("effects", []))),
                style_families=tuple(_name(f) for f in _list(doc.get("style_families", []))),
                style_models=(
                    None
                    if doc.get("style_models") is None
                    else tuple(_name(m) for m in _list(doc["style_models"]))
                ),
                max_length_s=_number(doc.get("max_length_s", 600.0)),
                downloadable=_flag(doc.get("downloadable", False)),
                revenue_split={
                    _name(k): _number(v) for k, v in _object(doc.get("revenue_split", {})).items()
                }
                or {"artist": 1.0},
                min_security_level=SecurityLevel.parse(doc.get("min_security_level", "file")),
                offline_min_security_level=SecurityLevel.parse(
                    doc.get("offline_min_security_level", "file")
                ),
                review=_review(doc.get("review", "none")),
                min_difference=_number(doc.get("min_difference", MIN_DIFFERENCE)),
                own_parts=_own_parts(doc.get("own_parts", {})),
            )
        except (TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise PolicyError(f"This policy is malformed ({exc}).") from None
        if not MIN_DIFFERENCE <= policy.min_difference <= MAX_DIFFERENCE:
            raise PolicyError(
                f"A policy's min_difference is between {MIN_DIFFERENCE} (the platform's floor) "
                f"and {MAX_DIFFERENCE}."
            )
        if abs(sum(policy.revenue_split.values()) - 1.0) > 1e-6:
            raise PolicyError("A policy's revenue split must add up to 1.")
        if any(share < 0 for share in policy.revenue_split.values()):
            raise PolicyError("A policy's revenue shares cannot be negative.")
        return policy

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "remix": self.remix,
            "publish": self.publish,
            "gain_db_range": list(self.gain_db_range),
            "stems": {
                k: {"solo": r.solo, "mute": r.mute, "restyle": r.restyle}
                for k, r in self.stems.items()
            },
            "min_audible_stems": self.min_audible_stems,
            "tempo_ratio_range": list(self.tempo_ratio_range),
            "key_shift_range": list(self.key_shift_range),
            "effects": list(self.effects),
            "style_families": list(self.style_families),
            **({} if self.style_models is None else {"style_models": list(self.style_models)}),
            "max_length_s": self.max_length_s,
            "downloadable": self.downloadable,
            "revenue_split": dict(self.revenue_split),
            # Written only when asked for, so a policy without them reads as it always did.
            **({"review": self.review} if self.review != "none" else {}),
            **(
                {"min_difference": self.min_difference}
                if self.min_difference != MIN_DIFFERENCE
                else {}
            ),
            **(
                {
                    "own_parts": {
                        "allowed": self.own_parts.allowed,
                        "replaces": list(self.own_parts.replaces),
                    }
                }
                if self.own_parts != OwnPartsRule()
                else {}
            ),
            **{
                name: level.label
                for name, level in (
                    ("min_security_level", self.min_security_level),
                    ("offline_min_security_level", self.offline_min_security_level),
                )
                if level != SecurityLevel.FILE
            },
        }

    def contradictions(self, stem_kinds: list[str]) -> list[str]:
        """What this policy says that a track with ``stem_kinds`` cannot satisfy, as phrases
        (none: it fits). Ranges and the split are checked when it is parsed."""
        problems = []
        if self.min_audible_stems > len(stem_kinds):
            problems.append(
                f"it asks for {self.min_audible_stems} stems audible, and the track has "
                f"{len(stem_kinds)}"
            )
        if self.min_audible_stems < 1:
            problems.append("a published remix must keep at least 1 stem audible")
        unknown = sorted(set(self.stems) - set(stem_kinds))
        if unknown:
            problems.append(
                f"it has rules for stems the track does not have ({', '.join(unknown)})"
            )
        missing = sorted(set(self.own_parts.replaces) - set(stem_kinds))
        if missing:
            problems.append(
                f"it lets recorded parts replace stems the track does not have "
                f"({', '.join(missing)})"
            )
        return problems

    def allows_model(self, model_id: str, family: str) -> bool:
        """Whether a fan may place this model (on a stem that may be restyled)."""
        return family in self.style_families and (
            self.style_models is None or model_id in self.style_models
        )

    def key_rights(self, stem: str) -> list[str]:
        """The rights a licence grants on one stem's content key."""
        rights = ["play"]
        if self.remix:
            rights.append("remix")
            if self.style_families and self.rule(stem).restyle:
                rights.append("restyle")
        return rights


_FIELDS = {
    "version", "remix", "publish", "gain_db_range", "stems", "min_audible_stems",
    "tempo_ratio_range", "key_shift_range", "effects", "style_families", "style_models",
    "max_length_s",
    "downloadable", "revenue_split", "min_security_level", "offline_min_security_level",
    "review", "min_difference", "own_parts",
}  # fmt: skip
REVIEWS = ("none", "artist")


def _review(value: Any) -> str:
    if value not in REVIEWS:
        raise ValueError(f"review is one of {', '.join(REVIEWS)}, got {value!r}")
    return str(value)


_STEM_FIELDS = {"solo", "mute", "restyle"}


def _own_parts(value: Any) -> OwnPartsRule:
    rule = _object(value)
    unknown = sorted(set(rule) - {"allowed", "replaces"})
    if unknown:
        raise ValueError(f"unknown own_parts field(s) {', '.join(unknown)}")
    return OwnPartsRule(
        allowed=_flag(rule.get("allowed", False)),
        replaces=tuple(_name(k) for k in _list(rule.get("replaces", []))),
    )


def _stem_rule(value: Any) -> StemRule:
    rule = _object(value)
    unknown = sorted(set(rule) - _STEM_FIELDS)
    if unknown:
        raise ValueError(f"unknown stem rule field(s) {', '.join(unknown)}")
    return StemRule(
        solo=_flag(rule.get("solo", False)),
        mute=_flag(rule.get("mute", True)),
        restyle=_flag(rule.get("restyle", True)),
    )


def _name(value: Any) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= 64:
        raise ValueError(f"expected a name of 1 to 64 characters, got {value!r}")
    return value


def _pair(value: Any, kind: Any) -> tuple[Any, Any]:
    items = _list(value)
    if len(items) != 2:
        raise ValueError(f"a range is two numbers, got {value!r}")
    low, high = kind(items[0]), kind(items[1])
    if low > high:
        raise ValueError(f"range {value!r} is reversed")
    return (low, high)


def company_reasons(policy: Policy, mixes: list[list[str]], *, publishing: bool) -> list[str]:
    """The rules on who is heard with whom, for each mix (the whole track, each section).

    The recipe says who should be heard; the platform also applies these rules to the stems
    its re-render measures as really heard, so effects cannot silence a stem unnoticed.
    """
    reasons = []
    for heard in mixes:
        if len(heard) == 1 and not policy.rule(heard[0]).solo:
            reasons.append(f"the {heard[0]} stem may not be heard on its own")
    if publishing and mixes and min(len(heard) for heard in mixes) < policy.min_audible_stems:
        reasons.append(
            f"a published remix must keep at least {policy.min_audible_stems} stems audible"
        )
    return reasons


@dataclass(frozen=True)
class Decision:
    """The evaluator's answer: allowed, or the list of readable reasons why not."""

    allowed: bool
    reasons: tuple[str, ...] = ()

    def raise_if_denied(self) -> None:
        if not self.allowed:
            raise PolicyDenied(list(self.reasons))


def evaluate(
    policy: Policy,
    recipe: Recipe,
    *,
    publishing: bool = False,
    track: TrackInfo | None = None,
    models: Mapping[str, str] | None = None,
) -> Decision:
    """Check ``recipe`` against ``policy``.

    Args:
        publishing: also apply the rules for a published derivative (publishing allowed, the
            minimum number of audible stems).
        track: the track, to check the arranged length against ``max_length_s``.
        models: the family of each style model the caller knows (``id@version`` → family):
            a style whose model is not among them is refused as not offered.
    """
    reasons: list[str] = []
    if not policy.remix:
        reasons.append("the artist does not allow remixes of this track")
    low_ratio, high_ratio = policy.tempo_ratio_range
    if not low_ratio - 1e-9 <= recipe.tempo_ratio <= high_ratio + 1e-9:
        reasons.append(
            f"the tempo may only change by a ratio within {low_ratio:g}..{high_ratio:g}"
            if (low_ratio, high_ratio) != (1.0, 1.0)
            else "the artist does not allow changing the tempo"
        )
    low_key, high_key = policy.key_shift_range
    if not low_key <= recipe.key_shift <= high_key:
        reasons.append(
            f"the key may only move within {low_key:+d}..{high_key:+d} semitones"
            if (low_key, high_key) != (0, 0)
            else "the artist does not allow changing the key"
        )
    reasons += _part_reasons(policy, recipe)
    reasons += _style_reasons(policy, recipe, models or {})
    # Automation passes through several mixes: the rules hold in every one of them.
    for _, stems, master in recipe.states():
        reasons += _mix_reasons(policy, replace(recipe, stems=stems, master=master), publishing)
    if publishing and not policy.publish:
        reasons.append("the artist does not allow publishing remixes of this track")
    if publishing and recipe.is_neutral:
        reasons.append("a remix must change something: this recipe plays the track as written")
    if track is not None:
        length_s = recipe.arrangement.duration_s(track) / recipe.tempo_ratio
        if length_s > policy.max_length_s:
            reasons.append(
                f"the arrangement lasts {length_s:.0f} s; the artist allows at most "
                f"{policy.max_length_s:.0f} s"
            )
    # Keep the order stable and drop repeats (solo + alone can both fire for one stem).
    unique = tuple(dict.fromkeys(reasons))
    return Decision(allowed=not unique, reasons=unique)


def _part_reasons(policy: Policy, recipe: Recipe) -> list[str]:
    """The rules on the fan's own recorded parts: allowed at all, and what they replace."""
    if not recipe.parts:
        return []
    if not policy.own_parts.allowed:
        return ["the artist does not allow recording your own parts over this track"]
    return [
        f"the artist does not allow a recorded part to replace the {part.replaces} stem"
        for part in recipe.parts.values()
        if part.replaces is not None and part.replaces not in policy.own_parts.replaces
    ]


def _style_reasons(policy: Policy, recipe: Recipe, models: Mapping[str, str]) -> list[str]:
    """The rules on style models: the stem may be restyled, the model is offered and allowed."""
    reasons = []
    for kind, slot in styles_of(recipe).items():
        family = models.get(slot.ref)
        if kind in recipe.parts:  # the fan's own audio: any model the platform offers
            if family is None:
                reasons.append(f"the style model {slot.ref} is not offered by this platform")
            continue
        if not policy.rule(kind).restyle:
            reasons.append(f"the {kind} stem may not be restyled")
        elif family is None:
            reasons.append(f"the style model {slot.ref} is not offered by this platform")
        elif not policy.allows_model(slot.model, family):
            reasons.append(f"the artist does not allow the style model {slot.model} ({kind})")
    return reasons


def _mix_reasons(policy: Policy, recipe: Recipe, publishing: bool) -> list[str]:
    """The rules on one static mix: stems' solo, mute and gain, effects, who is heard."""
    reasons: list[str] = []
    low, high = policy.gain_db_range
    replaced = {p.replaces for p in recipe.parts.values() if p.replaces is not None}
    for kind, mix in recipe.stems.items():
        if kind in recipe.parts:
            continue  # the fan's own audio: theirs to solo, mute and process
        rule = policy.rule(kind)
        if kind in replaced:  # a part stands in for it: it may go
            rule = replace(rule, mute=True)
        if mix.solo and not rule.solo:
            reasons.append(f"the {kind} stem may not be soloed")
        if mix.mute and not rule.mute:
            reasons.append(f"the {kind} stem may not be muted")
        # A fader at the floor is a mute by another name.
        if mix.gain_db <= GAIN_DB_MIN and not rule.mute:
            reasons.append(f"the {kind} stem may not be silenced")
        if mix.gain_db > GAIN_DB_MIN and not low <= mix.gain_db <= high:
            reasons.append(f"the {kind} stem's gain must stay within {low:g}..{high:g} dB")
    allowed_effects = set(policy.effects)
    used = {
        (k, e)
        for k, mix in recipe.stems.items()
        if k not in recipe.parts
        for e in mix.fx.active_effects()
    }
    used |= {("master", e) for e in recipe.master.fx.active_effects()}
    for effect in sorted({e for _, e in used} - allowed_effects):
        where = sorted(k for k, e in used if e == effect)
        reasons.append(f"the artist does not allow {effect} ({', '.join(where)})")
    # A recorded part keeps no licensed stem company: only the track's stems count here.
    audible = [k for k in recipe.audible_stems() if k not in recipe.parts]
    # Each section with its own mutes is a mix of its own: the rules hold in every one.
    plays = recipe.arrangement.sections or ()
    mixes = [audible] + [[k for k in audible if k not in p.mutes] for p in plays]
    reasons += company_reasons(policy, mixes, publishing=publishing)
    return reasons


def describe_policy(policy: Policy, artist: str, stem_kinds: Sequence[str]) -> str:
    """The one line fans see on what ``artist`` allows for a track with ``stem_kinds``."""
    if not policy.remix:
        return f"{artist} does not allow remixes of this track."
    parts = []
    no_solo = [k for k in stem_kinds if not policy.rule(k).solo]
    no_mute = [k for k in stem_kinds if not policy.rule(k).mute]
    if no_solo:
        parts.append(f"{', '.join(no_solo)} can't be heard alone")
    if no_mute:
        parts.append(f"{', '.join(no_mute)} can't be muted")
    high = policy.gain_db_range[1]
    parts.append(f"faders up to {high:+g} dB")
    low_t, high_t = policy.tempo_ratio_range
    if (low_t, high_t) != (1.0, 1.0):
        parts.append(f"tempo {low_t:.0%}–{high_t:.0%}")
    low_k, high_k = policy.key_shift_range
    if (low_k, high_k) != (0, 0):
        parts.append(f"key {low_k:+d} to {high_k:+d} semitones")
    parts.append(f"effects: {', '.join(policy.effects)}" if policy.effects else "no effects")
    if policy.style_families:
        parts.append(f"style models: {', '.join(policy.style_families)}")
    if policy.own_parts.allowed:
        replaces = policy.own_parts.replaces
        parts.append(
            "covers: record your own part"
            + (f" (it may replace {', '.join(replaces)})" if replaces else "")
        )
    if policy.publish:
        count = policy.min_audible_stems
        parts.append(
            f"remixes may be published with at least {count} stem{'s' if count != 1 else ''}"
        )
        parts.append("downloadable" if policy.downloadable else "walled: remixes stay on Fanfare")
        if policy.review == "artist":
            parts.append(f"{artist} approves each remix before it is heard")
    else:
        parts.append("remixes may not be published")
    split = ", ".join(f"{who} {share:.0%}" for who, share in policy.revenue_split.items())
    return f"{artist} allows remixes: " + "; ".join(parts) + f". Revenue: {split}."
