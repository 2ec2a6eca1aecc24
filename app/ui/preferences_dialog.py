# SPDX-License-Identifier: GPL-3.0-or-later
"""Edit ▸ Preferences: the audio buffer (as the transport's Buffer picks it) and how often an
unsaved remix is autosaved. Applied on OK; kept for the next start."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import FanfareError
from app.studio.preferences import AUTOSAVE_RANGE_S, buffer_choices, buffering_named

if TYPE_CHECKING:
    from app.studio.session import Studio

#: The sample rate the buffer's latency is said at (the platform's stems and remixes).
RATE = 48_000


class PreferencesDialog(QDialog):
    def __init__(self, studio: Studio, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.studio = studio
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
