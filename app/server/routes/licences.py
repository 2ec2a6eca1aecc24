# SPDX-License-Identifier: GPL-3.0-or-later
"""Licence issue: signed, with the track's content keys sealed to the requesting device."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, Field

from app.server.api import PlatformDep, SessionDep, UserDep
from app.server.db import Device, Track
from app.server.licensing import issue_licence

router = APIRouter(tags=["licences"])


class LicenceRequest(BaseModel):
    track_id: str = Field(min_length=1, max_length=64)
    device_id: str = Field(min_length=1, max_length=64)


@router.post("/licences", status_code=201)
def request_licence(
    body: LicenceRequest, user: UserDep, session: SessionDep, platform: PlatformDep
) -> Response:
    device = session.get(Device, body.device_id)
    if device is None or device.user_id != user.id:
        raise HTTPException(403, "That device is not enrolled on your account.")
    if device.revoked:
        raise HTTPException(403, "That device has been revoked; enrol it again.")
    track = session.get(Track, body.track_id)
    if track is None or not (track.published or track.artist_id == user.id):
        raise HTTPException(404, f"There is no track '{body.track_id}'.")
    data = issue_licence(session, platform.signer, platform.config.master_key, user, device, track)
    return Response(data, status_code=201, media_type="application/json")
