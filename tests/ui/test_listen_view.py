# SPDX-License-Identifier: GPL-3.0-or-later
"""The Listen tab, driven offscreen over the real platform on loopback: another fan's remix in
the feed, played through the device with its overview and how it was made, the track's and the
fan's pages, search, and Download only where the artist chose open."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt

from app.core.arrangement import SectionPlay
from app.studio.session import Studio
from app.ui.main_window import MainWindow
from tests.helpers.playback import device_required

pytestmark = pytest.mark.qt
WAIT_MS = 30_000


def _publish(embedded, track_id: str, title: str) -> dict:
    maker = Studio(embedded.url)
    maker.login("admin", embedded.demo_password)  # may license the superfans-only track
    track = maker.open_track(track_id)
    recipe = track.recipe.with_arrangement(sections=(SectionPlay(0),))
    # The keys muted: a remix, not the original's intro (the spam gate measures 16-20 %).
    recipe = recipe.with_stem("keys", mute=True)
    made = track.publish(title=title, recipe=recipe.with_stem("drums", gain_db=-3))
    track.close()
    maker.close()
    return made


def _click(qtbot, view, row: int) -> None:
    item = view.list.item(row)
    rect = view.list.visualItemRect(item)
    qtbot.mouseClick(view.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_a_fan_finds_another_fans_remix_and_listens(qtbot, embedded, window: MainWindow) -> None:
    walled = _publish(embedded, "neon-harbour", "Harbour intro")
    open_ = _publish(embedded, "copper-wire", "Copper intro")
    view = window.listen
    window.tabs.setCurrentWidget(view)
    view.refresh()
    qtbot.waitUntil(lambda: view.list.count() == 2, timeout=WAIT_MS)
    assert view.list.item(0).text().startswith("Copper intro  —  by admin")
    assert "Walled" in view.list.item(1).text() and "Open" in view.list.item(0).text()

    _click(qtbot, view, 1)
    qtbot.waitUntil(lambda: view.listening is not None, timeout=WAIT_MS)
    assert view.listening.doc["id"] == walled["id"]
    assert view.now_title.text() == "Harbour intro"
    assert "A remix of “Neon Harbour” by Nova Lane." in view.how.text()
    assert view.overview._peaks and max(view.overview._peaks) > 100
    assert not view.download.isEnabled() and "Walled" in view.kind.text()
    if view.listening.playing or device_required():
        qtbot.waitUntil(lambda: view.listening.position_s > 0.3, timeout=WAIT_MS)
        assert view.play_button.text() == "❚❚"
        view.play_pause()
        assert not view.listening.playing
    view.volume.setValue(-12)
    assert view.volume_value.text() == "-12 dB"

    # The fan's page, then the track's page, then search.
    qtbot.mouseClick(view.track_page, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: view.list.count() == 1 and "Harbour" in view.list.item(0).text(), timeout=WAIT_MS
    )
    assert view.page.text() == "Remixes of “Neon Harbour”." and view.show_all.isVisible()
    qtbot.mouseClick(view.fan_page, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.list.count() == 2, timeout=WAIT_MS)
    assert view.page.text() == "Remixes by admin."
    qtbot.mouseClick(view.show_all, Qt.MouseButton.LeftButton)
    view.search.setText("copper")
    qtbot.waitUntil(
        lambda: view.list.count() == 1 and "Copper" in view.list.item(0).text(), timeout=WAIT_MS
    )
    _click(qtbot, view, 0)
    qtbot.waitUntil(
        lambda: view.listening is not None and view.listening.doc["id"] == open_["id"],
        timeout=WAIT_MS,
    )
    assert view.download.isEnabled() and "Open" in view.kind.text()

    # Report it: the reason goes to the moderators' queue; a second report is refused.
    view.ask_reason = lambda title: "It sounds like the original intro."  # type: ignore[method-assign]
    qtbot.mouseClick(view.report, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: view.status.text().startswith("Reported “Copper intro”"), timeout=WAIT_MS
    )
    view.report.setEnabled(True)
    qtbot.mouseClick(view.report, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "reported this remix already" in view.status.text(), timeout=WAIT_MS)


def test_a_tracks_remixes_open_from_its_page_in_the_studio(
    qtbot, embedded, window: MainWindow
) -> None:
    _publish(embedded, "neon-harbour", "Harbour intro")
    item = window.catalogue.item(0)
    rect = window.catalogue.visualItemRect(item)
    qtbot.mouseClick(window.catalogue.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: window.view is not None, timeout=WAIT_MS)
    assert window.view.where.text() == "<b>Walled</b>"
    assert window.view.where.toolTip().startswith("Walled: your remix stays on Fanfare")
    qtbot.mouseClick(window.view.remixes_button, Qt.MouseButton.LeftButton)
    assert window.tabs.currentWidget() is window.listen
    qtbot.waitUntil(lambda: window.listen.list.count() == 1, timeout=WAIT_MS)
    assert window.listen.page.text() == "Remixes of “Neon Harbour”."


def test_an_artists_tracks_show_what_their_remixes_earned(qtbot, embedded) -> None:
    studio = Studio(embedded.url)
    studio.login("nova-lane", embedded.demo_password)
    window = MainWindow()
    qtbot.addWidget(window)
    window.set_studio(studio)
    qtbot.waitUntil(lambda: window.own_tracks.count() == 2, timeout=WAIT_MS)
    assert window.own_tracks.item(0).text().endswith("Earned 0.00 EUR · 0 plays")
    own = studio.own_tracks()
    statement = {
        "currency": "EUR",
        "derivatives": [
            {"track_id": "paper-moons", "as": "artist", "plays": 3, "amount_micro": 7_200},
            {"track_id": "paper-moons", "as": "artist", "plays": 1, "amount_micro": 2_400},
            {"track_id": "paper-moons", "as": "fan", "plays": 9, "amount_micro": 900},
        ],
    }
    window._show_own_tracks(own, statement)
    lines = {window.own_tracks.item(i).text().split("\n")[0]: window.own_tracks.item(i).text()
             for i in range(window.own_tracks.count())}  # fmt: skip
    assert lines["Paper Moons"].endswith("Earned 0.01 EUR · 4 plays")
    assert lines["Neon Harbour"].endswith("Earned 0.00 EUR · 0 plays")
    window.close()


def test_a_remix_clicked_after_another_is_the_only_one_playing(
    qtbot, embedded, window: MainWindow
) -> None:
    first = _publish(embedded, "neon-harbour", "Harbour intro")
    second = _publish(embedded, "copper-wire", "Copper intro")
    view = window.listen
    view.open_remix(first["id"])
    view.open_remix(second["id"])  # before the first has opened
    qtbot.waitUntil(lambda: view.listening is not None, timeout=WAIT_MS)
    assert view.listening.doc["id"] == second["id"]

    def keepers() -> int:
        return sum(t.name == "fanfare-listen" and t.is_alive() for t in threading.enumerate())

    qtbot.waitUntil(lambda: keepers() == 1, timeout=WAIT_MS)  # the first was closed unheard
    studio = window.studio
    window.clear_studio()  # signing out closes it too
    qtbot.waitUntil(lambda: keepers() == 0, timeout=WAIT_MS)
    assert view.listening is None
    studio.close()  # as the application does after signing out
