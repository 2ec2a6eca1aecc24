# SPDX-License-Identifier: GPL-3.0-or-later
"""The main window: the catalogue on the left, the open track on the right. Kept thin."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app import APP_NAME
from app.core.errors import FanfareError
from app.core.project import Project
from app.core.recipe import Recipe
from app.studio.errors import NotSignedInError
from app.ui.listen_view import ListenView
from app.ui.menus import NUDGE_S, build_menus
from app.ui.project_flow import ProjectFlow
from app.ui.widgets.transport import clock
from app.ui.workers import describe, run_task

if TYPE_CHECKING:
    from app.core.track import TrackInfo
    from app.studio.artist import OwnTrack
    from app.studio.open_track import OpenTrack
    from app.studio.session import Studio
    from app.ui.midi_bridge import MidiBridge
    from app.ui.policy_editor import PolicyEditor
    from app.ui.remixes_dialog import RemixesDialog
    from app.ui.track_view import TrackView
    from app.ui.upload_dialog import UploadDialog

#: A mapped transport button → the menu command it runs.
MIDI_COMMANDS = {
    "transport.play": "play_pause", "transport.stop": "stop", "transport.loop": "loop",
    "transport.record": "record", "transport.start": "go_start", "transport.end": "go_end",
}  # fmt: skip
#: The catalogue's width at start, and the narrowest it is dragged to (px).
SIDEBAR_WIDTH = 260
SIDEBAR_MIN_WIDTH = 190
#: How often the title and the Edit menu catch up with the remix (ms).
STATE_INTERVAL_MS = 250
TRACK_ID_ROLE = Qt.ItemDataRole.UserRole
STATE_ROLE = Qt.ItemDataRole.UserRole + 1
#: The state changes My tracks offers: (state, menu text).
STATE_ACTIONS = (
    ("live", "Go live: open to remixes"),
    ("paused", "Pause: no new remixes"),
    ("withdrawn", "Withdraw: hide its remixes, revoke fans' licences…"),
)


class MainWindow(QMainWindow):
    """Receives its studio once it is connected (:meth:`set_studio`); owns no other state.

    Signing in and out is the application's to do: the window asks for it with its signals.
    """

    #: The account menu's "Sign in as another account…".
    switch_account = Signal()
    #: The account menu's "Sign out".
    sign_out = Signal()
    #: The platform refused this session (it ran out, or was ended): the sentence why.
    session_ended = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle(APP_NAME)
        self.resize(1180, 720)
        self.studio: Studio | None = None
        self.view: TrackView | None = None
        #: View ▸ Stem lanes as the user chose it; None: shown where they fit.
        self._lanes_choice: bool | None = None
        self.policy_editor: PolicyEditor | None = None
        self.remixes_dialog: RemixesDialog | None = None
        self.upload_dialog: UploadDialog | None = None
        self._opening = False
        self.preferences_dialog: QWidget | None = None

        sidebar = QFrame()
        sidebar.setObjectName("sidebar")
        sidebar.setMinimumWidth(SIDEBAR_MIN_WIDTH)
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
        self.catalogue.setAccessibleName("Catalogue")
        self.catalogue.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.catalogue.setWordWrap(True)
        self.catalogue.itemActivated.connect(self._open_item)
        self.catalogue.itemClicked.connect(self._open_item)
        # An artist's own tracks, whatever their state, above the catalogue.
        self.own_heading = QLabel("MY TRACKS")
        self.own_heading.setObjectName("dim")
        self.own_tracks = QListWidget()
        self.own_tracks.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.own_tracks.setWordWrap(True)
        self.own_tracks.itemActivated.connect(self._open_item)
        self.own_tracks.itemClicked.connect(self._open_item)
        self.own_tracks.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.own_tracks.customContextMenuRequested.connect(self._own_track_menu)
        side.addWidget(brand)
        side.addWidget(self.account)
        side.addSpacing(12)
        side.addWidget(self.own_heading)
        side.addWidget(self.own_tracks)
        side.addWidget(heading)
        side.addWidget(self.catalogue, 1)
        self._show_own_tracks([])

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

        # Listen: the garden's feed and player, beside the studio.
        self.listen = ListenView()
        self.listen.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.listen.failed.connect(self.show_error)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Studio and Listen")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.stack, "Studio")
        self.tabs.addTab(self.listen, "Listen")

        # The catalogue's width is the user's to drag; the studio takes the rest.
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(sidebar)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([SIDEBAR_WIDTH, 1000])
        self.setCentralWidget(self.splitter)
        self.statusBar().showMessage("Starting…")
        self.projects = ProjectFlow(
            self, lambda: self.studio, self._open, self._open_project, self._show_state
        )
        self._pending: tuple[Project, Path | None, bool] | None = None
        #: A project to open once signed in (``fanfare project open FILE``).
        self.open_at_start: Path | None = None
        #: Every command of the menus by name (MIDI's transport buttons run them too).
        self._commands: dict[str, Callable[[], object]] = {
            "new": self.new_remix,
            "open": lambda: self.projects.open_file(),
            "save": self.projects.save,
            "save_as": lambda: self.projects.save_as(),
            "revert": self.projects.revert,
            "publish": lambda: self._on_view(lambda v: v.open_publish()),
            "undo": self._undo,
            "redo": self._redo,
            "arrange": lambda: self._on_view(lambda v: v.open_arrangement()),
            "clear_moves": lambda: self._on_view(lambda v: v.clear_moves()),
            "preferences": self.show_preferences,
            "show_studio": lambda: self.tabs.setCurrentWidget(self.stack),
            "show_listen": lambda: self.tabs.setCurrentWidget(self.listen),
            "full_screen": self._full_screen,
            "lanes": self._choose_lanes,
            "zoom_in": lambda: self._on_view(lambda v: v.timeline.zoom_in.click()),
            "zoom_out": lambda: self._on_view(lambda v: v.timeline.zoom_out.click()),
            "zoom_fit": lambda: self._on_view(lambda v: v.timeline.fit_button.click()),
            "play_pause": self._space,
            "stop": lambda: self._on_view(lambda v: v.stop()),
            "loop": lambda: self._on_view(lambda v: v.toggle_loop()),
            "record": lambda: self._on_view(lambda v: v.toggle_record()),
            "record_take": lambda: self._on_view(lambda v: v.record_take()),
            "record_panel": lambda: self._on_view(
                lambda v: v.show_record_panel(not v.record_toggle.isChecked())
            ),
            "go_start": lambda: self._on_view(lambda v: v.go_to(0.0)),
            "go_end": lambda: self._on_view(lambda v: v.go_to(v.track.duration_s)),
            "nudge_back": lambda: self._on_view(lambda v: v.nudge(-NUDGE_S)),
            "nudge_forward": lambda: self._on_view(lambda v: v.nudge(NUDGE_S)),
        }
        self.menus = build_menus(self, self._commands)
        self.menus.recent.aboutToShow.connect(self._fill_recent)
        account_menu = self.menus.account
        assert account_menu is not None
        self.switch_action = QAction("Sign in as another account…", self)
        self.switch_action.triggered.connect(
            lambda: self._leave_then("signing in as another account", self.switch_account.emit)
        )
        self.sign_out_action = QAction("Sign out", self)
        self.sign_out_action.triggered.connect(
            lambda: self._leave_then("signing out", self.sign_out.emit)
        )
        self.upload_action = QAction("Upload a track…", self)
        self.upload_action.triggered.connect(self.upload_track)
        self.upload_action.setVisible(False)  # for artists
        self.my_remixes_action = QAction("My remixes…", self)
        self.my_remixes_action.triggered.connect(self.show_my_remixes)
        self.my_remixes_action.setEnabled(False)
        account_menu.addAction(self.my_remixes_action)
        account_menu.addAction(self.upload_action)
        account_menu.addAction(self.switch_action)
        account_menu.addAction(self.sign_out_action)
        self.sign_out_action.setEnabled(False)
        # The title's "*", Undo's name, what needs a track: kept up with the remix.
        self._state_timer = QTimer(self)
        self._state_timer.setInterval(STATE_INTERVAL_MS)
        self._state_timer.timeout.connect(self._show_state)
        self._state_timer.start()
        self._show_state()
        #: MIDI controllers (``midi_bridge``), started after the first paint.
        self.midi: MidiBridge | None = None
        QTimer.singleShot(0, self._start_midi)

    # --- studio and catalogue -------------------------------------------------------------------

    def set_studio(self, studio: Studio) -> None:
        """Show ``studio``'s account and catalogue (again, after signing in as another)."""
        self._close_view()
        self.stack.setCurrentIndex(0)
        self.studio = studio
        self.projects.timer.setInterval(int(studio.autosave_s * 1000))
        profile = studio.profile
        self.account.setText(
            f"Signed in as <b>{profile.user_name}</b> ({profile.role})<br>"
            f"<span style='font-size:8pt'>on {studio.platform_name}</span>"
        )
        self.sign_out_action.setEnabled(True)
        self.upload_action.setVisible(profile.role in ("artist", "admin"))
        self.my_remixes_action.setEnabled(True)
        for notice in studio.notices:
            self.statusBar().showMessage(notice, 10000)
        self.listen.set_studio(studio)
        self.refresh_catalogue()
        if self.open_at_start is not None:
            path, self.open_at_start = self.open_at_start, None
            QTimer.singleShot(0, lambda: self.projects.open_file(path))
        else:
            QTimer.singleShot(0, self.projects.offer_restore)

    def clear_studio(self, text: str = "Not signed in.") -> None:
        """Signed out: no track, no catalogue, no account."""
        self._close_view()
        self.stack.setCurrentIndex(0)
        self.studio = None
        self.listen.set_studio(None)
        self.catalogue.clear()
        self._show_own_tracks([])
        self.account.setText(text)
        self.sign_out_action.setEnabled(False)
        self.upload_action.setVisible(False)
        self.my_remixes_action.setEnabled(False)

    def refresh_catalogue(self, then: str = "") -> None:
        """Fetch the catalogue (and an artist's own tracks) again; ``then``: the message to
        show once it is in, instead of the count."""
        assert self.studio is not None
        studio = self.studio

        def fetch() -> tuple[list[TrackInfo], list[OwnTrack], dict[str, Any] | None]:
            own = studio.own_tracks()
            return studio.tracks(), own, studio.garden.earnings() if own else None

        run_task(
            fetch,
            lambda found: self._show_catalogue(found[0], found[1], found[2], then),
            self.show_error,
        )

    def _show_catalogue(
        self,
        tracks: list[TrackInfo],
        own: list[OwnTrack],
        earnings: dict[str, Any] | None,
        then: str,
    ) -> None:
        self._show_tracks(tracks)
        self._show_own_tracks(own, earnings)
        if then:
            self.statusBar().showMessage(then, 10000)

    def _show_own_tracks(self, own: list[OwnTrack], earnings: dict[str, Any] | None = None) -> None:
        """An artist's tracks with where each stands and what its remixes' plays earned;
        hidden for anyone with none."""
        self.own_tracks.clear()
        earned: dict[str, list[int]] = {}
        for row in (earnings or {}).get("derivatives", []):
            if row["as"] == "artist":
                plays_and_micro = earned.setdefault(row["track_id"], [0, 0])
                plays_and_micro[0] += row["plays"]
                plays_and_micro[1] += row["amount_micro"]
        currency = (earnings or {}).get("currency", "")
        for track in own:
            plays, micro = earned.get(track.info.id, [0, 0])
            pay = f"\nEarned {micro / 1e6:.2f} {currency} · {plays} play{'s' if plays != 1 else ''}"
            item = QListWidgetItem(f"{track.info.title}\n{track.state_words}{pay}")
            item.setData(TRACK_ID_ROLE, track.info.id)
            item.setData(STATE_ROLE, track.state)
            item.setToolTip(
                f"{track.info.title}: {track.state_words}. Right-click to change where it stands."
            )
            self.own_tracks.addItem(item)
        self.own_heading.setVisible(bool(own))
        self.own_tracks.setVisible(bool(own))
        if own:  # as tall as its rows, up to four, so the catalogue keeps the rest
            rows = min(len(own), 4)
            self.own_tracks.setFixedHeight(self.own_tracks.sizeHintForRow(0) * rows + 12)

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

    def _own_track_menu(self, where: QPoint) -> None:
        item = self.own_tracks.itemAt(where)
        if item is None or self.studio is None:
            return
        menu = QMenu(self)
        track_id = str(item.data(TRACK_ID_ROLE))
        menu.addAction("Edit policy…").triggered.connect(lambda: self.edit_policy(track_id))
        title = item.text().split("\n", 1)[0]
        menu.addAction("Remixes fans made…").triggered.connect(
            lambda: self.show_remixes(track_id, title)
        )
        menu.addSeparator()
        current = str(item.data(STATE_ROLE))
        for state, text in STATE_ACTIONS:
            action = menu.addAction(text)
            action.setEnabled(state != current)
            action.setData(state)
        chosen = menu.exec(self.own_tracks.viewport().mapToGlobal(where))
        if chosen is not None:
            self.change_state(str(item.data(TRACK_ID_ROLE)), str(chosen.data()))

    def upload_track(self) -> None:
        """The upload dialog: a new track from stem files, as a draft."""
        from app.ui.upload_dialog import UploadDialog

        assert self.studio is not None
        self.upload_dialog = UploadDialog(self.studio, self)
        self.upload_dialog.uploaded.connect(
            lambda track: self.refresh_catalogue(
                then=f"“{track.info.title}” is uploaded: {track.state_words}."
            )
        )
        self.upload_dialog.show()

    def show_my_remixes(self) -> None:
        """The remixes this account published: where each stands, and why one was stopped."""
        from app.ui.remixes_dialog import RemixesDialog

        assert self.studio is not None
        self.remixes_dialog = RemixesDialog(self.studio, None, "", self)
        self.remixes_dialog.open_draft.connect(self.open_draft)
        self.remixes_dialog.show()

    def open_draft(self, project_id: str) -> None:
        """Open a draft kept on the platform (from My remixes): on this machine's file of it,
        when there is one, else fresh from the platform."""
        studio = self.studio
        if studio is None or not self.projects.may_leave("opening a draft"):
            return
        path = studio.projects.path_of(project_id)
        run_task(
            lambda: studio.draft(project_id),
            lambda project: self._open_project(project, path, False),
            self.show_error,
        )

    def show_remixes(self, track_id: str, title: str) -> None:
        """What fans made of one of the artist's tracks, to approve, refuse or take down."""
        from app.ui.remixes_dialog import RemixesDialog

        assert self.studio is not None
        self.remixes_dialog = RemixesDialog(self.studio, track_id, title, self)
        self.remixes_dialog.show()

    def edit_policy(self, track_id: str) -> None:
        """The policy editor for one of the artist's tracks, as the platform has it now."""
        assert self.studio is not None
        studio = self.studio
        run_task(
            lambda: (studio.own_track(track_id), studio.offered_models()),
            lambda found: self._show_policy_editor(*found),
            self.show_error,
        )

    def _show_policy_editor(self, track: OwnTrack, models: list[Any]) -> None:
        from app.ui.policy_editor import PolicyEditor

        if self.policy_editor is not None:
            self.policy_editor.close()
        self.policy_editor = editor = PolicyEditor(track, self, [dict(m) for m in models])
        editor.preview.connect(lambda track_id, draft: self.open_track(track_id, draft))
        editor.save.connect(self._save_policy)
        editor.show()

    def _save_policy(self, track_id: str, draft: dict[str, Any]) -> None:
        assert self.studio is not None
        studio = self.studio

        def saved(track: OwnTrack) -> None:
            if self.policy_editor is not None:
                self.policy_editor.close()
                self.policy_editor = None
            self.refresh_catalogue(
                then=f"“{track.info.title}”: policy version {track.policy_version} saved; new "
                "licences carry it, licences in force keep theirs until they renew."
            )

        def refused(error: BaseException) -> None:
            if self.policy_editor is not None:
                self.policy_editor.error.setText(describe(error))
                self.policy_editor.error.setVisible(True)

        run_task(lambda: studio.save_policy(track_id, draft), saved, refused)

    def change_state(self, track_id: str, state: str) -> None:
        """Move one of the artist's tracks to ``state`` (withdrawing asks first)."""
        assert self.studio is not None
        studio = self.studio
        if state == "withdrawn":
            sure = QMessageBox.question(
                self,
                APP_NAME,
                "Withdraw this track? Its remixes are hidden from everyone, and fans' licences "
                "are revoked the next time their studio checks in. You can make it live again.",
            )
            if sure != QMessageBox.StandardButton.Yes:
                return

        def changed(result: tuple[OwnTrack, int]) -> None:
            track, revoked = result
            note = f"; {revoked} fan licence(s) revoked" if revoked else ""
            self.refresh_catalogue(then=f"“{track.info.title}” is {track.state_words}{note}.")

        run_task(lambda: studio.set_track_state(track_id, state), changed, self.show_error)

    def _open_item(self, item: QListWidgetItem) -> None:
        track_id = str(item.data(TRACK_ID_ROLE))
        self.tabs.setCurrentWidget(self.stack)
        if self._opening or (self.view is not None and self.view.track.info.id == track_id):
            return
        if not self.projects.may_leave("opening another track"):
            self._select_open_track()
            return
        self.open_track(track_id)

    def new_remix(self) -> None:
        """File ▸ New remix: the open track again, from the track as written."""
        if self.view is None or self._opening:
            return
        if self.projects.may_leave("starting a new remix"):
            self.open_track(self.view.track.info.id)

    def _open_project(self, project: Project, path: Path | None, restored: bool) -> None:
        """Open ``project``'s track (the unsaved changes of the remix open were dealt with),
        then make the project the remix there."""
        self._pending = (project, path, restored)
        self.tabs.setCurrentWidget(self.stack)
        if self.view is not None and self.view.track.info.id == project.recipe.track_id:
            self._apply_pending(self.view.track)
            return
        self.open_track(project.recipe.track_id, keep_pending=True)

    def _apply_pending(self, track: OpenTrack) -> None:
        pending, self._pending = self._pending, None
        if pending is None or pending[0].recipe.track_id != track.info.id:
            self.projects.opened(None)
            return
        project, path, restored = pending
        try:
            notes = track.open_project(project)
        except (FanfareError, ValueError) as exc:
            self.projects.opened(None)
            self.show_error_text(f"“{project.title}” could not be opened: {describe(exc)}")
            return
        if restored:  # what the file holds is older than the work restored
            track.mark_saved(self._saved_recipe(path, track))
        if self.view is not None:
            self.view.show_recipe()
        self.projects.opened(path)
        where = f" from {path.name}" if path is not None else ""
        self.statusBar().showMessage(f"Opened “{project.title}”{where}.", 6000)
        if notes:
            self.show_error_text(" ".join(notes))

    def _saved_recipe(self, path: Path | None, track: OpenTrack) -> Recipe:
        """What the project file at ``path`` holds (the track as written when there is none,
        or it cannot be read)."""
        if path is not None and self.studio is not None:
            try:
                return self.studio.projects.open(path).recipe
            except FanfareError:
                pass
        return Recipe.default_for(track.info)

    def _select_open_track(self) -> None:
        """The catalogue's selection back on the open track (a switch was cancelled)."""
        if self.view is None:
            return
        for row in range(self.catalogue.count()):
            if self.catalogue.item(row).data(TRACK_ID_ROLE) == self.view.track.info.id:
                self.catalogue.setCurrentRow(row)

    def open_track(
        self,
        track_id: str,
        preview_policy: dict[str, Any] | None = None,
        *,
        keep_pending: bool = False,
    ) -> None:
        """Open a track to remix; ``preview_policy``: the artist's preview of a draft;
        ``keep_pending``: then make the project being opened the remix there."""
        assert self.studio is not None
        studio = self.studio
        if not keep_pending:
            self._pending = None
        self._opening = True
        self._close_view()
        self.loading_label.setText("Opening…")
        self.loading_bar.setValue(0)
        self.stack.setCurrentIndex(1)
        run_task(
            lambda progress: studio.open_track(track_id, progress, preview_policy),
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
        self.view.midi = self.midi
        if self.menus.lanes is not None:
            self.view.timeline.canvas.lanes_toggled.connect(self.menus.lanes.setChecked)
            self.menus.lanes.setChecked(self.view.timeline.canvas.lanes_shown)
        self.view.show_lanes(self._lanes_choice)
        self.view.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.view.failed.connect(self.show_error_text)
        self.view.remixes_requested.connect(self.show_remixes_of)
        self.stack.addWidget(self.view)
        self.stack.setCurrentWidget(self.view)
        for row in range(self.catalogue.count()):
            if self.catalogue.item(row).data(TRACK_ID_ROLE) == track.info.id:
                self.catalogue.setCurrentRow(row)
        self.statusBar().showMessage(
            f"Opened “{track.info.title}”: stems decrypted in memory only.", 6000
        )
        self._apply_pending(track)

    def _open_failed(self, error: BaseException) -> None:
        self._opening = False
        self._pending = None
        self.projects.opened(None)
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
        if isinstance(error, NotSignedInError):  # the sign-in form, not a message box
            self.session_ended.emit(describe(error))
            return
        self.show_error_text(describe(error))

    def show_error_text(self, text: str) -> None:
        self.statusBar().showMessage(text, 10000)
        box = QMessageBox(
            QMessageBox.Icon.Warning, APP_NAME, text, QMessageBox.StandardButton.Ok, self
        )
        box.open()

    def _space(self) -> None:
        if self.tabs.currentWidget() is self.listen:
            self.listen.play_pause()
        elif self.view is not None:
            self.view.play_pause()

    def show_remixes_of(self, track_id: str, title: str) -> None:
        """The Listen tab, on one track's published remixes (the track's page)."""
        self.listen.show_feed(track=track_id, title=title)
        self.tabs.setCurrentWidget(self.listen)

    def _undo(self) -> None:
        if self.view is not None:
            self.view.undo()
        self._show_state()

    def _redo(self) -> None:
        if self.view is not None:
            self.view.redo()
        self._show_state()

    def show_preferences(self) -> None:
        """Edit ▸ Preferences: the buffer and the autosave interval, applied on OK; MIDI."""
        from app.ui.preferences_dialog import PreferencesDialog

        if self.studio is None:
            return
        dialog = PreferencesDialog(self.studio, self.midi, self)
        self.preferences_dialog = dialog

        def taken() -> None:
            assert self.studio is not None
            self.projects.timer.setInterval(int(self.studio.autosave_s * 1000))
            if self.view is not None:
                self.view.transport.show_buffer(self.studio.buffering.name)

        dialog.accepted.connect(taken)
        dialog.open()

    def _leave_then(self, doing: str, then: Callable[[], None]) -> None:
        if self.projects.may_leave(doing):
            then()

    def _open(self) -> OpenTrack | None:
        return self.view.track if self.view is not None else None

    def _on_view(self, do: Callable[[TrackView], object]) -> None:
        if self.view is not None:
            do(self.view)
            self._show_state()

    def _choose_lanes(self) -> None:
        """View ▸ Stem lanes, chosen: kept for every track from now on (until chosen, the
        lanes show where the window has the room for them and the mixer)."""
        assert self.menus.lanes is not None
        self._lanes_choice = self.menus.lanes.isChecked()
        self._on_view(lambda v: v.show_lanes(self._lanes_choice))

    def _full_screen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    def _fill_recent(self) -> None:
        menu = self.menus.recent
        menu.clear()
        entries = self.studio.projects.recent() if self.studio is not None else []
        for entry in entries:
            label = f"{entry.title} — {entry.track_title}" if entry.track_title else entry.title
            action = menu.addAction(label)
            action.setToolTip(str(entry.path))
            action.triggered.connect(lambda _=False, p=entry.path: self.projects.open_file(p))
        if not entries:
            menu.addAction("No recent remixes").setEnabled(False)

    def _show_state(self) -> None:
        """The title (remix, file, "*" when it has unsaved changes), Undo's and Redo's names,
        and which commands need an open remix."""
        track = self._open()
        if track is None:
            self.setWindowTitle(APP_NAME)
            self.setWindowModified(False)
            self.menus.show_history(None, None)
            self.menus.show_track(False, False, False)
            return
        self.setWindowTitle(f"{self.projects.name}[*] — {track.info.title} — {APP_NAME}")
        self.setWindowModified(track.modified)
        self.menus.show_history(track.undo_name, track.redo_name)
        self.menus.show_track(True, self.projects.path is not None, track.modified)

    # --- MIDI controllers ----------------------------------------------------------------------

    def _start_midi(self) -> None:
        from app.studio.profile import StudioPaths
        from app.ui.midi_bridge import MidiBridge

        if self.midi is not None:
            return
        self.midi = MidiBridge(StudioPaths.default().midi_mapping_file, self)
        self.midi.moved.connect(self._midi_moved)
        self.midi.learned.connect(self._midi_learned)
        if self.view is not None:
            self.view.midi = self.midi

    def _midi_moved(self, control: str, value: float) -> None:
        """A mapped control on a controller: the transport's here, a strip's on the view."""
        if control in MIDI_COMMANDS:
            self._commands[MIDI_COMMANDS[control]]()
        elif self.view is not None:
            self.view.midi_control(control, value)

    def _midi_learned(self, control: str, what: str) -> None:
        from app.ui.midi_bridge import control_label

        kinds = self.view.track.info.stem_kinds if self.view is not None else ()
        self.statusBar().showMessage(f"{control_label(control, kinds)} now follows {what}.", 8000)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.projects.may_leave("quitting"):
            event.ignore()
            return
        self._state_timer.stop()  # nothing left to show: the menus go with the window
        if self.midi is not None:
            self.midi.close()
        self.listen.close_listening()
        self._close_view()
        if self.studio is not None:
            self.studio.close()
        super().closeEvent(event)
