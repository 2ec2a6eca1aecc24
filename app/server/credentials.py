# SPDX-License-Identifier: GPL-3.0-or-later
"""An upload's Content Credentials, checked before anything else, and the platform's own
manifest added as publisher once the remix is verified.

The fan's manifest must be intact, signed under a certificate the platform's device CA issued
to one of the uploader's enrolled, unrevoked devices (the one the platform has on record: a
re-enrolled device's old certificate does not count), and carry the ``org.fanfare.remix``
assertion that binds the recipe and the licence. Each way it can fail has its own sentence.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from sqlalchemy.orm import Session

from app import __version__
from app.core.credentials import (
    COMPOSITE_AI,
    HUMAN_EDITS,
    REMIX_LABEL,
    Credentials,
    CredentialsError,
    model_ingredient_id,
    publisher_manifest,
    read_credentials,
    sign_flac,
    strip_store,
)
from app.server.ca import Publisher
from app.server.db import Device, User

#: What the remix assertion must hold (and of which type).
_REMIX_FIELDS: dict[str, type | tuple[type, ...]] = {
    "recipe_sha256": str,
    "licence_id": str,
    "track": str,
    "track_version": int,
    "track_digest": str,
    "device": str,
    "user": str,
    "ai": dict,
}


class CredentialsRefused(Exception):
    """The upload's Content Credentials do not stand; ``reason`` names the kind (for the
    operator's counts) and the message is the fan's sentence."""

    def __init__(self, reason: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class CheckedCredentials:
    """An upload's credentials that stand: the store, its remix assertion and the device."""

    credentials: Credentials
    remix: dict[str, Any]
    device: Device


def check_upload(session: Session, user: User, audio: bytes, ca_pem: str) -> CheckedCredentials:
    """Check ``audio``'s Content Credentials for an upload by ``user``.

    Raises:
        CredentialsRefused: with reason ``credentials-missing``, ``credentials-edited``,
            ``credentials-untrusted``, ``credentials-invalid`` or ``credentials-device``.
    """
    try:
        credentials = read_credentials(audio, ca_pem)
        credentials.check_trusted()
    except CredentialsError as exc:
        message = str(exc)
        if exc.reason == "missing":
            message = (
                "This remix carries no Content Credentials: publish it from Fanfare, which "
                "signs how it was made into the file."
            )
        raise CredentialsRefused(f"credentials-{exc.reason}", message) from None
    active = credentials.active
    device = session.get(Device, active.signer)
    if device is None or device.user_id != user.id:
        raise CredentialsRefused(
            "credentials-device",
            "The Content Credentials are signed by a device that is not one of yours.",
            403,
        )
    if device.revoked:
        raise CredentialsRefused("credentials-device", "This device has been revoked.", 403)
    if not device.certificate_pem or active.serial != str(_serial(device.certificate_pem)):
        raise CredentialsRefused(
            "credentials-device",
            "The Content Credentials are signed under a certificate this device no longer "
            "holds; sign in again on this device.",
            403,
        )
    remix = active.assertions.get(REMIX_LABEL)
    if not isinstance(remix, dict) or any(
        not isinstance(remix.get(name), kind) for name, kind in _REMIX_FIELDS.items()
    ):
        raise CredentialsRefused(
            "credentials-invalid", "The Content Credentials do not say which recipe and licence."
        )
    if remix["device"] != device.id or remix["user"] != user.id:
        raise CredentialsRefused(
            "credentials-device", "The Content Credentials name another device or account.", 403
        )
    return CheckedCredentials(credentials, remix, device)


def check_disclosure(checked: CheckedCredentials, used_models: list[str]) -> None:
    """The manifest's AI disclosure must name exactly the style models the recipe uses: an
    ``inputTo`` ingredient each, and the IPTC source type that says so.

    Raises:
        CredentialsRefused: ``credentials-disclosure``.
    """
    active = checked.credentials.active
    declared = sorted(
        str(i.get("instance_id")) for i in active.ingredients if i.get("relationship") == "inputTo"
    )
    expected_type = COMPOSITE_AI if used_models else HUMAN_EDITS
    ai = checked.remix["ai"]
    if (
        declared != sorted(model_ingredient_id(ref) for ref in used_models)
        or expected_type not in active.source_types
        or (used_models and HUMAN_EDITS in active.source_types)
        or ai.get("used") is not bool(used_models)
        or sorted(ai.get("models") or []) != sorted(used_models)
    ):
        raise CredentialsRefused(
            "credentials-disclosure",
            "The Content Credentials' AI disclosure does not name the style models the recipe "
            "uses (" + (", ".join(used_models) or "none") + ").",
        )


def countersign(
    publisher: Publisher,
    upload: bytes,
    published: bytes,
    *,
    title: str,
    verification: dict[str, Any],
) -> bytes:
    """``published`` (the upload's FLAC stream, tagged for listeners) with the platform's
    manifest signed into it, the fan's signed ``upload`` as its parent ingredient."""
    manifest, parent = publisher_manifest(
        title=title,
        software_version=__version__,
        verification=verification | {"verified_at": int(time.time())},
        parent_title=f"{title} (the fan's signed upload)",
    )
    return sign_flac(
        strip_store(published),
        manifest,
        publisher.private.sign,
        publisher.certificate_pem,
        parent=(parent, upload),
    )


def _serial(certificate_pem: str) -> int:
    return x509.load_pem_x509_certificate(certificate_pem.encode()).serial_number
