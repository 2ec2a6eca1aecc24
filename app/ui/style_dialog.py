# SPDX-License-Identifier: GPL-3.0-or-later
"""A stem's style model: pick a timbre or character model (grouped by family; those the artist
or the licence does not allow are greyed out with the studio's reason), then its knobs, the
wet/dry mix and, for timbre models, the octave. Every change goes through the studio, so it is
checked against the policy and is one undo step; a refused or failed change leaves the stem as
it was."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QKeySequence,
    QShortcut,
    QStandardItem,
    QStandardItemModel,
)
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QStyledItemDelegate,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import Shiboken

from app.core.errors import FanfareError
from app.core.style_slot import StyleSlot
from app.studio.open_track import OpenTrack
from app.studio.style_library import ModelStems
from app.ui.theme import ACCENT_SOFT, TEXT_DIM
from app.ui.workers import describe, run_task

KNOB_STEPS = 1000
# A keyboard or wheel change is applied once the user pauses this long: each knob change makes
# the styled sound again ahead of the playhead, so a burst of key presses must not become a
# burst of rebuilds (a mouse drag applies once, on release).
DEBOUNCE_MS = 300
FAMILY_TITLES = {"timbre": "Timbre", "character": "Character"}
OCTAVES: tuple[tuple[str, int | None], ...] = (
    ("Auto", None),
    ("\u22122", -2),
    ("\u22121", -1),
    ("0", 0),
    ("+1", 1),
    ("+2", 2),
)
REF_ROLE = Qt.ItemDataRole.UserRole
# The theme's palette gives disabled text the normal colour; a refused model must look refused
# (the colour the theme gives disabled buttons).
REFUSED_TEXT = "#6b707c"


def short_name(model_id: str, names: dict[str, str] | None = None) -> str:
    """The name a strip shows for a model: its display name when known, else one made from
    the id ("timbre.synth-lead" → "Synth lead")."""
    if names and model_id in names:
        return names[model_id]
    tail = model_id.rsplit(".", 1)[-1].replace("-", " ").replace("_", " ")
    return tail[:1].upper() + tail[1:]


def knob_to_slider(knob: dict[str, Any], value: float) -> int:
    low, high = float(knob["min"]), float(knob["max"])
    return round((min(max(value, low), high) - low) / (high - low) * KNOB_STEPS)


def knob_decimals(knob: dict[str, Any]) -> int:
    """Digits worth showing for a knob: a 0..1 amount needs two, a dB range one."""
    span = float(knob["max"]) - float(knob["min"])
    return 2 if span <= 2 else 1 if span <= 50 else 0


def slider_to_knob(knob: dict[str, Any], position: int) -> float:
    low, high = float(knob["min"]), float(knob["max"])
    value = low + position / KNOB_STEPS * (high - low)
    # One digit finer than shown, so the recipe holds tidy numbers, never outside the range.
    return min(max(round(value, knob_decimals(knob) + 1), low), high)


def format_knob(knob: dict[str, Any], value: float) -> str:
    unit = str(knob.get("unit", ""))
    return f"{value:.{knob_decimals(knob)}f} {unit}".strip()


class StyleDialog(QDialog):
    """The style model of stem ``kind`` of ``track``; non-modal, like the effects panel.

    Args:
        models: the platform's models as ``OpenTrack.model_stems()`` gave them, when already
            fetched; otherwise the panel fetches them on a worker when first shown.
    """

    #: The platform's models arrived (the list, for the strips' labels and other panels).
    models_loaded = Signal(list)
    #: The stem's style changed (its kind), so its strip can show the model.
    changed = Signal(str)
    #: A sentence for the status bar.
    message = Signal(str)
    undo_requested = Signal()
    redo_requested = Signal()

    def __init__(
        self,
        track: OpenTrack,
        kind: str,
        models: list[ModelStems] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.track = track
        self.kind = kind
        self.setWindowTitle(f"Style: {kind}")
        self.setMinimumWidth(420)
        self.models: dict[str, ModelStems] | None = None
        self._fetching = False
        self._loading: StyleSlot | None = None  # the model being fetched and checked
        self._shut = False
        self._built_for: str | None = None  # the model whose controls are shown
        self._pending: dict[str, Any] = {}  # control changes waiting for the debounce
        self.knob_sliders: dict[str, QSlider] = {}
        self.knob_values: dict[str, QLabel] = {}

        layout = QVBoxLayout(self)
        self.picker = QComboBox()
        self.picker.setModel(QStandardItemModel(self.picker))
        # The default (menu-like) delegate ignores item colours: headings and refused models
        # need theirs.
        self.picker.setItemDelegate(QStyledItemDelegate(self.picker))
        self.picker.view().setStyleSheet("QAbstractItemView::item { padding: 4px 10px; }")
        self.picker.setMinimumContentsLength(18)
        self.picker.currentIndexChanged.connect(self._picked)
        pick_row = QFormLayout()
        pick_row.addRow("Model", self.picker)
        layout.addLayout(pick_row)
        self.description = QLabel("")
        self.description.setObjectName("dim")
        self.description.setWordWrap(True)
        layout.addWidget(self.description)

        self.controls = QGroupBox("Controls")
        self.form = QFormLayout(self.controls)
        self.mix = QSlider(Qt.Orientation.Horizontal)
        self.mix.setRange(0, 100)
        self.mix.setToolTip("Wet/dry: how much of the styled sound replaces the stem")
        self.mix_value = QLabel("")
        self.mix_value.setMinimumWidth(80)
        self._connect(self.mix, lambda v: self._mix_moved(v))
        self.octave = QComboBox()
        for text, value in OCTAVES:
            self.octave.addItem(text, value)
        self.octave.setToolTip(
            "Octaves to move the melody by. Auto moves it into the instrument's range and says "
            "so below."
        )
        self.octave.currentIndexChanged.connect(self._octave_picked)
        self.form.addRow("Mix", _row(self.mix, self.mix_value))
        self.form.addRow("Octave", self.octave)
        layout.addWidget(self.controls)

        self.note = QLabel("")  # what the runtime did, e.g. moved the melody an octave
        self.note.setObjectName("note")
        self.note.setWordWrap(True)
        self.note.setStyleSheet(f"color: {ACCENT_SOFT};")
        self.status = QLabel("")
        self.status.setObjectName("status")
        self.status.setWordWrap(True)
        self.note.hide()
        layout.addWidget(self.note)
        layout.addWidget(self.status)
        layout.addStretch()

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.apply_pending)
        # The panel is its own window: without these, Ctrl+Z would not reach the main window.
        QShortcut(QKeySequence.StandardKey.Undo, self, self.undo_requested.emit)
        QShortcut(QKeySequence.StandardKey.Redo, self, self.redo_requested.emit)

        if models is not None:
            self.set_models(models)
        self.show_current()

    # --- the platform's models -------------------------------------------------------------------

    def ensure_models(self) -> None:
        """Fetch the platform's models on a worker unless they are here or on their way."""
        if self.models is not None or self._fetching:
            return
        self._fetching = True
        self.status.setText("Looking up the style models…")
        self.picker.setEnabled(False)
        run_task(self.track.model_stems, self._models_arrived, self._models_failed)

    def _models_arrived(self, models: list[ModelStems]) -> None:
        if not self._alive():
            return
        self._fetching = False
        self.status.setText("" if models else "This platform offers no style models yet.")
        self.set_models(models)
        self.models_loaded.emit(models)

    def _models_failed(self, error: BaseException) -> None:
        if not self._alive():
            return
        self._fetching = False
        self.status.setText(
            f"The style models could not be listed. {describe(error, sentences=(ValueError,))}"
        )
        self.show_current()

    def set_models(self, models: list[ModelStems]) -> None:
        """Fill the picker: "None", then each family under its heading, placeable models first."""
        self.models = {str(m["ref"]): m for m in models}
        permissions = self.track.style_permissions()
        items: QStandardItemModel = self.picker.model()  # type: ignore[assignment]
        self.picker.blockSignals(True)
        items.clear()
        none = QStandardItem("None")
        none.setData(None, REF_ROLE)
        none.setToolTip(f"The {self.kind} stem as written, with no style model")
        items.appendRow(none)
        families = sorted(
            {str(m["family"]) for m in models},
            key=lambda f: (list(FAMILY_TITLES).index(f) if f in FAMILY_TITLES else 99, f),
        )
        for family in families:
            heading = QStandardItem(FAMILY_TITLES.get(family, family.capitalize()).upper())
            heading.setFlags(Qt.ItemFlag.NoItemFlags)  # a heading, never picked
            font = QFont(heading.font())
            font.setBold(True)
            heading.setFont(font)
            heading.setForeground(QColor(TEXT_DIM))
            items.appendRow(heading)
            members = [m for m in models if m["family"] == family]
            refusals = {m["ref"]: permissions.model_refusal(m, self.kind) for m in members}
            # What may go here first, and among those what suits this stem.
            members.sort(
                key=lambda m: (
                    refusals[m["ref"]] is not None,
                    self.kind not in m.get("stem_kinds", ()),
                    str(m.get("display_name", m["id"])),
                )
            )
            for model in members:
                items.appendRow(self._model_item(model, refusals[model["ref"]]))
        self.picker.blockSignals(False)
        self.show_current()

    def _model_item(self, model: ModelStems, refusal: str | None) -> QStandardItem:
        """The picker's row for ``model``: greyed out with ``refusal`` as its tooltip, if any."""
        name = str(model.get("display_name", model["id"]))
        item = QStandardItem(name if refusal is None else f"{name}  (not allowed)")
        item.setData(str(model["ref"]), REF_ROLE)
        if refusal is not None:
            item.setFlags(Qt.ItemFlag.NoItemFlags)  # greyed out; the tooltip says why
            item.setForeground(QColor(REFUSED_TEXT))
            item.setToolTip(refusal)
            return item
        tip = str(model.get("description", "")) or name
        suits = list(model.get("stem_kinds", ()))
        if suits and self.kind not in suits:
            tip += f"\nMade for {', '.join(suits)}; it may sound unexpected on {self.kind}."
        item.setToolTip(tip)
        return item

    # --- showing the recipe ----------------------------------------------------------------------

    def slot(self) -> StyleSlot | None:
        """The style on this stem in the current recipe."""
        return self.track.recipe.stems[self.kind].style

    def show_current(self) -> None:
        """Put the picker and controls where the recipe is (without applying anything)."""
        self._debounce.stop()
        self._pending.clear()
        slot = self.slot()
        index = 0
        if slot is not None:
            index = self.picker.findData(slot.ref, REF_ROLE)
            if index < 0:  # not (yet) among the listed models: show it anyway
                self.picker.model().appendRow(self._unlisted_item(slot))  # type: ignore[attr-defined]
                index = self.picker.count() - 1
        self.picker.blockSignals(True)
        self.picker.setCurrentIndex(index)
        self.picker.blockSignals(False)
        self.picker.setEnabled(self.models is not None and not self._busy())
        model = self._model(slot)
        self.description.setText(self._describe(model, slot))
        self._build_controls(model, slot)
        self._fit()

    def _fit(self) -> None:
        """Grow the window to what its rows need at its width. The wrapped description makes the
        layout's height depend on the width, and Qt does not grow a top-level window for that,
        so a longer description or more knobs would squash the rows together."""
        layout = self.layout()
        if layout is None:
            return
        layout.activate()
        needed = layout.totalHeightForWidth(self.width())
        if needed > self.height():
            self.resize(self.width(), needed)

    def _unlisted_item(self, slot: StyleSlot) -> QStandardItem:
        item = QStandardItem(short_name(slot.model))
        item.setData(slot.ref, REF_ROLE)
        return item

    def _model(self, slot: StyleSlot | None) -> ModelStems | None:
        if slot is None or self.models is None:
            return None
        return self.models.get(slot.ref)

    def _describe(self, model: ModelStems | None, slot: StyleSlot | None) -> str:
        if slot is None:
            return f"No style model on {self.kind}: the stem plays as written."
        if model is None:
            return f"{short_name(slot.model)} (version {slot.version})"
        text = str(model.get("description", "")) or str(model.get("display_name", slot.model))
        suits = list(model.get("stem_kinds", ()))
        if suits and self.kind not in suits:
            text += f" Made for {', '.join(suits)}."
        return text

    def _build_controls(self, model: ModelStems | None, slot: StyleSlot | None) -> None:
        """One slider per knob of the placed model above the mix, and the octave for timbre
        models; the knob rows are rebuilt only when the model changes."""
        ref = slot.ref if slot is not None else None
        if ref != self._built_for:
            self._built_for = ref
            for _ in self.knob_sliders:
                self.form.removeRow(0)  # the knob rows come first; removeRow deletes them
            self.knob_sliders.clear()
            self.knob_values.clear()
            for row, knob in enumerate(model.get("knobs", []) if model is not None else []):
                slider = QSlider(Qt.Orientation.Horizontal)
                slider.setRange(0, KNOB_STEPS)
                slider.setToolTip(f"{knob['name']}: {format_knob(knob, float(knob['min']))} "
                                  f"to {format_knob(knob, float(knob['max']))}")  # fmt: skip
                value_label = QLabel("")
                value_label.setMinimumWidth(80)
                self._connect(slider, partial(self._knob_moved, knob))
                self.form.insertRow(row, str(knob["name"]), _row(slider, value_label))
                self.knob_sliders[str(knob["id"])] = slider
                self.knob_values[str(knob["id"])] = value_label
            timbre = model is None or model.get("family") == "timbre"
            self.form.setRowVisible(self.octave, timbre)
        self.controls.setVisible(slot is not None)
        self.controls.setEnabled(not self._busy())
        if slot is None:
            return
        values = slot.knob_values
        for knob in model.get("knobs", []) if model is not None else []:
            knob_id = str(knob["id"])
            value = float(values.get(knob_id, knob["default"]))
            _quietly(self.knob_sliders[knob_id], knob_to_slider(knob, value))
            self.knob_values[knob_id].setText(format_knob(knob, value))
        _quietly(self.mix, round(slot.mix * 100))
        self.mix_value.setText(f"{slot.mix:.0%} wet")
        self.octave.blockSignals(True)
        self.octave.setCurrentIndex(max(self.octave.findData(slot.octave), 0))
        self.octave.blockSignals(False)

    def show_note(self, text: str) -> None:
        """What the style runtime did on this stem (e.g. moved the melody up an octave)."""
        self.note.setText(text)
        self.note.setVisible(bool(text))

    # --- edits -----------------------------------------------------------------------------------

    def _connect(self, slider: QSlider, moved: Callable[[int], None]) -> None:
        """A drag applies once on release; a key or wheel change after a short pause."""
        slider.valueChanged.connect(moved)
        slider.sliderReleased.connect(self.apply_pending)

    def _knob_moved(self, knob: dict[str, Any], position: int) -> None:
        value = slider_to_knob(knob, position)
        self.knob_values[str(knob["id"])].setText(format_knob(knob, value))
        self._pending.setdefault("knobs", {})[str(knob["id"])] = value
        self._schedule(self.knob_sliders[str(knob["id"])])

    def _mix_moved(self, position: int) -> None:
        self.mix_value.setText(f"{position}% wet")
        self._pending["mix"] = position / 100
        self._schedule(self.mix)

    def _octave_picked(self, index: int) -> None:
        self._pending["octave"] = self.octave.itemData(index)
        self.apply_pending()

    def _schedule(self, slider: QSlider) -> None:
        if not slider.isSliderDown():  # while dragging, the release applies
            self._debounce.start()

    def apply_pending(self) -> None:
        """Apply the control changes made since the last apply (one undo step)."""
        self._debounce.stop()
        slot, pending = self.slot(), dict(self._pending)
        self._pending.clear()
        if slot is None or not pending:
            return
        try:
            changed = StyleSlot.make(
                slot.model,
                slot.version,
                {**slot.knob_values, **pending.get("knobs", {})},
                mix=pending.get("mix", slot.mix),
                octave=pending.get("octave", slot.octave),
            )
        except ValueError as exc:
            self._refused(exc)
            return
        if changed != slot:
            self._place(changed)

    def _picked(self, index: int) -> None:
        ref = self.picker.itemData(index, REF_ROLE)
        current = self.slot()
        if ref is None:
            if current is not None:
                self._place(None)
            return
        if current is not None and current.ref == ref:
            return
        model = (self.models or {}).get(str(ref))
        if model is None:
            self.show_current()
            return
        mix = current.mix if current is not None else 1.0  # a new model keeps the wet share
        try:
            slot = StyleSlot.make(str(model["id"]), int(model["version"]), {}, mix=mix)
            # The artist's reasons before any download (the studio checks again on placing).
            self.track.check_style(self.kind, slot)
        except (FanfareError, ValueError) as exc:
            self._refused(exc)
            return
        self._load(slot, str(model.get("display_name", slot.model)))

    def _load(self, slot: StyleSlot, name: str) -> None:
        """Fetch and verify the package on a worker (a second the first time), then place it
        on the GUI thread, so every recipe change stays on one thread."""
        self._loading = slot
        self.status.setText(f"Fetching and checking {name}…")
        self.picker.setEnabled(False)
        self.controls.setEnabled(False)

        def loaded(_: object) -> None:
            if self._alive() and self._loading is slot:
                self._loading = None
                self._place(slot)

        def failed(error: BaseException) -> None:
            if self._alive() and self._loading is slot:
                self._loading = None
                self._refused(error)

        run_task(lambda: self.track.style_package(slot.ref), loaded, failed)

    def _busy(self) -> bool:
        return self._loading is not None

    def _place(self, slot: StyleSlot | None) -> None:
        try:
            self.track.set_style(self.kind, slot)
        except (FanfareError, ValueError) as exc:
            self._refused(exc)
            return
        if slot is None:
            self.status.setText(f"No style model on {self.kind}.")
        else:
            model = self._model(slot)
            name = str(model.get("display_name", slot.model)) if model else short_name(slot.model)
            self.status.setText(f"{name} on {self.kind}.")
            self.message.emit(f"{name} on {self.kind}. Ctrl+Z undoes it.")
        self.show_current()
        self.changed.emit(self.kind)

    def _refused(self, error: BaseException) -> None:
        """Say why, and show the stem as it still is."""
        self.show_current()
        self.status.setText(describe(error, sentences=(ValueError,)))

    # --- lifetime --------------------------------------------------------------------------------

    def _alive(self) -> bool:
        return not self._shut and Shiboken.isValid(self)

    def shut(self) -> None:
        """The track is closing: answers from workers still on their way are dropped."""
        self._shut = True
        self._debounce.stop()
        self.close()


def _row(slider: QWidget, value_label: QLabel) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addWidget(slider, 1)
    row.addWidget(value_label)
    return row


def _quietly(slider: QSlider, position: int) -> None:
    slider.blockSignals(True)
    slider.setValue(position)
    slider.blockSignals(False)
