# SPDX-License-Identifier: GPL-3.0-or-later
"""The composition root of the window: builds the QApplication, the studio and the main window.

The window appears at once; connecting (starting the embedded platform, signing in) runs on a
worker and hands the studio to the window when it is ready.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from app import APP_ID, APP_NAME
from app.core.errors import FanfareError
from app.ui.main_window import MainWindow
from app.ui.sign_in_dialog import SignInDialog
from app.ui.theme import apply_theme
from app.ui.workers import describe, run_task

if TYPE_CHECKING:
    from app.studio.session import Studio


@dataclass(frozen=True)
class Connection:
    """Where the studio connects, and the credentials to sign in with if it is not signed in.

    ``shared_accounts``: accounts that sign in with ``password`` without asking for it (the
    embedded platform's demo accounts, on this installation's password).
    """

    url: str
    user: str | None = None
    password: str | None = None
    shared_accounts: tuple[str, ...] = ()


def app_icon() -> QIcon:
    """Fanfare's icon: the installed theme's where the desktop has one (the package's icons
    at every size), else the SVG shipped in the package, sharp at any pixel ratio."""
    shipped = Path(__file__).parent / "icons" / f"{APP_ID}.svg"
    return QIcon.fromTheme(APP_ID, QIcon(str(shipped)))


def connect_studio(connection: Connection) -> Studio:
    """Open the studio on ``connection.url``, signing in with its credentials when needed.

    Runs on a worker: the studio's engine and its libraries (numpy, scipy, pedalboard,
    onnxruntime: most of a second to import) load here, after the window has shown.
    """
    from app.studio.session import Studio

    studio = Studio(connection.url)
    if not studio.signed_in and connection.user and connection.password:
        studio.login(connection.user, connection.password)
    return studio


def _open_studio(connection: Connection) -> tuple[Studio, str]:
    """The studio on ``connection``, signed in if its credentials work; and the sentence why
    they did not ("" when they did, or there were none)."""
    from app.studio.session import Studio

    studio = Studio(connection.url)
    if not studio.signed_in and connection.user and connection.password:
        try:
            studio.login(connection.user, connection.password)
        except FanfareError as exc:
            return studio, describe(exc)
    return studio, ""


class Accounts:
    """Signing in, out and in as another account from the window (on the GUI thread).

    A failed sign-in shows the form again with the reason; a session the platform ends (it
    ran out, or was ended) shows the form too, never a command to type.
    """

    def __init__(self, window: MainWindow, connection: Connection) -> None:
        self.window, self.connection = window, connection
        self.studio: Studio | None = None
        self.dialog: SignInDialog | None = None
        window.switch_account.connect(lambda: self.ask())
        window.sign_out.connect(self.sign_out)
        window.session_ended.connect(self.ask)

    def opened(self, found: tuple[Studio, str]) -> None:
        studio, error = found
        self.studio = studio
        if studio.signed_in:
            self.window.set_studio(studio)
        else:
            self.window.clear_studio("Not signed in.")
            self.ask(error)

    def ask(self, error: str = "") -> None:
        """The sign-in form, with ``error`` above it."""
        studio = self.studio
        if studio is None or (self.dialog is not None and self.dialog.isVisible()):
            return
        shared = list(self.connection.shared_accounts) if self.connection.password else []
        self.dialog = dialog = SignInDialog(
            self.window,
            studio.platform_name,
            error=error,
            accounts=shared or None,
            user=studio.profile.user_name or self.connection.user or "",
        )
        dialog.accepted.connect(
            lambda: self._sign_in(dialog.user, dialog.password or self._shared_password())
        )
        dialog.rejected.connect(self._declined)
        dialog.open()

    def _shared_password(self) -> str:
        return self.connection.password or "" if self.connection.shared_accounts else ""

    def _sign_in(self, user: str, password: str) -> None:
        studio = self.studio
        assert studio is not None
        self.window.clear_studio(f"Signing in as <b>{user}</b>…")
        run_task(
            lambda: studio.login(user, password),
            lambda _: self.window.set_studio(studio),
            lambda error: self.ask(describe(error)),
        )

    def _declined(self) -> None:
        studio = self.studio
        if studio is not None and studio.signed_in:  # still signed in as before
            self.window.set_studio(studio)
        else:
            self.window.clear_studio("Not signed in: Account › Sign in… when you are ready.")

    def sign_out(self) -> None:
        studio = self.studio
        if studio is None:
            return

        def signed_out(_: object) -> None:
            self.window.clear_studio()
            self.ask()

        run_task(studio.logout, signed_out, self.window.show_error)


def run_studio(
    connect: Callable[[], Connection],
    *,
    argv: list[str] | None = None,
    project: Path | None = None,
) -> int:
    """Show the window and connect in the background; returns the application's exit code.

    Args:
        connect: returns where to connect (it may start the embedded platform first).
        project: a remix project to open once signed in.
    """
    # Qt reads options of its own from the arguments (``-platform``, ``-style``, ...), and
    # ours share names with them: `fanfare studio --platform URL` made Qt abort looking for
    # a display plugin named URL. Ours are parsed already; Qt gets the program name alone.
    program = (argv or sys.argv)[:1]
    app = cast(QApplication, QApplication.instance() or QApplication(program))
    app.setApplicationName(APP_NAME)
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon())
    apply_theme(app)
    window = MainWindow()
    window.open_at_start = project
    window.show()

    kept: list[Accounts] = []  # the account flow lives as long as the window

    def work() -> tuple[Connection, tuple[Studio, str]]:
        connection = connect()  # may start the embedded platform: on the worker
        return connection, _open_studio(connection)

    def done(result: tuple[Connection, tuple[Studio, str]]) -> None:
        connection, found = result
        accounts = Accounts(window, connection)
        kept.append(accounts)
        accounts.opened(found)

    QTimer.singleShot(0, lambda: run_task(work, done, window.show_error))
    return int(app.exec())
