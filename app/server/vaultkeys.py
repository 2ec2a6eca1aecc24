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
from app.core.keys import endorsement_message, key_id
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

    def __init__(
        self,
        private: Ed25519PrivateKey,
        public_keys: dict[str, Ed25519PublicKey],
        endorsements: list[dict[str, str]] | None = None,
    ) -> None:
        self.private = private
        self.kid = key_id(private.public_key())
        self.public_keys = public_keys
        #: Each key's signature over every other key (see :func:`endorse`): an app that pinned
        #: an older key accepts a newer one only through these.
        self.endorsements = endorsements or []

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
        privates = {
            r.kid: Ed25519PrivateKey.from_private_bytes(
                unwrap(master_key, r.wrapped_private, f"signing|{r.kid}")
            )
            for r in rows
        }
        endorsements = [
            {"kid": kid, "by": by, "sig": b64u(signer.sign(endorsement_message(kid, key)))}
            for kid, key in ((k, p.public_key()) for k, p in privates.items())
            for by, signer in privates.items()
            if by != kid
        ]
        return cls(private, {k: p.public_key() for k, p in privates.items()}, endorsements)


def rotate_signing_key(session: Session, master_key: bytes) -> str:
    """Make a new licence-signing key the active one; older keys stay to verify and endorse."""
    for row in session.scalars(select(PlatformKey).where(PlatformKey.purpose == "licence")):
        row.active = False
    private = Ed25519PrivateKey.generate()
    kid = key_id(private.public_key())
    session.add(
        PlatformKey(
            kid=kid,
            purpose="licence",
            public_key=b64u(private.public_key().public_bytes_raw()),
            wrapped_private=wrap(master_key, private.private_bytes_raw(), f"signing|{kid}"),
            active=True,
        )
    )
    session.commit()
    return kid
