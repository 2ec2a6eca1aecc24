# SPDX-License-Identifier: GPL-3.0-or-later
"""Projects in the window: save and open again, nothing lost without asking, the menu bar and
its shortcuts, and the work a killed studio left, restored at the next start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.core import project as project_format
from app.studio.session import Studio
from app.ui.main_window import MainWindow

pytestmark = pytest.mark.qt
WAIT_MS = 30_000
Button = QMessageBox.StandardButton
ROOT = Path(__file__).resolve().parents[2]


def _open(qtbot, window: MainWindow, row: int) -> None:
    item = window.catalogue.item(row)
    rect = window.catalogue.visualItemRect(item)
    qtbot.mouseClick(window.catalogue.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: window.view is not None and not window._opening, timeout=WAIT_MS)


def _action(window: MainWindow, menu: str, text: str):
    for top in window.menuBar().actions():
        if top.text().replace("&", "") == menu:
            for action in top.menu().actions():
                if action.text().replace("&", "").startswith(text):
                    return action
    raise AssertionError(f"no {menu} ▸ {text}")


def test_save_quit_and_open_again_gives_the_same_remix(
    qtbot, window: MainWindow, embedded, answers, tmp_path: Path
) -> None:
    _open(qtbot, window, 0)
    view = window.view
    assert not window.isWindowModified()
    view.strips["drums"].fader.setValue(-9)  # -4.5 dB
    view.strips["pad"].mute.setChecked(True)
    window._show_state()
    assert window.isWindowModified()  # the title's "*"
    assert _action(window, "Edit", "Undo").text() == "&Undo Pad mute"
    assert window.projects.save_as(tmp_path / "night drive")
    assert not window.isWindowModified()
    assert "night drive.fanfare" in window.windowTitle()
    saved = project_format.loads((tmp_path / "night drive.fanfare").read_bytes())
    recipe = view.track.recipe
    assert saved.recipe == recipe and saved.account == "fan"

    view.strips["bass"].fader.setValue(-4)  # a change after saving: quitting asks
    answers.queued.append(Button.Save)
    window.close()
    assert answers.asked == ["Save the changes to “night drive.fanfare” before quitting?"]
    after = project_format.loads((tmp_path / "night drive.fanfare").read_bytes())
    assert after.recipe.stems["bass"].gain_db == -2.0 and after.id == saved.id

    # Another window, as after a restart: File ▸ Open puts the remix back bit for bit.
    studio = Studio(embedded.url)
    again = MainWindow()
    qtbot.addWidget(again)
    again.set_studio(studio)
    qtbot.waitUntil(lambda: again.catalogue.count() == 3, timeout=WAIT_MS)
    again.projects.open_file(tmp_path / "night drive.fanfare")
    qtbot.waitUntil(lambda: again.view is not None and not again._opening, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: again.projects.path is not None, timeout=WAIT_MS)
    assert again.view.track.recipe == after.recipe
    assert again.view.strips["bass"].gain_label.text() == "-2.0 dB"
    assert not again.view.track.modified
    assert [r.title for r in studio.projects.recent()] == [after.title]
    again.close()


def test_switching_track_with_unsaved_changes_asks_and_cancel_keeps_them(
    qtbot, window: MainWindow, answers
) -> None:
    _open(qtbot, window, 0)
    view = window.view
    view.strips["drums"].fader.setValue(-12)
    answers.queued.append(Button.Cancel)
    item = window.catalogue.item(1)
    rect = window.catalogue.visualItemRect(item)
    qtbot.mouseClick(window.catalogue.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert len(answers.asked) == 1 and "before opening another track" in answers.asked[0]
    assert window.view is view and view.track.recipe.stems["drums"].gain_db == -6.0
    assert window.catalogue.currentRow() == 0  # the selection stays on the open track
    # Don't save: the other track opens, and the autosave kept meanwhile is gone.
    answers.queued.append(Button.Discard)
    _open(qtbot, window, 1)
    assert window.view.track.info.id != "neon-harbour"
    assert window.studio.projects.unsaved() == []


def test_the_menu_bar_and_its_shortcuts(qtbot, window: MainWindow, tmp_path: Path) -> None:
    menus = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert menus == ["File", "Edit", "View", "Transport", "Account", "Help"]
    assert not _action(window, "File", "Save").isEnabled()  # nothing open yet
    _open(qtbot, window, 0)
    window._show_state()
    assert _action(window, "File", "Save").isEnabled()
    view = window.view
    view.strips["drums"].fader.setValue(-8)
    window._show_state()
    assert _action(window, "Edit", "Undo").text() == "&Undo Drums fader"
    # Ctrl+Z through the window's shortcut, then Ctrl+Shift+Z.
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert view.track.recipe.stems["drums"].gain_db == 0.0
    assert _action(window, "Edit", "Redo").text() == "&Redo Drums fader"
    qtbot.keyClick(
        window,
        Qt.Key.Key_Z,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert view.track.recipe.stems["drums"].gain_db == -4.0
    # Home and End move the playhead; Ctrl+S saves to the file once it has one.
    qtbot.keyClick(window, Qt.Key.Key_End)
    assert view.track.position_s > view.track.duration_s - 1.0
    qtbot.keyClick(window, Qt.Key.Key_Home)
    assert view.track.position_s < 0.1
    window.projects.save_as(tmp_path / "keys.fanfare")
    view.strips["drums"].fader.setValue(-2)
    qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    saved = project_format.loads((tmp_path / "keys.fanfare").read_bytes())
    assert saved.recipe.stems["drums"].gain_db == -1.0
    # The shortcuts sheet lists them, by menu.
    from app.ui.menus import shortcuts_text

    sheet = shortcuts_text(window)
    for entry in ("Save", "Ctrl+S", "Undo", "Ctrl+Z", "Play / pause", "Space", "Go to start"):
        assert entry in sheet


def test_space_in_a_text_box_types_a_space(qtbot, window: MainWindow) -> None:
    _open(qtbot, window, 0)
    view = window.view
    view.open_publish()
    title = view.publish_dialog.title
    title.setText("Night")
    title.setFocus()
    qtbot.keyClick(title, Qt.Key.Key_Space)
    qtbot.keyClicks(title, "drive")
    assert title.text() == "Night drive"
    assert not view.track.playing
    view.publish_dialog.reject()


KILLED_STUDIO = textwrap.dedent(
    """
    import sys, time
    from PySide6.QtWidgets import QApplication
    from app.studio.session import Studio
    from app.ui.main_window import MainWindow

    app = QApplication([])
    studio = Studio(sys.argv[1])
    studio.login(sys.argv[2], sys.argv[3])
    window = MainWindow()
    window.set_studio(studio)
    window.open_track("neon-harbour")
    while window.view is None or window._opening:
        app.processEvents(); time.sleep(0.02)
    window.view.strips["drums"].fader.setValue(-14)
    window.view.strips["keys"].mute.setChecked(True)
    print("edited", flush=True)
    while True:  # until killed; the autosave timer runs meanwhile
        app.processEvents(); time.sleep(0.02)
    """
)


def test_work_left_by_a_killed_studio_is_offered_and_restored(
    qtbot, embedded, answers, isolated_home: Path
) -> None:
    env = os.environ | {"QT_QPA_PLATFORM": "offscreen", "FANFARE_AUTOSAVE_S": "1"}
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_STUDIO, embedded.url, embedded.demo_user,
         embedded.demo_password],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "edited"
        autosaves = isolated_home / "xdg_data_home" / "Fanfare" / "autosave"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not list(autosaves.glob("*.fanfare")):
            time.sleep(0.1)
        assert list(autosaves.glob("*.fanfare")), "no autosave within 20 s"
    finally:
        child.send_signal(signal.SIGKILL)  # no quit, no question: a crash
        child.wait()
        if child.stdout is not None:
            child.stdout.close()

    studio = Studio(embedded.url)
    studio.login(embedded.demo_user, embedded.demo_password)
    window = MainWindow()
    qtbot.addWidget(window)
    answers.queued.append(Button.Yes)  # Restore
    window.set_studio(studio)
    qtbot.waitUntil(lambda: window.view is not None and not window._opening, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.view.track.recipe.stems["keys"].mute, timeout=WAIT_MS)
    assert "Restore the unsaved work?" in answers.asked[0]
    recipe = window.view.track.recipe
    assert recipe.stems["drums"].gain_db == -7.0
    assert window.view.track.modified  # restored, not yet saved anywhere
    window.close()  # answered Don't save: the autosave goes
    assert studio.projects.unsaved() == []


def test_a_saved_remix_is_kept_on_the_platform_and_opens_from_my_remixes(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    _open(qtbot, window, 0)
    view = window.view
    view.strips["lead"].fader.setValue(-6)
    assert window.projects.save_as(tmp_path / "lead down.fanfare")
    project_id = view.track.project_id
    studio = window.studio
    qtbot.waitUntil(lambda: [d["id"] for d in studio.drafts()] == [project_id], timeout=WAIT_MS)
    view.strips["lead"].fader.setValue(0)  # then changed, and saved nowhere
    window.show_my_remixes()
    dialog = window.remixes_dialog
    qtbot.waitUntil(lambda: dialog.drafts.count() == 1, timeout=WAIT_MS)
    assert dialog.drafts.item(0).text().startswith("Neon Harbour (remix)  ·  Neon Harbour")
    assert "nothing published from it yet" in dialog.drafts.item(0).text()
    dialog.drafts.setCurrentRow(0)
    dialog.open_button.click()  # the unsaved change: asked, and not kept ("Don't save")
    qtbot.waitUntil(lambda: view.track.recipe.stems["lead"].gain_db == -3.0, timeout=WAIT_MS)
    assert window.projects.path == tmp_path / "lead down.fanfare"
    assert not view.track.modified
    dialog.close()


def test_preferences_set_the_buffer_and_the_autosave_for_now_and_the_next_start(
    qtbot, window: MainWindow, embedded
) -> None:
    _open(qtbot, window, 0)
    _action(window, "Edit", "Preferences").trigger()
    dialog = window.preferences_dialog
    assert dialog.buffer.currentData() == "low" and dialog.autosave.value() == 30
    dialog.buffer.setCurrentIndex(dialog.buffer.findData("safe"))
    dialog.autosave.setValue(90)
    dialog.apply()
    assert window.studio.buffering.name == "safe"
    assert window.view.track.player.buffering.name == "safe"  # the open track, at once
    assert window.projects.timer.interval() == 90_000
    assert window.view.transport.buffer.currentData() == "safe"
    again = Studio(embedded.url)  # the next start
    try:
        assert again.buffering.name == "safe" and again.autosave_s == 90.0
    finally:
        again.close()
