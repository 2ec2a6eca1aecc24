# SPDX-License-Identifier: GPL-3.0-or-later
"""Envelope encryption of the platform's secrets, and its licence-signing keys.

Content keys and signing keys are stored wrapped with AES-256-GCM under the master key, with
associated data naming what each key is for, so a wrapped key cannot be moved to another row.
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.encoding import b64u
from app.core.keys import key_id
from app.server.db import PlatformKey


def wrap(master_key: bytes, secret: bytes, purpose: str) -> bytes:
    """Seal ``secret`` under the master key; ``purpose`` is bound as associated data."""
    nonce = os.urandom(12)
    return nonce + AESGCM(master_key).encrypt(nonce, secret, purpose.encode())


def unwrap(master_key: bytes, wrapped: bytes, purpose: str) -> bytes:
    return AESGCM(master_key).decrypt(wrapped[:12], wrapped[12:], purpose.encode())


def stem_key_purpose(track_id: str, version: int, kind: str) -> str:
    return f"fanfare/platform/stem-key|{track_id}|{version}|{kind}"


class Signer:
    """The active licence-signing key, and every public key the platform has ever used."""

    def __init__(self, private: Ed25519PrivateKey, public_keys: dict[str, Ed25519PublicKey]):
        self.private = private
        self.kid = key_id(private.public_key())
        self.public_keys = public_keys

    @classmethod
    def load_or_create(cls, session: Session, master_key: bytes) -> Signer:
        rows = session.scalars(select(PlatformKey).where(PlatformKey.purpose == "licence")).all()
        active = [r for r in rows if r.active]
        if not active:
            private = Ed25519PrivateKey.generate()
            kid = key_id(private.public_key())
            row = PlatformKey(
                kid=kid,
                purpose="licence",
                public_key=b64u(private.public_key().public_bytes_raw()),
                wrapped_private=wrap(master_key, private.private_bytes_raw(), f"signing|{kid}"),
                active=True,
            )
            session.add(row)
            session.commit()
            rows = [*rows, row]
            active = [row]
        current = active[-1]
        private = Ed25519PrivateKey.from_private_bytes(
            unwrap(master_key, current.wrapped_private, f"signing|{current.kid}")
        )
        publics = {
            r.kid: Ed25519PrivateKey.from_private_bytes(
                unwrap(master_key, r.wrapped_private, f"signing|{r.kid}")
            ).public_key()
            for r in rows
        }
        return cls(private, publics)
