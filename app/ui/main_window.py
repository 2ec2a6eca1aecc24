# SPDX-License-Identifier: GPL-3.0-or-later
"""The main window: the catalogue on the left, the open track on the right. Kept thin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app import APP_NAME
from app.ui.widgets.transport import clock
from app.ui.workers import describe, run_task

if TYPE_CHECKING:
    from app.core.track import TrackInfo
    from app.studio.open_track import OpenTrack
    from app.studio.session import Studio
    from app.ui.track_view import TrackView

TRACK_ID_ROLE = Qt.ItemDataRole.UserRole


class MainWindow(QMainWindow):
    """Receives its studio once it is connected (:meth:`set_studio`); owns no other state."""

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle(APP_NAME)
        self.resize(1180, 720)
        self.studio: Studio | None = None
        self.view: TrackView | None = None
        self._opening = False

        sidebar = QFrame()
        sidebar.setObjectName("sidebar")
        sidebar.setFixedWidth(300)
        side = QVBoxLayout(sidebar)
        side.setContentsMargins(14, 16, 10, 12)
        brand = QLabel("Fanfare")
        brand.setObjectName("brand")
        self.account = QLabel("Connecting…")
        self.account.setObjectName("dim")
        self.account.setWordWrap(True)
        heading = QLabel("CATALOGUE")
        heading.setObjectName("dim")
        self.catalogue = QListWidget()
        self.catalogue.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.catalogue.setWordWrap(True)
        self.catalogue.itemActivated.connect(self._open_item)
        self.catalogue.itemClicked.connect(self._open_item)
        side.addWidget(brand)
        side.addWidget(self.account)
        side.addSpacing(12)
        side.addWidget(heading)
        side.addWidget(self.catalogue, 1)

        self.stack = QStackedWidget()
        self.placeholder = QLabel("Pick a track from the catalogue to start remixing.")
        self.placeholder.setObjectName("dim")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        loading = QWidget()
        loading_layout = QVBoxLayout(loading)
        loading_layout.addStretch()
        self.loading_label = QLabel("")
        self.loading_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.loading_bar = QProgressBar()
        self.loading_bar.setRange(0, 1000)
        self.loading_bar.setMaximumWidth(360)
        loading_layout.addWidget(self.loading_label)
        loading_layout.addWidget(self.loading_bar, 0, Qt.AlignmentFlag.AlignHCenter)
        loading_layout.addStretch()
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(loading)

        body = QWidget()
        row = QHBoxLayout(body)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(sidebar)
        row.addWidget(self.stack, 1)
        self.setCentralWidget(body)
        self.statusBar().showMessage("Starting…")
        QShortcut(QKeySequence(Qt.Key.Key_Space), self, self._space)
        QShortcut(QKeySequence.StandardKey.Undo, self, self._undo)
        QShortcut(QKeySequence.StandardKey.Redo, self, self._redo)

    # --- studio and catalogue -------------------------------------------------------------------

    def set_studio(self, studio: Studio) -> None:
        self.studio = studio
        profile = studio.profile
        self.account.setText(
            f"Signed in as <b>{profile.user_name}</b> ({profile.role})<br>"
            f"<span style='font-size:8pt'>on {studio.platform_name}</span>"
        )
        for notice in studio.notices:
            self.statusBar().showMessage(notice, 10000)
        self.refresh_catalogue()

    def refresh_catalogue(self) -> None:
        assert self.studio is not None
        run_task(self.studio.tracks, self._show_tracks, self.show_error)

    def _show_tracks(self, tracks: list[TrackInfo]) -> None:
        self.catalogue.clear()
        for track in tracks:
            item = QListWidgetItem(
                f"{track.title}\n{track.artist}\n{track.bpm:g} BPM  ·  {track.key}  ·  "
                f"{clock(track.duration_s)[:-2]}"
            )
            item.setData(TRACK_ID_ROLE, track.id)
            item.setToolTip(f"{len(track.stems)} stems: {', '.join(track.stem_kinds)}")
            self.catalogue.addItem(item)
        self.statusBar().showMessage(f"{len(tracks)} tracks in the catalogue.", 5000)

    def _open_item(self, item: QListWidgetItem) -> None:
        track_id = str(item.data(TRACK_ID_ROLE))
        if self._opening or (self.view is not None and self.view.track.info.id == track_id):
            return
        self.open_track(track_id)

    def open_track(self, track_id: str) -> None:
        assert self.studio is not None
        studio = self.studio
        self._opening = True
        self._close_view()
        self.loading_label.setText("Opening…")
        self.loading_bar.setValue(0)
        self.stack.setCurrentIndex(1)
        run_task(
            lambda progress: studio.open_track(track_id, progress),
            self._show_track,
            self._open_failed,
            self._loading_progress,
        )

    def _loading_progress(self, text: str, fraction: float) -> None:
        self.loading_label.setText(text)
        self.loading_bar.setValue(int(fraction * 1000))

    def _show_track(self, track: OpenTrack) -> None:
        self._opening = False
        # Loaded with the first track: the window shows before the studio's engine is imported.
        from app.ui.track_view import TrackView

        self.view = TrackView(track)
        self.view.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.view.failed.connect(self.show_error_text)
        self.stack.addWidget(self.view)
        self.stack.setCurrentWidget(self.view)
        for row in range(self.catalogue.count()):
            if self.catalogue.item(row).data(TRACK_ID_ROLE) == track.info.id:
                self.catalogue.setCurrentRow(row)
        self.statusBar().showMessage(
            f"Opened “{track.info.title}”: stems decrypted in memory only.", 6000
        )

    def _open_failed(self, error: BaseException) -> None:
        self._opening = False
        self.stack.setCurrentIndex(0)
        self.show_error(error)

    def _close_view(self) -> None:
        if self.view is not None:
            self.view.close_track()
            self.stack.removeWidget(self.view)
            self.view.deleteLater()
            self.view = None

    # --- messages and lifecycle -----------------------------------------------------------------

    def show_error(self, error: BaseException) -> None:
        self.show_error_text(describe(error))

    def show_error_text(self, text: str) -> None:
        self.statusBar().showMessage(text, 10000)
        box = QMessageBox(
            QMessageBox.Icon.Warning, APP_NAME, text, QMessageBox.StandardButton.Ok, self
        )
        box.open()

    def _space(self) -> None:
        if self.view is not None:
            self.view.play_pause()

    def _undo(self) -> None:
        if self.view is not None:
            self.view.undo()

    def _redo(self) -> None:
        if self.view is not None:
            self.view.redo()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._close_view()
        if self.studio is not None:
            self.studio.close()
        super().closeEvent(event)
