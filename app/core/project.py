# SPDX-License-Identifier: GPL-3.0-or-later
"""A remix project: the recipe and what the window needs to pick up where the fan left off.
Never audio and never keys, so a project may be copied, synced and opened on another machine
of the same account (which licenses the track there).

Saved as a ``.fanfare`` file, JSON, version 1::

    {"schema": "fanfare.project", "version": 1,
     "id": "prj_<32 hex>",
     "track": {"id": "neon-harbour", "version": 1, "title": "Neon Harbour",
               "artist": "Nova Lane"},
     "account": "fan",
     "recipe": {<a recipe document, any version app.core.recipe reads>},
     "view": {"position_s": 12.5, "loop": null | [start_s, end_s]},
     "saved_at": 1733400000}

``id`` stays the same through every save and Save As of one remix, so its autosave, its draft
on the platform and the remixes published from it are found by it. ``track`` repeats the
recipe's track with its title and artist, so a list of projects needs no platform. An older
project is migrated step by step through ``MIGRATIONS`` before it is parsed; the recipe inside
is migrated by the recipe's own.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from app.core import recipe as recipe_format
from app.core.automation import MASTER
from app.core.errors import FanfareError, RecipeError
from app.core.recipe import Recipe, StemMix
from app.core.track import TrackInfo
from app.core.versioned import Wording, read_versioned

SCHEMA = "fanfare.project"
VERSION = 1
SUFFIX = ".fanfare"
#: A project is a recipe and a few fields: anything larger is not one.
MAX_PROJECT_BYTES = 2 * 1024 * 1024
_ID = re.compile(r"prj_[0-9a-f]{32}")

# MIGRATIONS[n] turns a version-n document into a version-(n+1) document.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


class ProjectError(FanfareError):
    """A project file that cannot be read, with the reason in a sentence."""


class ProjectVersionError(ProjectError):
    """A project saved by a newer Fanfare."""


def new_project_id() -> str:
    return "prj_" + secrets.token_hex(16)


@dataclass(frozen=True)
class Project:
    """One remix in progress.

    Attributes:
        id: stays through every save (see the module's docstring).
        recipe: the remix.
        track_title, artist: the track's, as the catalogue showed them when it was saved.
        account: the account's user name that made it.
        position_s: the playhead in seconds of the arranged remix.
        loop: the loop region in seconds of the arranged remix, or None.
        saved_at: when it was saved, Unix seconds (0: never).
    """

    id: str
    recipe: Recipe
    track_title: str = ""
    artist: str = ""
    account: str = ""
    position_s: float = 0.0
    loop: tuple[float, float] | None = None
    saved_at: int = 0

    @property
    def title(self) -> str:
        return self.recipe.title

    def with_changes(self, **changes: Any) -> Project:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "version": VERSION,
            "id": self.id,
            "track": {
                "id": self.recipe.track_id,
                "version": self.recipe.track_version,
                "title": self.track_title,
                "artist": self.artist,
            },
            "account": self.account,
            "recipe": self.recipe.to_dict(),
            "view": {
                "position_s": round(self.position_s, 3),
                "loop": [round(self.loop[0], 3), round(self.loop[1], 3)] if self.loop else None,
            },
            "saved_at": self.saved_at,
        }

    def to_json(self) -> bytes:
        """The file's bytes: indented, fields in the order written (the stems in the track's),
        so diffs of two saves stay small."""
        return (json.dumps(self.to_dict(), indent=1) + "\n").encode()


_WORDING = Wording(
    too_large="This file is too large to be a Fanfare project.",
    not_json="This project is not valid JSON ({reason}).",
    not_this="This file is not a Fanfare project.",
    no_version="This project has no valid version number.",
    newer="This project was saved by a newer Fanfare (project version {version}; this one "
    "reads up to {current}). Update Fanfare to open it.",
)


def loads(data: bytes | str) -> Project:
    """Parse a project from outside (a file the user named), migrating older versions.

    Raises:
        ProjectVersionError: the project is from a newer Fanfare.
        ProjectError: anything else malformed (its recipe's reason included).
    """
    doc = read_versioned(
        data, schema=SCHEMA, current=VERSION, max_bytes=MAX_PROJECT_BYTES, wording=_WORDING,
        error=ProjectError, newer_error=ProjectVersionError, migrations=MIGRATIONS,
    )  # fmt: skip
    return _from_dict(doc)


def _from_dict(doc: dict[str, Any]) -> Project:
    project_id = doc.get("id")
    if not isinstance(project_id, str) or not _ID.fullmatch(project_id):
        raise ProjectError("This project has no valid id.")
    track = doc.get("track")
    view = doc.get("view", {})
    if not isinstance(track, dict) or not isinstance(view, dict):
        raise ProjectError("This project's track or view is not an object.")
    try:
        recipe = recipe_format.loads(json.dumps(doc.get("recipe")))
    except RecipeError as exc:
        raise ProjectError(f"This project's recipe cannot be read: {exc}") from None
    if (track.get("id"), track.get("version")) != (recipe.track_id, recipe.track_version):
        raise ProjectError("This project names another track than its recipe.")
    position = view.get("position_s", 0.0)
    loop = view.get("loop")
    if not _seconds(position):
        raise ProjectError("This project's playhead is not a time.")
    if loop is not None and not (
        isinstance(loop, list)
        and len(loop) == 2
        and all(_seconds(t) for t in loop)
        and loop[0] < loop[1]
    ):
        raise ProjectError("This project's loop is not a region.")
    saved_at = doc.get("saved_at", 0)
    texts = (track.get("title", ""), track.get("artist", ""), doc.get("account", ""))
    if not all(isinstance(t, str) and len(t) <= 200 for t in texts):
        raise ProjectError("This project's titles are not text.")
    if not isinstance(saved_at, int) or isinstance(saved_at, bool) or saved_at < 0:
        raise ProjectError("This project's save time is not a time.")
    return Project(
        id=project_id,
        recipe=recipe,
        track_title=texts[0],
        artist=texts[1],
        account=texts[2],
        position_s=float(position),
        loop=(float(loop[0]), float(loop[1])) if loop else None,
        saved_at=saved_at,
    )


def _seconds(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0.0 <= value <= 24 * 3600.0
    )


def retarget(recipe: Recipe, track: TrackInfo) -> tuple[Recipe, list[str]]:
    """``recipe``, made for another version of ``track``, moved onto the version given: what
    still fits is kept, and each thing that changed is a sentence for the fan.

    Raises:
        ProjectError: it is a recipe of another track altogether.
    """
    if recipe.track_id != track.id:
        raise ProjectError(f"This project is a remix of '{recipe.track_id}', not '{track.id}'.")
    notes: list[str] = []
    if recipe.track_version == track.version:
        order = [*track.stem_kinds, *recipe.parts]
        if list(recipe.stems) != order and set(recipe.stems) == set(order):
            # the same stems, in the track's order (the mixer's), the fan's parts after them
            recipe = replace(recipe, stems={k: recipe.stems[k] for k in order})
        return recipe, notes
    notes.append(
        f"“{track.title}” has changed since this remix was saved (version "
        f"{recipe.track_version}, now {track.version}): it is opened on the new version."
    )
    kinds = set(track.stem_kinds)
    gone = [kind for kind in recipe.track_stems if kind not in kinds]
    added = [kind for kind in track.stem_kinds if kind not in recipe.stems]
    if gone:
        notes.append(f"No longer in the track, so their settings are dropped: {', '.join(gone)}.")
    if added:
        notes.append(f"New in the track, at their defaults: {', '.join(added)}.")
    stems = {kind: recipe.stems.get(kind, StemMix()) for kind in track.stem_kinds}
    stems |= {name: recipe.stems[name] for name in recipe.parts}  # the fan's own, kept
    kinds |= set(recipe.parts)
    moves = tuple(m for m in recipe.automation if m.target == MASTER or m.target in kinds)
    moved = replace(recipe, track_version=track.version, stems=stems, automation=moves)
    try:
        moved.arrangement.check_fits(track)
    except ValueError:
        notes.append("The arrangement no longer fits the track's sections: it plays as written.")
        moved = moved.with_arrangement(sections=None)
    end = moved.output_frames(track)
    kept = tuple(m for m in moved.automation if m.frame < end)
    if len(kept) < len(recipe.automation):
        notes.append(
            f"{len(recipe.automation) - len(kept)} recorded move(s) no longer fit and are dropped."
        )
    moved = replace(moved, automation=kept)
    try:
        moved.check_fits(track)
    except RecipeError as exc:
        raise ProjectError(f"This remix cannot be moved onto the new version: {exc}") from None
    return moved, notes
