# SPDX-License-Identifier: GPL-3.0-or-later
"""A real MIDI transport for tests: a JACK server on its dummy backend (no sound card), and a
controller on it (a python-rtmidi client with an output port, as hardware shows up), which can
be plugged in and out."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

SERVER_ENV = "JACK_DEFAULT_SERVER"


@contextmanager
def jack_server(name: str, period: int = 256) -> Iterator[str]:
    """Run ``jackd -n name -d dummy`` (``period`` frames a cycle at 48 kHz: MIDI moves once a
    cycle) until the block ends; MIDI clients of this process reach it
    (``JACK_DEFAULT_SERVER``, ``FANFARE_MIDI_API=jack``). Raises RuntimeError if jackd is
    missing or does not start."""
    import rtmidi
    import sounddevice  # noqa: F401

    # PortAudio is initialized (by that import) before the server starts, so it never takes
    # this server for an audio host: left connected to it when it stops, PortAudio would abort
    # the process at exit (pa_jack.c, Terminate).
    jackd = shutil.which("jackd")
    if jackd is None:
        raise RuntimeError("jackd is not installed (Debian: jackd2; scripts/test installs it)")
    env = dict(os.environ, JACK_NO_AUDIO_RESERVATION="1")
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in finally) a pipe could fill and stall jackd
    server = subprocess.Popen(
        [jackd, "--no-realtime", "-n", name, "-d", "dummy", "-r", "48000", "-p", str(period)],
        stdout=subprocess.DEVNULL, stderr=log, env=env,
    )  # fmt: skip
    saved = {k: os.environ.get(k) for k in (SERVER_ENV, "FANFARE_MIDI_API")}
    os.environ[SERVER_ENV] = name
    os.environ["FANFARE_MIDI_API"] = "jack"
    try:
        deadline = time.monotonic() + 10.0
        while True:
            try:
                probe = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name="fanfare-test-probe")
                probe.delete()
                break
            except Exception:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    error = log.read().decode(errors="replace")
                    raise RuntimeError(f"jackd did not start: {error[-500:]}") from None
                time.sleep(0.1)
        yield name
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.terminate()
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


class Controller:
    """A MIDI controller plugged into the JACK server: an output port named ``name``."""

    def __init__(self, name: str = "nanoFADER") -> None:
        self.name = name
        self._out: Any = None
        self.plug()

    def plug(self) -> None:
        import rtmidi

        out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=self.name)
        out.open_virtual_port("out")
        self._out = out

    def unplug(self) -> None:
        if self._out is not None:
            self._out.close_port()
            self._out.delete()
            self._out = None

    def cc(self, number: int, value: int, channel: int = 0) -> None:
        assert self._out is not None
        self._out.send_message([0xB0 | channel, number, value])

    def note(self, number: int, velocity: int = 100, channel: int = 0) -> None:
        assert self._out is not None
        self._out.send_message([(0x90 if velocity else 0x80) | channel, number, velocity])
