# SPDX-License-Identifier: GPL-3.0-or-later
"""Derivatives: upload (kept and queued for verification, its job and progress readable
meanwhile), listing, status and listening."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, HTTPException, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from app.core.own_part import MAX_PARTS
from app.server import intake
from app.server.db import Derivative, PublishJob, Track, User
from app.server.deps import Platform, PlatformDep, SessionDep, UserDep
from app.server.garden import GardenError, check_listenable, listen_doc
from app.server.intake import derivative_doc
from app.server.publishing import PUBLISH_ID_PATTERN, progress_of
from app.server.reviews import MAX_REASON, PUBLISHED, ReviewError, decide

router = APIRouter(tags=["derivatives"])
MAX_AUDIO_BYTES = 150 * 1024 * 1024
MAX_DOC_BYTES = 1024 * 1024
MAX_TAKE_BYTES = 100 * 1024 * 1024  # a 10-minute stereo take at 48 kHz / 24 bits, as FLAC
#: How long an upload asked without ``Prefer: respond-async`` waits for its verification, in
#: seconds (a long re-render on a busy platform then answers 202 and is followed).
WAIT_S = 600.0
#: How often a held job question looks at the job again, in seconds.
JOB_POLL_S = 0.05
#: The studio's random id for one upload, under which the platform keeps its progress.
PublishId = Annotated[str | None, Header(alias="X-Fanfare-Publish", pattern=PUBLISH_ID_PATTERN)]
#: The project (``app.core.project``) the remix was made in: *My remixes* lists it under it.
ProjectId = Annotated[str | None, Header(alias="X-Fanfare-Project", pattern=r"^prj_[0-9a-f]{32}$")]


async def _read(part: UploadFile, limit: int, what: str) -> bytes:
    data = await part.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"The {what} is larger than {limit // 1024} KiB.")
    return data


@router.post("/derivatives", status_code=201, response_model=None)
async def upload(
    user: UserDep,
    session: SessionDep,
    platform: PlatformDep,
    request: Request,
    audio: Annotated[UploadFile, File()],
    recipe: Annotated[UploadFile, File()],
    title: Annotated[str, Form(min_length=1, max_length=200)],
    take: Annotated[list[UploadFile] | None, File()] = None,
    publish_id: PublishId = None,
    project_id: ProjectId = None,
) -> dict[str, Any] | JSONResponse:
    """Publish a remix: its audio (with the fan's Content Credentials), its recipe and, for
    each recorded part, the take's FLAC file (``take``, repeated).

    The upload is kept and queued for verification (``app.server.intake``). With
    ``Prefer: respond-async`` the answer comes at once: 202 and the job to follow
    (``GET /derivatives/jobs/{id}``). Without, it comes when the job ends, as the published
    remix (201) or the refusal's status and sentence."""
    if not platform.upload_limiter.allow(f"upload|{user.id}"):
        raise HTTPException(
            429,
            "Too many uploads; wait a minute before publishing again.",
            headers={"Retry-After": str(platform.upload_limiter.retry_after_s())},
        )
    audio_bytes = await _read(audio, MAX_AUDIO_BYTES, "audio")
    recipe_bytes = await _read(recipe, MAX_DOC_BYTES, "recipe")
    if len(take or []) > MAX_PARTS:
        raise HTTPException(413, f"A remix carries at most {MAX_PARTS} recorded takes.")
    takes = [await _read(part, MAX_TAKE_BYTES, "recorded take") for part in take or []]
    job = await run_in_threadpool(
        intake.submit,
        session,
        platform,
        user,
        audio=audio_bytes,
        recipe=recipe_bytes,
        title=title,
        takes=takes,
        publish_id=publish_id,
        project_id=project_id,
    )
    if "respond-async" in request.headers.get("prefer", "").lower():
        return JSONResponse(
            intake.job_doc(job),
            status_code=202,
            headers={"Location": f"/api/v1/derivatives/jobs/{job.id}"},
        )
    ended = await run_in_threadpool(intake.wait, platform, job.id, time.monotonic() + WAIT_S)
    if ended is None:  # still verifying: the client follows it like an asynchronous one
        return JSONResponse(intake.job_doc(job), status_code=202)
    if ended.state != intake.DONE:
        raise HTTPException(ended.status_code, ended.detail)
    return dict(ended.result or {})


@router.get("/derivatives/jobs/{job_id}")
async def job_status(
    job_id: str,
    user: UserDep,
    platform: PlatformDep,
    wait: Annotated[float, Query(ge=0.0, le=30.0)] = 0.0,
) -> dict[str, Any]:
    """Where the caller's upload ``job_id`` stands: queued, running, then done (with the
    published remix), refused or failed (with the sentence). ``wait``: seconds to hold the
    answer while the job has not ended, so that the studio hears of its end at once."""
    deadline = time.monotonic() + wait
    while True:
        doc = await run_in_threadpool(_job_of, platform, user.id, job_id)
        if doc["state"] in intake.ENDS or time.monotonic() >= deadline:
            return doc
        await asyncio.sleep(JOB_POLL_S)


def _job_of(platform: Platform, user_id: str, job_id: str) -> dict[str, Any]:
    with platform.sessions() as session:
        job = session.get(PublishJob, job_id)
        if job is None or job.user_id != user_id:
            raise HTTPException(404, "There is no upload of yours under that id.")
        return intake.job_doc(job)


@router.get("/derivatives/publishing/{publish_id}")
def publishing(publish_id: str, user: UserDep, session: SessionDep) -> dict[str, Any]:
    """How far the platform is with verifying the upload the studio sent under
    ``publish_id`` (``app.server.publishing``): only to its uploader."""
    row = progress_of(session, user.id, publish_id)
    if row is None:
        raise HTTPException(404, "There is no upload of yours in progress under that id.")
    return {"step": row.step, "fraction": row.fraction, "updated_at": row.updated_at}


@router.get("/derivatives")
def list_derivatives(user: UserDep, session: SessionDep, mine: bool = True) -> list[dict[str, Any]]:
    query = select(Derivative).order_by(Derivative.created_at.desc(), Derivative.id)
    if mine:
        query = query.where(Derivative.user_id == user.id)
    else:  # what others hear: published remixes of tracks that are still published
        query = (
            query.join(Track, Track.id == Derivative.track_id)
            .where(Derivative.status == "published")
            .where(Track.published.is_(True))
        )
    return [derivative_doc(r, session) for r in session.scalars(query)]


def _visible(session: Any, user: User, derivative_id: str) -> Derivative:
    """A derivative its maker, its track's artist and admins always see (the artist looks
    after it), and others while they may hear it (``garden.check_listenable``: 410 with the
    reason once it is taken down or its track withdrawn)."""
    row = session.get(Derivative, derivative_id)
    if row is not None and row.user_id == user.id:
        return row
    try:
        check_listenable(session, user, row, derivative_id)
    except GardenError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    assert row is not None
    return row


@router.get("/derivatives/{derivative_id}")
def get_derivative(derivative_id: str, user: UserDep, session: SessionDep) -> dict[str, Any]:
    """The remix's document, with what its player shows: walled or open, plays, overview."""
    row = _visible(session, user, derivative_id)
    track = session.get(Track, row.track_id)
    assert track is not None
    return derivative_doc(row, session) | listen_doc(session, row, track, user)


@router.get("/tracks/{track_id}/derivatives")
def track_derivatives(track_id: str, user: UserDep, session: SessionDep) -> list[dict[str, Any]]:
    """Every remix of the track, whatever its status, newest first (its artist or an admin)."""
    track = session.get(Track, track_id)
    if track is None or (track.artist_id != user.id and user.role != "admin"):
        raise HTTPException(404, f"There is no track '{track_id}' of yours.")
    rows = session.scalars(
        select(Derivative)
        .where(Derivative.track_id == track_id)
        .order_by(Derivative.created_at.desc(), Derivative.id)
    )
    return [derivative_doc(r, session) for r in rows]


class Decision(BaseModel):
    decision: str = Field(min_length=1, max_length=16)  # approve, refuse, take down
    reason: str = Field(default="", max_length=MAX_REASON)


@router.post("/derivatives/{derivative_id}/decision")
def decide_derivative(
    derivative_id: str, body: Decision, user: UserDep, session: SessionDep
) -> dict[str, Any]:
    """Approve or refuse a remix waiting for review, or take one down, with the reason its
    maker sees (the track's artist or an admin)."""
    row = session.get(Derivative, derivative_id)
    track = session.get(Track, row.track_id) if row is not None else None
    if row is None or track is None:
        raise HTTPException(404, f"There is no derivative '{derivative_id}'.")
    if track.artist_id != user.id and user.role != "admin":
        if row.user_id == user.id or row.status == PUBLISHED:
            raise HTTPException(403, "Only the track's artist decides on its remixes.")
        raise HTTPException(404, f"There is no derivative '{derivative_id}'.")
    try:
        decide(session, row, track, user, body.decision, body.reason)
    except ReviewError as exc:
        raise HTTPException(422, str(exc)) from None
    return derivative_doc(row, session)
