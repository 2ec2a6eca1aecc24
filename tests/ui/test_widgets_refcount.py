# SPDX-License-Identifier: GPL-3.0-or-later
"""The meters and the timeline repaint 30 times a second for as long as a track plays.

PySide6 6.12.0 released one reference to ``None`` too many in every void ``QPainter`` call; on
Python 3.11, where ``None`` is an ordinary object, the window crashed ("deallocating None")
after a few minutes of playback. This repaints the real widgets and checks that ``None`` comes
out of it with the references it went in with, so a Qt binding with that bug fails here, not in
a user's session.
"""

from __future__ import annotations

import sys

from PySide6.QtGui import QImage

from app.core.track import Section
from app.ui.widgets.meter import LevelMeter
from tests.ui.timelines import timeline_of

REPAINTS = 300


def test_repainting_the_live_widgets_keeps_none_alive(qtbot) -> None:
    meter = LevelMeter()
    bar = timeline_of(30.0).canvas
    bar.set_sections((Section("intro", 0.0, 8.0), Section("verse", 8.0, 24.0)))
    for widget in (meter, bar):
        qtbot.addWidget(widget)
        widget.resize(200, 40)
    image = QImage(200, 40, QImage.Format.Format_ARGB32)

    def repaint(step: int) -> None:
        meter.set_peak((step % 10) / 10)
        bar.set_position(step % 30)
        meter.render(image)
        bar.render(image)

    repaint(0)
    before = sys.getrefcount(None)
    for step in range(REPAINTS):
        repaint(step)
    # References come and go with whatever else runs (an earlier test's prefetch thread
    # ending frees its frames: ~20 seen); the bug loses one per void painter call, several
    # per repaint, so at least REPAINTS.
    assert sys.getrefcount(None) >= before - REPAINTS // 2
