# SPDX-License-Identifier: GPL-3.0-or-later
"""Where device secrets live: the OS keyring, or an announced file fallback.

On a desktop with a keyring (Secret Service, KWallet, macOS Keychain, Windows Credential Locker)
secrets go there. Where no backend exists (a headless Linux box), Fanfare stores them in a JSON
file readable only by the user (mode 0600) and says so through :attr:`SecretStore.notice`; it
never falls back silently.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import keyring
import keyring.errors
from keyring.backends import fail

from app.core.errors import FanfareError
from app.core.files import atomic_write

SERVICE = "org.fanfare.Studio"


class SecretStoreError(FanfareError):
    """The secret store cannot be read (the message says what to do)."""


class SecretStore:
    """Named secrets (strings) for this user on this machine.

    Args:
        fallback_path: the file used when no keyring backend exists.
        use_keyring: set False to force the file (tests, or a user's explicit choice).
    """

    def __init__(self, fallback_path: Path, *, use_keyring: bool = True) -> None:
        self.fallback_path = fallback_path
        backend = keyring.get_keyring() if use_keyring else None
        usable = backend is not None and not isinstance(backend, fail.Keyring)
        usable = usable and getattr(backend, "priority", 0) > 0
        self._keyring = backend if usable else None
        #: A sentence for the user when secrets are not in an OS keyring; None otherwise.
        self.notice: str | None = (
            None
            if self._keyring is not None
            else (
                "No system keyring is available, so Fanfare keeps this device's keys in "
                f"{fallback_path}, readable only by you."
            )
        )

    def get(self, name: str) -> str | None:
        if self._keyring is not None:
            return self._keyring.get_password(SERVICE, name)
        return self._read_file().get(name)

    def set(self, name: str, value: str) -> None:
        if self._keyring is not None:
            self._keyring.set_password(SERVICE, name, value)
            return
        data = self._read_file()
        data[name] = value
        self._write_file(data)

    def delete(self, name: str) -> None:
        if self._keyring is not None:
            with contextlib.suppress(keyring.errors.PasswordDeleteError):
                self._keyring.delete_password(SERVICE, name)
            return
        data = self._read_file()
        if data.pop(name, None) is not None:
            self._write_file(data)

    def _read_file(self) -> dict[str, str]:
        try:
            raw = self.fallback_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except ValueError:
            # Never read a damaged file as empty: that would mint a new device identity and
            # drop every other secret on the next write.
            raise SecretStoreError(
                f"The key file {self.fallback_path} is damaged; restore it from a backup, or "
                "remove it to sign in again as a new device."
            ) from None
        return {str(k): str(v) for k, v in data.items()}

    def _write_file(self, data: dict[str, str]) -> None:
        self.fallback_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(self.fallback_path, json.dumps(data).encode(), mode=0o600, fsync=True)
