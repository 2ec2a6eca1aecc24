# SPDX-License-Identifier: GPL-3.0-or-later
"""MIDI controllers: every input port opened as it appears and closed as it goes, its messages
(parsed by mido) turned into control moves through the user's mapping, MIDI learn, and soft
takeover for faders and knobs.

Ports come from python-rtmidi on the system's MIDI: ALSA's sequencer where the machine has one
(``/dev/snd/seq``), else a running JACK server; ``FANFARE_MIDI_API`` (``alsa``, ``jack``)
chooses. A port's messages arrive on rtmidi's thread and are handed on at once (``deliver``);
the window takes them on its own thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mido

from app.core import midi_mapping
from app.core.files import atomic_write
from app.core.midi_mapping import MidiMapping, MidiMappingError, MidiSource, is_continuous

log = logging.getLogger(__name__)

API_ENV = "FANFARE_MIDI_API"
POLL_S = 1.0  # how often the port list is read for controllers plugged in or out
CLIENT = "Fanfare"
TAKEOVER = 3 / 127  # a fader picks up once the hardware is this close to it (or crosses it)


@dataclass(frozen=True)
class ControlMove:
    """A mapped control moved: ``value`` 0..1 for a fader or knob (the hardware's position),
    1.0 for a button pressed (a release is not delivered)."""

    control: str
    value: float
    source: MidiSource


def _api() -> Any:
    """The rtmidi API for this machine: the user's choice, ALSA with a sequencer, else JACK."""
    import rtmidi

    chosen = os.environ.get(API_ENV, "").lower()
    if chosen == "jack" or (
        not chosen and sys.platform.startswith("linux") and not Path("/dev/snd/seq").exists()
    ):
        return rtmidi.API_UNIX_JACK
    if chosen == "alsa" or sys.platform.startswith("linux"):
        return rtmidi.API_LINUX_ALSA
    return rtmidi.API_UNSPECIFIED


def source_of(message: mido.Message) -> tuple[MidiSource, float] | None:
    """The mapping's source of a parsed message and its value 0..1 (a note's press 1, its
    release 0); None for messages no mapping uses (clock, sysex...)."""
    if message.type == "control_change":
        return MidiSource("cc", message.channel, message.control), message.value / 127
    if message.type == "note_on":
        pressed = 1.0 if message.velocity > 0 else 0.0
        return MidiSource("note", message.channel, message.note), pressed
    if message.type == "note_off":
        return MidiSource("note", message.channel, message.note), 0.0
    return None


class SoftTakeover:
    """Faders and knobs on the hardware pick the control up only where it is: a fader moved
    in the window (or by a recorded move) is not yanked to where the hardware was left.

    ``accept`` says whether a hardware position may move the control now; ``moved`` records
    where the control went, so the next positions follow it without waiting.
    """

    def __init__(self) -> None:
        self._hardware: dict[str, float] = {}
        self._owned: dict[str, float] = {}

    def accept(self, control: str, hardware: float, current: float) -> bool:
        owned = self._owned.get(control)
        before = self._hardware.get(control)
        self._hardware[control] = hardware
        if owned is not None and abs(owned - current) < 1e-6:
            return True  # the hardware moved it last, and nothing else has since
        crossed = before is not None and (before - current) * (hardware - current) <= 0
        if abs(hardware - current) <= TAKEOVER or crossed:
            return True
        self._owned.pop(control, None)
        return False

    def moved(self, control: str, current: float) -> None:
        """The control is at ``current`` after the hardware moved it."""
        self._owned[control] = current


class MidiInput:
    """The user's controllers, mapped.

    Args:
        mapping: what moves what (``learn`` changes it; ``mapping_changed`` is told).
        deliver: called with each :class:`ControlMove`, on rtmidi's thread.
        learned: called with (control, source) when a learn completes, on rtmidi's thread.
    """

    def __init__(
        self,
        mapping: MidiMapping,
        deliver: Callable[[ControlMove], None],
        learned: Callable[[str, MidiSource], None] = lambda c, s: None,
        *,
        poll_s: float = POLL_S,
    ) -> None:
        self.mapping = mapping
        self._deliver = deliver
        self._learned = learned
        self._learning: str | None = None
        self._lock = threading.Lock()
        self._ports: dict[str, Any] = {}
        self._parsers: dict[str, mido.Parser] = {}
        #: Why there are no controllers (no MIDI system here), or None.
        self.unavailable: str | None = None
        self._stop = threading.Event()
        self._lister: Any = None
        try:
            import rtmidi

            self._api = _api()
            self._lister = rtmidi.MidiIn(self._api, name=f"{CLIENT} ports")
        except Exception as exc:  # no sequencer, no JACK server, no library
            self.unavailable = (
                "MIDI controllers are unavailable: no MIDI system is running on this computer "
                f"({exc})."
            )
            log.info("%s", self.unavailable)
            return
        self._scan()
        self._poller = threading.Thread(target=self._poll, args=(poll_s,), name="fanfare-midi")
        self._poller.daemon = True
        self._poller.start()

    # --- what the window asks ------------------------------------------------------------------

    @property
    def ports(self) -> list[str]:
        """The controllers open now, by name."""
        with self._lock:
            return sorted(self._ports)

    def learn(self, control: str) -> None:
        """The next button pressed or fader moved on any controller will move ``control``."""
        if control not in midi_mapping.CONTROLS:
            raise MidiMappingError(f"'{control}' is not a control Fanfare maps.")
        self._learning = control

    def cancel_learn(self) -> None:
        self._learning = None

    @property
    def learning(self) -> str | None:
        return self._learning

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            ports, self._ports = self._ports, {}
        for port in ports.values():
            _close(port)
        if self._lister is not None:
            _close(self._lister)
            self._lister = None

    # --- ports as they come and go --------------------------------------------------------------

    def _poll(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            try:
                self._scan()
            except Exception:  # a port that vanished mid-scan: the next scan sees it gone
                log.debug("MIDI port scan failed", exc_info=True)

    def _scan(self) -> None:
        lister = self._lister
        if lister is None:
            return
        names = [n for n in lister.get_ports() if not n.startswith(CLIENT)]
        with self._lock:
            gone = [n for n in self._ports if n not in names]
            for name in gone:
                _close(self._ports.pop(name))
                self._parsers.pop(name, None)
            for name in names:
                if name not in self._ports:
                    self._open(name)

    def _open(self, name: str) -> None:
        import rtmidi

        port = rtmidi.MidiIn(self._api, name=CLIENT)
        port.ignore_types(sysex=True, timing=True, active_sense=True)
        for index, listed in enumerate(port.get_ports()):
            if listed == name:
                port.open_port(index, name=f"in {index}")
                break
        else:
            _close(port)
            return
        parser = mido.Parser()
        self._parsers[name] = parser
        port.set_callback(lambda event, _data, n=name: self._received(n, event[0]))
        self._ports[name] = port
        log.info("MIDI controller connected: %s", name)

    def _received(self, port: str, data: list[int]) -> None:
        parser = self._parsers.get(port)
        if parser is None:
            return
        parser.feed(data)
        for message in parser:
            found = source_of(message)
            if found is not None:
                self._handle(*found)

    def _handle(self, source: MidiSource, value: float) -> None:
        control = self._learning
        if control is not None:
            if source.message == "note" and value == 0.0:
                return  # the release of the press that was learned
            self._learning = None
            self.mapping = self.mapping.learned(control, source)
            self._learned(control, source)
            return
        bound = self.mapping.control_for(source)
        if bound is None:
            return
        if is_continuous(bound):
            self._deliver(ControlMove(bound, value, source))
        elif value >= 0.5:  # a press (a note, or a button's CC 127); releases do nothing
            self._deliver(ControlMove(bound, 1.0, source))


def _close(port: Any) -> None:
    with contextlib.suppress(Exception):  # closing what a vanished controller left
        port.close_port()
    with contextlib.suppress(Exception):
        port.delete()


# --- the mapping kept in the user's config ------------------------------------------------


def load_mapping(path: Path) -> MidiMapping:
    """The user's mapping from ``path``; the generic 8-fader mapping when there is none or it
    cannot be read (a preference never stops the studio)."""
    try:
        return midi_mapping.loads(path.read_bytes())
    except FileNotFoundError:
        return midi_mapping.generic_8_fader()
    except (OSError, MidiMappingError) as exc:
        log.warning("MIDI mapping %s not read (%s); using the default", path, exc)
        return midi_mapping.generic_8_fader()


def save_mapping(path: Path, mapping: MidiMapping) -> None:
    """Write ``mapping`` to ``path`` atomically (the config, or a file the user exports to)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, mapping.to_json())
