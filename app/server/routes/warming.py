# SPDX-License-Identifier: GPL-3.0-or-later
"""A fan's studio says which tempo and key it is working at, so the platform can stretch the
track's stems before the upload comes (``app.server.warming``)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException
from sqlalchemy import select

from app.core import recipe as recipe_format
from app.core.errors import RecipeError
from app.core.policy import Policy, evaluate
from app.server.catalog import track_info
from app.server.db import Licence, Track, now_s
from app.server.deps import PlatformDep, SessionDep, UserDep
from app.server.licensing import EntitlementError, check_entitlement
from app.server.policies import is_preview, licence_policy
from app.server.style_models import offered as style_offered
from app.server.warming import WarmRefused

router = APIRouter(tags=["derivatives"])


@router.post("/tracks/{track_id}/warm", status_code=202)
def warm(
    track_id: str,
    document: Annotated[dict[str, Any], Body()],
    user: UserDep,
    session: SessionDep,
    platform: PlatformDep,
) -> dict[str, Any]:
    """Body: the recipe the fan is working on (JSON, as uploaded with a remix). Answers at
    once: ``queued`` is false when the recipe keeps the written tempo and key."""
    try:
        recipe = recipe_format.loads(json.dumps(document))
    except RecipeError as exc:
        raise HTTPException(422, str(exc)) from None
    track = session.get(Track, track_id)
    if track is None or recipe.track_id != track_id:
        raise HTTPException(404, f"There is no track '{track_id}' for this recipe.")
    if recipe.track_version != track.version:
        raise HTTPException(409, f"'{track.title}' is at version {track.version} now.")
    try:
        check_entitlement(user, track)
    except EntitlementError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    licence = session.scalars(
        select(Licence)
        .where(Licence.user_id == user.id, Licence.track_id == track.id)
        .where(Licence.track_version == track.version, Licence.revoked.is_(False))
        .where(Licence.expires_at > now_s())
        .order_by(Licence.issued_at.desc())
    ).first()
    if licence is None or is_preview(session, licence):
        raise HTTPException(403, "You hold no licence for this track.")
    info = track_info(session, track)
    _, policy_doc = licence_policy(session, licence, track)
    try:
        recipe.check_fits(info)
    except RecipeError as exc:
        raise HTTPException(422, str(exc)) from None
    decision = evaluate(
        Policy.from_dict(policy_doc), recipe, track=info, models=style_offered(session)
    )
    if not decision.allowed:
        raise HTTPException(
            403, "The artist's policy does not allow this: " + "; ".join(decision.reasons) + "."
        )
    try:
        queued = platform.warmer.request(user.id, track, recipe)
    except WarmRefused as exc:
        raise HTTPException(exc.status, str(exc)) from None
    return {"queued": queued}
