# SPDX-License-Identifier: GPL-3.0-or-later
"""Listen licences: one device of one user may stream one published derivative, for minutes.

Wire form: the envelope of stem licences (``app.core.licence.sign_envelope``) with format
``fanfare.listen-licence``. Version 1, for a remix streamed as one ``FFSTEM`` blob; the body::

    {"licence_id": "lsn_…", "user": "usr_…", "device": "dev_…", "derivative": "drv_…",
     "issued_at": 1733380000, "not_before": 1733379700, "expires_at": 1733380600,
     "sealed_key": "<base64url HPKE ciphertext>"}

The derivative's content key is sealed to the device's KEM key with
``info = "fanfare/listen/v1/key|" + licence_id + "|" + derivative``, so it cannot be moved to
another licence or derivative, and a stem licence's key cannot be passed off as one of these
(another format, another ``info``).

Version 2, for a watermarked stream (``app.core.segmented``): the body has, instead of
``sealed_key``, ``"stream": "<16 hex>"`` (which choice of segment variants this listener's
stream is), ``"segments": n`` and ``"sealed_keys"``: the n chosen variants' 32-byte keys, in
segment order, concatenated and sealed to the device as one HPKE ciphertext with
``info = "fanfare/listen/v2/keys|" + licence_id + "|" + derivative + "|" + stream``. An app
that reads only version 1 refuses it with a sentence (``version 2 is not supported``).

A listen licence grants playing the stream and nothing
else: no offline grace, no download; the studio renews it while it plays, and a refused renewal
(the remix was taken down) stops playback.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.core.encoding import b64u, canonical_json, unb64u
from app.core.errors import (
    LicenceDeviceError,
    LicenceExpiredError,
    LicenceFormatError,
    LicenceSignatureError,
)
from app.core.keys import DeviceKeys, KemPublicKey, key_id, open_sealed, seal_to_device
from app.core.licence import open_signed, sign_envelope
from app.core.validate import integer, string

FORMAT = "fanfare.listen-licence"
MAX_BYTES = 16 * 1024
#: Version 2 carries 32 bytes (44 in base64url) a segment: room for a day of audio.
MAX_BYTES_V2 = 3 * 1024 * 1024
#: The most segments a version 2 licence may hold keys for.
MAX_SEGMENTS = 65_280


def key_info(licence_id: str, derivative: str) -> bytes:
    """HPKE ``info`` binding the sealed key to its licence and derivative."""
    return f"fanfare/listen/v1/key|{licence_id}|{derivative}".encode()


def keys_info(licence_id: str, derivative: str, stream: str) -> bytes:
    """HPKE ``info`` binding a version 2 licence's sealed keys to it, its remix and stream."""
    return f"fanfare/listen/v2/keys|{licence_id}|{derivative}|{stream}".encode()


@dataclass(frozen=True)
class ListenLicence:
    """A verified listen licence (only :func:`verify_listen_licence` builds one from outside
    bytes). Times are integer Unix seconds."""

    licence_id: str
    user: str
    device: str
    derivative: str
    issued_at: int
    not_before: int
    expires_at: int
    sealed_key: bytes
    #: Version 2 only: the listener's stream (its choice of variants) and how many segments.
    stream: str = ""
    segments: int = 0

    @property
    def version(self) -> int:
        """1: one content key for the whole remix; 2: a key per segment of a watermarked
        stream."""
        return 2 if self.stream else 1

    def check_time(self, now: float) -> None:
        """Raise LicenceExpiredError outside ``[not_before, expires_at)``."""
        if now < self.not_before:
            raise LicenceExpiredError("This listen licence is not valid yet (check your clock).")
        if now >= self.expires_at:
            raise LicenceExpiredError("The licence to stream this remix has run out.")

    def content_key(self, keys: DeviceKeys) -> bytes:
        """The derivative's content key (version 1), opened with this device's keys."""
        if self.version != 1:
            raise LicenceFormatError(
                "This listen licence is for a watermarked stream: it holds a key per segment."
            )
        try:
            key = open_sealed(keys, self.sealed_key, key_info(self.licence_id, self.derivative))
        except (InvalidTag, ValueError):
            raise LicenceDeviceError(
                "This listen licence was sealed to another device; sign in again on this device."
            ) from None
        if len(key) != 32:
            raise LicenceFormatError("The content key in this listen licence has the wrong length.")
        return key

    def segment_keys(self, keys: DeviceKeys) -> list[bytes]:
        """Each segment's key, in order (version 2), opened with this device's keys."""
        if self.version != 2:
            raise LicenceFormatError("This listen licence is for a stream without segments.")
        info = keys_info(self.licence_id, self.derivative, self.stream)
        try:
            joined = open_sealed(keys, self.sealed_key, info)
        except (InvalidTag, ValueError):
            raise LicenceDeviceError(
                "This listen licence was sealed to another device; sign in again on this device."
            ) from None
        if len(joined) != 32 * self.segments:
            raise LicenceFormatError("The keys in this listen licence do not match its stream.")
        return [joined[i : i + 32] for i in range(0, len(joined), 32)]


def _fields(body: ListenLicence) -> dict[str, Any]:
    return {
        "licence_id": body.licence_id,
        "user": body.user,
        "device": body.device,
        "derivative": body.derivative,
        "issued_at": body.issued_at,
        "not_before": body.not_before,
        "expires_at": body.expires_at,
    }


def sign_stream_licence(
    body: ListenLicence,
    signing_key: Ed25519PrivateKey,
    *,
    segment_keys: bytes,
    device_kem: KemPublicKey,
) -> bytes:
    """A version 2 licence: ``segment_keys`` (32 bytes a segment, in order: the variants of
    ``body.stream``) sealed to ``device_kem``, signed; the wire bytes."""
    if not body.stream or len(segment_keys) != 32 * body.segments or body.segments < 1:
        raise ValueError("a stream licence needs its stream and 32 bytes a segment")
    info = keys_info(body.licence_id, body.derivative, body.stream)
    fields = _fields(body) | {
        "stream": body.stream,
        "segments": body.segments,
        "sealed_keys": b64u(seal_to_device(device_kem, segment_keys, info)),
    }
    # The envelope of app.core.licence.sign_envelope, at version 2 (which it does not write).
    kid = key_id(signing_key.public_key())
    signature = signing_key.sign(canonical_json({"body": fields, "kid": kid}))
    doc = {"format": FORMAT, "version": 2, "kid": kid, "body": fields, "sig": b64u(signature)}
    return json.dumps(doc, separators=(",", ":")).encode()


def _open_v2(data: bytes, trusted: Mapping[str, Ed25519PublicKey]) -> dict[str, Any] | None:
    """The body of a version 2 envelope (checked as ``open_signed`` checks version 1), or None
    when ``data`` is not one."""
    if len(data) > MAX_BYTES_V2:
        raise LicenceFormatError("This listen licence is too large to be genuine.")
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise LicenceFormatError("This listen licence is not valid JSON.") from None
    if not isinstance(doc, dict) or doc.get("version") != 2 or doc.get("format") != FORMAT:
        return None
    kid, body, sig = doc.get("kid"), doc.get("body"), doc.get("sig")
    if not isinstance(kid, str) or not isinstance(body, dict) or not isinstance(sig, str):
        raise LicenceFormatError("This listen licence is missing its key id, body or signature.")
    public = trusted.get(kid)
    if public is None:
        raise LicenceSignatureError(
            "This listen licence was signed by a key this app does not trust."
        )
    try:
        public.verify(unb64u(sig), canonical_json({"body": body, "kid": kid}))
    except (InvalidSignature, ValueError):
        raise LicenceSignatureError("This listen licence's signature is not valid.") from None
    return body


def sign_listen_licence(
    body: ListenLicence,
    signing_key: Ed25519PrivateKey,
    *,
    content_key: bytes,
    device_kem: KemPublicKey,
) -> bytes:
    """Seal ``content_key`` to ``device_kem``, sign, and return the wire bytes."""
    sealed = seal_to_device(device_kem, content_key, key_info(body.licence_id, body.derivative))
    fields = _fields(body) | {"sealed_key": b64u(sealed)}
    return sign_envelope(FORMAT, fields, signing_key)


def verify_listen_licence(
    data: bytes,
    trusted: Mapping[str, Ed25519PublicKey],
    *,
    user: str,
    device: str,
    derivative: str,
    now: float,
) -> ListenLicence:
    """Parse and verify listen-licence bytes from outside, for this user, device, derivative
    and time.

    Raises:
        LicenceFormatError, LicenceSignatureError, LicenceDeviceError, LicenceExpiredError.
    """
    newer = _open_v2(data, trusted)
    body = (
        newer
        if newer is not None
        else open_signed(data, trusted, FORMAT, "listen licence", MAX_BYTES)[1]
    )
    try:
        if newer is not None:
            segments = integer(body["segments"])
            if not 0 < segments <= MAX_SEGMENTS:
                raise ValueError(f"{segments} segments")
            extra: dict[str, Any] = {
                "sealed_key": unb64u(string(body["sealed_keys"])),
                "stream": string(body["stream"]),
                "segments": segments,
            }
            if not extra["stream"]:
                raise ValueError("no stream")
        else:
            extra = {"sealed_key": unb64u(string(body["sealed_key"]))}
        licence = ListenLicence(
            licence_id=string(body["licence_id"]),
            user=string(body["user"]),
            device=string(body["device"]),
            derivative=string(body["derivative"]),
            issued_at=integer(body["issued_at"]),
            not_before=integer(body["not_before"]),
            expires_at=integer(body["expires_at"]),
            **extra,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise LicenceFormatError(f"This listen licence is malformed ({exc}).") from None
    if licence.user != user:
        raise LicenceDeviceError("This listen licence was issued to another account.")
    if licence.device != device:
        raise LicenceDeviceError("This listen licence was issued to another device.")
    if licence.derivative != derivative:
        raise LicenceFormatError("This listen licence is for another remix.")
    licence.check_time(now)
    return licence
