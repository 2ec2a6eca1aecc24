# SPDX-License-Identifier: GPL-3.0-or-later
"""Licences: what a platform lets one device of one user do with one track version.

Wire form (``application/json``)::

    {"format": "fanfare.licence", "version": 1, "kid": "ed25519:…",
     "body": {...fields of LicenceBody...}, "sig": "<base64url Ed25519 signature>"}

The signature covers the RFC 8785 canonical JSON of ``{"body": body, "kid": kid}``. Content keys
travel in ``body.sealed_keys``: one HPKE ciphertext per stem, sealed to the device's KEM key with
``info = "fanfare/licence/v1/key|" + licence_id + "|" + stem`` so a key cannot be moved to
another licence or stem. Times are integer Unix seconds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.core.encoding import b64u, canonical_json, unb64u
from app.core.errors import (
    LicenceDeviceError,
    LicenceExpiredError,
    LicenceFormatError,
    LicenceRightsError,
    LicenceSignatureError,
)
from app.core.keys import DeviceKeys, KemPublicKey, key_id, open_sealed, seal_to_device

FORMAT = "fanfare.licence"
VERSION = 1
MAX_LICENCE_BYTES = 256 * 1024


def key_info(licence_id: str, stem: str) -> bytes:
    """HPKE ``info`` binding a sealed content key to its licence and stem."""
    return f"fanfare/licence/v1/key|{licence_id}|{stem}".encode()


@dataclass(frozen=True)
class Licence:
    """A verified licence (only :func:`verify_licence` builds one from outside bytes)."""

    licence_id: str
    user: str
    device: str
    track: str
    track_version: int
    policy: dict[str, Any]
    issued_at: int
    not_before: int
    expires_at: int
    renew_after: int
    offline_grace_s: int
    rights: dict[str, bool]
    sealed_keys: dict[str, bytes]
    watermark_session: str
    #: Rights per content key (stem): e.g. ``("play", "remix", "restyle")``.
    key_rights: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: The style models (``id@version`` → family) the platform offered when it issued this
    #: licence: the only ones the studio will load for this track. Which of them a fan may
    #: place, and on which stems, is the policy's to say (``style_families``,
    #: ``style_models``, ``restyle``).
    models: dict[str, str] = field(default_factory=dict)
    kid: str = ""

    def body(self) -> dict[str, Any]:
        """The signed fields as JSON-ready values."""
        return {
            "licence_id": self.licence_id,
            "user": self.user,
            "device": self.device,
            "track": self.track,
            "track_version": self.track_version,
            "policy": self.policy,
            "issued_at": self.issued_at,
            "not_before": self.not_before,
            "expires_at": self.expires_at,
            "renew_after": self.renew_after,
            "offline_grace_s": self.offline_grace_s,
            "rights": self.rights,
            "sealed_keys": [self._key_entry(s, c) for s, c in self.sealed_keys.items()],
            "watermark_session": self.watermark_session,
            "models": [{"ref": ref, "family": f} for ref, f in sorted(self.models.items())],
        }

    def _key_entry(self, stem: str, sealed: bytes) -> dict[str, Any]:
        entry: dict[str, Any] = {"stem": stem, "enc": b64u(sealed)}
        if stem in self.key_rights:
            entry["rights"] = list(self.key_rights[stem])
        return entry

    def rights_for(self, stem: str) -> tuple[str, ...]:
        """What this licence allows on ``stem`` (its key's rights within the licence's)."""
        granted = tuple(r for r, on in self.rights.items() if on)
        if stem not in self.key_rights:
            return granted
        return tuple(r for r in self.key_rights[stem] if r in granted)

    def require(self, right: str) -> None:
        """Raise LicenceRightsError unless the licence grants ``right``."""
        if not self.rights.get(right, False):
            raise LicenceRightsError(f"Your licence for this track does not include '{right}'.")

    def check_time(self, now: float) -> None:
        """Raise LicenceExpiredError outside ``[not_before, expires_at)``."""
        if now < self.not_before:
            raise LicenceExpiredError("This licence is not valid yet (check your clock).")
        if now >= self.expires_at:
            raise LicenceExpiredError("Your licence for this track has expired; renew it online.")

    def content_key(self, keys: DeviceKeys, stem: str, right: str = "play") -> bytes:
        """Open the content key of ``stem`` for ``right`` with this device's keys."""
        sealed = self.sealed_keys.get(stem)
        if sealed is None:
            raise LicenceRightsError(f"Your licence carries no key for stem '{stem}'.")
        if right not in self.rights_for(stem):
            raise LicenceRightsError(f"Your licence does not allow '{right}' on stem '{stem}'.")
        try:
            key = open_sealed(keys, sealed, key_info(self.licence_id, stem))
        except (InvalidTag, ValueError):
            raise LicenceDeviceError(
                "This licence's keys were sealed to another device; sign in again on this device."
            ) from None
        if len(key) != 32:
            raise LicenceFormatError("A content key in this licence has the wrong length.")
        return key


def sign_licence(
    body: Licence,
    signing_key: Ed25519PrivateKey,
    *,
    content_keys: Mapping[str, bytes] | None = None,
    device_kem: KemPublicKey | None = None,
) -> bytes:
    """Seal ``content_keys`` to ``device_kem`` (if given), sign, and return the wire bytes."""
    sealed = dict(body.sealed_keys)
    if content_keys:
        if device_kem is None:
            raise ValueError("sealing content keys needs the device's KEM public key")
        for stem, key in content_keys.items():
            sealed[stem] = seal_to_device(device_kem, key, key_info(body.licence_id, stem))
    fields = body.body()
    fields["sealed_keys"] = [body._key_entry(s, c) for s, c in sorted(sealed.items())]
    return sign_envelope(FORMAT, fields, signing_key)


def sign_envelope(fmt: str, body: dict[str, Any], signing_key: Ed25519PrivateKey) -> bytes:
    """``{"format", "version": 1, "kid", "body", "sig"}`` with an Ed25519 signature over the
    RFC 8785 JSON of ``{"body", "kid"}``: the envelope of licences and revocation lists."""
    kid = key_id(signing_key.public_key())
    signature = signing_key.sign(canonical_json({"body": body, "kid": kid}))
    doc = {"format": fmt, "version": VERSION, "kid": kid, "body": body, "sig": b64u(signature)}
    return json.dumps(doc, separators=(",", ":")).encode()


def open_signed(
    data: bytes,
    trusted: Mapping[str, Ed25519PublicKey],
    fmt: str,
    what: str,
    max_bytes: int,
) -> tuple[str, dict[str, Any]]:
    """Check an envelope's size, shape, format, version and signature; returns (kid, body).

    Raises:
        LicenceFormatError, LicenceSignatureError.
    """
    if len(data) > max_bytes:
        raise LicenceFormatError(f"This {what} is too large to be genuine.")
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise LicenceFormatError(f"This {what} is not valid JSON.") from None
    if not isinstance(doc, dict) or doc.get("format") != fmt:
        raise LicenceFormatError(f"This is not a Fanfare {what}.")
    if doc.get("version") != VERSION:
        raise LicenceFormatError(f"{what.capitalize()} version {doc.get('version')!r} is not "
                                 "supported.")  # fmt: skip
    kid, body, sig = doc.get("kid"), doc.get("body"), doc.get("sig")
    if not isinstance(kid, str) or not isinstance(body, dict) or not isinstance(sig, str):
        raise LicenceFormatError(f"This {what} is missing its key id, body or signature.")
    public = trusted.get(kid)
    if public is None:
        raise LicenceSignatureError(f"This {what} was signed by a key this app does not trust.")
    try:
        public.verify(unb64u(sig), canonical_json({"body": body, "kid": kid}))
    except (InvalidSignature, ValueError):
        raise LicenceSignatureError(f"This {what}'s signature is not valid.") from None
    return kid, body


def verify_licence(
    data: bytes,
    trusted: Mapping[str, Ed25519PublicKey],
    *,
    user: str | None = None,
    device: str | None = None,
    now: float | None = None,
) -> Licence:
    """Parse and verify licence bytes from outside.

    Args:
        data: the licence as received.
        trusted: pinned platform keys by key id.
        user, device: when given, the licence must name them.
        now: Unix time; when given, the licence must be inside its validity window.

    Raises:
        LicenceFormatError, LicenceSignatureError, LicenceDeviceError, LicenceExpiredError.
    """
    kid, body = open_signed(data, trusted, FORMAT, "licence", MAX_LICENCE_BYTES)
    licence = _licence_from_body(body, kid)
    if user is not None and licence.user != user:
        raise LicenceDeviceError("This licence was issued to another account.")
    if device is not None and licence.device != device:
        raise LicenceDeviceError("This licence was issued to another device.")
    if now is not None:
        licence.check_time(now)
    return licence


def _licence_from_body(body: dict[str, Any], kid: str) -> Licence:
    try:
        rights = body["rights"]
        sealed_list = body["sealed_keys"]
        if not isinstance(rights, dict) or not isinstance(sealed_list, list):
            raise TypeError("rights or sealed_keys of the wrong type")
        sealed = {}
        key_rights = {}
        for entry in sealed_list:
            stem = _typed(entry["stem"], str)
            sealed[stem] = unb64u(entry["enc"])
            if "rights" in entry:
                key_rights[stem] = tuple(_typed(r, str) for r in _typed(entry["rights"], list))
        licence = Licence(
            licence_id=_typed(body["licence_id"], str),
            user=_typed(body["user"], str),
            device=_typed(body["device"], str),
            track=_typed(body["track"], str),
            track_version=_typed(body["track_version"], int),
            policy=_typed(body["policy"], dict),
            issued_at=_typed(body["issued_at"], int),
            not_before=_typed(body["not_before"], int),
            expires_at=_typed(body["expires_at"], int),
            renew_after=_typed(body["renew_after"], int),
            offline_grace_s=_typed(body["offline_grace_s"], int),
            rights={str(k): v is True for k, v in rights.items()},
            sealed_keys=sealed,
            watermark_session=_typed(body["watermark_session"], str),
            key_rights=key_rights,
            models={
                _typed(m["ref"], str): _typed(m["family"], str)
                for m in _typed(body.get("models", []), list)
            },
            kid=kid,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise LicenceFormatError(f"This licence is malformed ({exc}).") from None
    return licence


def _typed(value: Any, kind: type) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
    return value


def public_key_b64(public: Ed25519PublicKey) -> str:
    """Wire form of a platform public key."""
    return b64u(public.public_bytes_raw())


REVOCATIONS_FORMAT = "fanfare.revocations"


@dataclass(frozen=True)
class Revocations:
    """A verified revocation list: the user's revoked licence and device ids, as of a time."""

    user: str
    issued_at: int
    licences: frozenset[str]
    devices: frozenset[str]


def verify_revocations(
    data: bytes, trusted: Mapping[str, Ed25519PublicKey], *, user: str
) -> Revocations:
    """Parse and verify a signed revocation list for ``user``; raises LicenceError subclasses."""
    _, body = open_signed(data, trusted, REVOCATIONS_FORMAT, "revocation list",
                          MAX_LICENCE_BYTES * 16)  # fmt: skip
    try:
        result = Revocations(
            user=_typed(body["user"], str),
            issued_at=_typed(body["issued_at"], int),
            licences=frozenset(_typed(x, str) for x in _typed(body["licences"], list)),
            devices=frozenset(_typed(x, str) for x in _typed(body["devices"], list)),
        )
    except (KeyError, TypeError) as exc:
        raise LicenceFormatError(f"The revocation list is malformed ({exc}).") from None
    if result.user != user:
        raise LicenceDeviceError("The revocation list is for another account.")
    return result
