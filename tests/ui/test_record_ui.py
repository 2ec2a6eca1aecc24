# SPDX-License-Identifier: GPL-3.0-or-later
"""The Record panel as a fan uses it: Shift+R records a take over the track (through the null
sink's monitor), Use take makes it a part with its own strip and lane, trimming keeps it in
place, undo takes it out again; a track whose artist allows no covers offers no recording."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt

from app.ui.main_window import MainWindow

RATE = 48_000


def _open(qtbot, window: MainWindow, track_id: str) -> None:
    for row in range(window.catalogue.count()):
        item = window.catalogue.item(row)
        if item.data(Qt.ItemDataRole.UserRole) == track_id or track_id in item.text().lower():
            rect = window.catalogue.visualItemRect(item)
            qtbot.mouseClick(
                window.catalogue.viewport(), Qt.MouseButton.LeftButton, pos=rect.center()
            )
            break
    qtbot.waitUntil(
        lambda: window.view is not None and window.view.track.info.id == track_id,
        timeout=30_000,
    )


def test_a_take_recorded_from_the_menu_becomes_a_part_with_a_strip_and_a_lane(
    qtbot, window: MainWindow
) -> None:
    _open(qtbot, window, "neon-harbour")
    view = window.view
    assert view is not None
    track = view.track
    track.seek(12.0)
    window._commands["record_take"]()  # Transport ▸ Record a take (Shift+R)
    panel = view.record_panel
    assert panel is not None and panel.isVisible() and view.record_toggle.isChecked()
    assert track.recorder.recording and panel.record_button.text() == "■ Stop take"
    deadline = time.monotonic() + 4.5  # a bar of count-in at 118 BPM, then two seconds
    qtbot.waitUntil(lambda: time.monotonic() > deadline, timeout=10_000)
    qtbot.waitUntil(lambda: panel.level.value() > -40, timeout=1_000)  # the input is heard
    window._commands["record_take"]()
    assert not track.recorder.recording and panel.takes.count() == 1
    assert "placed by its count-in" in panel.takes.itemText(0)

    panel.replaces.setCurrentIndex(panel.replaces.findData("lead"))
    qtbot.mouseClick(panel.use_button, Qt.MouseButton.LeftButton)
    assert "my-vocal" in view.strips and view.strips["lead"].mute.isChecked()
    assert view.timeline.canvas.kinds[-1] == "my-vocal"
    assert panel.part.currentText() == "my-vocal" and panel.trim_end.value() > 2.0
    # Trim the first half second: the part keeps its place in the music.
    panel.trim_start.setValue(0.5)
    panel.trim_start.editingFinished.emit()
    part = track.recipe.parts["my-vocal"]
    assert part.offset == RATE // 2 and part.at_frame == 12 * RATE + RATE // 2
    # Undo (trim, then the part): the strip and the lane go, the lead is heard again.
    window._commands["undo"]()
    window._commands["undo"]()
    view._tick()
    assert "my-vocal" not in view.strips and not view.strips["lead"].mute.isChecked()
    assert "my-vocal" not in view.timeline.canvas.kinds
    assert panel.part.count() == 0 and not panel.remove_button.isEnabled()


def test_a_track_without_covers_says_so_and_records_nothing(qtbot, window: MainWindow) -> None:
    _open(qtbot, window, "paper-moons")
    view = window.view
    assert view is not None
    view.show_record_panel(True)
    panel = view.record_panel
    assert panel is not None and not panel.refusal.isHidden()
    assert "does not allow recording your own parts" in panel.refusal.text()
    assert not panel.record_button.isEnabled()
