# SPDX-License-Identifier: GPL-3.0-or-later
"""The app_start benchmark's process: ``fanfare`` as a user launches it (the studio on the
embedded demo platform), watched from inside.

    python -m benchmarks.probes.app_start

Prints ``{"shown": t, "listed": t}`` (``time.monotonic()``, the clock the parent started before
spawning this process): the main window's first paint, and the catalogue's first row.
"""

from __future__ import annotations

import json
import sys
import time

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

GIVE_UP_MS = 60_000


class FirstPaint(QObject):
    """Notes when the first main window first paints."""

    def __init__(self, marks: dict[str, float]) -> None:
        super().__init__()
        self.marks = marks

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and isinstance(obj, QMainWindow):
            self.marks.setdefault("shown", time.monotonic())
        return False


def main() -> None:
    app = QApplication(sys.argv[:1])  # the studio takes the running application as its own
    marks: dict[str, float] = {}
    paint = FirstPaint(marks)
    app.installEventFilter(paint)

    def listed() -> None:
        windows = [w for w in app.topLevelWidgets() if isinstance(w, QMainWindow)]
        if windows and windows[0].catalogue.count() > 0:  # type: ignore[attr-defined]
            marks["listed"] = time.monotonic()
            app.quit()

    timer = QTimer()
    timer.timeout.connect(listed)
    timer.start(5)
    QTimer.singleShot(GIVE_UP_MS, app.quit)
    from app.cli import main as fanfare  # imported here, as the launch does: it is timed

    fanfare(["studio"])  # as `fanfare` with no arguments: the embedded demo platform
    print(json.dumps(marks), flush=True)


if __name__ == "__main__":
    main()
