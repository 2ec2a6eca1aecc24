# SPDX-License-Identifier: GPL-3.0-or-later
"""Remix projects: golden files, the round trip, an older recipe inside, a track that changed,
and refusals of what is not a project."""

from __future__ import annotations

import contextlib
import json
import random
from pathlib import Path

import pytest

from app.core import project as project_format
from app.core import recipe as recipe_format
from app.core.arrangement import SectionPlay
from app.core.automation import make_move
from app.core.errors import RecipeError
from app.core.project import Project, ProjectError, ProjectVersionError, new_project_id, retarget
from app.core.recipe import Recipe
from app.core.track import Section, StemInfo, TrackInfo

GOLDEN = Path(__file__).parent / "golden"
TRACK = TrackInfo(
    id="neon-harbour", version=1, title="Neon Harbour", artist="Nova Lane", bpm=118,
    key="A major", time_signature="4/4", sample_rate=48_000, frames=48_000 * 60,
    stems=tuple(StemInfo(k) for k in ("drums", "bass", "keys", "lead", "pad")),
    sections=(Section("intro", 0, 20), Section("verse", 20, 40), Section("chorus", 40, 60)),
)  # fmt: skip


def test_the_golden_project_round_trips_byte_for_byte() -> None:
    data = (GOLDEN / "project_v1.fanfare").read_bytes()
    project = project_format.loads(data)
    assert project.id == "prj_0123456789abcdef0123456789abcdef"
    assert (project.track_title, project.artist, project.account) == (
        "Neon Harbour", "Nova Lane", "fan"
    )  # fmt: skip
    assert (project.position_s, project.loop, project.saved_at) == (42.5, (30.0, 46.25), 1764900000)
    assert project.recipe == recipe_format.loads((GOLDEN / "recipe_v5.json").read_bytes())
    assert project.to_json() == data  # the golden file is the format's contract


def test_a_project_saved_before_recorded_parts_opens_the_same_remix() -> None:
    project = project_format.loads((GOLDEN / "project_v1_recipe_v4.fanfare").read_bytes())
    assert project.recipe == recipe_format.loads((GOLDEN / "recipe_v4.json").read_bytes())
    assert project.recipe.parts == {} and project.position_s == 42.5


def test_a_project_holding_an_older_recipe_opens_it_migrated() -> None:
    project = project_format.loads((GOLDEN / "project_v1_recipe_v3.fanfare").read_bytes())
    assert project.recipe == recipe_format.loads((GOLDEN / "recipe_v3.json").read_bytes())
    assert project.loop is None and project.position_s == 0.0


def test_save_then_open_gives_the_same_recipe_bit_for_bit() -> None:
    recipe = (
        Recipe.default_for(TRACK, "Night drive")
        .with_stem("drums", gain_db=-4.25, pan=0.1)
        .with_stem("pad", mute=True)
        .with_tempo(ratio=1.0625, key_shift=-2)
        .with_moves(tuple(make_move(512 * 90 * i, "bass", {"gain_db": -i / 3}) for i in range(50)))
    )
    project = Project(new_project_id(), recipe, "Neon Harbour", "Nova Lane", "fan", 12.345)
    back = project_format.loads(project.to_json())
    assert back == project
    assert back.recipe.digest() == recipe.digest()


def test_a_newer_project_is_refused_with_what_to_do() -> None:
    doc = json.loads((GOLDEN / "project_v1.fanfare").read_text())
    doc["version"] = 7
    with pytest.raises(ProjectVersionError, match=r"newer Fanfare.*Update Fanfare"):
        project_format.loads(json.dumps(doc))


def test_registered_migrations_run_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    # Were version 2 to move the playhead, a version 1 file would pass through its migration.
    seen: list[int] = []

    def from_1(doc: dict) -> dict:
        seen.append(doc["version"])
        return dict(doc, version=2)

    monkeypatch.setitem(project_format.MIGRATIONS, 1, from_1)
    monkeypatch.setattr(project_format, "VERSION", 2)
    project = project_format.loads((GOLDEN / "project_v1.fanfare").read_bytes())
    assert seen == [1] and project.id == "prj_0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(schema="fanfare.recipe"), "not a Fanfare project"),
        (lambda d: d.update(id="prj_short"), "no valid id"),
        (lambda d: d.update(id=None), "no valid id"),
        (lambda d: d["track"].update(id="paper-moons"), "names another track"),
        (lambda d: d["recipe"].update(version="2"), "recipe cannot be read"),
        (lambda d: d["view"].update(position_s=float("nan")), "playhead is not a time"),
        (lambda d: d["view"].update(position_s=-1), "playhead is not a time"),
        (lambda d: d["view"].update(loop=[5, 2]), "loop is not a region"),
        (lambda d: d["view"].update(loop=[1, 2, 3]), "loop is not a region"),
        (lambda d: d.update(saved_at=True), "save time"),
        (lambda d: d.update(account=["fan"]), "titles are not text"),
        (lambda d: d.update(track=[]), "track or view is not an object"),
    ],
)
def test_malformed_projects_are_refused_with_the_reason(edit, message: str) -> None:
    doc = json.loads((GOLDEN / "project_v1.fanfare").read_text())
    edit(doc)
    with pytest.raises(ProjectError, match=message):
        project_format.loads(json.dumps(doc))


def test_random_damage_is_refused_as_a_project_error_and_nothing_else() -> None:
    data = bytearray((GOLDEN / "project_v1.fanfare").read_bytes())
    rng = random.Random(7)
    for _ in range(400):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 6)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        with contextlib.suppress(ProjectError):  # refused with a sentence, or still a project
            project_format.loads(bytes(damaged))
    assert isinstance(project_format.loads(bytes(data)), Project)
    with pytest.raises(ProjectError, match="too large"):
        project_format.loads(b" " * (project_format.MAX_PROJECT_BYTES + 1))
    with pytest.raises(ProjectError, match="not valid JSON"):
        project_format.loads(b"\xff\xfe{")


def test_a_project_moves_onto_a_new_track_version_saying_what_changed() -> None:
    recipe = (
        Recipe.default_for(TRACK, "Night drive")
        .with_stem("drums", gain_db=-4.0)
        .with_stem("keys", mute=True)
        .with_arrangement(sections=(SectionPlay(2), SectionPlay(1)))
        .with_moves((make_move(512 * 90, "keys", {"gain_db": -3.0}),))
    )
    version_2 = TrackInfo(
        **{
            **TRACK.__dict__,
            "version": 2,
            "stems": tuple(StemInfo(k) for k in ("drums", "bass", "lead", "pad", "choir")),
            "sections": (Section("intro", 0, 30), Section("verse", 30, 60)),
        }
    )
    moved, notes = retarget(recipe, version_2)
    assert moved.track_version == 2
    assert moved.stems["drums"].gain_db == -4.0  # kept what still fits
    assert "keys" not in moved.stems and "choir" in moved.stems
    assert moved.arrangement.sections is None and moved.automation == ()
    text = " ".join(notes)
    assert "version 1, now 2" in text
    assert "dropped: keys" in text and "defaults: choir" in text
    assert "arrangement no longer fits" in text
    moved.check_fits(version_2)
    # The same version: nothing to say.
    assert retarget(recipe, TRACK) == (recipe, [])
    with pytest.raises(ProjectError, match="not 'paper-moons'"):
        retarget(recipe, TrackInfo(**{**TRACK.__dict__, "id": "paper-moons"}))
    with pytest.raises(RecipeError):
        recipe.check_fits(version_2)  # the recipe itself is for version 1
