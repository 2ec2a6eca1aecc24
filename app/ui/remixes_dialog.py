# SPDX-License-Identifier: GPL-3.0-or-later
"""What fans made of one of an artist's tracks: each remix with who made it, when, how, and
where it stands; approve or refuse those waiting for review, take one down, saying why."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import FanfareError
from app.ui.workers import describe, run_task

if TYPE_CHECKING:
    from app.studio.listening import Listening
    from app.studio.session import Studio

ROW_ROLE = Qt.ItemDataRole.UserRole


def remix_line(row: dict[str, Any]) -> str:
    """A remix in two lines: title, maker, date and status; then how it was made."""
    when = time.strftime("%d %b %Y", time.localtime(int(row["created_at"])))
    disclosure = row.get("disclosure", {})
    how = f"stems: {', '.join(disclosure.get('stems_used', []))}"
    if disclosure.get("ai_used"):
        how += f"; AI: {', '.join(disclosure.get('ai_models', []))}"
    why = f" — {row['reason']}" if row.get("reason") else ""
    return f"{row['title']}  ·  by {row['by']}  ·  {when}  ·  {row['status']}{why}\n{how}"


def draft_line(draft: dict[str, Any]) -> str:
    """A draft in two lines: title, track and when it changed; then what was published from
    it."""
    when = time.strftime("%d %b %Y %H:%M", time.localtime(int(draft["updated_at"])))
    remixes = draft.get("remixes", [])
    made = (
        "published: " + ", ".join(f"{r['title']} ({r['status']})" for r in remixes)
        if remixes
        else "nothing published from it yet"
    )
    return f"{draft['title']}  ·  {draft['track_title']}  ·  saved {when}\n{made}"


class RemixesDialog(QDialog):
    """The remixes of ``track_id`` (one of the signed-in artist's tracks), to look after; or,
    with ``track_id`` None, the signed-in fan's own: their drafts kept on the platform (each
    with what was published from it; ``open_draft`` asks the window to open one), and their
    published remixes, where each stands and why."""

    #: The id of a draft to open in the studio (the window opens it).
    open_draft = Signal(str)

    def __init__(
        self, studio: Studio, track_id: str | None, title: str, parent: QWidget | None
    ) -> None:
        super().__init__(parent)
        self.studio, self.track_id = studio, track_id
        self.setWindowTitle(f"Remixes of “{title}”" if track_id else "My remixes")
        self.resize(720, 460)
        layout = QVBoxLayout(self)
        self.status = QLabel("Loading…")
        self.status.setObjectName("dim")
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.currentItemChanged.connect(lambda *_: self._enable())
        #: The fan's drafts (their own remixes only), above their published remixes.
        self.drafts = QListWidget()
        self.drafts.setWordWrap(True)
        self.drafts.currentItemChanged.connect(lambda *_: self._enable())
        self.drafts.itemActivated.connect(lambda item: self.open_draft.emit(item.data(ROW_ROLE)))
        self.open_button = QPushButton("Open draft")
        self.open_button.clicked.connect(self._open_selected)
        if track_id is None:
            drafts_label = QLabel("DRAFTS — saved projects, kept on the platform")
            drafts_label.setObjectName("dim")
            published_label = QLabel("PUBLISHED")
            published_label.setObjectName("dim")
            layout.addWidget(drafts_label)
            layout.addWidget(self.drafts, 1)
            layout.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignLeft)
            layout.addWidget(published_label)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.status)
        buttons = QHBoxLayout()
        self.listen_button = QPushButton("▶ Listen")
        self.listen_button.setToolTip("Play the selected remix (in memory, never saved)")
        self.listening: Listening | None = None
        self.approve = QPushButton("Approve")
        self.refuse = QPushButton("Refuse…")
        self.take_down = QPushButton("Take down…")
        close = QPushButton("Close")
        for button in (self.listen_button, self.approve, self.refuse, self.take_down):
            buttons.addWidget(button)
        buttons.addStretch()
        buttons.addWidget(close)
        layout.addLayout(buttons)
        self.listen_button.clicked.connect(self.listen)
        self.approve.clicked.connect(lambda: self.decide("approve"))
        self.refuse.clicked.connect(lambda: self.decide("refuse"))
        self.take_down.clicked.connect(lambda: self.decide("take down"))
        close.clicked.connect(self.accept)
        self.finished.connect(lambda _: self._stop_listening())
        for button in (self.approve, self.refuse, self.take_down):
            button.setVisible(track_id is not None)  # the artist's to decide
        self._enable()
        self.reload()

    def reload(self, then: str = "") -> None:
        studio, track_id = self.studio, self.track_id
        if track_id is None:
            run_task(
                studio.drafts,
                self._show_drafts,
                lambda error: self.status.setText(describe(error)),
            )
        run_task(
            lambda: studio.track_derivatives(track_id) if track_id else studio.derivatives(),
            lambda rows: self._show(rows, then),
            lambda error: self.status.setText(describe(error)),
        )

    def _show(self, rows: list[dict[str, Any]], then: str) -> None:
        self.list.clear()
        for row in rows:
            item = QListWidgetItem(remix_line(row))
            item.setData(ROW_ROLE, row)
            self.list.addItem(item)
        waiting = sum(1 for row in rows if row["status"] == "awaiting review")
        count = f"{len(rows)} remix{'es' if len(rows) != 1 else ''}"
        whose = "your review" if self.track_id else "the artist's review"
        self.status.setText(then or f"{count}, {waiting} waiting for {whose}.")
        self._enable()

    def _show_drafts(self, drafts: list[dict[str, Any]]) -> None:
        self.drafts.clear()
        for draft in drafts:
            item = QListWidgetItem(draft_line(draft))
            item.setData(ROW_ROLE, draft["id"])
            self.drafts.addItem(item)
        if not drafts:
            empty = QListWidgetItem("No drafts yet: File › Save keeps one here too.")
            empty.setFlags(Qt.ItemFlag.NoItemFlags)
            self.drafts.addItem(empty)
        self._enable()

    def _open_selected(self) -> None:
        item = self.drafts.currentItem()
        if item is not None and item.data(ROW_ROLE):
            self.open_draft.emit(str(item.data(ROW_ROLE)))

    def selected(self) -> dict[str, Any] | None:
        item = self.list.currentItem()
        return dict(item.data(ROW_ROLE)) if item is not None else None

    def listen(self) -> None:
        """Play the selected remix, or stop the one playing."""
        if self.listening is not None:
            self._stop_listening()
            return
        row = self.selected()
        if row is None:
            return
        studio = self.studio
        self.status.setText(f"Fetching “{row['title']}”…")
        run_task(
            lambda: studio.listen(row["id"]),
            self._play,
            lambda error: self.status.setText(describe(error)),
        )

    def _play(self, listening: Listening) -> None:
        self.listening = listening
        self.listen_button.setText("■ Stop")
        try:
            listening.play()
        except FanfareError as exc:
            self.status.setText(str(exc))
            self._stop_listening()
            return
        self.status.setText(
            f"Playing “{listening.info.title}” by {listening.info.artist} "
            f"({listening.duration_s / 60:.0f}:{listening.duration_s % 60:02.0f})."
        )

    def _stop_listening(self) -> None:
        if self.listening is not None:
            self.listening.close()
            self.listening = None
        self.listen_button.setText("▶ Listen")

    def _enable(self) -> None:
        draft = self.drafts.currentItem()
        self.open_button.setEnabled(draft is not None and bool(draft.data(ROW_ROLE)))
        row = self.selected()
        self.listen_button.setEnabled(row is not None or self.listening is not None)
        status = row["status"] if row else ""
        self.approve.setEnabled(status == "awaiting review")
        self.refuse.setEnabled(status == "awaiting review")
        self.take_down.setEnabled(status in ("published", "awaiting review"))

    def decide(self, decision: str, reason: str | None = None) -> None:
        """Apply ``decision`` to the selected remix; asks for the reason the fan will read
        when one is needed and not given."""
        row = self.selected()
        if row is None:
            return
        if reason is None and decision != "approve":
            reason, ok = QInputDialog.getText(
                self, "Why?", f"Why {decision} “{row['title']}”? {row['by']} will read this."
            )
            if not ok:
                return
        studio = self.studio
        run_task(
            lambda: studio.decide(row["id"], decision, reason or ""),
            lambda done: self.reload(then=f"“{done['title']}” is {done['status']}."),
            lambda error: self.status.setText(describe(error)),
        )
