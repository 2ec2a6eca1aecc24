# SPDX-License-Identifier: GPL-3.0-or-later
"""The open remix as a project, on the window's side: Save, Save As, Open, Open Recent and
Revert; the autosave every 30 s (``FANFARE_AUTOSAVE_S``); restoring what a crash left; and
asking before unsaved changes are lost (switching track, signing out, quitting), as every DAW
does.

The files and autosaves themselves are ``app.studio.projects``'; this holds only which file
the open remix is and talks to the user.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs
from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QWidget

from app import APP_NAME
from app.core.errors import FanfareError
from app.core.project import SUFFIX, Project
from app.studio.projects import Unsaved, autosave_interval_s
from app.ui.workers import describe, run_task

if TYPE_CHECKING:
    from app.studio.open_track import OpenTrack
    from app.studio.session import Studio

FILTER = f"Fanfare remixes (*{SUFFIX})"
Button = QMessageBox.StandardButton


class ProjectFlow(QObject):
    """Which file the window's remix is, and the questions around it.

    Args:
        parent: the window the dialogs belong to.
        studio: returns the window's studio (None: not signed in).
        track: returns the window's open track (None: none open).
        open_project: opens a project's track and then makes the project the remix there
            (the window's, since opening a track is its job); ``(project, its file, restored)``:
            a restored autosave has changes its file lacks.
        changed: called when the file or its saved state changes (the title shows both).
    """

    def __init__(
        self,
        parent: QWidget,
        studio: Callable[[], Studio | None],
        track: Callable[[], OpenTrack | None],
        open_project: Callable[[Project, Path | None, bool], None],
        changed: Callable[[], None],
    ) -> None:
        super().__init__(parent)
        self._parent = parent
        self._studio = studio
        self._track = track
        self._open_project = open_project
        self._changed = changed
        #: The file the open remix was last saved to or opened from (None: never saved).
        self.path: Path | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(int(autosave_interval_s() * 1000))
        self.timer.timeout.connect(self.autosave)
        self.timer.start()

    # --- the file -------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """What the title bar calls the remix: its file's name, or the recipe's title."""
        track = self._track()
        if self.path is not None:
            return self.path.name
        return track.recipe.title if track is not None else ""

    def opened(self, path: Path | None) -> None:
        """A remix was opened (from ``path``, or fresh: None)."""
        self.path = path
        self._changed()

    def save(self) -> bool:
        """Save to the remix's file, or ask where (Save As) when it has none. False when it
        was not saved (cancelled, or it failed: the reason shown)."""
        if self.path is None:
            return self.save_as()
        return self._write(self.path)

    def save_as(self, path: Path | None = None) -> bool:
        """Save to ``path``, or to a file the user picks."""
        track = self._track()
        if track is None:
            return False
        if path is None:
            suggested = self._folder() / f"{_file_name(track.recipe.title)}{SUFFIX}"
            chosen, _ = QFileDialog.getSaveFileName(
                self._parent, "Save remix as", str(suggested), FILTER
            )
            if not chosen:
                return False
            path = Path(chosen)
        return self._write(path)

    def _write(self, path: Path) -> bool:
        track, studio = self._track(), self._studio()
        if track is None or studio is None:
            return False
        try:
            saved = studio.projects.save(track.project(studio.profile.user_name), path)
        except FanfareError as exc:
            self._warn(describe(exc))
            return False
        track.mark_saved(saved.recipe)
        self.path = path if path.suffix else path.with_suffix(SUFFIX)
        self._changed()
        self._keep_on_platform(studio, saved)
        return True

    def _keep_on_platform(self, studio: Studio, project: Project) -> None:
        """The draft on the platform too (for another machine, and My remixes), behind the
        save: a platform out of reach leaves the file saved and says so."""
        if studio.signed_in:
            run_task(
                lambda: studio.save_draft(project),
                lambda _: None,
                lambda error: self._say(
                    f"Saved on this computer; not kept on the platform: {describe(error)}"
                ),
            )

    def _say(self, text: str) -> None:
        window = self._parent.window()
        if isinstance(window, QMainWindow):
            window.statusBar().showMessage(text, 10000)

    def open_file(self, path: Path | None = None) -> None:
        """Open the project in ``path`` (or one the user picks), once the open remix's unsaved
        changes are kept or given up."""
        studio = self._studio()
        if studio is None:
            return
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(
                self._parent, "Open remix", str(self._folder()), FILTER
            )
            if not chosen:
                return
            path = Path(chosen)
        try:  # read first: a file that cannot be opened leaves the open remix as it is
            project = studio.projects.open(path)
        except FanfareError as exc:
            self._warn(describe(exc))
            return
        if not self.may_leave("opening another remix"):
            return
        self._open_project(project, path, False)

    def revert(self) -> None:
        """Go back to the file as saved, after asking."""
        track = self._track()
        if track is None or self.path is None or not track.modified:
            return
        sure = ask(
            self._parent,
            f"Revert to “{self.path.name}” as it was saved? The changes since are lost.",
            "",
            {Button.Yes: "Revert", Button.Cancel: ""},
        )
        if sure != Button.Yes:
            return
        studio = self._studio()
        assert studio is not None
        try:
            project = studio.projects.open(self.path)
            notes = track.open_project(project)
        except FanfareError as exc:
            self._warn(describe(exc))
            return
        if notes:
            self._warn(" ".join(notes))
        self._changed()

    # --- unsaved changes ------------------------------------------------------------------------

    def may_leave(self, doing: str) -> bool:
        """Whether the open remix may be closed for ``doing`` ("quitting"): asks Save, Don't
        Save or Cancel when it has unsaved changes. Its autosave goes when it is let go."""
        track, studio = self._track(), self._studio()
        if track is None or studio is None:
            return True
        if track.modified:
            self.autosave()  # kept whatever the answer, until the answer is carried out
            answer = ask(
                self._parent,
                f"Save the changes to “{self.name}” before {doing}?",
                "Your changes are lost if you don't save them.",
                {Button.Save: "", Button.Discard: "Don't save", Button.Cancel: ""},
            )
            if answer == Button.Cancel or (answer == Button.Save and not self.save()):
                return False
        studio.projects.discard_autosave(track.project_id)
        return True

    def autosave(self) -> None:
        """Keep the open remix's unsaved changes where the next start finds them."""
        track, studio = self._track(), self._studio()
        if track is None or studio is None or not track.modified:
            return
        try:
            studio.projects.autosave(track.project(studio.profile.user_name), self.path)
        except OSError as exc:
            self._say(f"Could not autosave the remix ({exc.strerror}).")

    def offer_restore(self) -> None:
        """After signing in: offer the work a crash or a kill left, newest first."""
        studio = self._studio()
        if studio is None:
            return
        account = studio.profile.user_name
        found = [u for u in studio.projects.unsaved() if u.project.account in ("", account)]
        if not found:
            return
        newest = found[0]
        when = newest.autosave.stat().st_mtime
        answer = ask(
            self._parent,
            f"Fanfare closed before “{newest.project.title}” ({newest.project.track_title}) "
            "was saved. Restore the unsaved work?",
            f"Restore opens it as you left it (autosaved at {_clock(when)}); Discard throws "
            "it away; Later asks again next time.",
            {Button.Yes: "Restore", Button.Discard: "", Button.Cancel: "Later"},
        )
        if answer == Button.Yes:
            self._restore(newest)
        elif answer == Button.Discard:
            studio.projects.discard_autosave(newest.project.id)

    def _restore(self, unsaved: Unsaved) -> None:
        self._open_project(unsaved.project, unsaved.path, True)

    # --- helpers --------------------------------------------------------------------------------

    def _folder(self) -> Path:
        if self.path is not None:
            return self.path.parent
        return Path(platformdirs.user_documents_dir()) / APP_NAME

    def _warn(self, text: str) -> None:
        QMessageBox.warning(self._parent, APP_NAME, text)


def ask(parent: QWidget, text: str, detail: str, buttons: dict[Button, str]) -> Button:
    """A question with ``buttons`` (each with its own text, "" for Qt's), the first the
    default; returns the one pressed (Escape: Cancel)."""
    box = QMessageBox(QMessageBox.Icon.Question, APP_NAME, text, parent=parent)
    box.setInformativeText(detail)
    for button, label in buttons.items():
        box.addButton(button)
        if label:
            box.button(button).setText(label)
    box.setDefaultButton(next(iter(buttons)))
    box.setEscapeButton(Button.Cancel)
    return Button(box.exec())


def _file_name(title: str) -> str:
    """A file name from a remix's title: what a file system takes everywhere."""
    kept = "".join(c if c.isalnum() or c in " -_()" else "-" for c in title).strip()
    return kept[:80] or "remix"


def _clock(timestamp: float) -> str:
    return time.strftime("%H:%M on %d %b", time.localtime(timestamp))
