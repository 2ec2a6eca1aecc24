# SPDX-License-Identifier: GPL-3.0-or-later
"""The MIDI mapping file: the default layout, learning, round trips, and every damaged file
refused with its own sentence."""

from __future__ import annotations

import contextlib
import json
import random

import pytest

from app.core import midi_mapping
from app.core.midi_mapping import (
    MidiMappingError,
    MidiMappingVersionError,
    MidiSource,
    generic_8_fader,
    is_continuous,
)


def test_the_default_maps_eight_strips_and_the_transport() -> None:
    mapping = generic_8_fader()
    assert mapping.control_for(MidiSource("cc", 0, 0)) == "strip1.fader"
    assert mapping.control_for(MidiSource("cc", 0, 7)) == "strip8.fader"
    assert mapping.control_for(MidiSource("cc", 0, 23)) == "strip8.pan"
    assert mapping.control_for(MidiSource("cc", 0, 48)) == "strip1.mute"
    assert mapping.control_for(MidiSource("cc", 0, 41)) == "transport.play"
    assert len(mapping.bindings) == 8 * 4 + 6
    assert is_continuous("strip1.pan") and not is_continuous("strip1.mute")
    assert not is_continuous("transport.play")


def test_learning_moves_a_control_to_its_new_message_and_round_trips() -> None:
    mapping = generic_8_fader().learned("strip1.fader", MidiSource("cc", 3, 74))
    assert mapping.source_for("strip1.fader") == MidiSource("cc", 3, 74)
    assert mapping.control_for(MidiSource("cc", 0, 0)) is None  # its old message is free
    # A message already bound to another control now moves the learned one only.
    relearned = mapping.learned("master.fader", MidiSource("cc", 3, 74))
    assert relearned.control_for(MidiSource("cc", 3, 74)) == "master.fader"
    assert relearned.source_for("strip1.fader") is None
    assert relearned.name == "Generic 8-fader controller (edited)"
    assert midi_mapping.loads(relearned.to_json()) == relearned
    assert (
        midi_mapping.loads(relearned.forgotten("master.fader").to_json()).source_for("master.fader")
        is None
    )
    with pytest.raises(MidiMappingError, match="not a control"):
        mapping.learned("strip9.fader", MidiSource("cc", 0, 1))


@pytest.mark.parametrize(
    ("doc", "says"),
    [
        ({"schema": "fanfare.recipe", "version": 1}, "not a Fanfare MIDI mapping"),
        ({"schema": "fanfare.midi-mapping", "version": 9, "bindings": []}, "newer Fanfare"),
        ({"schema": "fanfare.midi-mapping", "version": 1, "bindings": "x"}, "not readable"),
        ({"schema": "fanfare.midi-mapping", "version": 1,
          "bindings": [{"message": "cc", "channel": 16, "number": 1, "control": "strip1.pan"}]},
         "channel is 1-16"),
        ({"schema": "fanfare.midi-mapping", "version": 1,
          "bindings": [{"message": "sysex", "channel": 0, "number": 1, "control": "strip1.pan"}]},
         "not a MIDI message"),
        ({"schema": "fanfare.midi-mapping", "version": 1,
          "bindings": [{"message": "cc", "channel": 0, "number": 1, "control": "rm -rf"}]},
         "control Fanfare lacks"),
        ({"schema": "fanfare.midi-mapping", "version": 1,
          "bindings": [{"message": "cc", "channel": 0, "number": 1, "control": ["a"]}]},
         "control Fanfare lacks"),
        ({"schema": "fanfare.midi-mapping", "version": 1, "bindings": [
            {"message": "cc", "channel": 0, "number": 1, "control": "strip1.pan"},
            {"message": "cc", "channel": 0, "number": 1, "control": "strip2.pan"}]},
         "twice"),
    ],
)  # fmt: skip
def test_a_damaged_mapping_is_refused_with_its_reason(doc, says) -> None:
    with pytest.raises(MidiMappingError, match=says) as refused:
        midi_mapping.loads(json.dumps(doc))
    if "newer" in says:
        assert isinstance(refused.value, MidiMappingVersionError)


def test_random_damage_is_refused_or_read_never_a_crash() -> None:
    data = generic_8_fader().to_json()
    rng = random.Random(21)
    for _ in range(300):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 6)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        with contextlib.suppress(MidiMappingError):  # refused with a sentence, or read
            midi_mapping.loads(bytes(damaged))
