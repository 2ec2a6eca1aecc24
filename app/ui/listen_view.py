# SPDX-License-Identifier: GPL-3.0-or-later
"""Listen: the garden in the window. Published remixes, newest or most played, searched or
narrowed to one track, one fan or one artist (their pages); a player with a waveform overview,
play/pause, position, volume, how the remix was made, and Download where the artist chose open.

It imports only Qt and light core modules: the studio's engine loads with the first remix."""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app.core.disclosure import describe as how_it_was_made
from app.core.errors import FanfareError
from app.ui.widgets.overview import WaveformOverview
from app.ui.widgets.transport import clock
from app.ui.workers import describe, run_task

if TYPE_CHECKING:
    from app.studio.listening import Listening
    from app.studio.session import Studio

ROW_ROLE = Qt.ItemDataRole.UserRole
SORTS = (("new", "Newest"), ("popular", "Most played"))
TICK_MS = 100


def feed_line(item: dict[str, Any]) -> str:
    """A remix in the feed, in two lines: title and maker; track, artist, length, plays and
    whether it stays on Fanfare."""
    minutes, seconds = divmod(round(float(item["duration_s"])), 60)
    kind = "Walled" if item.get("walled") else "Open"
    plays = f"{item['plays']} play{'s' if item['plays'] != 1 else ''}"
    artist = item.get("artist_name", item["artist"])
    return (
        f"{item['title']}  —  by {item['by']}\n"
        f"of “{item['track_title']}” by {artist}  ·  {minutes}:{seconds:02d}  ·  {plays}  ·  {kind}"
    )


class ListenView(QWidget):
    """The feed and its player. ``message``: a sentence for the status bar; ``failed``: an
    error the window shows (a session that ended goes to the sign-in form)."""

    message = Signal(str)
    failed = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.studio: Studio | None = None
        self.listening: Listening | None = None
        self._filter: dict[str, str] = {}
        self._next: int | None = None
        self._opening = ""
        #: Bumped by every new request and by sign-out: an answer to an older one is dropped
        #: (a remix opened then, the feed of an older search).
        self._generation = 0
        self._feed_generation = 0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 18, 24, 14)
        layout.setSpacing(10)

        heading = QLabel("Listen")
        heading.setObjectName("trackTitle")
        self.page = QLabel("Remixes fans published, newest first.")
        self.page.setObjectName("trackMeta")
        top = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search remixes, tracks and fans")
        self.search.setAccessibleName("Search remixes")
        self.search.setClearButtonEnabled(True)
        self.sort = QComboBox()
        self.sort.setAccessibleName("Sort remixes")
        for key, label in SORTS:
            self.sort.addItem(label, key)
        self.show_all = QPushButton("Show all remixes")
        self.show_all.setVisible(False)
        top.addWidget(self.search, 1)
        top.addWidget(self.sort)
        top.addWidget(self.show_all)
        self.list = QListWidget()
        self.list.setAccessibleName("Published remixes")
        self.list.setWordWrap(True)
        self.more = QPushButton("More remixes")
        self.more.setVisible(False)
        self.status = QLabel("")
        self.status.setObjectName("dim")
        self.status.setWordWrap(True)
        layout.addWidget(heading)
        layout.addWidget(self.page)
        layout.addLayout(top)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.more, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.status)
        layout.addWidget(self._player_panel())

        self._search_delay = QTimer(self)
        self._search_delay.setSingleShot(True)
        self._search_delay.setInterval(300)
        self._search_delay.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _: self._search_delay.start())
        self.search.returnPressed.connect(self.refresh)
        self.sort.currentIndexChanged.connect(lambda _: self.refresh())
        self.show_all.clicked.connect(lambda: self.show_feed())
        self.more.clicked.connect(lambda: self.refresh(more=True))
        self.list.itemActivated.connect(self._open_item)
        self.list.itemClicked.connect(self._open_item)
        self._ticker = QTimer(self)
        self._ticker.setInterval(TICK_MS)
        self._ticker.timeout.connect(self._tick)

    def _player_panel(self) -> QFrame:
        panel = QFrame()
        panel.setObjectName("strip")
        box = QVBoxLayout(panel)
        box.setContentsMargins(14, 12, 14, 12)
        self.now_title = QLabel("Pick a remix to listen to it.")
        self.now_title.setObjectName("stripName")
        self.now_by = QLabel("")
        self.now_by.setObjectName("dim")
        for label in (self.now_title, self.now_by):  # fans' words, never markup
            label.setTextFormat(Qt.TextFormat.PlainText)
        pages = QHBoxLayout()
        self.fan_page = QPushButton("More by this fan")
        self.track_page = QPushButton("More of this track")
        self.artist_page = QPushButton("More of this artist")
        for which, button in (("fan", self.fan_page), ("track", self.track_page),
                              ("artist", self.artist_page)):  # fmt: skip
            button.setEnabled(False)
            button.clicked.connect(lambda _=False, w=which: self._page_of(w))
            pages.addWidget(button)
        pages.addStretch()
        self.how = QLabel("")
        self.how.setObjectName("policy")
        self.how.setWordWrap(True)
        self.how.setVisible(False)
        self.overview = WaveformOverview()
        self.overview.seek.connect(self._seek)
        controls = QHBoxLayout()
        self.play_button = QPushButton("▶")
        self.play_button.setObjectName("transport")
        self.play_button.setAccessibleName("Play or pause")
        self.play_button.setEnabled(False)
        self.play_button.clicked.connect(self.play_pause)
        self.clock = QLabel("0:00.0 / 0:00.0")
        self.clock.setObjectName("clock")
        volume_label = QLabel("Volume")
        volume_label.setObjectName("dim")
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setAccessibleName("Volume")
        self.volume.setRange(-60, 6)
        self.volume.setValue(0)
        self.volume.setMaximumWidth(160)
        self.volume.valueChanged.connect(self._set_volume)
        self.volume_value = QLabel("0 dB")
        self.volume_value.setObjectName("gainLabel")
        self.download = QPushButton("Download…")
        self.download.setEnabled(False)
        self.download.clicked.connect(self._download)
        self.report = QPushButton("Report…")
        self.report.setToolTip("Tell the moderators what is wrong with this remix")
        self.report.setEnabled(False)
        self.report.clicked.connect(self._report)
        self.kind = QLabel("")
        self.kind.setObjectName("dim")
        controls.addWidget(self.play_button)
        controls.addWidget(self.clock)
        controls.addSpacing(16)
        controls.addWidget(volume_label)
        controls.addWidget(self.volume)
        controls.addWidget(self.volume_value)
        controls.addStretch()
        controls.addWidget(self.kind)
        controls.addWidget(self.download)
        controls.addWidget(self.report)
        for widget in (self.now_title, self.now_by):
            box.addWidget(widget)
        box.addLayout(pages)
        box.addWidget(self.how)
        box.addWidget(self.overview)
        box.addLayout(controls)
        return panel

    # --- the feed ---------------------------------------------------------------------------------

    def set_studio(self, studio: Studio | None) -> None:
        """The signed-in studio (None: signed out): the feed is fetched again."""
        self.close_listening()
        self._generation += 1
        self._feed_generation += 1
        self._opening = ""
        self.studio = studio
        self.list.clear()
        self._clear_player()
        if studio is not None:
            self.show_feed()

    def show_feed(
        self, *, track: str = "", fan: str = "", artist: str = "", title: str = ""
    ) -> None:
        """Every published remix, or one track's, one fan's or one artist's (their page)."""
        self._filter = {k: v for k, v in (("track", track), ("fan", fan), ("artist", artist)) if v}
        if track:
            self.page.setText(f"Remixes of “{title or track}”.")
        elif fan:
            self.page.setText(f"Remixes by {fan}.")
        elif artist:
            self.page.setText(f"Remixes of {title or artist}'s tracks.")
        else:
            self.page.setText("Remixes fans published, newest first.")
        self.show_all.setVisible(bool(self._filter))
        self.refresh()

    def refresh(self, more: bool = False) -> None:
        if self.studio is None:
            return
        garden = self.studio.garden
        query = dict(self._filter) | {
            "sort": self.sort.currentData(),
            "q": self.search.text().strip() or None,
            "offset": self._next if more and self._next is not None else 0,
        }
        self.status.setText("Loading…")
        self._feed_generation += 1
        asked = self._feed_generation
        run_task(
            lambda: garden.feed(**query),
            lambda page: self._show_page(page, more, asked),
            lambda error: self._failed(error) if asked == self._feed_generation else None,
        )

    def _show_page(self, page: dict[str, Any], more: bool, asked: int) -> None:
        if asked != self._feed_generation:
            return  # an answer to an older search or page: a newer one is on its way
        if not more:
            self.list.clear()
        for item in page["items"]:
            row = QListWidgetItem(feed_line(item))
            row.setData(ROW_ROLE, item)
            row.setToolTip("\n".join(how_it_was_made(item["disclosure"]))
                           if "stems" in item.get("disclosure", {}) else "")  # fmt: skip
            self.list.addItem(row)
        self._next = page.get("next")
        self.more.setVisible(self._next is not None)
        count = self.list.count()
        self.status.setText(
            f"{count} remix{'es' if count != 1 else ''}." if count else "No remixes here yet."
        )

    # --- the player -------------------------------------------------------------------------------

    def _open_item(self, item: QListWidgetItem) -> None:
        self.open_remix(str(item.data(ROW_ROLE)["id"]))

    def open_remix(self, derivative_id: str) -> None:
        """Fetch, license and play a remix (from the feed, or a track's, fan's or artist's page)."""
        if self.studio is None or self._opening == derivative_id:
            return
        if self.listening is not None and self.listening.doc["id"] == derivative_id:
            return
        self.close_listening()
        self._generation += 1
        asked = self._generation
        self._opening = derivative_id
        studio = self.studio
        self.status.setText("Opening the remix…")
        run_task(
            lambda: studio.listen(derivative_id),
            lambda listening: self._play(listening, asked),
            lambda error: self._open_failed(error, asked),
        )

    def _open_failed(self, error: BaseException, asked: int) -> None:
        if asked != self._generation:
            return
        self._opening = ""
        self._failed(error)

    def _play(self, listening: Listening, asked: int) -> None:
        if asked != self._generation:  # another remix was clicked, or the account changed
            run_task(listening.close, lambda _: None, lambda _: None)
            return
        self._opening = ""
        self.close_listening()
        self.listening = listening
        doc = listening.doc
        self.now_title.setText(doc["title"])
        self.now_by.setText(
            f"by {doc['by']}  ·  a remix of “{doc['track_title']}” by "
            f"{doc.get('artist_name', doc.get('artist', ''))}"
        )
        disclosure = doc.get("disclosure", {})
        lines = how_it_was_made(disclosure) if "stems" in disclosure else []
        self.how.setText("<br>".join(html.escape(line) for line in lines))
        self.how.setVisible(bool(lines))
        peaks = list(base64.b64decode(doc.get("overview", ""))) if doc.get("overview") else []
        self.overview.set_remix(peaks, listening.duration_s)
        walled = bool(doc.get("walled", True))
        self.kind.setText("Walled: streams on Fanfare only" if walled else "Open: downloadable")
        self.download.setEnabled(bool(doc.get("downloadable")))
        self.report.setEnabled(True)
        self._wire_pages(doc)
        self.play_button.setEnabled(True)
        self._set_volume(self.volume.value())
        self.status.setText(f"Playing “{doc['title']}”: decrypted in memory, never saved.")
        try:
            listening.play()
        except FanfareError as exc:
            self.status.setText(str(exc))
            self.message.emit(str(exc))
        self._ticker.start()
        self._tick()

    def _wire_pages(self, doc: dict[str, Any]) -> None:
        """The page buttons name this remix's fan, track and artist."""
        self.fan_page.setText(f"More by {doc['by']}")
        self.track_page.setText(f"More of “{doc['track_title']}”")
        artist = str(doc.get("artist_name") or doc.get("artist", ""))
        self.artist_page.setText(f"More of {artist}" if artist else "More of this artist")
        self.fan_page.setEnabled(True)
        self.track_page.setEnabled(True)
        self.artist_page.setEnabled(bool(artist))

    def _page_of(self, which: str) -> None:
        """The feed narrowed to the playing remix's fan, track or artist."""
        if self.listening is None:
            return
        doc = self.listening.doc
        if which == "fan":
            self.show_feed(fan=doc["by"])
        elif which == "track":
            self.show_feed(track=doc["track_id"], title=doc["track_title"])
        else:
            self.show_feed(artist=doc["artist"], title=doc.get("artist_name", doc["artist"]))

    def play_pause(self) -> None:
        listening = self.listening
        if listening is None:
            return
        if listening.playing:
            listening.pause()
        else:
            try:
                if listening.position_s >= listening.duration_s - 0.05:
                    listening.seek(0.0)
                listening.play()
            except FanfareError as exc:
                self.status.setText(str(exc))
                self.message.emit(str(exc))
        self._tick()

    def _seek(self, seconds: float) -> None:
        if self.listening is not None:
            self.listening.seek(seconds)
            self._tick()

    def _set_volume(self, db: int) -> None:
        self.volume_value.setText(f"{db:+d} dB" if db else "0 dB")
        if self.listening is not None:
            self.listening.set_volume(float(db))

    def _tick(self) -> None:
        listening = self.listening
        if listening is None:
            return
        position = listening.position_s
        self.overview.set_position(position)
        self.clock.setText(f"{clock(position)} / {clock(listening.duration_s)}")
        self.play_button.setText("❚❚" if listening.playing else "▶")
        for notice in listening.take_notices():
            self.status.setText(notice.text)
            self.message.emit(notice.text)

    def _download(self) -> None:
        listening, studio = self.listening, self.studio
        if listening is None or studio is None:
            return
        doc = listening.doc
        name = "".join(c if c.isalnum() or c in " -_" else "_" for c in doc["title"]).strip()
        path, _ = QFileDialog.getSaveFileName(
            self, "Download the remix", f"{name or doc['id']}.flac", "FLAC audio (*.flac)"
        )
        if not path:
            return
        from pathlib import Path

        target = Path(path)
        self.status.setText(f"Downloading “{doc['title']}”…")
        run_task(
            lambda: studio.garden.download(doc["id"], target),
            lambda size: self.status.setText(
                f"Saved {target.name} ({size / 1e6:.1f} MB, as published, with its credits)."
            ),
            self._failed,
        )

    def ask_reason(self, title: str) -> str | None:
        """The listener's reason for reporting ``title`` (None: they changed their mind)."""
        text, ok = QInputDialog.getText(
            self, "Report this remix", f"What is wrong with “{title}”? The moderators read it."
        )
        return text if ok else None

    def _report(self) -> None:
        listening, studio = self.listening, self.studio
        if listening is None or studio is None:
            return
        doc = listening.doc
        reason = self.ask_reason(doc["title"])
        if reason is None or not reason.strip():
            return
        self.status.setText(f"Reporting “{doc['title']}”…")
        self.report.setEnabled(False)
        run_task(
            lambda: studio.garden.report(doc["id"], reason),
            lambda _: self.status.setText(
                f"Reported “{doc['title']}”: the moderators will look at it. Thank you."
            ),
            self._failed,
        )

    def _failed(self, error: BaseException) -> None:
        self.status.setText(describe(error))
        self.failed.emit(error)

    def _clear_player(self) -> None:
        self.now_title.setText("Pick a remix to listen to it.")
        self.now_by.setText("")
        self.how.setVisible(False)
        self.overview.set_remix([], 0.0)
        self.clock.setText("0:00.0 / 0:00.0")
        self.kind.setText("")
        for widget in (self.play_button, self.download, self.report, self.fan_page,
                       self.track_page, self.artist_page):  # fmt: skip
            widget.setEnabled(False)

    def close_listening(self) -> None:
        """Stop and close the remix playing, if any (a remix still opening is dropped)."""
        self._generation += 1
        self._opening = ""
        self._ticker.stop()
        if self.listening is not None:
            self.listening.close()
            self.listening = None
            self.play_button.setText("▶")
