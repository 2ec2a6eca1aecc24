# SPDX-License-Identifier: GPL-3.0-or-later
"""The composition root of the window: builds the QApplication, the studio and the main window.

The window appears at once; connecting (starting the embedded platform, signing in) runs on a
worker and hands the studio to the window when it is ready.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QInputDialog, QLineEdit

from app import APP_ID, APP_NAME
from app.ui.main_window import MainWindow
from app.ui.theme import apply_theme
from app.ui.workers import run_task

if TYPE_CHECKING:
    from app.studio.session import Studio


@dataclass(frozen=True)
class Connection:
    """Where the studio connects, and the credentials to sign in with if it is not signed in."""

    url: str
    user: str | None = None
    password: str | None = None


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


def _ask_login(window: MainWindow, url: str, name: str) -> Connection | None:
    user, ok = QInputDialog.getText(window, APP_NAME, f"User name on {name}:")
    if not ok or not user:
        return None
    password, ok = QInputDialog.getText(window, APP_NAME, "Password:", QLineEdit.EchoMode.Password)
    return Connection(url, user, password) if ok else None


def run_studio(connect: Callable[[], Connection], *, argv: list[str] | None = None) -> int:
    """Show the window and connect in the background; returns the application's exit code.

    Args:
        connect: returns where to connect (it may start the embedded platform first).
    """
    app = cast(QApplication, QApplication.instance() or QApplication(argv or sys.argv))
    app.setApplicationName(APP_NAME)
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(QIcon.fromTheme("audio-x-generic"))
    apply_theme(app)
    window = MainWindow()
    window.show()

    def connected(studio: Studio) -> None:
        if not studio.signed_in:
            connection = _ask_login(window, studio.url, studio.platform_name)
            if connection is None:
                window.show_error_text("Not signed in: the catalogue stays empty.")
                return
            run_task(lambda: connect_studio(connection), connected, window.show_error)
            return
        window.set_studio(studio)

    QTimer.singleShot(
        0, lambda: run_task(lambda: connect_studio(connect()), connected, window.show_error)
    )
    return int(app.exec())
