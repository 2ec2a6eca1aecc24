# SPDX-License-Identifier: GPL-3.0-or-later
"""Publishing a remix: title, progress, and the platform's verdict."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import FanfareError
from app.studio.open_track import OpenTrack
from app.ui.workers import run_task


class PublishDialog(QDialog):
    """Renders in memory, signs and uploads; shows progress and the result. Nothing is saved."""

    def __init__(self, track: OpenTrack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.track = track
        #: The platform's record of the published remix, once it is published.
        self.published: dict[str, Any] | None = None
        self.setWindowTitle("Publish your remix")
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)
        intro = QLabel(
            f"Your remix of <b>{track.info.title}</b> by {track.info.artist} is rendered on this "
            "computer and sent to the platform, which checks it against the artist's rules "
            "before other fans can hear it. No audio file is saved here."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.title = QLineEdit(track.recipe.title)
        self.title.setMaxLength(200)
        self.title.setPlaceholderText("Title of your remix")
        layout.addWidget(self.title)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        layout.addWidget(self.progress)
        self.status = QLabel("Ready to publish.")
        self.status.setObjectName("status")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        buttons = QHBoxLayout()
        buttons.addStretch()
        self.close_button = QPushButton("Cancel")
        self.close_button.clicked.connect(self.reject)
        self.publish_button = QPushButton("Publish")
        self.publish_button.setObjectName("primary")
        self.publish_button.setDefault(True)
        self.publish_button.clicked.connect(self.start)
        buttons.addWidget(self.close_button)
        buttons.addWidget(self.publish_button)
        layout.addLayout(buttons)

    def start(self) -> None:
        title = self.title.text().strip()
        if not title:
            self.status.setText("Give your remix a title first.")
            return
        self.publish_button.setEnabled(False)
        self.title.setEnabled(False)
        self.close_button.setEnabled(False)
        run_task(
            lambda progress: self.track.publish(title=title, progress=progress),
            self._done,
            self._failed,
            self._progress,
        )

    def _progress(self, text: str, fraction: float) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.status.setText(f"{text}…")

    def _done(self, result: dict[str, Any]) -> None:
        self.published = result
        self.progress.setValue(1000)
        self.status.setText(
            f"Published “{result['title']}”: status <b>{result['status']}</b> (id {result['id']})."
        )
        self.close_button.setText("Close")
        self.close_button.setEnabled(True)
        self.close_button.clicked.disconnect()
        self.close_button.clicked.connect(self.accept)

    def _failed(self, error: BaseException) -> None:
        message = str(error) if isinstance(error, FanfareError) else f"Unexpected error: {error}"
        self.progress.setValue(0)
        self.status.setText(f"Not published. {message}")
        self.publish_button.setEnabled(True)
        self.title.setEnabled(True)
        self.close_button.setEnabled(True)
