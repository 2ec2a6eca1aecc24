# SPDX-License-Identifier: GPL-3.0-or-later
"""The licence cache: licences kept on disk only encrypted, for opening a track offline.

Each licence is sealed with AES-256-GCM under a cache key that lives in the secret store (the
OS keyring), with the track id as associated data. A copied cache folder is useless without
that key, and the licence inside is still bound to this device's KEM key.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.core.encoding import b64u, unb64u
from app.core.files import atomic_write
from app.vault.secrets import SecretStore

_KEY_NAME = "licence-cache-key"
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


class LicenceCache:
    """Encrypted licence bytes under ``root/<platform-hash>/<track>.lic``."""

    def __init__(self, root: Path, secrets: SecretStore) -> None:
        self.root = root
        self.secrets = secrets

    def _key(self) -> bytes:
        stored = self.secrets.get(_KEY_NAME)
        if stored is not None:
            try:
                key = unb64u(stored)
                if len(key) == 32:
                    return key
            except ValueError:
                pass
        key = AESGCM.generate_key(bit_length=256)
        self.secrets.set(_KEY_NAME, b64u(key))
        return key

    def _path(self, scope: str, track_id: str) -> Path:
        name = _SAFE.sub("_", track_id).lstrip(".") or "_"
        return self.root / _SAFE.sub("_", scope) / f"{name}.lic"

    def put(self, scope: str, track_id: str, licence: bytes) -> None:
        """Store ``licence`` for ``track_id``; ``scope`` separates platforms and accounts."""
        nonce = os.urandom(12)
        sealed = AESGCM(self._key()).encrypt(nonce, licence, f"{scope}|{track_id}".encode())
        atomic_write(self._path(scope, track_id), nonce + sealed, mode=0o600)

    def get(self, scope: str, track_id: str) -> bytes | None:
        """The cached licence, or None (missing, damaged, or sealed under another key)."""
        path = self._path(scope, track_id)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return AESGCM(self._key()).decrypt(data[:12], data[12:], f"{scope}|{track_id}".encode())
        except (InvalidTag, ValueError):
            path.unlink(missing_ok=True)
            return None

    def discard(self, scope: str, track_id: str) -> None:
        self._path(scope, track_id).unlink(missing_ok=True)
