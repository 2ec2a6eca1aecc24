# SPDX-License-Identifier: GPL-3.0-or-later
"""The catalogue, the platform's public keys, and encrypted stem downloads (with HTTP ranges)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from app.core.licence import public_key_b64
from app.server.api import PlatformDep, SessionDep, UserDep
from app.server.catalog import track_info, visible_tracks
from app.server.db import Stem, Track, User

router = APIRouter(tags=["catalogue"])


@router.get("/platform/keys")
def platform_keys(platform: PlatformDep) -> dict[str, Any]:
    keys = platform.signer.public_keys
    return {
        "active": platform.signer.kid,
        "keys": [{"kid": kid, "public_key": public_key_b64(pub)} for kid, pub in keys.items()],
    }


def _visible(session: Any, user: User, track_id: str) -> Track:
    track = session.get(Track, track_id)
    if track is None or not (track.published or track.artist_id == user.id or user.role == "admin"):
        raise HTTPException(404, f"There is no track '{track_id}'.")
    return track


@router.get("/tracks")
def list_tracks(user: UserDep, session: SessionDep) -> list[dict[str, Any]]:
    return [track_info(session, t).to_dict() for t in visible_tracks(session, user)]


@router.get("/tracks/{track_id}")
def get_track(track_id: str, user: UserDep, session: SessionDep) -> dict[str, Any]:
    return track_info(session, _visible(session, user, track_id)).to_dict()


@router.get("/tracks/{track_id}/versions/{version}/stems/{kind}")
def stem_blob(
    track_id: str,
    version: int,
    kind: str,
    user: UserDep,
    session: SessionDep,
    platform: PlatformDep,
) -> FileResponse:
    _visible(session, user, track_id)
    stem = session.get(Stem, (track_id, version, kind))
    if stem is None:
        raise HTTPException(404, f"Track '{track_id}' v{version} has no stem '{kind}'.")
    return FileResponse(
        platform.blobs.path(stem.blob_name), media_type="application/vnd.fanfare.stem"
    )
