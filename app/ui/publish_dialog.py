# SPDX-License-Identifier: GPL-3.0-or-later
"""Publishing a remix: title, an estimate for a long one, its steps as they go (rendering here,
uploading, verifying on the platform), and the platform's verdict."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.studio.open_track import OpenTrack
from app.studio.publishing import PUBLISH_STEPS, RENDERING, UPLOADING, VERIFYING
from app.ui.workers import describe, run_task

#: What each step is called on screen.
STEP_TEXT = {
    RENDERING: "Rendering on this computer",
    UPLOADING: "Uploading",
    VERIFYING: "Verifying on the platform",
}
PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
MARKS = {PENDING: "○", RUNNING: "●", DONE: "✓", FAILED: "✗"}


class StepRow:
    """One step in the dialog's list: its mark, its name, a progress bar while it runs, and
    how long it took (or, when it failed, why)."""

    def __init__(self, grid: QGridLayout, row: int, step: str) -> None:
        self.step = step
        self.state = PENDING
        self.started = 0.0
        self.mark = QLabel(MARKS[PENDING])
        self.mark.setObjectName("dim")
        self.mark.setFixedWidth(18)
        self.name = QLabel(STEP_TEXT[step])
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setFixedWidth(150)
        self.bar.setVisible(False)
        self.note = QLabel("")
        self.note.setObjectName("dim")
        self.reason = QLabel("")
        self.reason.setObjectName("error")
        self.reason.setWordWrap(True)
        self.reason.setVisible(False)
        grid.addWidget(self.mark, 2 * row, 0)
        grid.addWidget(self.name, 2 * row, 1)
        grid.addWidget(self.bar, 2 * row, 2)
        grid.addWidget(self.note, 2 * row, 3)
        grid.addWidget(self.reason, 2 * row + 1, 1, 1, 3)

    def run(self, fraction: float) -> None:
        if self.state != RUNNING:
            self.state, self.started = RUNNING, time.monotonic()
            self.mark.setText(MARKS[RUNNING])
            self.mark.setObjectName("running")
            self.bar.setVisible(True)
            self.reason.setVisible(False)
            _restyle(self.mark)
        self.bar.setValue(int(min(1.0, max(0.0, fraction)) * 1000))
        self.note.setText(f"{fraction:.0%}")

    def finish(self) -> None:
        took = time.monotonic() - self.started if self.state == RUNNING else 0.0
        self.state = DONE
        self.mark.setText(MARKS[DONE])
        self.mark.setObjectName("done")
        self.bar.setVisible(False)
        self.note.setText(f"done in {took:.1f} s" if took >= 0.1 else "done")
        _restyle(self.mark)

    def fail(self, reason: str) -> None:
        self.state = FAILED
        self.mark.setText(MARKS[FAILED])
        self.mark.setObjectName("error")
        self.bar.setVisible(False)
        self.note.setText("failed")
        self.reason.setText(reason)
        self.reason.setVisible(True)
        _restyle(self.mark)

    def reset(self) -> None:
        self.state = PENDING
        self.mark.setText(MARKS[PENDING])
        self.mark.setObjectName("dim")
        self.bar.setVisible(False)
        self.bar.setValue(0)
        self.note.setText("")
        self.reason.setVisible(False)
        _restyle(self.mark)


class PublishDialog(QDialog):
    """Renders in memory, signs and uploads; shows each step as it goes and the result.
    Nothing is saved."""

    def __init__(self, track: OpenTrack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.track = track
        #: The platform's record of the published remix, once it is published.
        self.published: dict[str, Any] | None = None
        self.setWindowTitle("Publish your remix")
        self.setMinimumWidth(500)
        layout = QVBoxLayout(self)
        intro = QLabel(
            f"Your remix of <b>{track.info.title}</b> by {track.info.artist} is rendered on this "
            "computer and sent to the platform, which checks it against the artist's rules "
            "and renders it again before other fans can hear it. No audio file is saved here."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.title = QLineEdit(track.recipe.title)
        self.title.setMaxLength(200)
        self.title.setPlaceholderText("Title of your remix")
        layout.addWidget(self.title)
        expected = track.publish_estimate()
        #: Said before starting when the remix is long to render and verify.
        self.estimate = QLabel(expected.sentence() if expected.long else "")
        self.estimate.setObjectName("dim")
        self.estimate.setWordWrap(True)
        self.estimate.setVisible(expected.long)
        layout.addWidget(self.estimate)
        grid = QGridLayout()
        grid.setColumnStretch(1, 1)
        grid.setHorizontalSpacing(10)
        self.steps = {step: StepRow(grid, row, step) for row, step in enumerate(PUBLISH_STEPS)}
        layout.addLayout(grid)
        layout.addSpacing(4)
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
        for row in self.steps.values():
            row.reset()
        self.status.setText("Publishing…")
        run_task(
            lambda progress: self.track.publish(title=title, progress=progress),
            self._done,
            self._failed,
            self._progress,
        )

    def running(self) -> str | None:
        """The step under way, if any."""
        return next((s for s, row in self.steps.items() if row.state == RUNNING), None)

    def _progress(self, step: str, fraction: float) -> None:
        if step not in self.steps:
            return
        # Steps come in order: reaching one means the ones before it are done.
        for earlier in PUBLISH_STEPS[: PUBLISH_STEPS.index(step)]:
            if self.steps[earlier].state != DONE:
                self.steps[earlier].finish()
        row = self.steps[step]
        if row.state == DONE:
            return
        row.run(fraction)
        if fraction >= 1.0:
            row.finish()

    def _done(self, result: dict[str, Any]) -> None:
        self.published = result
        for row in self.steps.values():
            if row.state != DONE:
                row.finish()
        self.status.setText(
            f"Published “{result['title']}”: status <b>{result['status']}</b> (id {result['id']})."
        )
        self.publish_button.setVisible(False)  # published: nothing more to do here
        self.close_button.setText("Close")
        self.close_button.setEnabled(True)
        self.close_button.clicked.disconnect()
        self.close_button.clicked.connect(self.accept)

    def _failed(self, error: BaseException) -> None:
        reason = describe(error)
        failed = self.running() or next(
            (s for s in PUBLISH_STEPS if self.steps[s].state == PENDING), RENDERING
        )
        self.steps[failed].fail(reason)
        self.status.setText("Not published. Change the remix or try again.")
        self.publish_button.setEnabled(True)
        self.title.setEnabled(True)
        self.close_button.setEnabled(True)


def _restyle(label: QLabel) -> None:
    """Apply the style sheet again after the object name changed."""
    label.style().unpolish(label)
    label.style().polish(label)
