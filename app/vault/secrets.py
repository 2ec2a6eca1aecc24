# SPDX-License-Identifier: GPL-3.0-or-later
"""Where device secrets live: the OS keyring, or an announced file fallback.

On a desktop with a keyring (Secret Service, KWallet, macOS Keychain, Windows Credential Locker)
every secret goes there: the device's keys, the licence-cache key and the session token. Where
no backend exists (a headless Linux box), Fanfare stores them in a file readable only by the
user (mode 0600) and says so through :attr:`SecretStore.notice`; it never falls back silently.
Which of the two holds them is the device's security level (``app.core.security_level``).

The file is sealed (AES-256-GCM) under a key derived from this computer's machine id, the
user's id and a random salt kept in the file. That is not protection from the user's own
programs on this computer: anything running as them can derive the same key. What it buys is
that the file alone is useless: a copied or backed-up home folder, a synced profile, or a
script that reads keys out of the user's files elsewhere get ciphertext.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
from pathlib import Path

import keyring
import keyring.errors
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from keyring.backends import fail

from app.core.encoding import b64u, unb64u
from app.core.errors import FanfareError
from app.core.files import atomic_write
from app.core.security_level import SecurityLevel

SERVICE = "org.fanfare.Studio"
FILE_FORMAT = "fanfare-secrets/2"
_MACHINE_ID_FILES = (Path("/etc/machine-id"), Path("/var/lib/dbus/machine-id"))


def machine_identity() -> bytes:
    """What ties the secrets file to this computer and user: the machine id (the host name
    where there is none) and the user's id."""
    machine = b""
    for path in _MACHINE_ID_FILES:
        with contextlib.suppress(OSError):
            machine = path.read_bytes().strip()
        if machine:
            break
    user = str(os.getuid()) if hasattr(os, "getuid") else os.environ.get("USERNAME", "")
    return (machine or platform.node().encode()) + b"|" + user.encode()


class SecretStoreError(FanfareError):
    """The secret store cannot be read (the message says what to do)."""


class SecretStore:
    """Named secrets (strings) for this user on this machine.

    Args:
        fallback_path: the file used when no keyring backend exists.
        use_keyring: set False to force the file (tests, or a user's explicit choice).
        identity: what seals the file to this computer (:func:`machine_identity` by default).
    """

    def __init__(
        self, fallback_path: Path, *, use_keyring: bool = True, identity: bytes | None = None
    ) -> None:
        self.fallback_path = fallback_path
        self._identity = machine_identity() if identity is None else identity
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
                f"{fallback_path}, sealed to this computer and readable only by you. Tracks "
                "that ask for keys in a keyring will not open here."
            )
        )

    @property
    def security_level(self) -> SecurityLevel:
        """How well this store keeps the device's keys."""
        return SecurityLevel.KEYRING if self._keyring is not None else SecurityLevel.FILE

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
        # Never read a damaged file as empty: that would mint a new device identity and drop
        # every other secret on the next write.
        damaged = SecretStoreError(
            f"The key file {self.fallback_path} is damaged; restore it from a backup, or "
            "remove it to sign in again as a new device."
        )
        try:
            outer = json.loads(raw)
            if not isinstance(outer, dict):
                raise ValueError("not an object")
        except ValueError:
            raise damaged from None
        if outer.get("format") != FILE_FORMAT:
            # A file from before it was sealed: its secrets, sealed at once.
            data = {str(k): str(v) for k, v in outer.items()}
            self._write_file(data)
            return data
        try:
            sealed = unb64u(str(outer["sealed"]))
            plain = AESGCM(self._file_key(unb64u(str(outer["salt"])))).decrypt(
                sealed[:12], sealed[12:], FILE_FORMAT.encode()
            )
            data = json.loads(plain)
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except InvalidTag:
            raise SecretStoreError(
                f"The key file {self.fallback_path} was made on another computer or for "
                "another user, and cannot be read here; remove it to sign in again as a new "
                "device."
            ) from None
        except (KeyError, ValueError):
            raise damaged from None
        return {str(k): str(v) for k, v in data.items()}

    def _write_file(self, data: dict[str, str]) -> None:
        salt = os.urandom(16)
        nonce = os.urandom(12)
        sealed = AESGCM(self._file_key(salt)).encrypt(
            nonce, json.dumps(data).encode(), FILE_FORMAT.encode()
        )
        outer = {"format": FILE_FORMAT, "salt": b64u(salt), "sealed": b64u(nonce + sealed)}
        self.fallback_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(self.fallback_path, json.dumps(outer).encode(), mode=0o600, fsync=True)

    def _file_key(self, salt: bytes) -> bytes:
        """The file's AES-256 key: HKDF-SHA256 of this computer's identity and the salt."""
        return HKDF(
            algorithm=hashes.SHA256(), length=32, salt=salt, info=b"fanfare/secrets-file/v2"
        ).derive(self._identity)
