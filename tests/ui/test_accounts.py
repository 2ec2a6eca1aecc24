# SPDX-License-Identifier: GPL-3.0-or-later
"""Accounts in the window, on the real platform on loopback: a wrong password brings the form
back with the reason, the account menu signs out and in as an artist, who sees *My tracks*,
and a session the platform ends asks to sign in again rather than naming a command."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PySide6.QtWidgets import QMessageBox

from app.ui.application import Accounts, Connection, _open_studio
from app.ui.main_window import MainWindow
from tests.ui.conftest import WAIT_MS


@pytest.fixture
def bare_window(qtbot) -> Iterator[MainWindow]:
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close()


def signed_in(qtbot, window: MainWindow, embedded: Any, user: str, **more: Any) -> Accounts:
    """``window`` with the account flow, signed in as ``user``, its lists filled."""
    connection = Connection(embedded.url, user, embedded.demo_password, **more)
    accounts = Accounts(window, connection)
    accounts.opened(_open_studio(connection))
    qtbot.waitUntil(lambda: window.catalogue.count() >= 3, timeout=WAIT_MS)
    if user == "nova-lane":
        qtbot.waitUntil(lambda: window.own_tracks.count() >= 2, timeout=WAIT_MS)
    return accounts


def _form(qtbot, accounts: Accounts) -> Any:
    qtbot.waitUntil(
        lambda: accounts.dialog is not None and accounts.dialog.isVisible(), timeout=WAIT_MS
    )
    return accounts.dialog


def _no_message_boxes(window: MainWindow) -> bool:
    return not [box for box in window.findChildren(QMessageBox) if box.isVisible()]


def test_a_wrong_password_brings_the_form_back_with_the_reason(
    qtbot, bare_window: MainWindow, embedded: Any
) -> None:
    window = bare_window
    accounts = Accounts(window, Connection(embedded.url))  # a remote platform: no password
    accounts.opened(_open_studio(Connection(embedded.url)))
    form = _form(qtbot, accounts)
    assert form.account_choice is None  # user name and password fields
    form.user_field.setText("fan")
    form.password_field.setText("not-the-password")
    form._accept()
    qtbot.waitUntil(
        lambda: accounts.dialog is not form and accounts.dialog.isVisible(), timeout=WAIT_MS
    )
    again = accounts.dialog
    assert again.error.isVisible()
    assert "user name or password is wrong" in again.error.text()
    again.user_field.setText("fan")
    again.password_field.setText(embedded.demo_password)
    again._accept()
    qtbot.waitUntil(lambda: window.catalogue.count() == 3, timeout=WAIT_MS)
    assert "Signed in as <b>fan</b>" in window.account.text()
    assert _no_message_boxes(window)


def test_the_account_menu_signs_out_and_in_as_the_artist_who_sees_my_tracks(
    qtbot, bare_window: MainWindow, embedded: Any
) -> None:
    window = bare_window
    demo = ("fan", "fan2", "nova-lane", "marlow-reed")
    accounts = signed_in(qtbot, window, embedded, "fan", shared_accounts=demo)
    assert not window.own_tracks.isVisible()  # a fan has no tracks of their own

    window.switch_action.trigger()
    form = _form(qtbot, accounts)
    assert form.account_choice is not None  # the demo accounts, no password asked or shown
    assert not form.password_field.isVisible()
    form.account_choice.setCurrentText("nova-lane")
    form._accept()
    qtbot.waitUntil(lambda: window.own_tracks.count() == 2, timeout=WAIT_MS)
    assert "Signed in as <b>nova-lane</b> (artist)" in window.account.text()
    assert window.own_tracks.isVisible()
    titles = [window.own_tracks.item(i).text() for i in range(2)]
    assert titles == [
        "Neon Harbour\nlive: open to remixes\nEarned 0.00 EUR · 0 plays",
        "Paper Moons\nlive: open to remixes\nEarned 0.00 EUR · 0 plays",
    ]

    window.sign_out_action.trigger()
    form = _form(qtbot, accounts)
    assert window.studio is None and window.catalogue.count() == 0
    assert not window.own_tracks.isVisible()
    assert not window.sign_out_action.isEnabled()
    form.reject()
    assert "Not signed in" in window.account.text()


def test_a_session_the_platform_ends_asks_to_sign_in_again(
    qtbot, bare_window: MainWindow, embedded: Any
) -> None:
    window = bare_window
    connection = Connection(embedded.url, "fan", embedded.demo_password, shared_accounts=("fan",))
    accounts = Accounts(window, connection)
    accounts.opened(_open_studio(connection))
    qtbot.waitUntil(lambda: window.catalogue.count() == 3, timeout=WAIT_MS)
    studio = accounts.studio
    assert studio is not None
    # The session ends on the platform (signed out elsewhere, or run out).
    with httpx.Client(base_url=embedded.url) as client:
        headers = {"authorization": f"Bearer {studio.client.token}"}
        assert client.post("/api/v1/auth/logout", headers=headers).status_code == 200
    window.refresh_catalogue()
    form = _form(qtbot, accounts)
    assert "Sign in again" in form.error.text()
    assert "fanfare login" not in form.error.text()
    assert _no_message_boxes(window)
    form._accept()  # the same demo account, with the installation's password
    qtbot.waitUntil(
        lambda: window.studio is not None and window.catalogue.count() == 3, timeout=WAIT_MS
    )


def test_an_artist_pauses_a_track_from_my_tracks(
    qtbot, bare_window: MainWindow, embedded: Any
) -> None:
    window = bare_window
    signed_in(qtbot, window, embedded, "nova-lane")
    window.change_state("paper-moons", "paused")
    qtbot.waitUntil(
        lambda: (
            window.own_tracks.count() == 2
            and window.own_tracks.item(1).text().startswith("Paper Moons\npaused: no new remixes")
        ),
        timeout=WAIT_MS,
    )
    assert "“Paper Moons” is paused: no new remixes." in window.statusBar().currentMessage()


def test_the_artist_edits_a_policy_previews_it_as_a_fan_and_saves_it(
    qtbot, bare_window: MainWindow, embedded: Any
) -> None:
    window = bare_window
    accounts = signed_in(qtbot, window, embedded, "nova-lane")
    window.edit_policy("neon-harbour")
    qtbot.waitUntil(lambda: window.policy_editor is not None, timeout=WAIT_MS)
    editor = window.policy_editor
    assert "lead can't be heard alone" in editor.summary.text()
    assert editor.save_button.text() == "Save as version 2"
    # An upside-down range is a sentence, and nothing can be saved or previewed.
    editor.tempo_low.setValue(120)
    editor.tempo_high.setValue(90)
    assert editor.error.isVisible() and "reversed" in editor.error.text()
    assert not editor.save_button.isEnabled() and not editor.preview_button.isEnabled()
    editor.tempo_low.setValue(90)
    editor.tempo_high.setValue(110)
    # The line fans will read follows the controls.
    editor.stem_boxes["lead"][0].setChecked(True)  # the lead may be heard alone
    assert not editor.error.isVisible()
    assert "lead can't be heard alone" not in editor.summary.text()
    assert "tempo 90%–110%" in editor.summary.text()
    # Preview as fan: the track under the draft, marked, and not publishable.
    editor.preview_button.click()
    qtbot.waitUntil(lambda: window.view is not None, timeout=WAIT_MS)
    view = window.view
    assert view.track.preview and view.preview_banner is not None
    assert view.strips["lead"].solo.isEnabled()  # allowed by the draft, not by the live policy
    assert not view.publish_button.isEnabled()
    # Saved: version 2, and the studio says what that means for licences in force.
    editor.save_button.click()
    qtbot.waitUntil(lambda: window.policy_editor is None, timeout=WAIT_MS)
    qtbot.waitUntil(
        lambda: "policy version 2 saved" in window.statusBar().currentMessage(), timeout=WAIT_MS
    )
    assert accounts.studio is not None
    saved = accounts.studio.own_track("neon-harbour")
    assert saved.policy_version == 2 and saved.info.policy["stems"]["lead"]["solo"] is True


def test_the_artist_approves_and_takes_down_fans_remixes_in_the_window(
    qtbot, bare_window: MainWindow, embedded: Any
) -> None:
    from app.studio.session import Studio

    window = bare_window
    accounts = signed_in(qtbot, window, embedded, "nova-lane")
    artist = accounts.studio
    assert artist is not None
    # The editor's review choice: hold each remix for approval.
    window.edit_policy("paper-moons")
    qtbot.waitUntil(lambda: window.policy_editor is not None, timeout=WAIT_MS)
    window.policy_editor.review_by_me.setChecked(True)
    assert window.policy_editor.walled.isChecked()  # the other pair of choices is untouched
    assert "Nova Lane approves each remix" in window.policy_editor.summary.text()
    window.policy_editor.save_button.click()
    qtbot.waitUntil(lambda: window.policy_editor is None, timeout=WAIT_MS)
    # A fan publishes two remixes; they wait.
    fan = Studio(embedded.url)
    fan.login("fan", embedded.demo_password)
    track = fan.open_track("paper-moons")
    made = []
    for gain, muted in ((-4.0, "keys"), (-8.0, "bass")):  # two remixes, each its own sound
        track.set_stem("drums", gain_db=gain)
        for kind in ("keys", "bass"):
            track.set_stem(kind, mute=kind == muted)
        made.append(track.publish(title=f"Moons {gain:g}"))
    track.close()
    assert [m["status"] for m in made] == ["awaiting review"] * 2
    window.show_remixes("paper-moons", "Paper Moons")
    dialog = window.remixes_dialog
    qtbot.waitUntil(lambda: dialog.list.count() == 2, timeout=WAIT_MS)
    assert dialog.status.text() == "2 remixes, 2 waiting for your review."
    dialog.list.setCurrentRow(0)
    assert dialog.approve.isEnabled() and dialog.refuse.isEnabled()
    dialog.decide("approve")
    qtbot.waitUntil(lambda: "is published" in dialog.status.text(), timeout=WAIT_MS)
    dialog.list.setCurrentRow(0)
    assert not dialog.approve.isEnabled() and dialog.take_down.isEnabled()
    dialog.decide("take down", reason="The drums carry it; keep them.")
    qtbot.waitUntil(lambda: "is taken down" in dialog.status.text(), timeout=WAIT_MS)
    reasons = {d["title"]: (d["status"], d["reason"]) for d in fan.derivatives()}
    assert ("taken down", "The drums carry it; keep them.") in reasons.values()
    fan.close()


def test_the_artist_uploads_a_track_from_the_window_with_tempo_and_key_suggested(
    qtbot, bare_window: MainWindow, embedded: Any, tmp_path: Any
) -> None:
    import json
    from pathlib import Path

    from app.ui.upload_dialog import parse_sections

    window = bare_window
    signed_in(qtbot, window, embedded, "nova-lane")
    assert window.upload_action.isVisible()
    window.upload_track()
    dialog = window.upload_dialog
    # The demo's Paper Moons stems, as an artist's files: 84 BPM in D minor.
    demo = Path(__file__).resolve().parents[2] / "assets" / "demo"
    entry = next(t for t in json.loads((demo / "catalogue.json").read_text())["tracks"]
                 if t["id"] == "paper-moons")  # fmt: skip
    dialog.add_files([demo / path for path in entry["stems"].values()])
    assert [dialog.table.item(r, 1).text() for r in range(4)] == ["drums", "bass", "keys", "lead"]
    dialog.title.setText("Paper Moons (take two)")
    dialog.suggest()
    qtbot.waitUntil(lambda: "The audio suggests" in dialog.status.text(), timeout=120_000)
    assert dialog.bpm.value() == pytest.approx(84.0, abs=1.0)
    assert dialog.key.currentText() == "D minor"
    dialog.sections.setText("verse 0:10-0:20, chorus 20-x")
    dialog.send()
    assert dialog.status.text().startswith("Sections: “chorus 20-x” is not")
    dialog.sections.setText("verse 0:00-0:35, chorus 0:35-1:10")
    assert parse_sections(dialog.sections.text())[1] == {
        "name": "chorus", "start_s": 35.0, "end_s": 70.0,
    }  # fmt: skip
    dialog.send()
    qtbot.waitUntil(lambda: window.own_tracks.count() == 3, timeout=120_000)
    assert "draft: only you see it" in dialog.status.text()
    texts = [window.own_tracks.item(i).text() for i in range(3)]
    assert "Paper Moons (take two)\ndraft: only you see it\nEarned 0.00 EUR · 0 plays" in texts


def test_a_preview_offers_auditions_that_play_what_the_draft_allows(
    qtbot, bare_window: MainWindow, embedded: Any
) -> None:
    window = bare_window
    accounts = signed_in(qtbot, window, embedded, "nova-lane")
    assert accounts.studio is not None
    draft = accounts.studio.own_track("paper-moons").info.policy | {"key_shift_range": [-2, 0]}
    window.open_track("paper-moons", draft)
    qtbot.waitUntil(lambda: window.view is not None, timeout=WAIT_MS)
    view = window.view
    assert view.auditions_button is not None
    actions = {a.text(): a for a in view.auditions_button.menu().actions()}
    assert "Key -2 semitones" in actions
    said: list[str] = []
    view.message.connect(said.append)
    actions["Key -2 semitones"].trigger()
    assert view.track.recipe.key_shift == -2
    assert "Audition: Key -2 semitones." in said
    # A fan's own view of a live track has no auditions.
    window.open_track("neon-harbour")
    qtbot.waitUntil(
        lambda: window.view is not None and window.view.track.info.id == "neon-harbour",
        timeout=WAIT_MS,
    )
    assert window.view.auditions_button is None


def test_a_fan_sees_in_the_window_which_remixes_wait_and_why_one_was_stopped(
    qtbot, bare_window: MainWindow, embedded: Any
) -> None:
    from app.studio.session import Studio

    artist = Studio(embedded.url)
    artist.login("nova-lane", embedded.demo_password)
    policy = artist.own_track("paper-moons").info.policy | {"review": "artist"}
    artist.save_policy("paper-moons", policy)
    window = bare_window
    accounts = signed_in(qtbot, window, embedded, "fan")
    fan = accounts.studio
    assert fan is not None
    track = fan.open_track("paper-moons")
    made = []
    for gain, muted in ((-3.0, "keys"), (-9.0, "bass")):  # two remixes, each its own sound
        track.set_stem("drums", gain_db=gain)
        for kind in ("keys", "bass"):
            track.set_stem(kind, mute=kind == muted)
        made.append(track.publish(title=f"Moons {gain:g}"))
    track.close()
    artist.decide(made[1]["id"], "refuse", "Too quiet a kit for this song.")
    window.show_my_remixes()
    dialog = window.remixes_dialog
    qtbot.waitUntil(lambda: dialog.list.count() == 2, timeout=WAIT_MS)
    assert not dialog.approve.isVisible() and not dialog.take_down.isVisible()
    lines = [dialog.list.item(i).text() for i in range(2)]
    assert any("awaiting review" in line for line in lines)
    assert any("refused — Too quiet a kit for this song." in line for line in lines)
    assert dialog.status.text() == "2 remixes, 1 waiting for the artist's review."
    artist.close()


def test_the_editor_narrows_a_family_to_some_of_its_models(
    qtbot, bare_window: MainWindow, embedded: Any
) -> None:
    window = bare_window
    signed_in(qtbot, window, embedded, "nova-lane")
    window.edit_policy("neon-harbour")
    qtbot.waitUntil(lambda: window.policy_editor is not None, timeout=WAIT_MS)
    editor = window.policy_editor
    assert editor.model_boxes, "the platform offers the shipped style models"
    assert "style_models" not in editor.draft()  # every model of the allowed families
    first = next(iter(editor.model_boxes))
    editor.model_boxes[first][0].setChecked(False)
    narrowed = editor.draft()["style_models"]
    assert first not in narrowed and len(narrowed) == len(editor.model_boxes) - 1
    # A family switched off greys its models.
    family = editor.model_boxes[first][1]
    editor.family_boxes[family].setChecked(False)
    assert all(not box.isEnabled() for box, fam in editor.model_boxes.values() if fam == family)
