# SPDX-License-Identifier: GPL-3.0-or-later
"""Entitlements and licences: who may license what, and the signed licence itself.

A licence names one user, one enrolled device and one track version; it carries the track's
policy, a validity window, per-stem rights and the content keys sealed to the device. The
revocation list tells a studio which of its user's licences and devices were revoked.
"""

from __future__ import annotations

import secrets

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.keys import KemPublicKey
from app.core.licence import REVOCATIONS_FORMAT, Licence, sign_envelope, sign_licence
from app.core.policy import Policy
from app.core.security_level import SecurityLevel, refusal
from app.server.config import LEVEL_TERMS_S
from app.server.db import Device, DeviceSecurity, LicenceTerms, Track, User, new_id, now_s
from app.server.db import Licence as LicenceRow
from app.server.ingest import stems_of
from app.server.policies import current_version
from app.server.style_models import offered
from app.server.vaultkeys import Signer, stem_key_purpose, unwrap


class EntitlementError(Exception):
    """The user may not license this track; ``status`` is 403 or 404 and the message says why."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


def check_entitlement(user: User, track: Track) -> None:
    """Raise EntitlementError unless ``user`` may license ``track`` now.

    The track's own artist and admins may always (artists preview their own policy); a fan
    needs the track published, the artist's remix opt-in, and the tier the track requires.
    """
    if user.role == "admin" or track.artist_id == user.id:
        return
    if not track.published:
        raise EntitlementError(f"There is no track '{track.id}'.", 404)
    if not track.remix_opt_in:
        raise EntitlementError(
            "The artist has not opened this track for remixing, or has paused it; remixes "
            "already published stay."
        )
    if track.required_tier == "superfan" and user.tier != "superfan":
        raise EntitlementError("This track is open to superfans only; upgrade to remix it.")


def issue_licence(
    session: Session,
    signer: Signer,
    master_key: bytes,
    user: User,
    device: Device,
    track: Track,
    *,
    ttl_s: int,
    preview: Policy | None = None,
) -> bytes:
    """Record and sign a licence for (user, device, current track version); returns its bytes.

    ``preview``: the track's artist (or an admin) previews a draft policy: the licence carries
    the draft and its rights, but no right to publish, so nothing made under it is published.

    The device's security level bounds it: below the policy's minimum there is no licence;
    a weaker device gets a shorter one and a shorter offline grace, and none at all below the
    policy's minimum for offline use (``LEVEL_TERMS_S``).
    """
    check_entitlement(user, track)
    if preview is not None and user.role != "admin" and user.id != track.artist_id:
        raise EntitlementError("Only the track's artist can preview a draft of its policy.")
    policy = preview or Policy.from_dict(track.policy)
    version = current_version(session, track)
    level = security_level(session, device)
    if level < policy.min_security_level:
        raise EntitlementError(refusal(policy.min_security_level, level, "this track"))
    longest_s, grace_s = LEVEL_TERMS_S[level]
    ttl_s = min(ttl_s, longest_s)
    offline = level >= policy.offline_min_security_level and preview is None
    grace_s = min(grace_s, ttl_s) if offline else 0  # a preview is never kept offline
    issued = now_s()
    licence_id = new_id("lic")
    stems = stems_of(session, track)
    keys = {
        stem.kind: unwrap(
            master_key, stem.wrapped_key, stem_key_purpose(track.id, track.version, stem.kind)
        )
        for stem in stems
    }
    body = Licence(
        licence_id=licence_id,
        user=user.id,
        device=device.id,
        track=track.id,
        track_version=track.version,
        policy=policy.to_dict(),
        issued_at=issued,
        not_before=issued - 300,  # tolerate a client clock a few minutes behind
        expires_at=issued + ttl_s,
        renew_after=issued + ttl_s // 2,
        offline_grace_s=grace_s,
        rights={
            "play": True,
            "remix": policy.remix,
            "publish": policy.publish and preview is None,
            "restyle": policy.remix and bool(policy.style_families),
        },
        sealed_keys={},
        watermark_session=secrets.token_hex(16),
        key_rights={stem.kind: tuple(policy.key_rights(stem.kind)) for stem in stems},
        models=offered(session),
    )
    data = sign_licence(
        body,
        signer.private,
        content_keys=keys,
        device_kem=KemPublicKey.from_stored(device.kem_public_key),
    )
    session.add(
        LicenceRow(
            id=licence_id,
            user_id=user.id,
            device_id=device.id,
            track_id=track.id,
            track_version=track.version,
            issued_at=issued,
            expires_at=body.expires_at,
        )
    )
    session.flush()  # the licence before the row that refers to it
    session.add(
        LicenceTerms(
            licence_id=licence_id,
            policy_version=version,
            preview_policy=preview.to_dict() if preview is not None else None,
        )
    )
    session.commit()
    return data


def security_level(session: Session, device: Device) -> SecurityLevel:
    """The level ``device`` stated at its first enrolment (the weakest if it predates them)."""
    row = session.get(DeviceSecurity, device.id)
    return SecurityLevel(row.level) if row is not None else SecurityLevel.FILE


def revoke_device(session: Session, device: Device) -> int:
    """Revoke a device and every licence issued to it; returns how many licences.

    Its keys are burned: enrolment refuses them from then on (routes/devices.py), and the
    sessions bound to it are refused (``accounts.user_for_token``).
    """
    device.revoked = True
    rows = session.scalars(
        select(LicenceRow).where(LicenceRow.device_id == device.id, LicenceRow.revoked.is_(False))
    ).all()
    for row in rows:
        row.revoked, row.revoked_at = True, now_s()
    session.commit()
    return len(rows)


def revocation_list(session: Session, signing_key: Ed25519PrivateKey, user: User) -> bytes:
    """The user's revoked licences and devices, signed like a licence (a studio syncs it)."""
    licences = session.scalars(
        select(LicenceRow.id).where(LicenceRow.user_id == user.id, LicenceRow.revoked.is_(True))
    ).all()
    devices = session.scalars(
        select(Device.id).where(Device.user_id == user.id, Device.revoked.is_(True))
    ).all()
    body = {
        "user": user.id,
        "issued_at": now_s(),
        "licences": sorted(licences),
        "devices": sorted(devices),
    }
    return sign_envelope(REVOCATIONS_FORMAT, body, signing_key)
