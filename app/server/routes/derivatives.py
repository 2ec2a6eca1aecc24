# SPDX-License-Identifier: GPL-3.0-or-later
"""Derivatives: upload (verified before it is published, its progress readable meanwhile),
listing, status and listening."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, HTTPException, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from app.core.disclosure import disclose, levels_claimed
from app.core.own_part import MAX_PARTS
from app.core.recipe import styles_of
from app.server.ca import Publisher
from app.server.catalog import track_info
from app.server.countersigning import SignedAhead, countersign_in_worker
from app.server.db import Derivative, DraftRemix, Track, UploadAttempt, User, new_id, now_s
from app.server.deps import PlatformDep, SessionDep, UserDep
from app.server.feed import list_remix
from app.server.fingerprint_index import index_derivative
from app.server.garden import (
    GardenError,
    check_listenable,
    discard_audio,
    listen_doc,
    seal_audio,
)
from app.server.publishing import PUBLISH_ID_PATTERN, ProgressRecorder, progress_of
from app.server.reviews import (
    AWAITING,
    MAX_REASON,
    PUBLISHED,
    ReviewError,
    decide,
    reason_for,
)
from app.server.spam import count
from app.server.verify import (
    Admitted,
    Checks,
    VerificationError,
    admit_upload,
    rerender_upload,
)

router = APIRouter(tags=["derivatives"])
MAX_AUDIO_BYTES = 150 * 1024 * 1024
MAX_DOC_BYTES = 1024 * 1024
MAX_TAKE_BYTES = 100 * 1024 * 1024  # a 10-minute stereo take at 48 kHz / 24 bits, as FLAC
#: The studio's random id for one upload, under which the platform keeps its progress.
PublishId = Annotated[str | None, Header(alias="X-Fanfare-Publish", pattern=PUBLISH_ID_PATTERN)]
#: The project (``app.core.project``) the remix was made in: *My remixes* lists it under it.
ProjectId = Annotated[str | None, Header(alias="X-Fanfare-Project", pattern=r"^prj_[0-9a-f]{32}$")]


async def _read(part: UploadFile, limit: int, what: str) -> bytes:
    data = await part.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"The {what} is larger than {limit // 1024} KiB.")
    return data


def derivative_doc(row: Derivative, session: Any) -> dict[str, Any]:
    owner = session.get(User, row.user_id)
    track = session.get(Track, row.track_id)
    return {
        "id": row.id,
        "track_id": row.track_id,
        "track_version": row.track_version,
        "track_title": track.title if track else row.track_id,
        "title": row.title,
        "status": row.status,
        # Why it was refused or taken down: its maker (and the artist) read this.
        "reason": reason_for(session, row),
        "by": owner.name if owner else "unknown",
        "duration_s": row.duration_s,
        "created_at": row.created_at,
        "audio_sha256": row.audio_sha256,
        "disclosure": row.disclosure,
        "attribution": row.attribution,
    }


@router.post("/derivatives", status_code=201)
async def upload(
    user: UserDep,
    session: SessionDep,
    platform: PlatformDep,
    audio: Annotated[UploadFile, File()],
    recipe: Annotated[UploadFile, File()],
    title: Annotated[str, Form(min_length=1, max_length=200)],
    take: Annotated[list[UploadFile] | None, File()] = None,
    publish_id: PublishId = None,
    project_id: ProjectId = None,
) -> dict[str, Any]:
    """Publish a remix: its audio (with the fan's Content Credentials), its recipe and, for
    each recorded part, the take's FLAC file (``take``, repeated)."""
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
    # Verification, the blob write and the commit are blocking work: off the event loop.
    return await run_in_threadpool(
        _verify_and_store,
        session,
        platform,
        user,
        audio_bytes,
        recipe_bytes,
        title,
        ProgressRecorder(platform.sessions, user.id, publish_id),
        project_id,
        takes,
    )


@router.get("/derivatives/publishing/{publish_id}")
def publishing(publish_id: str, user: UserDep, session: SessionDep) -> dict[str, Any]:
    """How far the platform is with verifying the upload the studio sent under
    ``publish_id`` (``app.server.publishing``): only to its uploader."""
    row = progress_of(session, user.id, publish_id)
    if row is None:
        raise HTTPException(404, "There is no upload of yours in progress under that id.")
    return {"step": row.step, "fraction": row.fraction, "updated_at": row.updated_at}


def _verify_and_store(
    session: Any,
    platform: Any,
    user: User,
    audio_bytes: bytes,
    recipe_bytes: bytes,
    title: str,
    progress: ProgressRecorder,
    project_id: str | None = None,
    takes: list[bytes] | None = None,
) -> dict[str, Any]:
    """Verify, then publish; ``progress`` keeps the steps for the uploader to read."""
    progress("checking", 0.0)
    try:
        result = _publish(
            session, platform, user, audio_bytes, recipe_bytes, title, progress, project_id,
            takes or [],
        )  # fmt: skip
    except HTTPException as exc:
        progress("refused" if exc.status_code < 500 else "failed", 1.0)
        raise
    except BaseException:
        progress("failed", 1.0)
        raise
    progress("done", 1.0)
    return result


def _publish(
    session: Any,
    platform: Any,
    user: User,
    audio_bytes: bytes,
    recipe_bytes: bytes,
    title: str,
    progress: ProgressRecorder,
    project_id: str | None = None,
    takes: list[bytes] | None = None,
) -> dict[str, Any]:
    platform.warmer.cancel(user.id)  # the re-render stretches the rest, on every core
    derivative_id = new_id("drv")
    ahead: SignedAhead | None = None
    try:
        admitted = admit_upload(
            session,
            platform.blobs,
            platform.config.master_key,
            platform.stem_cache,
            user,
            audio=audio_bytes,
            recipe_bytes=recipe_bytes,
            checks=Checks(platform.config, platform.ca.pem, platform.fingerprints),
            takes=takes or [],
        )
        artist = session.get(User, admitted.track.artist_id)
        artist_name = artist.display_name or artist.name if artist else ""
        info = track_info(session, admitted.track)
        publisher = platform.ca.publisher(session, platform.config.master_key)

        def published(disclosure: dict[str, Any]) -> Future[bytes]:
            return _published_file(
                publisher, audio_bytes, admitted, derivative_id, title, user, disclosure
            )

        claimed = levels_claimed(admitted.record.get("levels"))
        ahead = SignedAhead(
            published,
            None if claimed is None else _disclosure(admitted, info, artist_name, claimed),
        )
        verified = rerender_upload(
            session, platform.blobs, platform.style_cache, admitted, progress,
            store=platform.stem_cache.chunks,
        )  # fmt: skip
    except VerificationError as exc:
        if ahead is not None:
            ahead.cancel()
        session.rollback()
        count(session, user, exc.reason, costly=exc.costly)
        raise HTTPException(exc.status, str(exc)) from None
    progress("publishing", 0.0)
    policy = verified.policy
    disclosure = _disclosure(verified, info, artist_name, verified.levels)
    published_bytes = ahead.take(disclosure)
    progress("publishing", 0.2)
    audio_row = seal_audio(
        platform.blobs, platform.config.master_key, derivative_id, published_bytes,
        downloadable=policy.downloadable, peaks=verified.peaks,
    )  # fmt: skip
    progress("publishing", 0.8)  # the watermark variants made and sealed: the rows remain
    blob_name = audio_row.blob_name
    try:
        row = Derivative(
            id=derivative_id,
            user_id=user.id,
            track_id=verified.track.id,
            track_version=verified.track.version,
            licence_id=verified.licence.id,
            device_id=verified.device.id,
            title=title,
            status=AWAITING if policy.review == "artist" else PUBLISHED,
            recipe=verified.recipe.to_dict(),
            provenance={
                "remix": verified.record,
                "signed_by_device": verified.device.id,
                "credentials": "c2pa",
            },
            disclosure=disclosure,
            attribution={
                "split": policy.revenue_split,
                "artist": artist.name if artist else None,
                "fan": user.name,
            },
            audio_blob=blob_name,
            audio_sha256=verified.audio_sha256,
            duration_s=verified.duration_s,
        )
        session.add(row)
        session.flush()  # the derivative before its audio's row refers to it
        session.add(audio_row)
        if project_id is not None:
            session.add(
                DraftRemix(derivative_id=derivative_id, project_id=project_id, user_id=user.id)
            )
        list_remix(session, row, verified.track.title, user.name)
        index_derivative(
            session, derivative_id, verified.track, user.id, verified.audio,
            verified.track.sample_rate, fp=verified.fingerprint,
        )  # fmt: skip
        session.add(UploadAttempt(user_id=user.id, at=now_s(), outcome="published", costly=True))
        session.commit()
    except BaseException:
        session.rollback()
        discard_audio(platform.blobs, audio_row)
        raise
    return derivative_doc(row, session)


def _disclosure(
    admitted: Admitted, info: Any, artist: str, levels: dict[str, float]
) -> dict[str, Any]:
    """How the remix was made, as listeners are told, with each stem heard at ``levels``."""
    disclosure = disclose(admitted.recipe, info, artist, levels)
    heard = [s["stem"] for s in disclosure["stems"] if s["heard"] != "not heard"]
    # The first disclosure's fields, which older studios read.
    return disclosure | {
        "ai_used": bool(admitted.record.get("ai", {}).get("used", False)),
        "ai_models": list(admitted.record.get("ai", {}).get("models", [])),
        "styled_stems": {kind: slot.ref for kind, slot in styles_of(admitted.recipe).items()},
        "stems_used": heard,
        "policy_version": admitted.policy_version,
    }


def _published_file(
    publisher: Publisher,
    upload: bytes,
    admitted: Admitted,
    derivative_id: str,
    title: str,
    user: User,
    disclosure: dict[str, Any],
) -> Future[bytes]:
    """What listeners get, started in a worker: the upload's audio, tagged with its credits
    and how it was made, with the platform's manifest (publisher, verified by re-render) over
    the fan's."""
    doc = {
        "id": derivative_id,
        "title": title,
        "by": user.name,
        "track_title": admitted.track.title,
        "disclosure": disclosure,
        "audio_sha256": admitted.audio_sha256,
    }
    return countersign_in_worker(
        publisher,
        upload,
        doc,
        title=title,
        verification={
            "derivative": derivative_id,
            "method": "re-render",
            "track": admitted.track.id,
            "track_version": admitted.track.version,
            "policy_version": admitted.policy_version,
            "fan": user.name,
            "audio_sha256": admitted.audio_sha256,
        },
    )


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
