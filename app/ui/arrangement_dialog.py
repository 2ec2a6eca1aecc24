# SPDX-License-Identifier: GPL-3.0-or-later
"""The arrangement: the track's sections as a playlist to repeat, drop, reorder and thin out
(per-section stem mutes), and the fades at the ends. Every change is heard at once and undoable.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.arrangement import SectionPlay
from app.core.errors import FanfareError
from app.studio.open_track import OpenTrack
from app.ui.widgets.transport import clock


class ArrangementDialog(QDialog):
    """Edits ``track``'s arrangement through the studio (so the policy is checked each time)."""

    def __init__(self, track: OpenTrack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.track = track
        self.setWindowTitle(f"Arrange: {track.info.title}")
        self.setMinimumSize(560, 440)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Sections, in the order they play:"))
        row = QHBoxLayout()
        self.playlist = QListWidget()
        self.playlist.currentRowChanged.connect(lambda _: self._show_mutes())
        row.addWidget(self.playlist, 2)
        side = QVBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for name, slot in (
            ("Repeat", self.repeat),
            ("Remove", self.remove),
            ("Move up", lambda: self.move_selected(-1)),
            ("Move down", lambda: self.move_selected(1)),
            ("Reset", self.reset),
        ):
            button = QPushButton(name)
            button.clicked.connect(slot)
            side.addWidget(button)
            self.buttons[name] = button
        side.addStretch()
        row.addLayout(side)
        self.mutes = QListWidget()
        self.mutes.itemChanged.connect(self._mute_changed)
        mute_column = QVBoxLayout()
        mute_column.addWidget(QLabel("Muted in this section:"))
        mute_column.addWidget(self.mutes)
        row.addLayout(mute_column, 1)
        layout.addLayout(row)
        form = QFormLayout()
        self.fade_in = self._seconds_box()
        self.fade_out = self._seconds_box()
        form.addRow("Fade in", self.fade_in)
        form.addRow("Fade out", self.fade_out)
        layout.addLayout(form)
        self.summary = QLabel("")
        self.summary.setObjectName("status")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.fade_in.valueChanged.connect(lambda v: self._apply(fade_in_s=float(v)))
        self.fade_out.valueChanged.connect(lambda v: self._apply(fade_out_s=float(v)))
        self.show_current()

    def _seconds_box(self) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setRange(0.0, 30.0)
        box.setSingleStep(0.5)
        box.setSuffix(" s")
        return box

    # --- the playlist as data --------------------------------------------------------------------

    def plays(self) -> list[SectionPlay]:
        sections = self.track.recipe.arrangement.sections
        if sections is None:
            return [SectionPlay(i) for i in range(len(self.track.info.sections))]
        return list(sections)

    def _apply(self, **changes: object) -> None:
        try:
            self.track.set_arrangement(**changes)
            self.summary.setText(f"Length: {clock(self.track.duration_s)[:-2]}")
        except FanfareError as exc:
            self.summary.setText(str(exc))
        self.show_current()

    def _set_plays(self, plays: list[SectionPlay], select: int) -> None:
        self._apply(sections=tuple(plays))
        self.playlist.setCurrentRow(max(0, min(select, self.playlist.count() - 1)))

    # --- actions ---------------------------------------------------------------------------------

    def repeat(self) -> None:
        plays, row = self.plays(), self.playlist.currentRow()
        if row >= 0:
            plays.insert(row + 1, plays[row])
            self._set_plays(plays, row + 1)

    def remove(self) -> None:
        plays, row = self.plays(), self.playlist.currentRow()
        if row >= 0 and len(plays) > 1:
            self._set_plays(plays[:row] + plays[row + 1 :], row)

    def move_selected(self, step: int) -> None:
        """Swap the selected play with the one ``step`` rows away (QWidget.move is the
        window's position)."""
        plays, row = self.plays(), self.playlist.currentRow()
        other = row + step
        if 0 <= row < len(plays) and 0 <= other < len(plays):
            plays[row], plays[other] = plays[other], plays[row]
            self._set_plays(plays, other)

    def reset(self) -> None:
        self._apply(sections=None, fade_in_s=0.0, fade_out_s=0.0)

    def _mute_changed(self, item: QListWidgetItem) -> None:
        row = self.playlist.currentRow()
        plays = self.plays()
        if not 0 <= row < len(plays):
            return
        kind = str(item.data(Qt.ItemDataRole.UserRole))
        mutes = set(plays[row].mutes)
        if item.checkState() == Qt.CheckState.Checked:
            mutes.add(kind)
        else:
            mutes.discard(kind)
        plays[row] = SectionPlay(plays[row].section, tuple(sorted(mutes)))
        self._set_plays(plays, row)

    # --- display ---------------------------------------------------------------------------------

    def show_current(self) -> None:
        row = self.playlist.currentRow()
        self.playlist.blockSignals(True)
        self.playlist.clear()
        for play in self.plays():
            section = self.track.info.sections[play.section]
            muted = f"  (no {', '.join(play.mutes)})" if play.mutes else ""
            self.playlist.addItem(
                f"{section.name}  ·  {clock(section.end_s - section.start_s)[:-2]}{muted}"
            )
        self.playlist.setCurrentRow(max(0, min(row, self.playlist.count() - 1)))
        self.playlist.blockSignals(False)
        arrangement = self.track.recipe.arrangement
        for box, value in (
            (self.fade_in, arrangement.fade_in_s),
            (self.fade_out, arrangement.fade_out_s),
        ):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)
        self._show_mutes()

    def _show_mutes(self) -> None:
        plays, row = self.plays(), self.playlist.currentRow()
        muted = set(plays[row].mutes) if 0 <= row < len(plays) else set()
        self.mutes.blockSignals(True)
        self.mutes.clear()
        for kind in self.track.info.stem_kinds:
            item = QListWidgetItem(kind)
            item.setData(Qt.ItemDataRole.UserRole, kind)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if kind in muted else Qt.CheckState.Unchecked)
            self.mutes.addItem(item)
        self.mutes.blockSignals(False)
