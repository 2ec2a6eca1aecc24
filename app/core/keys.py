# SPDX-License-Identifier: GPL-3.0-or-later
"""Key types of Fanfare and their wire forms.

- Platform signing keys: Ed25519; their id (``kid``) is derived from the public key so the app can
  pin several and the platform can rotate.
- Device keys: an Ed25519 pair (signs provenance records) and a hybrid post-quantum KEM pair
  (ML-KEM-768 + X25519) to which the platform seals content keys with HPKE (RFC 9180).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from app.core.encoding import b64u, unb64u

HPKE_SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)
_MLKEM_PUB = 1184
_X25519 = 32
_MLKEM_SEED = 64


def key_id(public_key: Ed25519PublicKey) -> str:
    """The id of an Ed25519 public key: ``ed25519:`` and 16 hex digits of its SHA-256."""
    return "ed25519:" + hashlib.sha256(public_key.public_bytes_raw()).hexdigest()[:16]


def ed25519_public_from_b64(text: str) -> Ed25519PublicKey:
    """Parse a base64url raw Ed25519 public key; raises ValueError."""
    raw = unb64u(text)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


@dataclass(frozen=True)
class KemPublicKey:
    """A device's public key for key delivery (ML-KEM-768 + X25519 hybrid)."""

    mlkem: bytes
    x25519: bytes

    def to_b64(self) -> str:
        return b64u(self.mlkem + self.x25519)

    @classmethod
    def from_stored(cls, text: str) -> KemPublicKey:
        """Parse a key that :meth:`from_b64` already validated (e.g. at enrolment)."""
        raw = unb64u(text)
        if len(raw) != _MLKEM_PUB + _X25519:
            raise ValueError("a device KEM public key is 1216 bytes")
        return cls(raw[:_MLKEM_PUB], raw[_MLKEM_PUB:])

    @classmethod
    def from_b64(cls, text: str) -> KemPublicKey:
        """Parse and validate a key from outside; raises ValueError for an unusable one."""
        key = cls.from_stored(text)
        # A trial seal validates both halves, including a low-order X25519 point that would
        # parse but make every later key delivery fail.
        try:
            seal_to_device(key, bytes(32), b"fanfare/enrol/check")
        except ValueError as exc:
            raise ValueError(f"unusable device KEM key ({exc})") from None
        return key

    def to_hpke(self) -> hpke.MLKEM768X25519PublicKey:
        return hpke.MLKEM768X25519PublicKey(
            mlkem.MLKEM768PublicKey.from_public_bytes(self.mlkem),
            X25519PublicKey.from_public_bytes(self.x25519),
        )


@dataclass(frozen=True)
class DeviceKeys:
    """A device's private keys. Held in memory; stored by the vault in the OS keyring.

    Attributes:
        signing: Ed25519 key that signs provenance records and platform requests.
        kem_seed: 64-byte ML-KEM-768 seed.
        kem_x25519: 32-byte X25519 private key.
    """

    signing: Ed25519PrivateKey
    kem_seed: bytes
    kem_x25519: bytes

    @classmethod
    def generate(cls) -> DeviceKeys:
        return cls(
            signing=Ed25519PrivateKey.generate(),
            kem_seed=mlkem.MLKEM768PrivateKey.generate().private_bytes_raw(),
            kem_x25519=X25519PrivateKey.generate().private_bytes_raw(),
        )

    def to_secret(self) -> str:
        """One base64url string holding all private keys (for the keyring)."""
        return b64u(self.signing.private_bytes_raw() + self.kem_seed + self.kem_x25519)

    @classmethod
    def from_secret(cls, text: str) -> DeviceKeys:
        raw = unb64u(text)
        if len(raw) != 32 + _MLKEM_SEED + _X25519:
            raise ValueError("stored device keys have the wrong length")
        return cls(
            signing=Ed25519PrivateKey.from_private_bytes(raw[:32]),
            kem_seed=raw[32 : 32 + _MLKEM_SEED],
            kem_x25519=raw[32 + _MLKEM_SEED :],
        )

    def kem_private(self) -> hpke.MLKEM768X25519PrivateKey:
        return hpke.MLKEM768X25519PrivateKey(
            mlkem.MLKEM768PrivateKey.from_seed_bytes(self.kem_seed),
            X25519PrivateKey.from_private_bytes(self.kem_x25519),
        )

    def kem_public(self) -> KemPublicKey:
        return KemPublicKey(
            mlkem=mlkem.MLKEM768PrivateKey.from_seed_bytes(self.kem_seed)
            .public_key()
            .public_bytes_raw(),
            x25519=X25519PrivateKey.from_private_bytes(self.kem_x25519)
            .public_key()
            .public_bytes_raw(),
        )

    def signing_public_b64(self) -> str:
        return b64u(self.signing.public_key().public_bytes_raw())


def endorsement_message(kid: str, public: Ed25519PublicKey) -> bytes:
    """What one platform key signs to vouch for another (key rotation without re-pinning)."""
    body = {"kid": kid, "public_key": b64u(public.public_bytes_raw()), "purpose": "fanfare/key"}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def enrolment_message(signing_public_b64: str, kem_public_b64: str) -> bytes:
    """What a device signs with its Ed25519 key to prove it holds the keys it enrols."""
    body = {
        "kem_public_key": kem_public_b64,
        "purpose": "fanfare/enrol/v1",
        "signing_public_key": signing_public_b64,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def enrolment_proof(keys: DeviceKeys) -> str:
    """The device's signature over :func:`enrolment_message` of its own public keys."""
    message = enrolment_message(keys.signing_public_b64(), keys.kem_public().to_b64())
    return b64u(keys.signing.sign(message))


SIGN_IN_PROOF_TTL_S = 300  # how old a known device's sign-in proof may be


def sign_in_message(username: str, device_id: str, signed_at: int) -> bytes:
    """What an enrolled device signs to show a sign-in comes from it (a *known device*, whose
    failed attempts count apart from a guesser's)."""
    body = {
        "device_id": device_id,
        "purpose": "fanfare/sign-in/v1",
        "signed_at": signed_at,
        "username": username,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def sign_in_proof(keys: DeviceKeys, username: str, device_id: str, signed_at: int) -> str:
    """The device's signature over :func:`sign_in_message`."""
    return b64u(keys.signing.sign(sign_in_message(username, device_id, signed_at)))


def seal_to_device(device: KemPublicKey, secret: bytes, info: bytes) -> bytes:
    """HPKE-seal ``secret`` to a device; ``info`` binds it to its licence and stem."""
    return HPKE_SUITE.encrypt(secret, device.to_hpke(), info)


def open_sealed(keys: DeviceKeys, sealed: bytes, info: bytes) -> bytes:
    """Open what :func:`seal_to_device` sealed; raises cryptography's InvalidTag on failure."""
    return HPKE_SUITE.decrypt(sealed, keys.kem_private(), info)
