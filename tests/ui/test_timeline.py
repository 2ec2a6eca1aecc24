# SPDX-License-Identifier: GPL-3.0-or-later
"""The timeline as a user handles it: lanes painted where the stems sound, click to seek, drag
the ruler to loop, zoom and scroll; and in the window, the lanes of an open track following its
arrangement, tempo, mutes and loop."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QWheelEvent
from PySide6.QtWidgets import QApplication

from app.core.arrangement import SectionPlay
from app.ui.main_window import MainWindow
from app.ui.widgets.timeline import LABEL_W, LANE_COLOUR, MIX_H, RULER_H, SILENT_COLOUR
from tests.ui.timelines import timeline_of

pytestmark = pytest.mark.qt


def _x(canvas, seconds: float) -> int:
    return round(canvas.x_of(seconds))


def _lane_middle(canvas, index: int) -> int:
    """A row a little above the lane's middle: inside any sound's bars, off the silent line."""
    return round(RULER_H + MIX_H + (index + 0.5) * canvas._lane_height()) - 3


def _colour_at(canvas, x: int, y: int) -> QColor:
    image = QImage(canvas.size(), QImage.Format.Format_ARGB32)
    canvas.render(image)
    return image.pixelColor(x, y)


def test_lanes_are_painted_where_their_stems_sound(qtbot) -> None:
    panel = timeline_of(20.0)
    qtbot.addWidget(panel)
    panel.resize(600, 200)
    canvas = panel.canvas
    drums = _lane_middle(canvas, 0)
    keys = _lane_middle(canvas, 1)
    lane = QColor(LANE_COLOUR)
    assert _colour_at(canvas, _x(canvas, 5.0), drums) == lane  # the drums play the first half
    assert _colour_at(canvas, _x(canvas, 15.0), drums) != lane
    assert _colour_at(canvas, _x(canvas, 15.0), keys) == lane  # the keys the second
    assert _colour_at(canvas, _x(canvas, 5.0), keys) != lane


def test_a_click_seeks_a_ruler_drag_loops_and_a_double_click_ends_the_loop(qtbot) -> None:
    panel = timeline_of(20.0)
    qtbot.addWidget(panel)
    panel.resize(600, 200)
    canvas = panel.canvas
    seeks: list[float] = []
    loops: list[object] = []
    canvas.seek.connect(seeks.append)
    canvas.loop_selected.connect(loops.append)
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(_x(canvas, 7.5), RULER_H + 10))
    assert seeks[-1] == pytest.approx(7.5, abs=0.1)
    # Along the ruler, from 4 s to 12 s: a loop, not a seek.
    seeks.clear()
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(_x(canvas, 4.0), 10))
    qtbot.mouseMove(canvas, QPoint(_x(canvas, 8.0), 10))
    qtbot.mouseMove(canvas, QPoint(_x(canvas, 12.0), 10))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(_x(canvas, 12.0), 10))
    assert loops[-1] == pytest.approx((4.0, 12.0), abs=0.1)
    assert seeks == []
    canvas.set_loop(loops[-1])
    qtbot.mouseDClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(_x(canvas, 6.0), 10))
    assert loops[-1] is None
    # A click on the ruler, without a drag, goes there.
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(_x(canvas, 16.0), 10))
    assert seeks[-1] == pytest.approx(16.0, abs=0.1)


def test_zoom_keeps_the_pointer_in_place_and_the_scroll_bar_moves_the_view(qtbot) -> None:
    panel = timeline_of(60.0)
    qtbot.addWidget(panel)
    panel.resize(660, 200)
    panel.show()
    canvas = panel.canvas
    assert not panel.scrollbar.isVisible()  # the whole remix fits
    x = _x(canvas, 45.0)
    wheel = QWheelEvent(
        QPointF(x, 80), QPointF(canvas.mapToGlobal(QPoint(x, 80))), QPoint(), QPoint(0, 240),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier, Qt.ScrollPhase.NoScrollPhase,
        False,
    )  # fmt: skip
    QApplication.sendEvent(canvas, wheel)
    assert canvas.view_s == pytest.approx(60.0 / 1.5**2, rel=0.01)
    assert canvas.seconds_at(x) == pytest.approx(45.0, abs=0.2)  # still under the pointer
    assert panel.scrollbar.isVisible()
    panel.scrollbar.setValue(0)
    assert canvas.start_s == 0.0
    qtbot.keyClick(canvas, Qt.Key.Key_Plus)
    assert canvas.view_s == pytest.approx(60.0 / 1.5**3, rel=0.01)
    qtbot.keyClick(canvas, Qt.Key.Key_0)
    assert (canvas.start_s, canvas.view_s) == (0.0, 60.0)
    # Playing past a zoomed view pages it along.
    canvas.zoom(0.25)
    canvas.set_position(50.0, follow=True)
    assert canvas.start_s <= 50.0 < canvas.start_s + canvas.view_s


def _open(qtbot, window: MainWindow) -> None:
    item = window.catalogue.item(0)
    rect = window.catalogue.visualItemRect(item)
    qtbot.mouseClick(window.catalogue.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: window.view is not None, timeout=30_000)


def test_the_window_shows_the_open_track_as_it_plays(qtbot, window: MainWindow) -> None:
    _open(qtbot, window)
    view = window.view
    track, canvas = view.track, view.timeline.canvas
    info = track.info
    qtbot.waitUntil(lambda: track.overview.complete, timeout=20_000)
    window.resize(1280, 900)
    qtbot.waitUntil(lambda: canvas.lanes_shown, timeout=5_000)  # room for lanes and mixer
    view._tick()
    lanes = canvas._current_lanes()
    assert [lane.kind for lane in lanes.lanes] == list(info.stem_kinds)
    assert all(lane.known.all() and lane.peaks.max() > 0.05 for lane in lanes.lanes)
    # Muting a stem darkens its lane.
    first = info.stem_kinds[0]
    view.strips[first].mute.click()
    view._tick()
    x = LABEL_W + int(lanes.lanes[0].peaks.argmax())
    assert _colour_at(canvas, x, _lane_middle(canvas, 0)) == QColor(SILENT_COLOUR)
    # Rearranged and faster: the ruler shows the sections as played, and a click in the middle
    # of the verse's block lands in the verse, where the clock says.
    track.set_arrangement(sections=(SectionPlay(2), SectionPlay(1)))  # chorus, verse
    track.set_tempo(ratio=1.25)
    view._tick()
    shown = canvas._sections
    assert [s.name for s in shown] == [info.sections[2].name, info.sections[1].name]
    verse = info.sections[1]
    assert shown[1].end_s - shown[1].start_s == pytest.approx(
        (verse.end_s - verse.start_s) / 1.25, abs=0.01
    )
    assert canvas.duration_s == pytest.approx(track.duration_s)
    middle = (shown[1].start_s + shown[1].end_s) / 2
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(_x(canvas, middle), 60))
    assert track.position_s == pytest.approx(middle, abs=0.5)
    source = track.mixer.source_position(round(track.position_s * info.sample_rate))
    assert verse.start_s <= source / info.sample_rate < verse.end_s
    # A drag along the ruler loops that stretch, and the Loop button says so.
    start, end = shown[0].start_s + 1.0, shown[0].start_s + 4.0
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(_x(canvas, start), 8))
    qtbot.mouseMove(canvas, QPoint(_x(canvas, end), 8))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(_x(canvas, end), 8))
    assert track.loop == pytest.approx((start, end), abs=0.15)
    assert view.transport.loop_button.isChecked()
    qtbot.mouseClick(view.transport.loop_button, Qt.MouseButton.LeftButton)
    assert track.loop is None
    # At 1024 x 640 the whole mixer shows, every mute button in view; a lower window folds the
    # lanes away to keep it so, and View ▸ Stem lanes brings them back.
    window.resize(1024, 640)
    strip = view.strips[info.stem_kinds[-1]]

    def mute_in_view() -> bool:
        corner = strip.mute.mapTo(view.mixer_scroll.viewport(), strip.mute.rect().bottomRight())
        return view.mixer_scroll.viewport().rect().contains(corner)

    qtbot.waitUntil(mute_in_view, timeout=5_000)
    window.resize(1024, 520)
    qtbot.waitUntil(lambda: not canvas.lanes_shown, timeout=5_000)
    assert window.menus.lanes is not None
    window.menus.lanes.trigger()
    assert canvas.lanes_shown and window.menus.lanes.isChecked()
