# SPDX-License-Identifier: GPL-3.0-or-later
"""A real Secret Service keyring for a test: ``gnome-keyring-daemon`` on a private session bus
(a real ``dbus-daemon``), its login keyring unlocked, and the keyring library pointed at it."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import keyring
import keyring.core
import keyring.errors
import pytest

from tests.helpers.playback import device_required

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def _owned(address: str, name: str) -> bool:
    """Whether ``name`` has an owner on the bus at ``address`` (asking starts nothing)."""
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import open_dbus_connection

    with open_dbus_connection(bus=address) as connection:
        reply = connection.send_and_get_reply(message_bus.NameHasOwner(name), timeout=5)
    return bool(reply.body[0])


@contextmanager
def secret_service(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Serve a fresh keyring under ``home`` until the block ends."""
    missing = [tool for tool in ("dbus-daemon", "gnome-keyring-daemon") if not shutil.which(tool)]
    if missing:
        message = f"not installed: {', '.join(missing)} (scripts/test installs them as root)"
        if device_required():
            pytest.fail(message)
        pytest.skip(message)
    # A session bus that starts no service on demand: with the standard one, the first
    # client call could activate a second, locked keyring daemon before ours took the name,
    # which then wants a password prompt (there is no screen to show it on).
    config = home / "session-bus.conf"
    config.write_text(BUS_CONFIG)
    bus = subprocess.Popen(
        ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    daemon: subprocess.Popen[bytes] | None = None
    try:
        assert bus.stdout is not None
        address = bus.stdout.readline().strip()
        assert address, "dbus-daemon did not start"
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        monkeypatch.setenv("HOME", str(home))
        monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
        env = dict(os.environ)
        # --unlock reads the login keyring's password from stdin, making the keyring if new.
        daemon = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        assert daemon.stdin is not None
        daemon.stdin.write(b"test-login-password")
        daemon.stdin.close()
        deadline = time.monotonic() + 20
        while not _owned(address, "org.freedesktop.secrets"):
            assert time.monotonic() < deadline, "the keyring daemon did not take its name"
            time.sleep(0.05)
        while True:
            keyring.core.init_backend()
            backend = keyring.get_keyring()
            if type(backend).__module__ == "keyring.backends.SecretService":
                try:
                    backend.get_password("org.fanfare.Test", "probe")
                    break
                except keyring.errors.KeyringError:
                    pass
            assert time.monotonic() < deadline, f"no Secret Service came up (got {backend!r})"
            time.sleep(0.1)
        yield
    finally:
        for process in (daemon, bus):
            if process is not None:
                process.terminate()
                process.wait(timeout=10)
        if bus.stdout is not None:
            bus.stdout.close()
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
        keyring.core.init_backend()
