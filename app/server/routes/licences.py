# SPDX-License-Identifier: GPL-3.0-or-later
"""Licences: issue, renewal, revocation and the revocation list a studio syncs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, Field

from app.core.errors import PolicyError
from app.core.policy import Policy
from app.server.db import Licence as LicenceRow
from app.server.db import LicenceTerms, Track, User, now_s
from app.server.deps import (
    PlatformDep,
    SessionDep,
    TokenDep,
    UserDep,
    own_device,
    require_admin,
)
from app.server.ingest import stems_of
from app.server.licensing import EntitlementError, issue_licence, revocation_list

router = APIRouter(tags=["licences"])


class LicenceRequest(BaseModel):
    track_id: str = Field(min_length=1, max_length=64)
    device_id: str = Field(min_length=1, max_length=64)
    #: The track's artist previewing a draft policy (``licensing.issue_licence``).
    preview_policy: dict[str, Any] | None = None


def _rate_limited(platform: Any, user: User) -> None:
    if not platform.licence_limiter.allow(f"licence|{user.id}"):
        raise HTTPException(
            429,
            "Too many licence requests; wait a moment and try again.",
            headers={"Retry-After": str(platform.licence_limiter.retry_after_s())},
        )


def _issue(
    session: Any,
    platform: Any,
    user: User,
    token: str,
    device_id: str,
    track_id: str,
    preview: dict[str, Any] | None = None,
) -> Response:
    device = own_device(session, user, token, device_id)
    track = session.get(Track, track_id)
    if track is None:
        raise HTTPException(404, f"There is no track '{track_id}'.")
    draft = None
    if preview is not None:
        try:
            draft = Policy.from_dict(preview)
        except PolicyError as exc:
            raise HTTPException(422, str(exc)) from None
        problems = draft.contradictions([s.kind for s in stems_of(session, track)])
        if problems:
            raise HTTPException(422, "This draft contradicts itself: " + "; ".join(problems) + ".")
    try:
        data = issue_licence(
            session,
            platform.signer,
            platform.config.master_key,
            user,
            device,
            track,
            ttl_s=platform.config.licence_ttl_s,
            preview=draft,
        )
    except EntitlementError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    return Response(data, status_code=201, media_type="application/json")


@router.post("/licences", status_code=201)
def request_licence(
    body: LicenceRequest,
    user: UserDep,
    token: TokenDep,
    session: SessionDep,
    platform: PlatformDep,
) -> Response:
    _rate_limited(platform, user)
    return _issue(
        session, platform, user, token, body.device_id, body.track_id, body.preview_policy
    )


def _own_licence(session: Any, user: User, licence_id: str) -> LicenceRow:
    row = session.get(LicenceRow, licence_id)
    if row is None or (row.user_id != user.id and user.role != "admin"):
        raise HTTPException(404, f"There is no licence '{licence_id}'.")
    return row


@router.post("/licences/{licence_id}/renew", status_code=201)
def renew_licence(
    licence_id: str, user: UserDep, token: TokenDep, session: SessionDep, platform: PlatformDep
) -> Response:
    """A fresh licence for the same device and track (the current version), if still allowed."""
    _rate_limited(platform, user)
    row = _own_licence(session, user, licence_id)
    if row.user_id != user.id:
        raise HTTPException(403, "Only the licence's holder can renew it.")
    if row.revoked:
        raise HTTPException(403, "This licence has been revoked and cannot be renewed.")
    terms = session.get(LicenceTerms, row.id)
    preview = terms.preview_policy if terms is not None else None  # the same draft again
    return _issue(session, platform, user, token, row.device_id, row.track_id, preview)


@router.post("/licences/{licence_id}/revoke")
def revoke_licence(licence_id: str, user: UserDep, session: SessionDep) -> dict[str, Any]:
    require_admin(user)
    row = _own_licence(session, user, licence_id)
    if not row.revoked:
        row.revoked, row.revoked_at = True, now_s()
        session.commit()
    return {"licence_id": row.id, "revoked": True}


@router.get("/licences/revocations")
def my_revocations(user: UserDep, session: SessionDep, platform: PlatformDep) -> Response:
    data = revocation_list(session, platform.signer.private, user)
    return Response(data, media_type="application/json")
