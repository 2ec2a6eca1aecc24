# SPDX-License-Identifier: GPL-3.0-or-later
"""Style models in the window: the strips' Style buttons and the style panel, driven offscreen
with pytest-qt over the real platform on loopback, with whatever models ``models/`` ships."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QMessageBox

from app.core.errors import StyleModelError
from app.core.policy import StemRule
from app.studio import open_track
from app.studio.status import StyleAdjusted
from app.ui.main_window import MainWindow
from app.ui.style_dialog import (
    REF_ROLE,
    StyleDialog,
    format_knob,
    knob_to_slider,
    slider_to_knob,
)
from app.ui.track_view import TrackView

pytestmark = pytest.mark.qt
WAIT_MS = 30_000
NO_MODELS = (
    "The platform offers no style models: it registers the packages in models/<id>/ "
    "(manifest.json, model.onnx, golden.npz) when it is seeded, and there are none. Train or "
    "copy a model package there; these tests do not skip without one."
)


def _open(qtbot, window: MainWindow, track_id: str) -> TrackView:
    window.open_track(track_id)
    qtbot.waitUntil(
        lambda: window.view is not None and window.view.track.info.id == track_id,
        timeout=WAIT_MS,
    )
    assert window.view is not None
    return window.view


def _panel(qtbot, view: TrackView, kind: str) -> StyleDialog:
    """Open the style panel of ``kind`` with its Style button and wait for the models."""
    qtbot.mouseClick(view.strips[kind].style_button, Qt.MouseButton.LeftButton)
    dialog = view.styles[kind]
    assert dialog.isVisible()
    qtbot.waitUntil(lambda: not dialog.status.text().startswith("Looking up"), timeout=WAIT_MS)
    assert dialog.models is not None, dialog.status.text()
    assert dialog.models, NO_MODELS
    return dialog


def _pick_model(view: TrackView, family: str | None = None) -> tuple[str, dict[str, Any]]:
    """A stem and a model (of ``family``, if given) that may go on it, preferring a stem the
    model was made for."""
    models = view.track.model_stems()
    assert models, NO_MODELS
    if family is not None:
        models = [m for m in models if m["family"] == family]
        assert models, f"The platform offers no {family} model (models/{family}.*/)."
    for suited in (True, False):
        for model in models:
            for kind in model["stems"]:
                if not suited or kind in model["stem_kinds"]:
                    return kind, model
    pytest.fail(f"No offered model may be placed on {view.track.info.title}: {models}")


def _item(dialog: StyleDialog, ref: str) -> Any:
    items = dialog.picker.model()
    assert isinstance(items, QStandardItemModel)
    index = dialog.picker.findData(ref, REF_ROLE)
    assert index >= 0, f"{ref} is not in the {dialog.kind} panel"
    return items.item(index)


def _analysed(qtbot, view: TrackView, kind: str) -> None:
    """Wait for the styled stem's whole-stem analysis (a timbre model's pitch tracking), run
    ahead on a prefetch thread: later knob changes share it instead of starting another, and
    the track is not closed under it."""
    mixer, player = view.track.mixer, view.track.player

    def made() -> bool:
        player.take_waiting_switch()  # while stopped, a style change is taken once it is made
        return not mixer.switch_waiting

    qtbot.waitUntil(made, timeout=WAIT_MS * 4)
    source = mixer.stems[mixer.names.index(kind)]
    qtbot.waitUntil(lambda: source.adjustment is not None, timeout=WAIT_MS * 4)


def _undo(qtbot, dialog: StyleDialog) -> None:
    """Ctrl+Z as the user presses it with the panel in front."""
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=WAIT_MS)
    qtbot.keyClick(dialog, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)


def test_each_strip_has_a_style_button_greyed_out_where_the_artist_forbids_it(
    qtbot, window: MainWindow
) -> None:
    view = _open(qtbot, window, "copper-wire")  # the artist allows no style families
    for kind, strip in view.strips.items():
        assert strip.style_button.text() == "Style"
        assert not strip.style_button.isEnabled(), kind
        assert "allows no style models" in strip.style_button.toolTip()
    assert view.master.style_button.isHidden()

    for track_id in ("neon-harbour", "paper-moons"):  # timbre and character allowed
        view = _open(qtbot, window, track_id)
        for kind, strip in view.strips.items():
            assert strip.style_button.isEnabled(), (track_id, kind)
            assert strip.style_button.text() == "Style"


@pytest.mark.parametrize("family", ["timbre", "character"])
def test_a_model_goes_on_a_stem_its_knobs_change_it_none_removes_it_and_undo_restores(
    qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, family: str
) -> None:
    # Edits of one control less than a second apart are one undo step (a fader drag); here
    # each change is its own step, as it is when the user pauses between them.
    monkeypatch.setattr(open_track, "UNDO_MERGE_S", 0.0)
    view = _open(qtbot, window, "neon-harbour")
    track = view.track
    kind, model = _pick_model(view, family)
    dialog = _panel(qtbot, view, kind)
    assert _item(dialog, model["ref"]).isEnabled()
    assert not dialog.controls.isVisible()  # nothing placed yet

    dialog.picker.setCurrentIndex(dialog.picker.findData(model["ref"], REF_ROLE))
    qtbot.waitUntil(lambda: track.recipe.stems[kind].style is not None, timeout=WAIT_MS)
    placed = track.recipe.stems[kind].style
    assert (placed.model, placed.version) == (model["id"], model["version"])
    assert placed.mix == 1.0 and placed.octave is None
    assert dialog.controls.isVisible()
    assert dialog.description.text()
    button = view.strips[kind].style_button
    assert button.property("placed") is True
    assert button.text().rstrip("…") in model["display_name"]
    assert "Ctrl+Z" in window.statusBar().currentMessage()
    _analysed(qtbot, view, kind)

    # What the runtime did to the stem (a timbre model moving the melody an octave, once its
    # analysis has run during playback) is news: on the strip, in the panel and in the status
    # bar, not an error box.
    said = f"The melody was moved up one octave to suit the {model['display_name']}."
    monkeypatch.setattr(track, "take_notices", lambda: [StyleAdjusted(stem=kind, text=said)])
    view._tick()
    monkeypatch.setattr(track, "take_notices", list)
    assert dialog.note.text() == said and dialog.note.isVisible()
    assert said in button.toolTip()
    assert window.statusBar().currentMessage() == said
    assert window.findChild(QMessageBox) is None

    # A knob (or the mix, for a model without knobs) moved from the keyboard: applied once
    # the user pauses, as one change.
    if model["knobs"]:
        knob = model["knobs"][0]
        slider = dialog.knob_sliders[knob["id"]]
        target = 0 if knob_to_slider(knob, knob["default"]) > 500 else 1000
        slider.setValue(target)
        expected = slider_to_knob(knob, target)
        assert dialog.knob_values[knob["id"]].text() == format_knob(knob, expected)
        qtbot.waitUntil(
            lambda: track.recipe.stems[kind].style.knob_values.get(knob["id"]) == expected,
            timeout=WAIT_MS,
        )
    dialog.mix.setValue(60)
    assert dialog.mix_value.text() == "60% wet"
    qtbot.waitUntil(lambda: track.recipe.stems[kind].style.mix == 0.6, timeout=WAIT_MS)

    _undo(qtbot, dialog)  # the mix goes back
    assert track.recipe.stems[kind].style.mix == 1.0
    assert dialog.mix.value() == 100
    for _ in model["knobs"][:1]:
        _undo(qtbot, dialog)  # and the knob
    assert track.recipe.stems[kind].style == placed

    dialog.picker.setCurrentIndex(0)  # None
    assert track.recipe.stems[kind].style is None
    assert button.text() == "Style" and button.property("placed") is False
    assert not dialog.controls.isVisible()
    _undo(qtbot, dialog)
    assert track.recipe.stems[kind].style == placed
    assert dialog.picker.currentData(REF_ROLE) == model["ref"]
    assert button.property("placed") is True

    if model["family"] == "timbre":
        assert dialog.octave.isVisibleTo(dialog)
        dialog.octave.setCurrentIndex(dialog.octave.findData(1))
        assert track.recipe.stems[kind].style.octave == 1
        _analysed(qtbot, view, kind)  # another octave is another analysis of the stem
    else:
        assert not dialog.octave.isVisibleTo(dialog)


def test_what_the_artist_forbids_is_greyed_out_and_says_why(qtbot, window: MainWindow) -> None:
    view = _open(qtbot, window, "neon-harbour")
    kind, model = _pick_model(view)
    # The demo tracks allow both families, so the open track's policy is narrowed here: no
    # models of this one's family, and one stem that may not be restyled at all.
    track = view.track
    other = next(k for k in track.info.stem_kinds if k != kind)
    families = tuple(f for f in track.policy.style_families if f != model["family"])
    track.policy = replace(
        track.policy,
        style_families=families,
        stems={**track.policy.stems, other: StemRule(restyle=False)},
    )
    narrowed = TrackView(track)
    qtbot.addWidget(narrowed)
    narrowed.timer.stop()
    assert not narrowed.strips[other].style_button.isEnabled()
    assert f"does not allow restyling the {other} stem" in (
        narrowed.strips[other].style_button.toolTip()
    )
    if not families:
        return  # this platform offers a single family: the stem check is all there is
    dialog = _panel(qtbot, narrowed, kind)
    item = _item(dialog, model["ref"])
    assert not item.isEnabled()
    assert item.text().strip().endswith("(not allowed)")
    assert f"does not allow {model['family']} models" in item.toolTip()


def test_a_model_that_fails_is_explained_in_the_panel_and_changes_nothing(
    qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    view = _open(qtbot, window, "paper-moons")
    kind, model = _pick_model(view)
    dialog = _panel(qtbot, view, kind)

    def broken(ref: str) -> Any:
        raise StyleModelError(f"The model {ref} fails its self-test (output wet).")

    monkeypatch.setattr(view.track, "style_package", broken)
    before = view.track.recipe
    dialog.picker.setCurrentIndex(dialog.picker.findData(model["ref"], REF_ROLE))
    qtbot.waitUntil(lambda: "fails its self-test" in dialog.status.text(), timeout=WAIT_MS)
    assert view.track.recipe is before
    assert dialog.picker.currentIndex() == 0  # back on None
    assert dialog.picker.isEnabled()
    assert view.strips[kind].style_button.text() == "Style"
    assert window.findChild(QMessageBox) is None  # said in the panel, not in a dialog box
