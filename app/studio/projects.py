# SPDX-License-Identifier: GPL-3.0-or-later
"""A fan's remix projects on this machine: the files they save, the autosaves that outlive a
crash, and the list of recent projects.

A project holds a recipe and the window's place, never audio (``app.core.project``), so every
file here may be written to disk. Saves are atomic and flushed: a crash leaves the old file or
the new one. Each open remix is autosaved while it has changes its file lacks, under
``<data>/autosave/<project id>.fanfare``; saving or closing it without changes removes the
autosave, so one found at start is work a crash or a kill would have lost.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core import project as project_format
from app.core.files import atomic_write
from app.core.project import SUFFIX, Project, ProjectError
from app.studio.profile import StudioPaths

#: How many projects the recent list keeps.
RECENT_LIMIT = 10
#: Seconds between autosaves of a remix with unsaved changes (``FANFARE_AUTOSAVE_S``).
AUTOSAVE_S = 30.0


def autosave_interval_s(chosen: float = AUTOSAVE_S) -> float:
    """``FANFARE_AUTOSAVE_S`` when it is a number of seconds from 1 to 3600, else ``chosen``
    (the user's preference)."""
    try:
        seconds = float(os.environ.get("FANFARE_AUTOSAVE_S", chosen))
    except ValueError:
        return chosen
    return seconds if 1.0 <= seconds <= 3600.0 else chosen


@dataclass(frozen=True)
class Recent:
    """A project this machine saved or opened: where, which, of what."""

    path: Path
    project_id: str
    title: str
    track_title: str
    saved_at: int


@dataclass(frozen=True)
class Unsaved:
    """An autosave found at start: the work, and the file it was last saved to (None: never
    saved)."""

    project: Project
    path: Path | None
    autosave: Path


class ProjectStore:
    """The projects of this machine's user (all accounts: a project names its own)."""

    def __init__(self, paths: StudioPaths) -> None:
        self.autosave_dir = paths.data_dir / "autosave"
        self._recent_file = paths.config_dir / "recent-projects.json"

    # --- files the user names ------------------------------------------------------------------

    def save(self, project: Project, path: Path) -> Project:
        """Write ``project`` to ``path`` (``.fanfare`` added when it has no suffix), stamped
        with the time; returns what was written. Its autosave goes: the file has it all.

        Raises:
            ProjectError: the file cannot be written (the reason in a sentence).
        """
        path = with_suffix(path)
        saved = project.with_changes(saved_at=int(time.time()))
        try:
            atomic_write(path, saved.to_json(), fsync=True)
        except OSError as exc:
            raise ProjectError(f"Cannot save the project to {path} ({exc.strerror}).") from None
        self.remember(saved, path)
        self.discard_autosave(saved.id)
        return saved

    def open(self, path: Path) -> Project:
        """The project in ``path``.

        Raises:
            ProjectError: it cannot be read or is not a project Fanfare reads (why, in a
                sentence that names the file).
        """
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ProjectError(f"Cannot open {path} ({exc.strerror}).") from None
        try:
            project = project_format.loads(data)
        except ProjectError as exc:
            raise type(exc)(f"{path.name}: {exc}") from None
        self.remember(project, path)
        return project

    # --- autosaves ------------------------------------------------------------------------------

    def autosave(self, project: Project, path: Path | None) -> Path:
        """Keep ``project`` (unsaved changes; last saved to ``path``) where the next start
        finds it."""
        target = self.autosave_dir / f"{project.id}{SUFFIX}"
        doc = project.to_dict() | {"autosaved_from": str(path) if path else None}
        atomic_write(target, json.dumps(doc, indent=1).encode(), fsync=True)
        return target

    def discard_autosave(self, project_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.autosave_dir / f"{project_id}{SUFFIX}").unlink()

    def unsaved(self) -> list[Unsaved]:
        """Work left by a crash or a kill, newest first; an autosave that cannot be read is
        set aside (renamed ``.damaged``), never deleted."""
        found: list[Unsaved] = []
        for file in sorted(self.autosave_dir.glob(f"*{SUFFIX}")):
            try:
                data = file.read_bytes()
                project = project_format.loads(data)
                source = json.loads(data).get("autosaved_from")
            except (OSError, ProjectError, ValueError):
                with contextlib.suppress(OSError):
                    file.rename(file.with_suffix(".damaged"))
                continue
            found.append(Unsaved(project, Path(source) if isinstance(source, str) else None, file))
        return sorted(found, key=lambda u: u.autosave.stat().st_mtime, reverse=True)

    # --- the recent list ------------------------------------------------------------------------

    def recent(self) -> list[Recent]:
        """Recently saved or opened projects whose files are still there, newest first."""
        entries = []
        for entry in self._read_recent():
            path = Path(str(entry.get("path", "")))
            if path.is_file():
                entries.append(
                    Recent(
                        path=path,
                        project_id=str(entry.get("id", "")),
                        title=str(entry.get("title", path.stem)),
                        track_title=str(entry.get("track_title", "")),
                        saved_at=int(entry.get("saved_at", 0) or 0),
                    )
                )
        return entries

    def path_of(self, project_id: str) -> Path | None:
        """Where the project was last saved or opened from on this machine."""
        return next((r.path for r in self.recent() if r.project_id == project_id), None)

    def remember(self, project: Project, path: Path) -> None:
        """Put ``path`` first in the recent list (a list that cannot be written is let be:
        it never stops a save)."""
        path = path.resolve()
        entry = {
            "path": str(path),
            "id": project.id,
            "title": project.title,
            "track_title": project.track_title,
            "saved_at": project.saved_at,
        }
        kept = [e for e in self._read_recent() if e.get("path") != str(path)]
        with contextlib.suppress(OSError):
            atomic_write(
                self._recent_file, json.dumps([entry, *kept][:RECENT_LIMIT], indent=1).encode()
            )

    def _read_recent(self) -> list[dict[str, Any]]:
        try:
            doc = json.loads(self._recent_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        return [e for e in doc if isinstance(e, dict)] if isinstance(doc, list) else []


def with_suffix(path: Path) -> Path:
    """``path`` with ``.fanfare`` when it has no suffix of its own."""
    return path if path.suffix else path.with_suffix(SUFFIX)
