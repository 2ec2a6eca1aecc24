# SPDX-License-Identifier: GPL-3.0-or-later
"""Edit ▸ Preferences: the audio buffer (as the transport's Buffer picks it), how often an
unsaved remix is autosaved (applied on OK; kept for the next start), and MIDI controllers:
which are connected, and the mapping exported, imported or set back to the default (at once)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import FanfareError
from app.studio.preferences import AUTOSAVE_RANGE_S, buffer_choices, buffering_named

if TYPE_CHECKING:
    from app.studio.session import Studio
    from app.ui.midi_bridge import MidiBridge

#: The file name filter of exported MIDI mappings.
MAPPING_FILTER = "Fanfare MIDI mappings (*.fanfare-midi *.json)"

#: The sample rate the buffer's latency is said at (the platform's stems and remixes).
RATE = 48_000


class PreferencesDialog(QDialog):
    def __init__(
        self, studio: Studio, midi: MidiBridge | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.studio = studio
        self.midi = midi
        self.setWindowTitle("Preferences")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.buffer = QComboBox()
        self.buffer.setAccessibleName("Audio buffer")
        for name, label in buffer_choices(RATE):
            self.buffer.addItem(label, name)
        self.buffer.setCurrentIndex(max(0, self.buffer.findData(studio.buffering.name)))
        self.buffer.setToolTip(
            "Shorter answers the controls sooner; longer plays through a busy computer"
        )
        self.autosave = QSpinBox()
        self.autosave.setAccessibleName("Autosave every, in seconds")
        self.autosave.setRange(int(AUTOSAVE_RANGE_S[0]), int(AUTOSAVE_RANGE_S[1]))
        self.autosave.setSuffix(" s")
        self.autosave.setValue(round(studio.preferences.autosave_s))
        form.addRow("Audio buffer", self.buffer)
        form.addRow("Autosave unsaved remixes every", self.autosave)
        self.controllers = QLabel()
        self.controllers.setWordWrap(True)
        self.mapping = QLabel()
        form.addRow("MIDI controllers", self.controllers)
        form.addRow("MIDI mapping", self.mapping)
        row = QHBoxLayout()
        for text, act in (
            ("Export…", self._export_asked),
            ("Import…", self._import_asked),
            ("Use the generic 8-fader mapping", self.reset_mapping),
        ):
            button = QPushButton(text)
            button.setEnabled(midi is not None and midi.unavailable is None)
            button.clicked.connect(act)
            row.addWidget(button)
        form.addRow("", row)
        layout.addLayout(form)
        self.error = QLabel("")
        self.error.setObjectName("status")
        self.error.setWordWrap(True)
        self.error.setVisible(False)
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.apply)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._show_midi()

    # --- MIDI -----------------------------------------------------------------------------------

    def _show_midi(self) -> None:
        midi = self.midi
        if midi is None or midi.unavailable is not None:
            self.controllers.setText(midi.unavailable or "" if midi else "Not started yet.")
            self.mapping.setText("")
            return
        ports = midi.input.ports
        self.controllers.setText(
            ", ".join(ports) if ports else "None connected: plug one in, no restart needed."
        )
        self.mapping.setText(
            f"{midi.mapping.name} ({len(midi.mapping.bindings)} controls; right-click a "
            "control ▸ Learn MIDI to change one)"
        )

    def _tell(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))

    def export_mapping(self, path: Path) -> None:
        """Write the mapping in use to ``path`` (for another computer, or to keep)."""
        from app.studio.midi import save_mapping

        assert self.midi is not None
        try:
            save_mapping(path, self.midi.mapping)
        except OSError as exc:
            self._tell(f"The mapping could not be written to {path.name}: {exc.strerror}.")
            return
        self._tell(f"Exported the MIDI mapping to {path.name}.")

    def import_mapping(self, path: Path) -> None:
        """Use the mapping in ``path`` from now on; a file that cannot be used changes
        nothing and says why."""
        from app.core import midi_mapping

        assert self.midi is not None
        try:
            mapping = midi_mapping.loads(path.read_bytes())
        except OSError as exc:
            self._tell(f"{path.name} could not be read: {exc.strerror}.")
            return
        except midi_mapping.MidiMappingError as exc:
            self._tell(str(exc))
            return
        self.midi.set_mapping(mapping)
        self._tell(f"Using the MIDI mapping “{mapping.name}” from {path.name}.")
        self._show_midi()

    def reset_mapping(self) -> None:
        assert self.midi is not None
        self.midi.reset_mapping()
        self._tell("Using the generic 8-fader mapping.")
        self._show_midi()

    def _export_asked(self) -> None:
        name, _ = QFileDialog.getSaveFileName(
            self, "Export the MIDI mapping", "mapping.fanfare-midi", MAPPING_FILTER
        )
        if name:
            self.export_mapping(Path(name))

    def _import_asked(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Import a MIDI mapping", "", MAPPING_FILTER)
        if name:
            self.import_mapping(Path(name))

    def apply(self) -> None:
        """Take the choices (the buffer heard at once in an open track); stays open with the
        reason when one cannot be taken or kept."""
        try:
            chosen = buffering_named(str(self.buffer.currentData()))
            if chosen != self.studio.buffering:
                self.studio.set_buffering(chosen)
            self.studio.set_autosave_s(float(self.autosave.value()))
        except FanfareError as exc:
            self.error.setText(str(exc))
            self.error.setVisible(True)
            return
        self.accept()
