# SPDX-License-Identifier: GPL-3.0-or-later
"""Projects on this machine: saves that a crash cannot tear, the recent list, and autosaves
found at the next start."""

from __future__ import annotations

import resource
import signal
from pathlib import Path

import pytest

from app.core.project import Project, ProjectError, new_project_id
from app.core.recipe import Recipe
from app.core.track import StemInfo, TrackInfo
from app.studio.profile import StudioPaths
from app.studio.projects import ProjectStore

TRACK = TrackInfo(
    id="neon-harbour", version=1, title="Neon Harbour", artist="Nova Lane", bpm=118,
    key="A major", time_signature="4/4", sample_rate=48_000, frames=48_000 * 60,
    stems=tuple(StemInfo(k) for k in ("drums", "bass")),
)  # fmt: skip


@pytest.fixture
def store(isolated_home: Path) -> ProjectStore:
    return ProjectStore(StudioPaths.default())


def _project(title: str = "Night drive", gain_db: float = -3.0) -> Project:
    recipe = Recipe.default_for(TRACK, title).with_stem("drums", gain_db=gain_db)
    return Project(new_project_id(), recipe, TRACK.title, TRACK.artist, "fan")


def test_a_saved_project_opens_as_saved_and_heads_the_recent_list(
    store: ProjectStore, tmp_path: Path
) -> None:
    project = _project()
    saved = store.save(project, tmp_path / "night drive")  # the suffix is added
    path = tmp_path / "night drive.fanfare"
    assert path.is_file() and saved.saved_at > 0
    opened = store.open(path)
    assert opened == saved and opened.recipe == project.recipe
    store.save(_project("Other"), tmp_path / "other.fanfare")
    assert [r.title for r in store.recent()] == ["Other", "Night drive"]
    assert store.path_of(project.id) == path.resolve()
    path.unlink()  # a file that went away leaves the list
    assert [r.title for r in store.recent()] == ["Other"]


def test_a_failed_save_keeps_the_file_as_it_was(store: ProjectStore, tmp_path: Path) -> None:
    path = tmp_path / "mix.fanfare"
    store.save(_project(gain_db=-3.0), path)
    before = path.read_bytes()
    # The disk takes no file larger than this one (a full disk, a quota): the write fails.
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (len(before) + 10, limits[1]))
    try:
        with pytest.raises(ProjectError, match="Cannot save the project"):
            store.save(_project("A much longer title " * 8, gain_db=-9.0), path)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, handler)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["mix.fanfare"]  # no torn temporary file


def test_what_cannot_be_opened_says_which_file_and_why(store: ProjectStore, tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match=r"Cannot open .*missing.fanfare"):
        store.open(tmp_path / "missing.fanfare")
    (tmp_path / "song.fanfare").write_text('{"schema": "fanfare.recipe"}')
    with pytest.raises(ProjectError, match=r"song\.fanfare: This file is not a Fanfare project"):
        store.open(tmp_path / "song.fanfare")


def test_an_autosave_outlives_the_process_until_saved_or_discarded(
    store: ProjectStore, tmp_path: Path
) -> None:
    project = _project()
    store.autosave(project, tmp_path / "night.fanfare")
    again = ProjectStore(StudioPaths.default())  # the next start
    [found] = again.unsaved()
    assert found.project == project and found.path == tmp_path / "night.fanfare"
    again.save(found.project, tmp_path / "night.fanfare")  # saving takes it away
    assert again.unsaved() == []
    store.autosave(project, None)
    store.discard_autosave(project.id)
    assert store.unsaved() == []


def test_a_damaged_autosave_is_set_aside_not_deleted(store: ProjectStore) -> None:
    store.autosave(_project(), None)
    [file] = list(store.autosave_dir.iterdir())
    file.write_bytes(file.read_bytes()[:100])  # cut short by a crash mid-write elsewhere
    assert store.unsaved() == []
    assert [p.suffix for p in store.autosave_dir.iterdir()] == [".damaged"]
