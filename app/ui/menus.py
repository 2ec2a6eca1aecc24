# SPDX-License-Identifier: GPL-3.0-or-later
"""The window's menu bar: File, Edit, View, Transport, Account and Help, with the standard
shortcuts, and the sheet that lists them (Help ▸ Keyboard shortcuts).

A shortcut here is the window's: a text box with the focus keeps the keys it types (Qt asks it
first), so Space types a space in a title and plays everywhere else.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QMessageBox, QWidget

from app import APP_NAME, __version__

Key = QKeySequence.StandardKey
NATIVE = QKeySequence.SequenceFormat.NativeText
#: How far Transport ▸ Nudge moves the playhead, in seconds.
NUDGE_S = 1.0


@dataclass
class Menus:
    """The actions the window enables, renames and fills as the remix changes."""

    new: QAction
    open: QAction
    recent: QMenu
    save: QAction
    save_as: QAction
    revert: QAction
    undo: QAction
    redo: QAction
    track_actions: list[QAction] = field(default_factory=list)
    account: QMenu | None = None
    #: View ▸ Stem lanes: checked while the timeline shows a lane per stem.
    lanes: QAction | None = None

    def show_history(self, undo: str | None, redo: str | None) -> None:
        """Edit ▸ Undo *name* / Redo *name*, as the open remix's history has them."""
        self.undo.setText(f"&Undo {undo}" if undo else "&Undo")
        self.undo.setEnabled(undo is not None)
        self.redo.setText(f"&Redo {redo}" if redo else "&Redo")
        self.redo.setEnabled(redo is not None)

    def show_track(self, open_: bool, saved_to_file: bool, modified: bool) -> None:
        """What needs an open remix is enabled while one is open."""
        for action in self.track_actions:
            action.setEnabled(open_)
        self.save.setEnabled(open_)
        self.save_as.setEnabled(open_)
        self.revert.setEnabled(open_ and saved_to_file and modified)


def _action(
    menu: QMenu,
    text: str,
    slot: Callable[[], object],
    shortcut: QKeySequence | Key | str | None = None,
    *,
    tip: str = "",
) -> QAction:
    action = menu.addAction(text)
    action.triggered.connect(lambda _checked=False: slot())
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    if tip:
        action.setStatusTip(tip)
    return action


def build_menus(window: QMainWindow, do: dict[str, Callable[[], object]]) -> Menus:
    """Add the menu bar to ``window``; ``do`` maps each command's name to what it does."""
    bar = window.menuBar()

    file_menu = bar.addMenu("&File")
    new = _action(
        file_menu, "&New remix of this track", do["new"], Key.New,
        tip="Start again from the track as written",
    )  # fmt: skip
    open_ = _action(file_menu, "&Open…", do["open"], Key.Open)
    recent = file_menu.addMenu("Open &recent")
    file_menu.addSeparator()
    save = _action(file_menu, "&Save", do["save"], Key.Save)
    save_as = _action(file_menu, "Save &as…", do["save_as"], "Ctrl+Shift+S")
    revert = _action(file_menu, "Re&vert to saved", do["revert"])
    file_menu.addSeparator()
    publish = _action(file_menu, "&Publish remix…", do["publish"], "Ctrl+Shift+P")
    file_menu.addSeparator()
    _action(file_menu, "&Quit", window.close, Key.Quit).setShortcut(QKeySequence("Ctrl+Q"))

    edit_menu = bar.addMenu("&Edit")
    undo = _action(edit_menu, "&Undo", do["undo"], Key.Undo)
    redo = _action(edit_menu, "&Redo", do["redo"], "Ctrl+Shift+Z")
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    edit_menu.addSeparator()
    arrange = _action(edit_menu, "&Arrange sections…", do["arrange"])
    clear_moves = _action(edit_menu, "&Clear recorded moves", do["clear_moves"])
    edit_menu.addSeparator()
    preferences = _action(edit_menu, "&Preferences…", do["preferences"], Key.Preferences)
    if preferences.shortcut().isEmpty():  # no platform standard (Linux): the common one
        preferences.setShortcut(QKeySequence("Ctrl+,"))

    view_menu = bar.addMenu("&View")
    _action(view_menu, "&Studio", do["show_studio"], "Ctrl+1")
    _action(view_menu, "&Listen", do["show_listen"], "Ctrl+2")
    view_menu.addSeparator()
    lanes = _action(view_menu, "Stem &lanes", do["lanes"], "Ctrl+Shift+L")
    lanes.setCheckable(True)
    lanes.setChecked(True)
    record_panel = _action(view_menu, "&Record panel", do["record_panel"], "Ctrl+Shift+R")
    zoom_in = _action(view_menu, "Zoom &in", do["zoom_in"], Key.ZoomIn)
    zoom_out = _action(view_menu, "Zoom &out", do["zoom_out"], Key.ZoomOut)
    zoom_fit = _action(view_menu, "Zoom to &fit", do["zoom_fit"], "Ctrl+0")
    view_menu.addSeparator()
    _action(view_menu, "&Full screen", do["full_screen"], Key.FullScreen)

    transport = bar.addMenu("&Transport")
    # Play / pause also plays the Listen tab's remix: it stays enabled with no track open.
    _action(transport, "&Play / pause", do["play_pause"], "Space")
    stop = _action(transport, "&Stop", do["stop"], "Shift+Space")
    loop = _action(transport, "&Loop this section", do["loop"], "L")
    record = _action(transport, "&Record moves", do["record"], "R")
    take = _action(transport, "Record a &take", do["record_take"], "Shift+R")
    transport.addSeparator()
    start = _action(transport, "Go to s&tart", do["go_start"], "Home")
    end = _action(transport, "Go to &end", do["go_end"], "End")
    back = _action(transport, f"Nudge &back {NUDGE_S:g} s", do["nudge_back"], "Ctrl+Left")
    forward = _action(transport, f"Nudge &forward {NUDGE_S:g} s", do["nudge_forward"], "Ctrl+Right")

    account = bar.addMenu("&Account")

    help_menu = bar.addMenu("&Help")
    _action(help_menu, "&Keyboard shortcuts", lambda: show_shortcuts(window), "F1")
    _action(help_menu, f"&About {APP_NAME}", lambda: show_about(window))

    menus = Menus(new, open_, recent, save, save_as, revert, undo, redo, account=account)
    menus.track_actions = [
        new, publish, arrange, clear_moves, stop, loop, record, take, start, end, back, forward,
        zoom_in, zoom_out, zoom_fit, record_panel,
    ]  # fmt: skip
    menus.lanes = lanes
    return menus


def shortcuts_text(window: QMainWindow) -> str:
    """Every menu command that has a shortcut, by menu: rich text for the sheet."""
    rows = []
    for menu_action in window.menuBar().actions():
        menu = menu_action.menu()
        if not isinstance(menu, QMenu):
            continue
        keyed = [
            (
                a.text().replace("&", ""),
                a.shortcut().toString(QKeySequence.SequenceFormat.NativeText),
            )
            for a in menu.actions()
            if not a.shortcut().isEmpty()
        ]
        if keyed:
            rows.append(f"<tr><td colspan=2><b>{menu_action.text().replace('&', '')}</b></td></tr>")
            rows += [f"<tr><td>{text}</td><td>&nbsp;&nbsp;{keys}</td></tr>" for text, keys in keyed]
    return "<table>" + "".join(rows) + "</table>"


def show_shortcuts(window: QMainWindow) -> None:
    box = QMessageBox(QMessageBox.Icon.NoIcon, f"{APP_NAME}: keyboard shortcuts", "", parent=window)
    box.setText(shortcuts_text(window))
    box.open()


def about_text() -> str:
    """Versions of what plays the sound and runs the window, and the licences."""
    versions = " · ".join(
        f"{label} {_version(package)}"
        for label, package in (
            ("Qt for Python", "PySide6-Essentials"), ("numpy", "numpy"),
            ("ONNX Runtime", "onnxruntime"), ("pedalboard (with Rubber Band)", "pedalboard"),
            ("sounddevice", "sounddevice"), ("c2pa", "c2pa-python"),
        )
    )  # fmt: skip
    return (
        f"<b>{APP_NAME} {__version__}</b><br>The fan remix studio.<br><br>"
        f"Python {platform.python_version()} · {versions}<br>"
        f"{platform.system()} {platform.machine()}<br><br>"
        f"{APP_NAME} is free software under the GNU General Public License, version 3 or "
        "later. Qt for Python is under the LGPL 3; Rubber Band Library, which changes tempo "
        "and key, under the GPL 2 or later; PortAudio, libsndfile and the rest under their "
        "own free licences."
    )


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "(not installed)"


def show_about(window: QWidget) -> None:
    box = QMessageBox(
        QMessageBox.Icon.Information, f"About {APP_NAME}", about_text(), parent=window
    )
    box.open()
