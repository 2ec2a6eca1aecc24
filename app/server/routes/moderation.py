# SPDX-License-Identifier: GPL-3.0-or-later
"""Reports from listeners, the moderators' queue and their decisions, and the upload counts
operators watch."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from app.server.db import Derivative, User
from app.server.deps import SessionDep, UserDep
from app.server.garden import GardenError, check_listenable
from app.server.moderation import ModerationError, moderate, queue, report
from app.server.reviews import MAX_REASON, reason_for
from app.server.spam import metrics

router = APIRouter(tags=["moderation"])


class ReportBody(BaseModel):
    reason: str = Field(min_length=1, max_length=MAX_REASON)


def _admin(user: User) -> None:
    if user.role != "admin":
        raise HTTPException(403, "Only the platform's moderators see this.")


@router.post("/derivatives/{derivative_id}/report", status_code=201)
def report_remix(
    derivative_id: str, body: ReportBody, user: UserDep, session: SessionDep
) -> dict[str, Any]:
    """A listener reports a remix they can hear, saying why."""
    row = session.get(Derivative, derivative_id)
    try:
        check_listenable(session, user, row, derivative_id)
        assert row is not None
        report(session, user, row, body.reason)
    except GardenError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    except ModerationError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    return {"reported": derivative_id}


@router.get("/moderation")
def moderation_queue(user: UserDep, session: SessionDep, all: bool = False) -> list[dict[str, Any]]:
    """Reported remixes, the most reported first (moderators only)."""
    _admin(user)
    return [asdict(r) for r in queue(session, include_resolved=all)]


class ModerationBody(BaseModel):
    action: str = Field(pattern="^(hide|restore)$")
    reason: str = Field(default="", max_length=MAX_REASON)


@router.post("/moderation/{derivative_id}")
def moderation_decision(
    derivative_id: str, body: ModerationBody, user: UserDep, session: SessionDep
) -> dict[str, Any]:
    """Hide a remix (with the reason its maker reads) or restore it (moderators only)."""
    _admin(user)
    try:
        row = moderate(session, user, derivative_id, body.action, body.reason)
    except ModerationError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    return {"id": row.id, "status": row.status, "reason": reason_for(session, row)}


@router.get("/admin/metrics")
def upload_metrics(user: UserDep, session: SessionDep, since: int = 0) -> dict[str, Any]:
    """Uploads by outcome since ``since`` (Unix seconds): published and each refusal."""
    _admin(user)
    return {"uploads": metrics(session, since)}
