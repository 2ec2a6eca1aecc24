# SPDX-License-Identifier: GPL-3.0-or-later
"""The recipe: a remix as data (no audio), versioned, with registered migrations.

Wire form (JSON, version 5)::

    {"schema": "fanfare.recipe", "version": 4,
     "track": {"id": "neon-harbour", "version": 1},
     "title": "My remix",
     "stems": {"drums": {"gain_db": 0.0, "pan": 0.0, "mute": false, "solo": false,
                         "fx": {"eq": {...}, "filter": {...}, "compressor": {...},
                                "drive_db": 0.0, "chorus": {...}, "delay": {...},
                                "reverb": {...}},
                         "style": null | {"model": "timbre.violin", "version": 1,
                                          "knobs": {...}, "mix": 1.0, "octave": null}}, ...},
     "master": {"gain_db": 0.0, "limiter_ceiling_db": -1.0, "fx": {"eq": {...},
                "compressor": {...}}},
     "arrangement": {"sections": null | [{"section": 0, "mutes": ["lead"]}, ...],
                     "fade_in_s": 0.0, "fade_out_s": 0.0},
     "tempo_ratio": 1.0, "key_shift": 0,
     "automation": [{"frame": 96256, "target": "drums", "set": {"gain_db": -6.0}}, ...],
     "parts": {"my-vocal": {"role": "vocal", "take": "<sha256>", ...}}}

Effect settings and their ranges are in ``app.core.effects``, automation in
``app.core.automation``. ``tempo_ratio`` speeds the whole remix up (1.25 is 25 % faster, the
pitch kept); ``key_shift`` moves it by whole semitones (the tempo kept). Version 1 had no
``fx`` and is migrated by adding neutral chains; version 2 had no tempo, key or automation and is
migrated by adding the neutral ones; version 3 had no style models and is migrated by adding
``"style": null`` to every stem; version 4 had no recorded parts and is migrated by adding
``"parts": {}``. Style slots are in ``app.core.style_slot``.

``parts`` holds the fan's own recorded parts (``app.core.own_part``), each also a stem of the
recipe under the same name, with its own strip: fader, effects, style. A recipe's stems are the
track's stems and its parts, no more and no fewer.

A recipe from a newer Fanfare is refused (RecipeVersionError); an older one is migrated step by
step through ``MIGRATIONS`` before it is parsed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from app.core import automation
from app.core.arrangement import Arrangement
from app.core.automation import MASTER, Move
from app.core.effects import MasterFx, StemFx
from app.core.encoding import canonical_json, sha256_hex
from app.core.errors import RecipeError, RecipeVersionError
from app.core.own_part import MAX_PARTS, NAME, OwnPart
from app.core.style_slot import StyleSlot
from app.core.track import TrackInfo
from app.core.validate import flag as _flag
from app.core.validate import integer as _integer
from app.core.validate import mapping as _mapping
from app.core.validate import number as _number
from app.core.validate import string as _string
from app.core.versioned import Wording, read_versioned

SCHEMA = "fanfare.recipe"
VERSION = 5
MAX_RECIPE_BYTES = 1024 * 1024
GAIN_DB_MIN = -60.0  # at or below this a fader is silent
GAIN_DB_MAX = 12.0
AUDIBLE_RANGE_DB = 24.0  # a stem further below the loudest one does not count as heard
CEILING_DB_RANGE = (-12.0, 0.0)
TEMPO_RATIO_RANGE = (0.5, 2.0)  # what the engine can do; a policy allows a narrower range
KEY_SHIFT_RANGE = (-12, 12)

# MIGRATIONS[n] turns a version-n document into a version-(n+1) document.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def migration(from_version: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a migration from ``from_version`` to ``from_version + 1``."""

    def register(fn: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[..., Any]:
        MIGRATIONS[from_version] = fn
        return fn

    return register


@dataclass(frozen=True)
class StemMix:
    """One channel strip: a style model (on the stem as it is read), effects, then ``gain_db``
    in dB and ``pan`` from -1 (L) to +1 (R)."""

    gain_db: float = 0.0
    pan: float = 0.0
    mute: bool = False
    solo: bool = False
    fx: StemFx = field(default_factory=StemFx)
    style: StyleSlot | None = None


@dataclass(frozen=True)
class MasterMix:
    """The master bus: effects, output gain in dB and the limiter's ceiling in dBFS."""

    gain_db: float = 0.0
    limiter_ceiling_db: float = -1.0
    fx: MasterFx = field(default_factory=MasterFx)


@dataclass(frozen=True)
class Recipe:
    """A remix of one track version."""

    track_id: str
    track_version: int
    title: str = "Untitled remix"
    stems: dict[str, StemMix] = field(default_factory=dict)
    master: MasterMix = MasterMix()
    arrangement: Arrangement = field(default_factory=Arrangement)
    tempo_ratio: float = 1.0
    key_shift: int = 0
    automation: tuple[Move, ...] = ()
    #: The fan's own recorded parts by stem name (each also in ``stems``).
    parts: dict[str, OwnPart] = field(default_factory=dict)

    @classmethod
    def default_for(cls, track: TrackInfo, title: str | None = None) -> Recipe:
        """The neutral remix of ``track``: every stem at unity, centred."""
        return cls(
            track_id=track.id,
            track_version=track.version,
            title=title or f"{track.title} (remix)",
            stems={kind: StemMix() for kind in track.stem_kinds},
        )

    @property
    def is_neutral(self) -> bool:
        """Whether this recipe plays the track as written (every stem and the master as they
        come, no arrangement, tempo, key or automation): it changes nothing, so it is not a
        remix."""
        return (
            all(mix == StemMix() for mix in self.stems.values())
            and self.master == MasterMix()
            and self.arrangement.is_default
            and self.tempo_ratio == 1.0
            and self.key_shift == 0
            and not self.automation
            and not self.parts
        )

    @property
    def track_stems(self) -> list[str]:
        """The licensed track's stems, without the fan's own parts."""
        return [kind for kind in self.stems if kind not in self.parts]

    def with_part(self, name: str, part: OwnPart | None, mix: StemMix | None = None) -> Recipe:
        """A copy with the recorded part ``name`` added or changed (its strip ``mix``, or the
        one it has, or a neutral one), or removed with its strip and moves (``part`` None)."""
        stems, parts = dict(self.stems), dict(self.parts)
        if part is None:
            stems.pop(name, None)
            parts.pop(name, None)
            moves = tuple(m for m in self.automation if m.target != name)
            return _checked(replace(self, stems=stems, parts=parts, automation=moves))
        if name in stems and name not in parts:
            raise RecipeError(f"The track already has a stem named '{name}'.")
        stems[name] = mix or stems.get(name) or StemMix()
        parts[name] = part
        return _checked(replace(self, stems=stems, parts=parts))

    def with_stem(self, kind: str, **changes: Any) -> Recipe:
        """A copy with one stem's settings changed (raises RecipeError for an unknown stem)."""
        if kind not in self.stems:
            raise RecipeError(f"This track has no stem named '{kind}'.")
        stems = dict(self.stems)
        stems[kind] = replace(stems[kind], **changes)
        return _checked(replace(self, stems=stems))

    def with_title(self, title: str) -> Recipe:
        return _checked(replace(self, title=title))

    def with_arrangement(self, **changes: Any) -> Recipe:
        return _checked(replace(self, arrangement=replace(self.arrangement, **changes)))

    def with_master(self, **changes: Any) -> Recipe:
        return _checked(replace(self, master=replace(self.master, **changes)))

    def with_tempo(self, *, ratio: float | None = None, key_shift: int | None = None) -> Recipe:
        """A copy at another tempo and/or key; recorded moves keep their place in the music."""
        ratio = self.tempo_ratio if ratio is None else float(ratio)
        moves = self.automation
        if ratio != self.tempo_ratio:
            moves = automation.rescale(moves, self.tempo_ratio / ratio)
        key = self.key_shift if key_shift is None else key_shift
        return _checked(replace(self, tempo_ratio=ratio, key_shift=key, automation=moves))

    def with_moves(self, moves: tuple[Move, ...]) -> Recipe:
        """A copy with these automation moves (merged into frame order)."""
        return _checked(replace(self, automation=automation.sort_moves(moves)))

    def without_automation(self, target: str, names: tuple[str, ...]) -> Recipe:
        """A copy in which these settings of ``target`` are no longer automated."""
        return replace(self, automation=automation.without_fields(self.automation, target, names))

    def output_frames(self, track: TrackInfo) -> int:
        """The remix's length in frames at the track's rate (after arrangement and tempo)."""
        return round(self.arrangement.duration_s(track) * track.sample_rate / self.tempo_ratio)

    def states(self) -> list[tuple[int, dict[str, StemMix], MasterMix]]:
        """Every mix the remix passes through: (from output frame, stems, master)."""
        return list(automation.states(self.stems, self.master, self.automation))

    def audible_stems(self) -> list[str]:
        """Stems a listener hears: soloed ones if any solo, else the unmuted ones, counting only
        faders within ``AUDIBLE_RANGE_DB`` of the loudest: a stem pulled 50 dB under the others
        is inaudible once the remix is normalised, so it does not make another stem "not alone".
        """
        soloed = [k for k, s in self.stems.items() if s.solo]
        candidates = soloed or [k for k, s in self.stems.items() if not s.mute]
        live = [k for k in candidates if self.stems[k].gain_db > GAIN_DB_MIN]
        if not live:
            return []
        loudest = max(self.stems[k].gain_db for k in live)
        return [k for k in live if self.stems[k].gain_db >= loudest - AUDIBLE_RANGE_DB]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "version": VERSION,
            "track": {"id": self.track_id, "version": self.track_version},
            "title": self.title,
            "stems": {
                k: {
                    "gain_db": s.gain_db,
                    "pan": s.pan,
                    "mute": s.mute,
                    "solo": s.solo,
                    "fx": s.fx.to_dict(),
                    "style": s.style.to_dict() if s.style else None,
                }
                for k, s in self.stems.items()
            },
            "master": {
                "gain_db": self.master.gain_db,
                "limiter_ceiling_db": self.master.limiter_ceiling_db,
                "fx": self.master.fx.to_dict(),
            },
            "arrangement": self.arrangement.to_dict(),
            "tempo_ratio": self.tempo_ratio,
            "key_shift": self.key_shift,
            "automation": [move.to_dict() for move in self.automation],
            "parts": {name: part.to_dict() for name, part in self.parts.items()},
        }

    def to_json(self) -> str:
        """Human-readable JSON (for a file the user edits)."""
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def digest(self) -> str:
        """SHA-256 of the canonical JSON: the recipe's identity in provenance records."""
        return sha256_hex(canonical_json(self.to_dict()))

    def check_fits(self, track: TrackInfo) -> None:
        """Raise RecipeError unless this recipe is for ``track`` and names exactly its stems."""
        if (self.track_id, self.track_version) != (track.id, track.version):
            raise RecipeError(
                f"This recipe is for {self.track_id} v{self.track_version}, "
                f"not {track.id} v{track.version}."
            )
        if set(self.track_stems) != set(track.stem_kinds):
            raise RecipeError(
                "This recipe's stems (" + ", ".join(sorted(self.track_stems)) + ") do not match "
                "the track's (" + ", ".join(sorted(track.stem_kinds)) + ")."
            )
        for name, part in self.parts.items():
            if part.end_frame > track.frames:
                raise RecipeError(f"The recorded part '{name}' runs past the end of the track.")
            if part.replaces is not None and part.replaces not in track.stem_kinds:
                raise RecipeError(
                    f"The recorded part '{name}' replaces '{part.replaces}', which the track "
                    "has not."
                )
        try:
            self.arrangement.check_fits(track)
        except ValueError as exc:
            raise RecipeError(f"This recipe's arrangement does not fit the track: {exc}.") from None
        if self.automation and self.automation[-1].frame >= self.output_frames(track):
            raise RecipeError("This recipe has automation past the end of the remix.")


_WORDING = Wording(
    too_large="This recipe is too large.",
    not_json="This recipe is not valid JSON ({reason}).",
    not_this="This file is not a Fanfare recipe.",
    no_version="This recipe has no valid version number.",
    newer="This recipe was made by a newer Fanfare (recipe version {version}; "
    "this one reads up to {current}).",
)


def loads(data: bytes | str) -> Recipe:
    """Parse recipe JSON from outside (a file, an upload), migrating older versions.

    Raises:
        RecipeVersionError: the recipe is from a newer Fanfare.
        RecipeError: anything else malformed, with the reason.
    """
    doc = read_versioned(
        data, schema=SCHEMA, current=VERSION, max_bytes=MAX_RECIPE_BYTES, wording=_WORDING,
        error=RecipeError, newer_error=RecipeVersionError, migrations=MIGRATIONS,
    )  # fmt: skip
    return _from_dict(doc)


def _from_dict(doc: dict[str, Any]) -> Recipe:
    try:
        track = doc["track"]
        stems = {
            str(kind): StemMix(
                gain_db=_number(s.get("gain_db", 0.0)),
                pan=_number(s.get("pan", 0.0)),
                mute=_flag(s.get("mute", False)),
                solo=_flag(s.get("solo", False)),
                fx=StemFx.from_dict(s.get("fx", {})),
                style=StyleSlot.from_dict(s.get("style")),
            )
            for kind, s in _mapping(doc["stems"]).items()
        }
        master_doc = _mapping(doc.get("master", {}))
        recipe = Recipe(
            track_id=_string(track["id"]),
            track_version=_integer(track["version"]),
            title=_string(doc.get("title", "Untitled remix")),
            stems=stems,
            master=MasterMix(
                gain_db=_number(master_doc.get("gain_db", 0.0)),
                limiter_ceiling_db=_number(master_doc.get("limiter_ceiling_db", -1.0)),
                fx=MasterFx.from_dict(master_doc.get("fx", {})),
            ),
            arrangement=Arrangement.from_dict(doc.get("arrangement", {})),
            tempo_ratio=_number(doc.get("tempo_ratio", 1.0)),
            key_shift=_integer(doc.get("key_shift", 0)),
            automation=automation.moves_from_list(doc.get("automation", [])),
            parts={
                str(name): OwnPart.from_dict(part)
                for name, part in _mapping(doc.get("parts", {})).items()
            },
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise RecipeError(f"This recipe is malformed ({exc}).") from None
    return _checked(recipe)


@migration(from_version=1)
def _add_effect_chains(doc: dict[str, Any]) -> dict[str, Any]:
    """Version 2 added effects: a version-1 recipe gets neutral chains (it sounds the same)."""
    stems = doc.get("stems")
    if isinstance(stems, dict):
        stems = {k: {**v, "fx": {}} if isinstance(v, dict) else v for k, v in stems.items()}
    master = doc.get("master", {})
    master = {**master, "fx": {}} if isinstance(master, dict) else master
    return {**doc, "version": 2, "stems": stems, "master": master}


@migration(from_version=2)
def _add_tempo_and_automation(doc: dict[str, Any]) -> dict[str, Any]:
    """Version 3 added tempo, key and automation: a version-2 recipe gets the neutral ones."""
    return {**doc, "version": 3, "tempo_ratio": 1.0, "key_shift": 0, "automation": []}


@migration(from_version=3)
def _add_style_slots(doc: dict[str, Any]) -> dict[str, Any]:
    """Version 4 added style models: a version-3 recipe gets none on every stem."""
    stems = doc.get("stems")
    if isinstance(stems, dict):
        stems = {k: {**v, "style": None} if isinstance(v, dict) else v for k, v in stems.items()}
    return {**doc, "version": 4, "stems": stems}


@migration(from_version=4)
def _add_parts(doc: dict[str, Any]) -> dict[str, Any]:
    """Version 5 added the fan's own recorded parts: a version-4 recipe has none."""
    return {**doc, "version": 5, "parts": {}}


def styles_of(recipe: Recipe) -> dict[str, StyleSlot]:
    """The style on each stem that has one (styles are not automated: one per stem)."""
    return {kind: mix.style for kind, mix in recipe.stems.items() if mix.style is not None}


def _checked(recipe: Recipe) -> Recipe:
    """Raise RecipeError for values no policy could allow (NaN, out of the hardware range)."""
    if not recipe.stems:
        raise RecipeError("This recipe names no stems.")
    if not 0 < len(recipe.title) <= 200:
        raise RecipeError("A remix title must be 1 to 200 characters long.")
    low, high = TEMPO_RATIO_RANGE
    if not low <= recipe.tempo_ratio <= high:
        raise RecipeError(f"A tempo ratio of {recipe.tempo_ratio:g} is outside {low:g}..{high:g}.")
    low_key, high_key = KEY_SHIFT_RANGE
    if not low_key <= recipe.key_shift <= high_key:
        raise RecipeError(
            f"A key shift of {recipe.key_shift} semitones is outside {low_key}..{high_key}."
        )
    if len(recipe.parts) > MAX_PARTS:
        raise RecipeError(f"A remix holds at most {MAX_PARTS} recorded parts.")
    for name in recipe.parts:
        if not NAME.match(name):
            raise RecipeError(
                f"A recorded part's name is 1 to 32 lower-case letters, digits or dashes "
                f"({name!r:.40} is not)."
            )
        if name not in recipe.stems:
            raise RecipeError(f"The recorded part '{name}' has no strip in the mix.")
    if recipe.automation:
        unknown = {m.target for m in recipe.automation} - {*recipe.stems, MASTER}
        if unknown:
            raise RecipeError(f"This recipe automates '{sorted(unknown)[0]}', which it has not.")
        # Every mix the automation passes through must be one a static recipe could hold.
        for _, stems, master in recipe.states()[1:]:
            _check_mix(stems, master)
    _check_mix(recipe.stems, recipe.master)
    return recipe


def _check_mix(stems: dict[str, StemMix], master: MasterMix) -> None:
    for kind, s in stems.items():
        if not GAIN_DB_MIN - 1e-9 <= s.gain_db <= GAIN_DB_MAX:
            raise RecipeError(
                f"Stem '{kind}': gain {s.gain_db} dB is outside {GAIN_DB_MIN}..{GAIN_DB_MAX} dB."
            )
        if not -1.0 <= s.pan <= 1.0:
            raise RecipeError(f"Stem '{kind}': pan {s.pan} is outside -1..1.")
    if not -24.0 <= master.gain_db <= GAIN_DB_MAX:
        raise RecipeError(f"Master gain {master.gain_db} dB is outside -24..12 dB.")
    low, high = CEILING_DB_RANGE
    if not low <= master.limiter_ceiling_db <= high:
        raise RecipeError(f"The limiter ceiling must be within {low}..{high} dBFS.")
