# SPDX-License-Identifier: GPL-3.0-or-later
"""A fan's remix projects kept on the platform: saved from the studio, listed with the remixes
published from each, opened on another machine, deleted. Private to their owner: anyone else
is told there is no such draft."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Response
from sqlalchemy import func, select

from app.core import project as project_format
from app.core.project import MAX_PROJECT_BYTES, ProjectError
from app.server.db import Derivative, Draft, DraftRemix, Track, now_s
from app.server.deps import SessionDep, UserDep

router = APIRouter(tags=["drafts"])
#: Drafts one account may keep (each up to ``MAX_PROJECT_BYTES``).
MAX_DRAFTS = 200


def _mine(session: Any, user_id: str, project_id: str) -> Draft:
    draft = session.get(Draft, project_id)
    if draft is None or draft.user_id != user_id:
        raise HTTPException(404, f"There is no draft '{project_id}' of yours.")
    return draft


def _summary(session: Any, draft: Draft) -> dict[str, Any]:
    track = session.get(Track, draft.track_id)
    remixes = session.execute(
        select(Derivative.id, Derivative.title, Derivative.status, Derivative.created_at)
        .join(DraftRemix, DraftRemix.derivative_id == Derivative.id)
        .where(DraftRemix.project_id == draft.id, DraftRemix.user_id == draft.user_id)
        .order_by(Derivative.created_at.desc())
    ).all()
    return {
        "id": draft.id,
        "title": draft.title,
        "track_id": draft.track_id,
        "track_version": draft.track_version,
        "track_title": track.title if track is not None else draft.track_id,
        "updated_at": draft.updated_at,
        "remixes": [
            {"id": r.id, "title": r.title, "status": r.status, "created_at": r.created_at}
            for r in remixes
        ],
    }


@router.put("/drafts/{project_id}")
def save_draft(
    project_id: str,
    document: Annotated[dict[str, Any], Body()],
    user: UserDep,
    session: SessionDep,
    response: Response,
) -> dict[str, Any]:
    """Keep the project ``document`` (a ``.fanfare`` file's JSON) under its id: 201 the first
    time, 200 after."""
    data = json.dumps(document)
    if len(data) > MAX_PROJECT_BYTES:
        raise HTTPException(413, "This project is larger than a project can be.")
    try:
        project = project_format.loads(data)
    except ProjectError as exc:
        raise HTTPException(422, str(exc)) from None
    if project.id != project_id:
        raise HTTPException(422, "This project's id is not the one in the address.")
    if session.get(Track, project.recipe.track_id) is None:
        raise HTTPException(404, f"There is no track '{project.recipe.track_id}'.")
    draft = session.get(Draft, project_id)
    if draft is not None and draft.user_id != user.id:
        raise HTTPException(404, f"There is no draft '{project_id}' of yours.")
    if draft is None:
        kept = session.scalar(select(func.count()).where(Draft.user_id == user.id)) or 0
        if kept >= MAX_DRAFTS:
            raise HTTPException(
                409, f"You keep {MAX_DRAFTS} drafts on the platform: delete one to keep another."
            )
        draft = Draft(id=project_id, user_id=user.id)
        session.add(draft)
        response.status_code = 201
    draft.track_id = project.recipe.track_id
    draft.track_version = project.recipe.track_version
    draft.title = project.title[:200]
    draft.document = project.to_dict()
    draft.updated_at = now_s()
    session.commit()
    return _summary(session, draft)


@router.get("/drafts")
def list_drafts(user: UserDep, session: SessionDep) -> list[dict[str, Any]]:
    """The account's drafts, last changed first, each with the remixes published from it."""
    drafts = session.scalars(
        select(Draft).where(Draft.user_id == user.id).order_by(Draft.updated_at.desc(), Draft.id)
    )
    return [_summary(session, d) for d in drafts]


@router.get("/drafts/{project_id}")
def get_draft(project_id: str, user: UserDep, session: SessionDep) -> dict[str, Any]:
    """The project document, as saved."""
    return dict(_mine(session, user.id, project_id).document)


@router.delete("/drafts/{project_id}", status_code=204)
def delete_draft(project_id: str, user: UserDep, session: SessionDep) -> Response:
    session.delete(_mine(session, user.id, project_id))
    session.commit()
    return Response(status_code=204)
