# SPDX-License-Identifier: GPL-3.0-or-later
"""A MIDI mapping: which controller message moves which control of the studio.

Controls are named by position, not by stem, so one mapping serves every track: ``strip3.fader``
is the third stem's fader whatever the stem is. A message is a control change (``cc``: number
0-127, value 0-127) or a note (``note``: number 0-127, pressed with velocity > 0), on one of
the 16 channels (0-15).

File form (JSON, version 1; kept in the user's config and exported as ``.fanfare-midi``)::

    {"schema": "fanfare.midi-mapping", "version": 1, "name": "Generic 8-fader controller",
     "bindings": [{"message": "cc", "channel": 0, "number": 0, "control": "strip1.fader"},
                  {"message": "note", "channel": 9, "number": 36, "control": "transport.play"}]}

The default is the layout most 8-fader USB controllers ship with in their CC mode (faders CC
0-7, knobs CC 16-23, solo buttons CC 32-39, mute buttons CC 48-55, transport CC 41-46, all on
channel 1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from app.core.errors import FanfareError
from app.core.versioned import Wording, read_versioned

SCHEMA = "fanfare.midi-mapping"
VERSION = 1
MAX_MAPPING_BYTES = 256 * 1024
STRIPS = 8
MESSAGES = ("cc", "note")
#: What a strip has: the continuous ones (fader, pan) and the buttons (mute, solo).
STRIP_CONTROLS = ("fader", "pan", "mute", "solo")
CONTINUOUS = ("fader", "pan")
TRANSPORT_CONTROLS = ("play", "stop", "loop", "record", "start", "end")


class MidiMappingError(FanfareError):
    """A MIDI mapping file that cannot be read; the message says why."""


class MidiMappingVersionError(MidiMappingError):
    """A mapping saved by a newer Fanfare."""


def controls() -> tuple[str, ...]:
    """Every control a mapping may name, in the order a list shows them."""
    names = [f"strip{n}.{c}" for n in range(1, STRIPS + 1) for c in STRIP_CONTROLS]
    names += ["master.fader"] + [f"transport.{c}" for c in TRANSPORT_CONTROLS]
    return tuple(names)


CONTROLS = frozenset(controls())


def is_continuous(control: str) -> bool:
    """Whether ``control`` takes a position (a fader, a knob) rather than a press."""
    return control.rsplit(".", 1)[-1] in CONTINUOUS and not control.startswith("transport.")


@dataclass(frozen=True, order=True)
class MidiSource:
    """One kind of message from a controller: ``message`` "cc" or "note", ``channel`` 0-15,
    ``number`` 0-127 (the controller or note number)."""

    message: str
    channel: int
    number: int

    def __post_init__(self) -> None:
        if self.message not in MESSAGES:
            raise MidiMappingError(f"'{self.message}' is not a MIDI message Fanfare maps.")
        if not (_small(self.channel, 15) and _small(self.number, 127)):
            raise MidiMappingError("A MIDI channel is 1-16 and a number 0-127.")

    def describe(self) -> str:
        """As a controller's manual says it: "CC 7 on channel 1", "note 36 on channel 10"."""
        what = "CC" if self.message == "cc" else "note"
        return f"{what} {self.number} on channel {self.channel + 1}"


@dataclass(frozen=True)
class MidiMapping:
    """Which message moves which control: at most one control per message and one message per
    control (learning a control again moves it to the new message)."""

    name: str = "Custom mapping"
    bindings: dict[MidiSource, str] = field(default_factory=dict)

    def control_for(self, source: MidiSource) -> str | None:
        return self.bindings.get(source)

    def source_for(self, control: str) -> MidiSource | None:
        for source, bound in self.bindings.items():
            if bound == control:
                return source
        return None

    def learned(self, control: str, source: MidiSource) -> MidiMapping:
        """This mapping with ``source`` moving ``control`` (and nothing else on either)."""
        if control not in CONTROLS:
            raise MidiMappingError(f"'{control}' is not a control Fanfare maps.")
        kept = {s: c for s, c in self.bindings.items() if s != source and c != control}
        kept[source] = control
        return MidiMapping(_custom(self.name), dict(sorted(kept.items())))

    def forgotten(self, control: str) -> MidiMapping:
        """This mapping without ``control``."""
        kept = {s: c for s, c in self.bindings.items() if c != control}
        return MidiMapping(_custom(self.name), kept)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "version": VERSION,
            "name": self.name,
            "bindings": [
                {"message": s.message, "channel": s.channel, "number": s.number, "control": c}
                for s, c in sorted(self.bindings.items())
            ],
        }

    def to_json(self) -> bytes:
        return (json.dumps(self.to_dict(), indent=1) + "\n").encode()


_WORDING = Wording(
    too_large="This file is too large to be a Fanfare MIDI mapping.",
    not_json="This MIDI mapping is not valid JSON ({reason}).",
    not_this="This file is not a Fanfare MIDI mapping.",
    no_version="This MIDI mapping has no valid version number.",
    newer="This MIDI mapping was saved by a newer Fanfare (version {version}; this one reads "
    "up to {current}). Update Fanfare to use it.",
)


def loads(data: bytes | str) -> MidiMapping:
    """Parse a mapping from outside (the user's config, a file they import).

    Raises:
        MidiMappingVersionError: from a newer Fanfare.
        MidiMappingError: anything else malformed, with the reason.
    """
    doc = read_versioned(
        data, schema=SCHEMA, current=VERSION, max_bytes=MAX_MAPPING_BYTES, wording=_WORDING,
        error=MidiMappingError, newer_error=MidiMappingVersionError,
    )  # fmt: skip
    name = doc.get("name", "Custom mapping")
    items = doc.get("bindings")
    if not isinstance(name, str) or len(name) > 200 or not isinstance(items, list):
        raise MidiMappingError("This MIDI mapping's name or bindings are not readable.")
    bindings: dict[MidiSource, str] = {}
    for item in items:
        if not isinstance(item, dict):
            raise MidiMappingError("A binding of this MIDI mapping is not an object.")
        control = item.get("control")
        if not isinstance(control, str) or control not in CONTROLS:
            raise MidiMappingError(
                f"This MIDI mapping names a control Fanfare lacks: {control!r:.40}."
            )
        source = MidiSource(item.get("message"), item.get("channel"), item.get("number"))  # type: ignore[arg-type]
        if source in bindings or control in bindings.values():
            raise MidiMappingError(
                f"This MIDI mapping binds {source.describe()} or {control} twice."
            )
        bindings[source] = control
    return MidiMapping(name, dict(sorted(bindings.items())))


def generic_8_fader() -> MidiMapping:
    """The default: a generic 8-fader controller in its CC mode, on channel 1."""
    bindings: dict[MidiSource, str] = {}
    for strip in range(STRIPS):
        n = strip + 1
        bindings[MidiSource("cc", 0, strip)] = f"strip{n}.fader"
        bindings[MidiSource("cc", 0, 16 + strip)] = f"strip{n}.pan"
        bindings[MidiSource("cc", 0, 32 + strip)] = f"strip{n}.solo"
        bindings[MidiSource("cc", 0, 48 + strip)] = f"strip{n}.mute"
    transport = {41: "play", 42: "stop", 43: "start", 44: "end", 45: "record", 46: "loop"}
    for number, control in transport.items():
        bindings[MidiSource("cc", 0, number)] = f"transport.{control}"
    return MidiMapping("Generic 8-fader controller", dict(sorted(bindings.items())))


def _small(value: object, top: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= top


def _custom(name: str) -> str:
    return name if name.endswith("(edited)") or name == "Custom mapping" else f"{name} (edited)"
