# SPDX-License-Identifier: GPL-3.0-or-later
"""Upload a track: pick the stem files, name each stem's kind, say what the track is (the
tempo and key can be suggested from the audio, for the artist to confirm), and send it, with
progress; an interrupted upload resumes when it is sent again."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.ui.workers import describe, run_task

if TYPE_CHECKING:
    from app.studio.artist import OwnTrack
    from app.studio.session import Studio

STEM_FILES = "Stems (*.wav *.flac *.ogg *.aif *.aiff)"
KEYS = ["unknown"] + [
    f"{note} {mode}"
    for mode in ("major", "minor")
    for note in ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
]
PATH_ROLE = Qt.ItemDataRole.UserRole
METERS = ("4/4", "3/4", "6/8", "12/8", "5/4", "7/8")
_SECTION = re.compile(
    r"^\s*(?P<name>[^\d][^,]*?)\s+(?P<start>[\d:.]+)\s*[-–]\s*(?P<end>[\d:.]+)\s*$"
)


def _seconds(text: str) -> float:
    """ "1:05.5" or "65.5" as seconds."""
    minutes, _, seconds = text.rpartition(":")
    return float(minutes or 0) * 60 + float(seconds)


def parse_sections(text: str) -> list[dict[str, Any]]:
    """ "intro 0:00-0:08, verse 0:08-0:24" as sections; raises ValueError with the part that
    cannot be read."""
    sections = []
    for part in filter(str.strip, text.split(",")):
        found = _SECTION.match(part)
        if found is None:
            raise ValueError(f"“{part.strip()}” is not “name start–end” (e.g. “verse 0:08-0:24”)")
        start, end = _seconds(found["start"]), _seconds(found["end"])
        sections.append({"name": found["name"].strip(), "start_s": start, "end_s": end})
    return sections


def kind_of(path: Path) -> str:
    """A stem kind from a file's name: "Lead Vocals.wav" → "leadvocals"."""
    kind = re.sub(r"[^a-z0-9]", "", path.stem.lower())
    return kind if kind[:1].isalpha() else f"stem{kind}"


class UploadDialog(QDialog):
    """Send a new track; ``uploaded`` carries it once it is on the platform (a draft)."""

    uploaded = Signal(object)

    def __init__(self, studio: Studio, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.studio = studio
        self.setWindowTitle("Upload a track")
        self.resize(640, 560)
        layout = QVBoxLayout(self)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Stem file", "Kind"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnWidth(0, 380)
        add = QPushButton("Add stems…")
        remove = QPushButton("Remove")
        add.clicked.connect(self.pick)
        remove.clicked.connect(lambda: self.table.removeRow(self.table.currentRow()))
        row = QHBoxLayout()
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch()
        layout.addWidget(self.table, 1)
        layout.addLayout(row)

        form = QFormLayout()
        self.title = QLineEdit()
        self.bpm = QDoubleSpinBox()
        self.bpm.setRange(20.0, 300.0)
        self.bpm.setDecimals(1)
        self.bpm.setValue(120.0)
        self.bpm.setSuffix(" BPM")
        self.key = QComboBox()
        self.key.addItems(KEYS)
        self.key.setEditable(True)
        self.meter = QComboBox()
        self.meter.addItems(METERS)
        self.meter.setEditable(True)
        self.sections = QLineEdit()
        self.sections.setPlaceholderText("intro 0:00-0:08, verse 0:08-0:24, …")
        suggest = QPushButton("Suggest tempo and key from the audio")
        suggest.clicked.connect(self.suggest)
        form.addRow("Title", self.title)
        form.addRow("Tempo", self.bpm)
        form.addRow("Key", self.key)
        form.addRow("Time signature", self.meter)
        form.addRow("Sections", self.sections)
        form.addRow(suggest)
        layout.addLayout(form)

        self.status = QLabel("The track arrives as a draft: only you see it until it goes live.")
        self.status.setObjectName("dim")
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        buttons = QHBoxLayout()
        self.send_button = QPushButton("Upload")
        self.send_button.setObjectName("primary")
        self.send_button.clicked.connect(self.send)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        buttons.addStretch()
        buttons.addWidget(close)
        buttons.addWidget(self.send_button)
        layout.addLayout(buttons)

    def pick(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Stem files", "", STEM_FILES)
        self.add_files([Path(f) for f in files])

    def add_files(self, files: list[Path]) -> None:
        for path in files:
            row = self.table.rowCount()
            self.table.insertRow(row)
            name = QTableWidgetItem(path.name)
            name.setToolTip(str(path))
            name.setData(PATH_ROLE, str(path))
            self.table.setItem(row, 0, name)
            self.table.setItem(row, 1, QTableWidgetItem(kind_of(path)))
        if files and not self.title.text():
            self.title.setText(files[0].parent.name.replace("_", " ").title())

    def stems(self) -> dict[str, Path]:
        """Kind → file, as the table says now."""
        found: dict[str, Path] = {}
        for row in range(self.table.rowCount()):
            file, kind = self.table.item(row, 0), self.table.item(row, 1)
            if file is not None and kind is not None:
                found[kind.text().strip()] = Path(str(file.data(PATH_ROLE)))
        return found

    def suggest(self) -> None:
        stems = self.stems()
        if not stems:
            self.status.setText("Add the stems first.")
            return
        from app.studio.analysis import suggest

        self.status.setText("Listening for tempo and key…")
        run_task(lambda: suggest(stems), self._suggested, self._failed)

    def _suggested(self, found: Any) -> None:
        self.bpm.setValue(found.bpm)
        self.key.setCurrentText(found.key)
        self.status.setText(
            f"The audio suggests {found.bpm:g} BPM in {found.key}: check them before uploading."
        )

    def send(self) -> None:
        from app.studio.uploading import NewTrack

        stems = self.stems()
        if len(stems) != self.table.rowCount():
            self.status.setText("Two stems have the same kind: give each its own.")
            return
        if not stems or not self.title.text().strip():
            self.status.setText("Add the stems and give the track a title.")
            return
        try:
            sections = parse_sections(self.sections.text())
        except ValueError as exc:
            self.status.setText(f"Sections: {exc}.")
            return
        new = NewTrack(
            title=self.title.text().strip(),
            stems=stems,
            bpm=self.bpm.value(),
            key=self.key.currentText().strip() or "unknown",
            time_signature=self.meter.currentText().strip() or "4/4",
            sections=sections,
        )
        self.send_button.setEnabled(False)
        studio = self.studio
        run_task(
            lambda progress: studio.upload_track(new, progress),
            self._done,
            self._failed,
            self._progress,
        )

    def _progress(self, text: str, fraction: float) -> None:
        self.status.setText(f"{text}…")
        self.progress.setValue(int(fraction * 1000))

    def _done(self, track: OwnTrack) -> None:
        self.progress.setValue(1000)
        notes = " ".join(track.notes)
        self.status.setText(f"Uploaded “{track.info.title}”: {track.state_words}. {notes}".strip())
        self.send_button.setEnabled(True)
        self.uploaded.emit(track)

    def _failed(self, error: BaseException) -> None:
        # Sent again, an interrupted upload goes on from where the platform's copy ends.
        self.status.setText(describe(error))
        self.send_button.setEnabled(True)
