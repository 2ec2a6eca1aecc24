# SPDX-License-Identifier: GPL-3.0-or-later
"""Take the studio's screenshot (for AppStream and for reviewing the look) on the demo platform.

    QT_QPA_PLATFORM=offscreen python packaging/screenshot.py OUT.png [TRACK_ID]

FANFARE_SHOT_FX, FANFARE_SHOT_STYLE, FANFARE_SHOT_ARRANGE, FANFARE_SHOT_PUBLISH (a remix the
platform refuses) or FANFARE_SHOT_SIGN_IN also grab that dialog, beside OUT.png;
FANFARE_SHOT_PUBLISHING=1 publishes a retimed remix and grabs the publish dialog before it
starts (OUT-publish-before.png), while the platform verifies it (OUT-publish-mid.png) and once
it is published (OUT-publish.png); FANFARE_SHOT_PUBLISHING=played lets playback stretch the
remix and the platform stretch it ahead (the studio's hint) first, as after a while of work;
FANFARE_SHOT_ACCOUNT=nova-lane signs in as that demo account (an artist: My tracks), and with
it FANFARE_SHOT_POLICY=1 opens the policy editor and previews a draft as a fan;
FANFARE_SHOT_LISTEN=1 publishes a few remixes first and shows the Listen tab playing one;
FANFARE_SHOT_MENU=1 also grabs the File, Edit and Transport menus (OUT-menu-*.png);
FANFARE_SHOT_REMIXES=1 saves the remix as a project and grabs My remixes with its draft
(OUT-remixes.png); FANFARE_SHOT_TIMELINE=1 arranges the remix (the lead muted in the first
chorus), records a few pad moves, loops the bridge and zooms in (the timeline's lanes);
FANFARE_SHOT_RECORD=1 records a take over the track (through the sound server's input: the
null sink's monitor where there is no sound card), makes it a part in place of the lead and
trims it (the Record panel, the part's strip and lane);
FANFARE_SHOT_PREFERENCES=1 grabs Edit ▸ Preferences (OUT-preferences.png) and FANFARE_SHOT_MENU
the View menu too; FANFARE_SHOT_SIZE=1280x800 sizes the window.

Runs the embedded platform in a temporary data folder, opens a track, moves a few faders, plays
for a moment (when an audio device exists) and saves the window as a PNG.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any


def main() -> int:
    out = Path(sys.argv[1])
    track_id = sys.argv[2] if len(sys.argv) > 2 else "neon-harbour"
    home = Path(tempfile.mkdtemp(prefix="fanfare-shot-"))
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        os.environ[name] = str(home / name.lower())
    os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.embedded import EmbeddedPlatform
    from app.studio.profile import StudioPaths
    from app.ui.application import Connection, connect_studio
    from app.ui.main_window import MainWindow
    from app.ui.theme import apply_theme

    app = QApplication(sys.argv[:1])
    apply_theme(app)
    from PySide6.QtWidgets import QMessageBox

    from app.ui import project_flow

    # The remix is not kept: closing the window at the end does not ask.
    project_flow.ask = lambda *_: QMessageBox.StandardButton.Discard
    embedded = EmbeddedPlatform(StudioPaths.default().embedded_platform_dir)
    account = os.environ.get("FANFARE_SHOT_ACCOUNT", embedded.demo_user)
    studio = connect_studio(
        Connection(embedded.start(private=True), account, embedded.demo_password)
    )
    if os.environ.get("FANFARE_SHOT_LISTEN"):
        _publish_some(studio, embedded)
    window = MainWindow()
    if os.environ.get("FANFARE_SHOT_SIZE"):
        width, height = (int(n) for n in os.environ["FANFARE_SHOT_SIZE"].split("x"))
        window.resize(width, height)
    window.show()
    window.set_studio(studio)
    if os.environ.get("FANFARE_SHOT_POLICY"):
        # The artist's editor, a draft that lets the lead be heard alone, previewed as a fan.
        window.edit_policy(track_id)

        def preview() -> None:
            editor = window.policy_editor
            if editor is None:
                QTimer.singleShot(100, preview)
                return
            editor.stem_boxes["lead"][0].setChecked(True)
            editor.tempo_low.setValue(90)
            editor.preview_button.click()

        QTimer.singleShot(300, preview)
    elif not os.environ.get("FANFARE_SHOT_LISTEN"):
        window.open_track(track_id)

    def listen() -> None:
        view = window.listen
        window.tabs.setCurrentWidget(view)
        if view.list.count() == 0:
            QTimer.singleShot(100, listen)
            return
        if view.listening is None:
            view.open_remix(view.list.item(view.list.count() - 1).data(0x0100)["id"])
            QTimer.singleShot(2500, grab)

    def shoot() -> None:
        if os.environ.get("FANFARE_SHOT_LISTEN"):
            listen()
            return
        if window.view is None:
            QTimer.singleShot(100, shoot)
            return
        view = window.view
        view.strips["drums"].fader.setValue(-6)
        view.strips["bass"].fader.setValue(4)
        view.strips["keys"].pan.setValue(-35)
        view.play_pause()  # without a device this shows its message; the picture still works
        if os.environ.get("FANFARE_SHOT_FX"):
            view.open_effects("keys")
            view.effects["keys"].sliders[("reverb", "mix")].setValue(350)
            view.effects["keys"].sliders[("eq", "high_db")].setValue(600)
        if os.environ.get("FANFARE_SHOT_STYLE"):
            view.open_style("lead")
        if os.environ.get("FANFARE_SHOT_PUBLISHING"):
            publishing(view)
            return
        if os.environ.get("FANFARE_SHOT_PUBLISH"):
            # A remix the platform would refuse: the lead alone in the left channel.
            for kind, strip in view.strips.items():
                strip.pan.setValue(-100 if kind == "lead" else 100)
            view.open_publish()
            assert view.publish_dialog is not None
            view.publish_dialog.title.setText("Left for the lead")
            view.publish_dialog.start()
            QTimer.singleShot(8000, grab)
            return
        if os.environ.get("FANFARE_SHOT_ARRANGE"):
            view.open_arrangement()
            view.arrangement_dialog.playlist.setCurrentRow(2)
            view.arrangement_dialog.repeat()
        if os.environ.get("FANFARE_SHOT_TIMELINE"):
            timeline(view)
        if os.environ.get("FANFARE_SHOT_RECORD"):
            record(view)
            return
        if os.environ.get("FANFARE_SHOT_PREFERENCES"):
            window.show_preferences()
        if os.environ.get("FANFARE_SHOT_REMIXES"):
            window.projects.save_as(home / "Harbour lights.fanfare")
            QTimer.singleShot(1500, window.show_my_remixes)
            QTimer.singleShot(4000, grab)
            return
        QTimer.singleShot(1500, grab)

    def record(view: Any) -> None:
        """A take over the track, used in place of the lead, trimmed: the Record panel."""
        view.track.pause()
        view.track.seek(20.0)
        view.record_take()
        panel = view.record_panel

        def stop() -> None:
            view.record_take()
            panel.replaces.setCurrentIndex(panel.replaces.findData("lead"))
            panel.use_button.click()
            panel.trim_start.setValue(0.4)
            panel.trim_start.editingFinished.emit()
            view.timeline.canvas.zoom(0.5, 18.0)
            QTimer.singleShot(1500, grab)

        QTimer.singleShot(6500, stop)  # a bar of count-in, then about four seconds

    def timeline(view: Any) -> None:
        """A remix worth a timeline: rearranged with a section mute, moves, a loop, zoomed."""
        from app.core.arrangement import SectionPlay
        from app.core.automation import make_move

        track = view.track
        count = len(track.info.sections)
        plays = [SectionPlay(i, ("lead",) if i == 2 else ()) for i in range(count)]
        track.set_arrangement(sections=tuple(plays))
        rate = track.info.sample_rate
        moves = tuple(
            make_move(round(seconds * rate / 512) * 512, "pad", {"gain_db": gain})
            for seconds, gain in ((12.0, -12.0), (20.0, -6.0), (28.0, 0.0), (40.0, -9.0))
        )
        track.apply(track.recipe.with_moves(moves))
        bridge = track.info.sections[3]
        track.set_loop((bridge.start_s, bridge.end_s))
        track.seek(bridge.start_s + 2.0)
        view.timeline.canvas.zoom(0.6, bridge.start_s)

    def publishing(view: object) -> None:
        """A retimed remix (long to render and verify: the estimate is said), published; with
        ``played``, once playback has stretched it all and the platform has too."""
        track = view.track  # type: ignore[attr-defined]
        track.set_tempo(ratio=1.1)
        if os.environ.get("FANFARE_SHOT_PUBLISHING") == "played":
            from app.engine.stretched import StretchedSource

            track.mixer.reset(0)
            track.mixer.follow(0)  # as playing from the top: ahead, then the rest
            warmer = embedded.app.state.platform.warmer  # type: ignore[union-attr]

            def stretched() -> bool:
                sources = [s for s in track.mixer.stems if isinstance(s, StretchedSource)]
                return all(s.unfinished(0) is None for s in sources) and warmer.made > 0

            def wait() -> None:
                if stretched() and warmer.idle():
                    open_dialog(view)
                else:
                    QTimer.singleShot(500, wait)

            QTimer.singleShot(500, wait)
            return
        open_dialog(view)

    def open_dialog(view: object) -> None:
        """The publish dialog over the remix, grabbed before, during and after publishing."""
        view.open_publish()  # type: ignore[attr-defined]
        dialog = view.publish_dialog  # type: ignore[attr-defined]
        dialog.title.setText("Harbour, a little faster")

        def before() -> None:
            dialog.grab().save(str(out.with_name(out.stem + "-publish-before.png")))
            dialog.start()
            QTimer.singleShot(200, mid)

        def mid() -> None:
            verifying = dialog.steps["Verifying"]
            if verifying.state == "running" and verifying.bar.value() >= 300:
                dialog.grab().save(str(out.with_name(out.stem + "-publish-mid.png")))
                QTimer.singleShot(200, after)
            elif dialog.published is None and not dialog.publish_button.isEnabled():
                QTimer.singleShot(200, mid)
            else:
                grab()

        def after() -> None:
            if dialog.published is None and not dialog.publish_button.isEnabled():
                QTimer.singleShot(200, after)
            else:
                grab()

        QTimer.singleShot(500, before)

    def grab() -> None:
        window._show_state()
        window.grab().save(str(out))
        if os.environ.get("FANFARE_SHOT_MENU"):
            for top in window.menuBar().actions():
                name = top.text().replace("&", "")
                if name in ("File", "Edit", "View", "Transport"):
                    menu = top.menu()
                    menu.adjustSize()
                    menu.grab().save(str(out.with_name(f"{out.stem}-menu-{name.lower()}.png")))
        if window.preferences_dialog is not None:
            window.preferences_dialog.grab().save(str(out.with_name(out.stem + "-preferences.png")))
        if window.remixes_dialog is not None:
            window.remixes_dialog.grab().save(str(out.with_name(out.stem + "-remixes.png")))
        if os.environ.get("FANFARE_SHOT_SIGN_IN"):
            from app.ui.sign_in_dialog import SignInDialog

            for name, accounts, error in (
                ("sign-in", None, "The user name or password is wrong."),
                ("sign-in-demo", list(embedded.accounts), ""),
            ):
                form = SignInDialog(window, "this computer", error=error, accounts=accounts)
                form.show()
                form.grab().save(str(out.with_name(f"{out.stem}-{name}.png")))
                form.close()
        if window.view is not None and window.view.effects:
            dialog = next(iter(window.view.effects.values()))
            dialog.grab().save(str(out.with_name(out.stem + "-fx.png")))
        if window.view is not None and window.view.styles:
            dialog = next(iter(window.view.styles.values()))
            dialog.grab().save(str(out.with_name(out.stem + "-style.png")))
        if window.policy_editor is not None:
            window.policy_editor.grab().save(str(out.with_name(out.stem + "-policy.png")))
        if window.view is not None and window.view.publish_dialog is not None:
            window.view.publish_dialog.grab().save(str(out.with_name(out.stem + "-publish.png")))
        if window.view is not None and window.view.arrangement_dialog is not None:
            window.view.arrangement_dialog.grab().save(str(out.with_name(out.stem + "-arr.png")))
        window.close()
        app.quit()

    QTimer.singleShot(200, shoot)
    app.exec()
    embedded.stop()
    print(f"saved {out}")
    return 0


def _publish_some(studio: object, embedded: object) -> None:
    """Remixes in the garden to show: two by another fan (walled tracks), one by this fan
    (the open track), each a section or two long."""
    from app.core.arrangement import SectionPlay
    from app.studio.session import Studio

    other = Studio(studio.url)  # type: ignore[attr-defined]
    other.login("fan2", embedded.demo_password)  # type: ignore[attr-defined]
    for who, track_id, title, sections in (
        (other, "neon-harbour", "Harbour at dawn", (0, 1)),
        (other, "paper-moons", "Moons, slower", (1, 2)),
        (studio, "copper-wire", "Copper dub", (1,)),
    ):
        track = who.open_track(track_id)  # type: ignore[attr-defined]
        recipe = track.recipe.with_arrangement(sections=tuple(SectionPlay(i) for i in sections))
        # The keys muted: a remix, not the original's sections (the platform's spam gate).
        recipe = recipe.with_stem("drums", gain_db=-4).with_stem("keys", mute=True)
        track.publish(title=title, recipe=recipe)
        track.close()
    other.close()


if __name__ == "__main__":
    sys.exit(main())
