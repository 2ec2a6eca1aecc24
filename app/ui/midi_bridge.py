# SPDX-License-Identifier: GPL-3.0-or-later
"""MIDI controllers in the window: the studio's :class:`MidiInput` brought onto the window's
thread (a signal emitted on rtmidi's thread is queued to the receivers' own), MIDI learn from a
control's right-click menu, and the mapping kept in the user's config.

A fader or knob moved on the hardware moves the control in the window as a drag would, so the
edit takes the same path (the policy, Undo, Record moves); soft takeover keeps a control the
hardware has not picked up where the user left it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QPoint, Qt, Signal
from PySide6.QtWidgets import QMenu, QWidget

from app.core.midi_mapping import MidiMapping, MidiSource, generic_8_fader
from app.studio.midi import ControlMove, MidiInput, SoftTakeover, load_mapping, save_mapping


def control_label(control: str, kinds: tuple[str, ...] = ()) -> str:
    """A control as the window names it: "Drums fader", "Strip 7 pan", "Play"."""
    area, _, what = control.partition(".")
    if area == "transport":
        return {"start": "Go to start", "end": "Go to end", "record": "Record moves"}.get(
            what, what.capitalize()
        )
    if area == "master":
        return "Master fader"
    number = int(area.removeprefix("strip"))
    name = kinds[number - 1].capitalize() if number <= len(kinds) else f"Strip {number}"
    return f"{name} {what}"


class MidiBridge(QObject):
    """The controllers for one window.

    Signals (on the window's thread): ``moved(control, value)`` as ``ControlMove``;
    ``learned(control, what)`` once a learn binds a message (``what``: "CC 7 on channel 1").
    """

    moved = Signal(str, float)
    learned = Signal(str, str)

    def __init__(self, mapping_file: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.mapping_file = mapping_file
        self.takeover = SoftTakeover()
        self.input = MidiInput(load_mapping(mapping_file), self._deliver, self._learned)
        # Kept from the window's thread (a queued call), not from the MIDI thread's callback.
        self.learned.connect(self._keep)

    @property
    def unavailable(self) -> str | None:
        return self.input.unavailable

    @property
    def mapping(self) -> MidiMapping:
        return self.input.mapping

    def set_mapping(self, mapping: MidiMapping) -> None:
        """Use ``mapping`` from now on, and keep it."""
        self.input.mapping = mapping
        save_mapping(self.mapping_file, mapping)

    def reset_mapping(self) -> None:
        self.set_mapping(generic_8_fader())

    def learn(self, control: str) -> None:
        self.input.learn(control)

    def forget(self, control: str) -> None:
        self.set_mapping(self.mapping.forgotten(control))

    def close(self) -> None:
        self.input.close()

    def _deliver(self, move: ControlMove) -> None:  # rtmidi's thread
        self.moved.emit(move.control, move.value)

    def _learned(self, control: str, source: MidiSource) -> None:  # rtmidi's thread
        self.learned.emit(control, source.describe())

    def _keep(self, _control: str, _what: str) -> None:
        save_mapping(self.mapping_file, self.input.mapping)


def offer_learn(
    widget: QWidget,
    control: str,
    bridge: Callable[[], MidiBridge | None],
    label: str,
    told: Callable[[str], None],
) -> None:
    """Give ``widget`` a right-click menu: Learn MIDI for ``control``, and Forget it."""
    widget.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

    def show(at: QPoint) -> None:
        midi = bridge()
        menu = QMenu(widget)
        if midi is None or midi.unavailable:
            action = menu.addAction("MIDI learn (no MIDI controllers on this computer)")
            action.setEnabled(False)
        else:
            learn = menu.addAction(f"Learn MIDI for {label}")
            learn.triggered.connect(lambda: _learn(midi, control, label, told))
            bound = midi.mapping.source_for(control)
            if bound is not None:
                forget = menu.addAction(f"Forget MIDI ({bound.describe()})")
                forget.triggered.connect(lambda: midi.forget(control))
            if midi.input.learning is not None:
                cancel = menu.addAction("Cancel MIDI learn")
                cancel.triggered.connect(midi.input.cancel_learn)
        menu.popup(widget.mapToGlobal(at))

    widget.customContextMenuRequested.connect(show)


def _learn(midi: MidiBridge, control: str, label: str, told: Callable[[str], None]) -> None:
    midi.learn(control)
    told(f"MIDI learn: move a fader or knob, or press a button, on your controller for {label}.")
