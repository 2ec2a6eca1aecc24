# SPDX-License-Identifier: GPL-3.0-or-later
"""MIDI controllers through a real transport (JACK, dummy backend): a controller plugged in
after the studio started is found, its fader moves the mapped control, MIDI learn binds what is
pressed next, and unplugging and plugging it again needs no restart. Soft takeover on its own."""

from __future__ import annotations

import queue
import time

import pytest

from app.core.midi_mapping import MidiSource, generic_8_fader
from app.studio.midi import ControlMove, MidiInput, SoftTakeover, load_mapping, save_mapping
from tests.helpers.jack import Controller

POLL_S = 0.2


def _next(moves: queue.Queue[ControlMove], timeout_s: float = 3.0) -> ControlMove:
    return moves.get(timeout=timeout_s)


def _wait(condition, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def test_a_controller_plugged_in_later_moves_controls_and_survives_a_replug(jack) -> None:
    moves: queue.Queue[ControlMove] = queue.Queue()
    midi = MidiInput(generic_8_fader(), moves.put, poll_s=POLL_S)
    try:
        assert midi.unavailable is None
        assert midi.ports == []
        controller = Controller("nanoFADER")
        _wait(lambda: any("nanoFADER" in p for p in midi.ports))
        controller.cc(2, 127)  # the third fader, all the way up
        move = _next(moves)
        assert (move.control, move.value) == ("strip3.fader", 1.0)
        controller.cc(18, 0)  # the third knob, all the way left
        assert (_next(moves).control, moves.qsize()) == ("strip3.pan", 0)
        controller.cc(41, 127)  # play, pressed ...
        assert _next(moves).control == "transport.play"
        controller.cc(41, 0)  # ... and let go: nothing more
        controller.cc(99, 64)  # a knob no mapping has
        with pytest.raises(queue.Empty):
            _next(moves, 0.5)
        # Unplugged and plugged in again: found again, no restart.
        controller.unplug()
        _wait(lambda: midi.ports == [])
        controller.plug()
        _wait(lambda: any("nanoFADER" in p for p in midi.ports))
        controller.cc(0, 64)
        move = _next(moves)
        assert move.control == "strip1.fader" and move.value == pytest.approx(64 / 127)
        controller.unplug()
    finally:
        midi.close()


def test_midi_learn_binds_the_next_control_touched(jack, tmp_path) -> None:
    moves: queue.Queue[ControlMove] = queue.Queue()
    learned: queue.Queue[tuple[str, MidiSource]] = queue.Queue()
    controller = Controller("padKONTROL")
    midi = MidiInput(generic_8_fader(), moves.put, lambda c, s: learned.put((c, s)), poll_s=POLL_S)
    try:
        _wait(lambda: any("padKONTROL" in p for p in midi.ports))
        midi.learn("transport.record")
        controller.note(36, 100, channel=9)  # a drum pad on channel 10
        assert learned.get(timeout=3.0) == ("transport.record", MidiSource("note", 9, 36))
        assert moves.empty()  # learning takes the press; it does not also record
        controller.note(36, 0, channel=9)  # its release
        controller.note(36, 90, channel=9)
        assert _next(moves).control == "transport.record"
        with pytest.raises(queue.Empty):
            _next(moves, 0.3)  # the release of that press does nothing
        # Learning a fader's control again moves it to the new message.
        midi.learn("strip1.fader")
        controller.cc(7, 30, channel=2)
        assert learned.get(timeout=3.0)[1] == MidiSource("cc", 2, 7)
        assert midi.mapping.source_for("strip1.fader") == MidiSource("cc", 2, 7)
        assert midi.mapping.control_for(MidiSource("cc", 0, 0)) is None
        # Kept and read back as the user's mapping.
        path = tmp_path / "midi-mapping.json"
        save_mapping(path, midi.mapping)
        assert load_mapping(path) == midi.mapping
    finally:
        controller.unplug()
        midi.close()


def test_without_a_midi_system_the_studio_says_so(monkeypatch) -> None:
    monkeypatch.setenv("FANFARE_MIDI_API", "jack")
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "fanfare-no-such-server")
    midi = MidiInput(generic_8_fader(), lambda move: None)
    assert midi.unavailable is not None and "no MIDI system" in midi.unavailable
    assert midi.ports == []
    midi.close()


def test_soft_takeover_waits_for_the_hardware_to_reach_the_control() -> None:
    takeover = SoftTakeover()
    # The fader in the window is at 0.8; the hardware was left at 0.1.
    assert not takeover.accept("strip1.fader", 0.10, 0.8)
    assert not takeover.accept("strip1.fader", 0.40, 0.8)  # on its way: not yet
    assert takeover.accept("strip1.fader", 0.82, 0.8)  # it passed the control: picked up
    takeover.moved("strip1.fader", 0.82)
    assert takeover.accept("strip1.fader", 0.50, 0.82)  # held: follows anywhere
    takeover.moved("strip1.fader", 0.50)
    # The user drags the fader in the window to 0.9: the hardware lets go of it again.
    assert not takeover.accept("strip1.fader", 0.45, 0.9)
    assert takeover.accept("strip1.fader", 0.89, 0.9)  # within a step of it
    # A fast move straight across the control also picks it up (no value near it was sent).
    assert not takeover.accept("strip2.pan", 0.1, 0.5)
    assert takeover.accept("strip2.pan", 0.9, 0.5)
