# SPDX-License-Identifier: GPL-3.0-or-later
"""The window, signed in to the embedded platform on loopback, for the window's tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from app.studio.session import Studio
from app.ui.main_window import MainWindow

WAIT_MS = 30_000
PREFETCH_DRAIN_S = 60.0  # an upper bound: normally they end at once


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
