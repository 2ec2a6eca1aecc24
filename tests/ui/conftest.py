# SPDX-License-Identifier: GPL-3.0-or-later
"""The window, signed in to the embedded platform on loopback, for the window's tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QMessageBox

from app.studio.session import Studio
from app.ui import project_flow
from app.ui.main_window import MainWindow

WAIT_MS = 30_000
PREFETCH_DRAIN_S = 60.0  # an upper bound: normally they end at once


class Answers:
    """The questions the window asked (``app.ui.project_flow.ask``), and the answers it gets:
    those a test queued, in order, else "Don't save" to keep-or-lose questions and "Later" to
    the others (a modal box would wait for a click no test makes)."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.queued: list[QMessageBox.StandardButton] = []

    def __call__(self, parent, text: str, detail: str, buttons) -> QMessageBox.StandardButton:
        self.asked.append(text)
        if self.queued:
            return self.queued.pop(0)
        Button = QMessageBox.StandardButton
        return Button.Discard if Button.Save in buttons else Button.Cancel


@pytest.fixture(autouse=True)
def answers(monkeypatch: pytest.MonkeyPatch) -> Answers:
    given = Answers()
    monkeypatch.setattr(project_flow, "ask", given)
    return given


@pytest.fixture
def window(qtbot, embedded) -> Iterator[MainWindow]:
    studio = Studio(embedded.url)
    studio.login(embedded.demo_user, embedded.demo_password)
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.set_studio(studio)
    qtbot.waitUntil(lambda: window.catalogue.count() == 3, timeout=WAIT_MS)
    yield window
    # A placed timbre model analyses the whole stem on a prefetch thread; closing the track
    # stops those threads once the step they are in is done: let them end before the next
    # test, so none outlives the files and platform it reads.
    window.close()
    deadline = time.monotonic() + PREFETCH_DRAIN_S
    while time.monotonic() < deadline and any(
        t.name.startswith("fanfare-prefetch") for t in threading.enumerate()
    ):
        time.sleep(0.05)
