# SPDX-License-Identifier: GPL-3.0-or-later
"""A MIDI controller in the window, through a real transport (JACK): right-click ▸ Learn MIDI on
a fader, move the hardware, and the fader follows it (picked up softly); the default mapping's
record button works; the learned mapping is kept for the next start."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QMenu

from app.core.midi_mapping import MidiSource
from app.studio.midi import load_mapping
from app.studio.profile import StudioPaths
from app.ui.main_window import MainWindow
from tests.helpers.jack import Controller

pytestmark = pytest.mark.qt


def _menu_action(qtbot, widget, text: str) -> None:
    """Right-click ``widget`` and choose the action whose text starts with ``text``."""
    widget.customContextMenuRequested.emit(QPoint(4, 4))
    qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu), timeout=2_000)
    menu = QApplication.activePopupWidget()
    assert isinstance(menu, QMenu)
    chosen = [a for a in menu.actions() if a.text().startswith(text)]
    assert chosen, [a.text() for a in menu.actions()]
    menu.close()
    chosen[0].trigger()


def test_learn_a_fader_and_play_the_remix_from_a_controller(
    qtbot, jack, window: MainWindow, tmp_path
) -> None:
    controller = Controller("nanoFADER")
    qtbot.waitUntil(
        lambda: window.midi is not None and bool(window.midi.input.ports), timeout=5_000
    )
    item = window.catalogue.item(0)
    rect = window.catalogue.visualItemRect(item)
    qtbot.mouseClick(window.catalogue.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: window.view is not None, timeout=30_000)
    view = window.view
    kind = view.track.info.stem_kinds[1]
    fader = view.strips[kind].fader
    _menu_action(qtbot, fader, "Learn MIDI")
    assert "MIDI learn" in window.statusBar().currentMessage()
    controller.cc(74, 10, channel=1)  # the knob the user turns first is the one learned
    learned = MidiSource("cc", 1, 74)
    qtbot.waitUntil(
        lambda: window.midi.mapping.source_for("strip2.fader") == learned, timeout=3_000
    )
    assert "now follows CC 74 on channel 2" in window.statusBar().currentMessage()
    low, high = fader.minimum(), fader.maximum()
    at = fader.value()
    # Soft takeover: the knob far below the fader does not yank it...
    controller.cc(74, 5, channel=1)
    qtbot.wait(300)
    assert fader.value() == at
    # ... sweeping it up past where the fader is picks it up, and then it follows.
    position = (at - low) / (high - low)
    controller.cc(74, min(127, round(position * 127) + 2), channel=1)
    qtbot.waitUntil(lambda: fader.value() != at, timeout=3_000)
    controller.cc(74, 0, channel=1)
    qtbot.waitUntil(lambda: fader.value() == low, timeout=3_000)
    assert view.track.recipe.stems[kind].gain_db <= -60.0  # the edit reached the remix
    assert view.track.undo_name is not None  # and Undo takes it back as any fader move
    # The default mapping's transport: its record button turns Record moves on.
    assert not view.track.recording
    controller.cc(45, 127)
    qtbot.waitUntil(lambda: view.track.recording, timeout=3_000)
    assert view.transport.record_button.isChecked()
    controller.cc(45, 0)  # its release does nothing
    # Kept for the next start.
    kept = load_mapping(StudioPaths.default().midi_mapping_file)
    assert kept.source_for("strip2.fader") == MidiSource("cc", 1, 74)
    # Preferences: the controller listed; the mapping exported, set back, imported again; a
    # file that is no mapping changes nothing and says why.
    window.show_preferences()
    dialog = window.preferences_dialog
    assert "nanoFADER" in dialog.controllers.text()
    exported = tmp_path / "my-controller.fanfare-midi"
    dialog.export_mapping(exported)
    dialog.reset_mapping()
    assert window.midi.mapping.source_for("strip2.fader") == MidiSource("cc", 0, 1)
    dialog.import_mapping(exported)
    assert window.midi.mapping.source_for("strip2.fader") == learned
    (tmp_path / "notes.txt").write_text("not a mapping")
    dialog.import_mapping(tmp_path / "notes.txt")
    assert "not valid JSON" in dialog.error.text()
    assert window.midi.mapping.source_for("strip2.fader") == learned
    dialog.reject()
    controller.unplug()
