# SPDX-License-Identifier: GPL-3.0-or-later
"""The studio window, driven offscreen with pytest-qt over the real platform on loopback."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.studio.session import Studio
from app.ui.main_window import MainWindow
from app.ui.track_view import TrackView

pytestmark = pytest.mark.qt
WAIT_MS = 30_000


def _open(qtbot, window: MainWindow, row: int) -> None:
    item = window.catalogue.item(row)
    rect = window.catalogue.visualItemRect(item)
    qtbot.mouseClick(window.catalogue.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: window.view is not None, timeout=WAIT_MS)


def test_open_a_track_move_a_fader_and_publish(qtbot, window: MainWindow) -> None:
    _open(qtbot, window, 0)
    view = window.view
    assert view.track.info.title == "Neon Harbour"
    assert list(view.strips) == ["drums", "bass", "keys", "lead", "pad"]

    view.strips["drums"].fader.setValue(-12)  # half-dB steps: -6 dB
    assert view.track.recipe.stems["drums"].gain_db == -6.0
    assert view.strips["drums"].gain_label.text() == "-6.0 dB"
    assert not view.strips["lead"].solo.isEnabled()  # the artist forbids it; greyed out
    # The bass muted too: a remix, not the original with a fader moved (the spam gate).
    view.strips["bass"].mute.setChecked(True)
    assert view.track.recipe.stems["bass"].mute

    view.open_publish()
    dialog = view.publish_dialog
    assert [row.state for row in dialog.steps.values()] == ["pending"] * 3
    assert not dialog.estimate.isVisible()  # a plain remix of a short song: quick
    dialog.title.setText("Harbour at dawn")
    qtbot.mouseClick(dialog.publish_button, Qt.MouseButton.LeftButton)
    # Each step runs with its bar, in order: rendering here, uploading, then verifying on the
    # platform, which the dialog follows while the upload waits for its answer.
    running: list[str] = []

    def published() -> bool:
        step = dialog.running()
        if step is not None and (not running or running[-1] != step):
            running.append(step)
        return dialog.published is not None

    try:
        qtbot.waitUntil(published, timeout=WAIT_MS)
    except Exception:
        raise AssertionError(dialog.status.text()) from None
    assert dialog.published["status"] == "published"
    assert "published" in dialog.status.text()
    assert running == sorted(running, key=list(dialog.steps).index)
    assert "Verifying" in running
    assert [row.state for row in dialog.steps.values()] == ["done"] * 3
    for row in dialog.steps.values():
        assert row.mark.text() == "✓" and not row.bar.isVisible()
    rows = window.studio.derivatives()
    assert rows[0]["title"] == "Harbour at dawn"

    # The same remix again: the platform refuses it, and the step it refused at says why.
    dialog.accept()
    view.open_publish()
    dialog = view.publish_dialog
    dialog.title.setText("Harbour at dawn")
    qtbot.mouseClick(dialog.publish_button, Qt.MouseButton.LeftButton)
    verifying = dialog.steps["Verifying"]
    qtbot.waitUntil(lambda: verifying.state == "failed", timeout=WAIT_MS)
    assert verifying.mark.text() == "✗" and verifying.reason.isVisible()
    assert "sent this exact remix before" in verifying.reason.text()
    assert [row.state for row in dialog.steps.values()] == ["done", "done", "failed"]
    assert dialog.publish_button.isEnabled()


def test_a_refused_edit_is_explained_and_undone_on_screen(qtbot, window: MainWindow) -> None:
    _open(qtbot, window, 0)
    view = window.view
    for kind in ("drums", "bass", "keys"):
        qtbot.mouseClick(view.strips[kind].mute, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(view.strips["pad"].mute, Qt.MouseButton.LeftButton)  # lead would be alone
    assert "lead stem may not be heard on its own" in window.statusBar().currentMessage()
    assert not view.strips["pad"].mute.isChecked()
    assert not view.track.recipe.stems["pad"].mute


def test_a_failure_opens_an_error_dialog(qtbot, window: MainWindow) -> None:
    window.open_track("no-such-track")
    qtbot.waitUntil(lambda: window.findChild(QMessageBox) is not None, timeout=WAIT_MS)
    box = window.findChild(QMessageBox)
    assert "no track 'no-such-track'" in box.text()
    assert window.view is None


def test_effects_apply_live_and_respect_the_policy(qtbot, window: MainWindow) -> None:
    _open(qtbot, window, 1)  # Paper Moons: the artist allows no drive and no chorus
    view = window.view
    qtbot.mouseClick(view.strips["keys"].fx, Qt.MouseButton.LeftButton)
    dialog = view.effects["keys"]
    assert dialog.isVisible()
    dialog.sliders[("reverb", "mix")].setValue(300)
    assert view.track.recipe.stems["keys"].fx.reverb.mix == pytest.approx(0.3)
    assert view.track.recipe.stems["keys"].fx.active_effects() == ["reverb"]
    assert not dialog.sliders[("drive", "drive_db")].isEnabled()
    assert dialog.sliders[("eq", "mid_db")].isEnabled()


def test_undo_puts_the_controls_back(qtbot, window: MainWindow) -> None:
    _open(qtbot, window, 0)
    view = window.view
    view.strips["bass"].fader.setValue(-20)
    qtbot.mouseClick(view.strips["keys"].mute, Qt.MouseButton.LeftButton)
    view.undo()
    assert not view.strips["keys"].mute.isChecked()
    view.undo()
    assert view.strips["bass"].fader.value() == 0
    assert view.track.recipe.stems["bass"].gain_db == 0.0


def test_arranging_repeats_a_section_mutes_a_stem_in_it_and_undoes(
    qtbot, window: MainWindow
) -> None:
    _open(qtbot, window, 0)
    view = window.view
    before = view.track.duration_s
    qtbot.mouseClick(view.arrange_button, Qt.MouseButton.LeftButton)
    dialog = view.arrangement_dialog
    dialog.playlist.setCurrentRow(2)  # the first chorus
    qtbot.mouseClick(dialog.buttons["Repeat"], Qt.MouseButton.LeftButton)
    chorus = view.track.info.sections[2]
    assert view.track.duration_s == pytest.approx(before + chorus.end_s - chorus.start_s, abs=0.01)
    assert dialog.playlist.count() == len(view.track.info.sections) + 1
    pad = next(dialog.mutes.item(i) for i in range(dialog.mutes.count())
               if dialog.mutes.item(i).text() == "pad")  # fmt: skip
    pad.setCheckState(Qt.CheckState.Checked)
    assert view.track.recipe.arrangement.sections[3].mutes == ("pad",)
    qtbot.wait(100)  # the transport follows the new length on its next tick
    assert view.transport.duration_s == pytest.approx(view.track.duration_s)
    view.undo()
    view.undo()
    assert view.track.recipe.arrangement.sections is None
    assert dialog.playlist.count() == len(view.track.info.sections)


def test_the_loop_button_loops_the_section_under_the_playhead(qtbot, window: MainWindow) -> None:
    _open(qtbot, window, 0)
    view = window.view
    chorus = view.track.info.sections[2]
    view.track.seek(chorus.start_s + 1.0)
    qtbot.mouseClick(view.transport.loop_button, Qt.MouseButton.LeftButton)
    rate = view.track.info.sample_rate
    assert view.track.player.loop == (round(chorus.start_s * rate), round(chorus.end_s * rate))
    assert "Looping" in window.statusBar().currentMessage()
    qtbot.mouseClick(view.transport.loop_button, Qt.MouseButton.LeftButton)
    assert view.track.player.loop is None


def test_the_audio_buffer_picked_in_the_transport_is_used_and_kept(
    qtbot, window: MainWindow
) -> None:
    _open(qtbot, window, 0)
    view = window.view
    combo = view.transport.buffer
    assert combo.currentData() == "low"
    assert [combo.itemData(i) for i in range(combo.count())] == ["low", "balanced", "safe"]
    combo.setCurrentIndex(combo.findData("safe"))  # as the user picks it
    assert view.track.player.buffering.name == "safe"
    assert "controls are heard after about 1" in window.statusBar().currentMessage()
    again = Studio(window.studio.url)  # the next start
    try:
        assert again.buffering.name == "safe"
    finally:
        again.close()


def test_dropouts_that_keep_coming_point_to_the_safe_buffer_once(qtbot, window: MainWindow) -> None:
    _open(qtbot, window, 0)
    view = window.view
    dropouts = view.track.player.dropouts
    dropouts.device_underflows = 3  # the count three pauses of the machine leave
    view._tick()
    assert "Pick Safe under Buffer" in window.statusBar().currentMessage()
    window.statusBar().clearMessage()
    dropouts.device_underflows = 5
    view._tick()
    assert window.statusBar().currentMessage() == ""  # said once, not on every tick


def test_the_tempo_control_changes_the_tempo_and_undo_puts_it_back(
    qtbot, window: MainWindow
) -> None:
    _open(qtbot, window, 0)  # Neon Harbour: the artist allows 80 %..125 % and -3..+3 st
    view = window.view
    tempo = view.transport.tempo
    assert tempo.isEnabled() and view.transport.key.isEnabled()
    assert tempo.value() == 100
    # Typed past the artist's limit: put back, and the limit named (not swallowed).
    tempo.lineEdit().selectAll()
    with qtbot.waitSignal(view.message) as said:
        qtbot.keyClicks(tempo.lineEdit(), "150")
        qtbot.keyClick(tempo.lineEdit(), Qt.Key.Key_Return)
    assert said.args[0] == "150 %: Nova Lane allows a tempo from 80% to 125% of the original."
    assert tempo.value() == 100 and view.track.recipe.tempo_ratio == 1.0
    before = view.track.duration_s
    tempo.setValue(110)
    assert view.track.recipe.tempo_ratio == pytest.approx(1.1)
    qtbot.waitUntil(
        lambda: view.transport.duration_s == pytest.approx(before / 1.1, abs=0.05),
        timeout=WAIT_MS,
    )
    view.transport.key.setValue(2)
    assert view.track.recipe.key_shift == 2
    assert view.transport.key.text() == "+2 st"
    view.undo()
    assert view.transport.key.value() == 0
    view.undo()
    assert view.track.recipe.tempo_ratio == 1.0
    assert tempo.value() == 100
    qtbot.waitUntil(
        lambda: view.transport.duration_s == pytest.approx(before, abs=0.05), timeout=WAIT_MS
    )


def test_a_key_the_artist_forbids_is_greyed_out_and_refused(qtbot, window: MainWindow) -> None:
    # No demo track forbids key changes, so the open track's policy is narrowed here.
    _open(qtbot, window, 0)
    track = window.view.track
    track.policy = replace(track.policy, key_shift_range=(0, 0))
    view = TrackView(track)
    qtbot.addWidget(view)
    view.timer.stop()
    assert not view.transport.key.isEnabled()
    assert "does not allow changing the key" in view.transport.key.toolTip()
    assert view.transport.tempo.isEnabled()
    with qtbot.waitSignal(view.message) as said:
        view._set_tempo(key_shift=1)
    assert "does not allow changing the key" in said.args[0]
    assert track.recipe.key_shift == 0
    assert view.transport.key.value() == 0


def test_recorded_moves_play_back_on_the_strips(qtbot, window: MainWindow) -> None:
    _open(qtbot, window, 0)
    view = window.view
    fader = view.strips["drums"].fader
    assert not view.transport.moves_button.isEnabled()
    qtbot.mouseClick(view.transport.record_button, Qt.MouseButton.LeftButton)
    assert view.track.recording
    view.play_pause()
    qtbot.waitUntil(lambda: view.track.position_s > 0.5, timeout=WAIT_MS)
    fader.setValue(-12)  # -6 dB, recorded where it is heard
    moves = view.track.recipe.automation
    assert [(m.target, dict(m.changes)) for m in moves] == [("drums", {"gain_db": -6.0})]
    assert view.track.recipe.stems["drums"].gain_db == 0.0  # the start is as it was
    qtbot.waitUntil(lambda: view.transport.moves_button.isEnabled(), timeout=WAIT_MS)
    assert view.transport.moves_button.text().startswith("1 move")

    qtbot.mouseClick(view.transport.stop_button, Qt.MouseButton.LeftButton)
    view.transport.seek.emit(0.0)
    qtbot.waitUntil(lambda: fader.value() == 0, timeout=WAIT_MS)  # before the move
    assert view.strips["drums"].gain_label.text() == "+0.0 dB"
    view.transport.seek.emit(moves[0].frame / view.track.info.sample_rate + 0.5)
    qtbot.waitUntil(lambda: fader.value() == -12, timeout=WAIT_MS)  # after it

    qtbot.mouseClick(view.transport.moves_button, Qt.MouseButton.LeftButton)
    assert view.track.recipe.automation == ()
    assert fader.value() == 0
    assert not view.transport.moves_button.isEnabled()


@pytest.mark.parametrize(
    ("key", "shift", "expected"),
    [("A major", 2, "B major"), ("A major", -3, "F# major"), ("Eb minor", 1, "E minor"),
     ("Bb major", 2, "C major"), ("D minor", 0, "D minor"), ("modal", 3, "modal")],
)  # fmt: skip
def test_the_header_names_the_key_the_remix_plays_in(key: str, shift: int, expected: str) -> None:
    from app.ui.track_view import transposed

    assert transposed(key, shift) == expected


def test_the_window_shows_before_the_engine_loads() -> None:
    """Launching shows the window at once: Qt and the window's own modules load before it,
    while the studio's engine and libraries (most of a second) load on the connecting worker."""
    import subprocess
    import sys

    probe = (
        "import sys; import app.cli, app.ui.application, app.ui.main_window; "
        "print(sorted(m for m in ('app.studio.session', 'app.engine.mixer', 'app.embedded', "
        "'scipy', 'pedalboard', 'onnxruntime', 'fastapi') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
