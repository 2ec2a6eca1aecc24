# SPDX-License-Identifier: GPL-3.0-or-later
"""Device enrolment: a device registers its public keys under the signed-in account."""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidSignature
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import select

from app.core.encoding import unb64u
from app.core.keys import KemPublicKey, ed25519_public_from_b64, enrolment_message
from app.core.security_level import SecurityLevel
from app.server.accounts import bind_token, token_device
from app.server.db import Device, DeviceSecurity, new_id
from app.server.deps import PlatformDep, SessionDep, TokenDep, UserDep
from app.server.licensing import revoke_device, security_level

router = APIRouter(tags=["devices"])
MAX_DEVICES_PER_ACCOUNT = 10


class EnrolRequest(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    signing_public_key: str = Field(min_length=1, max_length=64)
    kem_public_key: str = Field(min_length=1, max_length=2000)
    #: Ed25519 signature by the device over app.core.keys.enrolment_message (base64url).
    proof: str = Field(min_length=1, max_length=200)
    #: Where the device keeps its keys (app.core.security_level); the weakest if not said.
    security_level: str = Field(default="file", max_length=16)


def device_doc(device: Device, level: SecurityLevel, ca_pem: str = "") -> dict[str, Any]:
    doc = {
        "device_id": device.id,
        "name": device.name,
        "created_at": device.created_at,
        "revoked": device.revoked,
        "security_level": level.label,
        "certificate_pem": device.certificate_pem,
    }
    if ca_pem:
        doc["ca_pem"] = ca_pem
    return doc


@router.post("/devices", status_code=201)
def enrol(
    body: EnrolRequest, user: UserDep, token: TokenDep, session: SessionDep, platform: PlatformDep
) -> dict[str, Any]:
    """Register a device's public keys; the answer carries its X.509 certificate.

    The session enrolling it is bound to it from then on: enrolling the same keys again is
    idempotent, and enrolling another device needs a fresh sign-in with the password. The
    security level is the one stated at the first enrolment: keys that lived in a file do not
    become safer by being enrolled again.
    """
    try:
        level = SecurityLevel.parse(body.security_level)
    except ValueError as exc:
        raise HTTPException(422, f"The device's security level is not known ({exc}).") from None
    try:
        signing_key = ed25519_public_from_b64(body.signing_public_key)
        KemPublicKey.from_b64(body.kem_public_key)
    except ValueError:
        raise HTTPException(422, "The device's public keys are malformed.") from None
    try:
        signing_key.verify(
            unb64u(body.proof), enrolment_message(body.signing_public_key, body.kem_public_key)
        )
    except (InvalidSignature, ValueError):
        raise HTTPException(422, "The device could not prove that it holds its keys.") from None
    burned = session.scalar(
        select(Device).where(
            Device.signing_public_key == body.signing_public_key, Device.revoked.is_(True)
        )
    )
    if burned is not None:
        raise HTTPException(
            403, "These device keys were revoked; the app must make new keys to enrol again."
        )
    elsewhere = session.scalar(
        select(Device).where(
            Device.signing_public_key == body.signing_public_key,
            Device.user_id != user.id,
            Device.revoked.is_(False),
        )
    )
    if elsewhere is not None:
        raise HTTPException(409, "These device keys are enrolled on another account.")
    active = session.scalars(
        select(Device).where(Device.user_id == user.id, Device.revoked.is_(False))
    ).all()
    bound = token_device(session, token)
    for device in active:
        if device.signing_public_key == body.signing_public_key and bound in (None, device.id):
            bind_token(session, token, device.id)
            session.commit()
            # The same keys again: idempotent.
            return device_doc(device, security_level(session, device), platform.ca.pem)
    if len(active) >= MAX_DEVICES_PER_ACCOUNT:
        raise HTTPException(
            403, f"This account already has {MAX_DEVICES_PER_ACCOUNT} devices; revoke one first."
        )
    if bound is not None:
        raise HTTPException(
            403,
            "This session belongs to another device; sign in again with your password to "
            "enrol a new one.",
        )
    device_id = new_id("dev")
    device = Device(
        id=device_id,
        user_id=user.id,
        name=body.name,
        signing_public_key=body.signing_public_key,
        kem_public_key=body.kem_public_key,
        certificate_pem=platform.ca.issue(device_id, user.name, signing_key, level),
    )
    session.add(device)
    session.flush()  # the device before the row that refers to it
    session.add(DeviceSecurity(device_id=device_id, level=int(level)))
    bind_token(session, token, device_id)
    session.commit()
    return device_doc(device, level, platform.ca.pem)


@router.delete("/devices/{device_id}")
def revoke(device_id: str, user: UserDep, session: SessionDep) -> dict[str, Any]:
    """Revoke a device (its owner or an admin): its licences stop working, its uploads stop,
    and the sessions bound to it end."""
    device = session.get(Device, device_id)
    if device is None or (device.user_id != user.id and user.role != "admin"):
        raise HTTPException(404, f"There is no device '{device_id}'.")
    licences = revoke_device(session, device)
    return {"device_id": device.id, "revoked": True, "licences_revoked": licences}


@router.get("/devices")
def my_devices(user: UserDep, session: SessionDep) -> list[dict[str, Any]]:
    rows = session.scalars(select(Device).where(Device.user_id == user.id)).all()
    return [device_doc(d, security_level(session, d)) for d in rows]
