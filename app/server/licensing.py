# SPDX-License-Identifier: GPL-3.0-or-later
"""Issuing licences: the track's policy, a validity window and content keys sealed to a device."""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from app.core.keys import KemPublicKey
from app.core.licence import Licence, sign_licence
from app.server.config import LICENCE_RENEW_AFTER_S, LICENCE_TTL_S, OFFLINE_GRACE_S
from app.server.db import Device, Track, User, new_id, now_s
from app.server.db import Licence as LicenceRow
from app.server.ingest import stems_of
from app.server.vaultkeys import Signer, stem_key_purpose, unwrap


def issue_licence(
    session: Session, signer: Signer, master_key: bytes, user: User, device: Device, track: Track
) -> bytes:
    """Record and sign a licence for (user, device, current track version); returns its bytes."""
    issued = now_s()
    licence_id = new_id("lic")
    keys = {
        stem.kind: unwrap(
            master_key, stem.wrapped_key, stem_key_purpose(track.id, track.version, stem.kind)
        )
        for stem in stems_of(session, track)
    }
    body = Licence(
        licence_id=licence_id,
        user=user.id,
        device=device.id,
        track=track.id,
        track_version=track.version,
        policy=dict(track.policy),
        issued_at=issued,
        not_before=issued - 300,  # tolerate a client clock a few minutes behind
        expires_at=issued + LICENCE_TTL_S,
        renew_after=issued + LICENCE_RENEW_AFTER_S,
        offline_grace_s=OFFLINE_GRACE_S,
        rights={"play": True, "remix": True, "publish": bool(track.policy.get("publish", True))},
        sealed_keys={},
        watermark_session=secrets.token_hex(16),
    )
    data = sign_licence(
        body,
        signer.private,
        content_keys=keys,
        device_kem=KemPublicKey.from_b64(device.kem_public_key),
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
    session.commit()
    return data
