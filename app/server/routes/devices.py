# SPDX-License-Identifier: GPL-3.0-or-later
"""Device enrolment: a device registers its public keys under the signed-in account."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import select

from app.core.keys import KemPublicKey, ed25519_public_from_b64
from app.server.api import SessionDep, UserDep
from app.server.db import Device, new_id

router = APIRouter(tags=["devices"])
MAX_DEVICES_PER_ACCOUNT = 10


class EnrolRequest(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    signing_public_key: str = Field(min_length=1, max_length=64)
    kem_public_key: str = Field(min_length=1, max_length=2000)


def device_doc(device: Device) -> dict[str, Any]:
    return {
        "device_id": device.id,
        "name": device.name,
        "created_at": device.created_at,
        "revoked": device.revoked,
    }


@router.post("/devices", status_code=201)
def enrol(body: EnrolRequest, user: UserDep, session: SessionDep) -> dict[str, Any]:
    try:
        ed25519_public_from_b64(body.signing_public_key)
        KemPublicKey.from_b64(body.kem_public_key)
    except ValueError:
        raise HTTPException(422, "The device's public keys are malformed.") from None
    active = session.scalars(
        select(Device).where(Device.user_id == user.id, Device.revoked.is_(False))
    ).all()
    for device in active:
        if device.signing_public_key == body.signing_public_key:
            return device_doc(device)  # enrolling the same keys again is idempotent
    if len(active) >= MAX_DEVICES_PER_ACCOUNT:
        raise HTTPException(
            403, f"This account already has {MAX_DEVICES_PER_ACCOUNT} devices; revoke one first."
        )
    device = Device(
        id=new_id("dev"),
        user_id=user.id,
        name=body.name,
        signing_public_key=body.signing_public_key,
        kem_public_key=body.kem_public_key,
    )
    session.add(device)
    session.commit()
    return device_doc(device)


@router.get("/devices")
def my_devices(user: UserDep, session: SessionDep) -> list[dict[str, Any]]:
    rows = session.scalars(select(Device).where(Device.user_id == user.id)).all()
    return [device_doc(d) for d in rows]
