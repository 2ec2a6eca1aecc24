# SPDX-License-Identifier: GPL-3.0-or-later
"""Listen licences: one device of one user may stream one published derivative, for minutes.

Wire form: the envelope of stem licences (``app.core.licence.sign_envelope``) with format
``fanfare.listen-licence``. The body::

    {"licence_id": "lsn_…", "user": "usr_…", "device": "dev_…", "derivative": "drv_…",
     "issued_at": 1733380000, "not_before": 1733379700, "expires_at": 1733380600,
     "sealed_key": "<base64url HPKE ciphertext>"}

The derivative's content key is sealed to the device's KEM key with
``info = "fanfare/listen/v1/key|" + licence_id + "|" + derivative``, so it cannot be moved to
another licence or derivative, and a stem licence's key cannot be passed off as one of these
(another format, another ``info``). A listen licence grants playing the stream and nothing
else: no offline grace, no download; the studio renews it while it plays, and a refused renewal
(the remix was taken down) stops playback.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.core.encoding import b64u, unb64u
from app.core.errors import LicenceDeviceError, LicenceExpiredError, LicenceFormatError
from app.core.keys import DeviceKeys, KemPublicKey, open_sealed, seal_to_device
from app.core.licence import open_signed, sign_envelope
from app.core.validate import integer, string

FORMAT = "fanfare.listen-licence"
MAX_BYTES = 16 * 1024


def key_info(licence_id: str, derivative: str) -> bytes:
    """HPKE ``info`` binding the sealed key to its licence and derivative."""
    return f"fanfare/listen/v1/key|{licence_id}|{derivative}".encode()


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

    def check_time(self, now: float) -> None:
        """Raise LicenceExpiredError outside ``[not_before, expires_at)``."""
        if now < self.not_before:
            raise LicenceExpiredError("This listen licence is not valid yet (check your clock).")
        if now >= self.expires_at:
            raise LicenceExpiredError("The licence to stream this remix has run out.")

    def content_key(self, keys: DeviceKeys) -> bytes:
        """The derivative's content key, opened with this device's keys."""
        try:
            key = open_sealed(keys, self.sealed_key, key_info(self.licence_id, self.derivative))
        except (InvalidTag, ValueError):
            raise LicenceDeviceError(
                "This listen licence was sealed to another device; sign in again on this device."
            ) from None
        if len(key) != 32:
            raise LicenceFormatError("The content key in this listen licence has the wrong length.")
        return key


def sign_listen_licence(
    body: ListenLicence,
    signing_key: Ed25519PrivateKey,
    *,
    content_key: bytes,
    device_kem: KemPublicKey,
) -> bytes:
    """Seal ``content_key`` to ``device_kem``, sign, and return the wire bytes."""
    sealed = seal_to_device(device_kem, content_key, key_info(body.licence_id, body.derivative))
    fields: dict[str, Any] = {
        "licence_id": body.licence_id,
        "user": body.user,
        "device": body.device,
        "derivative": body.derivative,
        "issued_at": body.issued_at,
        "not_before": body.not_before,
        "expires_at": body.expires_at,
        "sealed_key": b64u(sealed),
    }
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
    _, body = open_signed(data, trusted, FORMAT, "listen licence", MAX_BYTES)
    try:
        licence = ListenLicence(
            licence_id=string(body["licence_id"]),
            user=string(body["user"]),
            device=string(body["device"]),
            derivative=string(body["derivative"]),
            issued_at=integer(body["issued_at"]),
            not_before=integer(body["not_before"]),
            expires_at=integer(body["expires_at"]),
            sealed_key=unb64u(string(body["sealed_key"])),
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
