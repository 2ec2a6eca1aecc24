# SPDX-License-Identifier: GPL-3.0-or-later
"""The catalogue, the platform's public keys, and encrypted stem downloads (with HTTP ranges)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from app.core.errors import PolicyError
from app.core.licence import public_key_b64
from app.server import overviews
from app.server.catalog import track_info, visible_tracks
from app.server.db import Stem, Track, User
from app.server.deps import PlatformDep, SessionDep, UserDep
from app.server.licensing import EntitlementError, check_entitlement
from app.server.policies import current_version, save_policy, versions
from app.server.routes.ranges import BlobBody, ranged
from app.server.track_states import (
    TrackStateError,
    audit,
    follow_flags,
    history,
    set_state,
    state_of,
)

router = APIRouter(tags=["catalogue"])


@router.get("/platform/keys")
def platform_keys(platform: PlatformDep) -> dict[str, Any]:
    keys = platform.signer.public_keys
    return {
        "active": platform.signer.kid,
        "keys": [{"kid": kid, "public_key": public_key_b64(pub)} for kid, pub in keys.items()],
        "endorsements": platform.signer.endorsements,
    }


def _visible(session: Any, user: User, track_id: str) -> Track:
    track = session.get(Track, track_id)
    if track is None or not (track.published or track.artist_id == user.id or user.role == "admin"):
        raise HTTPException(404, f"There is no track '{track_id}'.")
    return track


@router.get("/platform/ca")
def device_ca(platform: PlatformDep) -> dict[str, str]:
    """The CA that certifies enrolled devices (the trust anchor for provenance manifests)."""
    return {"ca_pem": platform.ca.pem}


class TrackUpdate(BaseModel):
    """What an artist may change on their own track (all optional)."""

    policy: dict[str, Any] | None = None
    published: bool | None = None
    remix_opt_in: bool | None = None
    required_tier: str | None = Field(default=None, pattern="^(free|superfan)$")


@router.patch("/tracks/{track_id}")
def update_track(
    track_id: str, body: TrackUpdate, user: UserDep, session: SessionDep
) -> dict[str, Any]:
    """The track's artist (or an admin) changes its policy, publication, opt-in or tier;
    every change is audited. The flags are the state's parts (``POST .../state`` moves the
    state as a whole); setting them directly lets the state follow them."""
    track = _own(session, user, track_id)
    if body.policy is not None:
        try:
            save_policy(session, track, user, body.policy)
        except PolicyError as exc:
            raise HTTPException(422, str(exc)) from None
    for name in ("published", "remix_opt_in", "required_tier"):
        value = getattr(body, name)
        if value is not None:
            audit(session, track, user, name, getattr(track, name), value)
            setattr(track, name, value)
            if name != "required_tier":
                follow_flags(session, track)
    session.commit()
    return track_doc(session, track)


class StateChange(BaseModel):
    state: str = Field(min_length=1, max_length=16)


@router.post("/tracks/{track_id}/state")
def change_state(
    track_id: str, body: StateChange, user: UserDep, session: SessionDep
) -> dict[str, Any]:
    """Move the track to draft, live, paused or withdrawn (its artist or an admin)."""
    track = _own(session, user, track_id)
    try:
        revoked = set_state(session, track, user, body.state)
    except TrackStateError as exc:
        raise HTTPException(422, str(exc)) from None
    return track_doc(session, track) | {"licences_revoked": revoked}


@router.get("/tracks/{track_id}/policies")
def policy_history(track_id: str, user: UserDep, session: SessionDep) -> list[dict[str, Any]]:
    """Every version of the track's policy, oldest first (its artist or an admin)."""
    return versions(session, _own(session, user, track_id))


@router.get("/tracks/{track_id}/audit")
def track_audit(track_id: str, user: UserDep, session: SessionDep) -> list[dict[str, Any]]:
    """Every change to the track, oldest first (its artist or an admin)."""
    return history(session, _own(session, user, track_id))


def _own(session: Any, user: User, track_id: str) -> Track:
    """The track, if ``user`` is its artist or an admin (403 for anyone else who sees it)."""
    track = _visible(session, user, track_id)
    if track.artist_id != user.id and user.role != "admin":
        raise HTTPException(403, "Only the track's artist can change it.")
    return track


def track_doc(session: Any, track: Track) -> dict[str, Any]:
    """The public metadata plus the catalogue flags the window and artists care about."""
    return track_info(session, track).to_dict() | {
        "state": state_of(session, track),
        "policy_version": current_version(session, track),
        "published": track.published,
        "remix_opt_in": track.remix_opt_in,
        "required_tier": track.required_tier,
    }


@router.get("/tracks")
def list_tracks(user: UserDep, session: SessionDep, mine: bool = False) -> list[dict[str, Any]]:
    """The catalogue this account may see; ``mine``: only the tracks it is the artist of,
    whatever their state (an artist's *My tracks*)."""
    tracks = visible_tracks(session, user)
    if mine:
        tracks = [t for t in tracks if t.artist_id == user.id]
    return [track_doc(session, t) for t in tracks]


@router.get("/tracks/{track_id}")
def get_track(track_id: str, user: UserDep, session: SessionDep) -> dict[str, Any]:
    return track_doc(session, _visible(session, user, track_id))


@router.get("/tracks/{track_id}/versions/{version}/envelopes")
def stem_envelopes(
    track_id: str, version: int, user: UserDep, session: SessionDep, platform: PlatformDep
) -> Response:
    """The version's stem envelopes for the timeline (``core/envelopes``), to whoever may
    license it: an outline of each stem, not audio, yet only for those who may open it."""
    track = _visible(session, user, track_id)
    try:
        check_entitlement(user, track)
    except EntitlementError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    data = overviews.kept(platform.blobs, track_id, version)
    if data is None and version == track.version:  # ingested before envelopes were kept
        key = platform.config.master_key
        stems = platform.stem_cache.get(session, platform.blobs, key, track)
        overviews.keep(platform.blobs, track_id, version, stems)
        data = overviews.kept(platform.blobs, track_id, version)
    if data is None:
        raise HTTPException(404, f"Track '{track_id}' v{version} has no stem envelopes.")
    return Response(data, media_type="application/json")


@router.get("/tracks/{track_id}/versions/{version}/stems/{kind}")
def stem_blob(
    track_id: str,
    version: int,
    kind: str,
    user: UserDep,
    session: SessionDep,
    platform: PlatformDep,
    request: Request,
) -> StreamingResponse:
    """A stem's encrypted blob, whole or from a byte range (a download resumed)."""
    _visible(session, user, track_id)
    stem = session.get(Stem, (track_id, version, kind))
    if stem is None:
        raise HTTPException(404, f"Track '{track_id}' v{version} has no stem '{kind}'.")
    body = BlobBody.of(platform.blobs, stem.blob_name, f"The stem '{kind}' is missing.")
    return ranged(body, request.headers.get("range"), "application/vnd.fanfare.stem")
