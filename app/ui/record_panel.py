# SPDX-License-Identifier: GPL-3.0-or-later
"""The Record panel: record your own part over the track (a cover), pick a take, trim it, and
make it a part of the remix.

One row records (the input, mono or stereo, the count-in, the button, the input's level); the
next lists the takes and makes the chosen one a part (its role, the track stem it replaces);
the last trims the part that is in the remix. Where the artist allows no covers the panel says
so and offers nothing.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import FanfareError
from app.studio.open_track import OpenTrack
from app.studio.recording import Take, beats_per_bar, describe

FLOOR_DB = -60.0
ROLES = (("Vocal", "vocal"), ("Instrument", "instrument"))


class RecordPanel(QWidget):
    """Recording takes over ``track`` (``track.recorder``); ``message`` carries a sentence
    for the status bar, ``parts_changed`` says the remix gained or lost a part."""

    message = Signal(str)
    parts_changed = Signal()

    def __init__(self, track: OpenTrack, inputs: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.track = track
        self.setObjectName("recordPanel")
        self.setAccessibleName("Record your own part")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.setSpacing(6)
        rule = track.policy.own_parts
        self.refusal = QLabel(
            f"{track.info.artist} does not allow recording your own parts over this track."
        )
        self.refusal.setObjectName("dim")
        self.refusal.setVisible(not rule.allowed)
        layout.addWidget(self.refusal)

        record_row = QHBoxLayout()
        self.record_button = QPushButton("● Record take")
        self.record_button.setObjectName("record")
        self.record_button.setCheckable(True)
        self.record_button.setToolTip(
            "Record over the track from the playhead, after a count-in (Shift+R)"
        )
        self.record_button.clicked.connect(self.toggle)
        self.input = QComboBox()
        self.input.setAccessibleName("Input device")
        self.input.addItem("System input", None)
        for name in inputs:
            self.input.addItem(name, name)
        self.channels = QComboBox()
        self.channels.setAccessibleName("Input channels")
        self.channels.addItem("Mono", 1)
        self.channels.addItem("Stereo", 2)
        self.count_in = QComboBox()
        self.count_in.setAccessibleName("Count-in")
        beats = beats_per_bar(track.info.time_signature)
        self.count_in.addItem("Count-in: 1 bar", beats)
        self.count_in.addItem("Count-in: 2 bars", 2 * beats)
        self.level = QProgressBar()
        self.level.setRange(int(FLOOR_DB), 0)
        self.level.setValue(int(FLOOR_DB))
        self.level.setFormat("input %v dB")
        self.level.setAccessibleName("Input level")
        self.level.setObjectName("inputLevel")
        self.level.setMaximumWidth(220)
        for widget in (self.record_button, self.input, self.channels, self.count_in):
            record_row.addWidget(widget)
        record_row.addWidget(self.level, 1)
        layout.addLayout(record_row)

        takes_row = QHBoxLayout()
        self.takes = QComboBox()
        self.takes.setAccessibleName("Takes")
        self.takes.setPlaceholderText("No take yet: record one")
        self.takes.currentIndexChanged.connect(lambda _: self._show_choice())
        self.role = QComboBox()
        self.role.setAccessibleName("What the take is")
        for label, role in ROLES:
            self.role.addItem(label, role)
        self.replaces = QComboBox()
        self.replaces.setAccessibleName("The stem it replaces")
        self.replaces.addItem("adding to the mix", None)
        for kind in rule.replaces:
            if kind in track.info.stem_kinds:
                self.replaces.addItem(f"replacing {kind}", kind)
        self.use_button = QPushButton("Use take")
        self.use_button.setToolTip("Make the chosen take a part of your remix, on a strip")
        self.use_button.clicked.connect(self.use_take)
        takes_row.addWidget(self.takes, 1)
        takes_row.addWidget(QLabel("as"))
        for widget in (self.role, self.replaces, self.use_button):
            takes_row.addWidget(widget)
        layout.addLayout(takes_row)

        trim_row = QHBoxLayout()
        self.part = QComboBox()
        self.part.setAccessibleName("Recorded part")
        self.part.currentIndexChanged.connect(lambda _: self._show_trim())
        self.trim_start = _seconds("Trim: keep from")
        self.trim_end = _seconds("to")
        self.trim_start.editingFinished.connect(self.trim)
        self.trim_end.editingFinished.connect(self.trim)
        self.remove_button = QPushButton("Remove part")
        self.remove_button.clicked.connect(self.remove_part)
        trim_row.addWidget(self.part)
        trim_row.addWidget(QLabel("keep from"))
        trim_row.addWidget(self.trim_start)
        trim_row.addWidget(QLabel("to"))
        trim_row.addWidget(self.trim_end)
        trim_row.addWidget(self.remove_button)
        trim_row.addStretch(1)
        layout.addLayout(trim_row)
        self.note = QLabel("")
        self.note.setObjectName("dim")
        self.note.setWordWrap(True)
        self.note.hide()  # shown when it has something to say
        layout.addWidget(self.note)
        self._parts_shown: tuple[object, ...] = ()
        for widget in (self.record_button, self.input, self.channels, self.count_in):
            widget.setEnabled(rule.allowed)
        self.show_parts()
        self._show_choice()

    # --- recording ------------------------------------------------------------------------------

    def toggle(self) -> None:
        """Start a take, or stop the one being recorded."""
        if self.track.recorder.recording:
            self.stop()
            return
        try:
            count_in_s = self.track.recorder.record_take(
                self.input.currentData(),
                channels=int(self.channels.currentData()),
                beats=int(self.count_in.currentData()),
            )
        except FanfareError as exc:
            self.record_button.setChecked(False)
            self.message.emit(str(exc))
            return
        self.record_button.setChecked(True)
        self.record_button.setText("■ Stop take")
        self.message.emit(f"Recording after a count-in of {count_in_s:.1f} s…")

    def stop(self) -> None:
        self.record_button.setChecked(False)
        self.record_button.setText("● Record take")
        try:
            take = self.track.recorder.stop_take()
        except FanfareError as exc:
            self.message.emit(str(exc))
            return
        self._add_take(take)
        self.message.emit(f"{describe(take)}.")

    def _add_take(self, take: Take) -> None:
        self.takes.addItem(describe(take), take)
        self.takes.setCurrentIndex(self.takes.count() - 1)
        self.note.setVisible(take.aligned_by != "count-in")
        if take.aligned_by != "count-in":
            self.note.setText(
                "This take did not hear its count-in (headphones?), so it was placed by the "
                "device clocks" + (" and the last latency measured." if take.aligned_by ==
                "measured" else ". Record one take where the input hears the speakers to "
                "measure the latency.")
            )  # fmt: skip
        else:
            self.note.setText("")

    def tick(self) -> None:
        """Follow the input's level, and stop a take when the track stops playing."""
        recorder = self.track.recorder
        peak = recorder.input_peak
        self.level.setValue(int(max(FLOOR_DB, 20 * math.log10(peak))) if peak > 1e-6 else -60)
        if recorder.recording and not self.track.playing:
            self.stop()  # the track ended under the take
        elif self.record_button.isChecked() != recorder.recording:
            self.record_button.setChecked(recorder.recording)
        if self._parts_shown != tuple(self.track.recipe.parts.items()):
            self.show_parts()

    # --- takes into parts -----------------------------------------------------------------------

    def _show_choice(self) -> None:
        chosen = self.takes.currentIndex() >= 0
        self.use_button.setEnabled(chosen)
        self.role.setEnabled(chosen)
        self.replaces.setEnabled(chosen and self.replaces.count() > 1)

    def use_take(self) -> None:
        take = self.takes.currentData()
        if not isinstance(take, Take):
            return
        try:
            name = self.track.recorder.use_take(
                take, role=str(self.role.currentData()), replaces=self.replaces.currentData()
            )
        except FanfareError as exc:
            self.message.emit(str(exc))
            return
        self.show_parts(select=name)
        self.parts_changed.emit()
        self.message.emit(f"Take {take.number} is now the part “{name}” of your remix.")

    def show_parts(self, select: str | None = None) -> None:
        """The parts the remix holds, in the trim row."""
        parts = self.track.recipe.parts
        self._parts_shown = tuple(parts.items())
        current = select or self.part.currentText()
        self.part.blockSignals(True)
        self.part.clear()
        for name in parts:
            self.part.addItem(name)
        if current in parts:
            self.part.setCurrentText(current)
        self.part.blockSignals(False)
        for widget in (self.part, self.trim_start, self.trim_end, self.remove_button):
            widget.setEnabled(bool(parts))
        self._show_trim()

    def _show_trim(self) -> None:
        part = self.track.recipe.parts.get(self.part.currentText())
        if part is None:
            return
        rate = self.track.info.sample_rate
        for box, value in (
            (self.trim_start, part.offset),
            (self.trim_end, part.offset + part.frames),
        ):
            box.blockSignals(True)
            box.setValue(value / rate)
            box.blockSignals(False)

    def trim(self) -> None:
        name = self.part.currentText()
        if name not in self.track.recipe.parts:
            return
        try:
            self.track.recorder.trim_part(name, self.trim_start.value(), self.trim_end.value())
        except FanfareError as exc:
            self.message.emit(str(exc))
        self._show_trim()

    def remove_part(self) -> None:
        name = self.part.currentText()
        if name not in self.track.recipe.parts:
            return
        try:
            self.track.recorder.remove_part(name)
        except FanfareError as exc:
            self.message.emit(str(exc))
            return
        self.show_parts()
        self.parts_changed.emit()
        self.message.emit(f"The part “{name}” is out of the remix (its takes are kept).")


def _seconds(name: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setAccessibleName(name)
    box.setDecimals(2)
    box.setRange(0.0, 24 * 3600.0)
    box.setSingleStep(0.05)
    box.setSuffix(" s")
    box.setKeyboardTracking(False)
    return box
