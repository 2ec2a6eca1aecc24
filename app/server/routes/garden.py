# SPDX-License-Identifier: GPL-3.0-or-later
"""The garden's routes: the feed, listen licences, the encrypted stream, downloads of open
remixes, play reports and earnings statements."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from app.server.db import Derivative
from app.server.deps import PlatformDep, SessionDep, TokenDep, UserDep, own_device
from app.server.feed import MAX_OFFSET, MAX_PAGE, FeedQuery, feed
from app.server.garden import (
    GardenError,
    audio_of,
    check_listenable,
    issue_listen_licence,
    listener_stream,
    may_download,
    plaintext,
    tagged,
)
from app.server.intake import derivative_doc
from app.server.routes.ranges import BlobBody, ranged
from app.server.royalties import MAX_REPORTS, PlayCounter, statement
from app.server.track_states import audit

router = APIRouter(tags=["garden"])


def _listenable(session: Any, user: Any, derivative_id: str) -> tuple[Derivative, Any]:
    row = session.get(Derivative, derivative_id)
    try:
        track = check_listenable(session, user, row, derivative_id)
    except GardenError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    assert row is not None
    return row, track


@router.get("/feed")
def get_feed(
    user: UserDep,
    session: SessionDep,
    sort: str = "new",
    track: Annotated[str | None, Query(max_length=64)] = None,
    fan: Annotated[str | None, Query(max_length=64)] = None,
    artist: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = MAX_PAGE,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> dict[str, Any]:
    """Published remixes of published tracks, newest or most played first, filtered by
    track, fan, artist or words; a page at a time (``next``: the offset of the next page)."""
    try:
        return feed(session, FeedQuery(sort, track, fan, artist, q, limit, offset))
    except GardenError as exc:
        raise HTTPException(exc.status, str(exc)) from None


class ListenRequest(BaseModel):
    device_id: str = Field(min_length=1, max_length=64)


@router.post("/derivatives/{derivative_id}/listen", status_code=201)
def listen_licence(
    derivative_id: str,
    body: ListenRequest,
    user: UserDep,
    token: TokenDep,
    session: SessionDep,
    platform: PlatformDep,
) -> Response:
    """A listen licence for one of the caller's devices: the remix's key sealed to it, for
    minutes; refused (410, with the reason) once the remix is taken down or its track
    withdrawn."""
    if not platform.licence_limiter.allow(f"listen|{user.id}"):
        raise HTTPException(
            429,
            "Too many listen requests; wait a moment and try again.",
            headers={"Retry-After": str(platform.licence_limiter.retry_after_s())},
        )
    device = own_device(session, user, token, body.device_id)
    row, _ = _listenable(session, user, derivative_id)
    data = issue_listen_licence(
        session, platform.signer, platform.blobs, platform.config.master_key, user, device, row,
        ttl_s=platform.config.listen_licence_ttl_s,
    )  # fmt: skip
    return Response(data, status_code=201, media_type="application/json")


@router.get("/derivatives/{derivative_id}/stream", response_model=None)
def stream(
    derivative_id: str,
    user: UserDep,
    session: SessionDep,
    platform: PlatformDep,
    request: Request,
    licence: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The remix's audio as ciphertext (byte ranges served), useless without a listen licence
    for the device that asks. With ``licence`` (a version 2 listen licence of the caller's):
    that listener's watermarked stream, assembled from the stored variants by byte copies;
    without: the remix's one blob (which only a version 1 licence opens)."""
    row, _ = _listenable(session, user, derivative_id)
    if licence is None:
        kept = audio_of(session, platform.blobs, platform.config.master_key, row)
        body = BlobBody.of(platform.blobs, kept.blob_name, "This remix's audio is missing.")
        return ranged(body, request.headers.get("range"), "application/octet-stream")
    try:
        plan = listener_stream(
            session, platform.blobs, platform.config.master_key, user, row, licence
        )
    except GardenError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    return ranged(plan, request.headers.get("range"), "application/octet-stream")


@router.get("/derivatives/{derivative_id}/download")
def download(
    derivative_id: str, user: UserDep, session: SessionDep, platform: PlatformDep
) -> Response:
    """An open remix as published (FLAC, 24-bit, -14 LUFS), tagged with how it was made;
    a walled remix is refused, whoever asks."""
    row, track = _listenable(session, user, derivative_id)
    audio_of(session, platform.blobs, platform.config.master_key, row)  # an older one, sealed
    if not may_download(session, row, track):
        raise HTTPException(
            403, "This remix is walled: the artist lets it stream on Fanfare only, not download."
        )
    doc = derivative_doc(row, session)
    data = tagged(plaintext(session, platform.blobs, platform.config.master_key, row), doc)
    return Response(data, media_type="audio/flac", headers={"Content-Disposition": _saved_as(row)})


def _saved_as(row: Derivative) -> str:
    """The download's file name: the remix's title, in ASCII for every client and in UTF-8
    for those that read RFC 6266's ``filename*``."""
    title = row.title.strip() or row.id
    plain = "".join(c if c.isascii() and (c.isalnum() or c in " -_") else "_" for c in title)
    encoded = quote(title + ".flac", safe="")
    return f"attachment; filename=\"{plain}.flac\"; filename*=UTF-8''{encoded}"


@router.get("/derivatives/{derivative_id}/audio")
def admin_audio(
    derivative_id: str, user: UserDep, session: SessionDep, platform: PlatformDep
) -> Response:
    """A remix's plaintext, for an administrator only (a dispute, a legal request); every time
    it is served goes into the track's audit."""
    if user.role != "admin":
        raise HTTPException(
            403,
            "A remix's audio is only streamed encrypted, to be played in the app; an open "
            "remix can be downloaded from its page.",
        )
    row, track = _listenable(session, user, derivative_id)
    audit(session, track, user, f"plaintext of derivative {row.id}", None, "served")
    session.commit()
    return Response(
        plaintext(session, platform.blobs, platform.config.master_key, row),
        media_type="audio/flac",
    )


class PlayReports(BaseModel):
    reports: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_REPORTS)


@router.post("/plays")
def report_plays(
    body: PlayReports, user: UserDep, session: SessionDep, platform: PlatformDep
) -> dict[str, Any]:
    """Count the caller's play reports (signed by their device); each answered with whether
    it counted and, if not, why."""
    counter = PlayCounter(
        session,
        user,
        value_micro=platform.config.play_value_micro,
        cap_per_day=platform.config.plays_per_device_per_day,
    )
    outcomes = counter.count(body.reports)
    return {
        "results": [o.to_dict() for o in outcomes],
        "counted": sum(o.counted for o in outcomes),
    }


@router.get("/earnings")
def earnings(user: UserDep, session: SessionDep, platform: PlatformDep) -> dict[str, Any]:
    """What the caller has earned from plays, per remix and per month."""
    return statement(session, user) | {
        "currency": platform.config.currency,
        "play_value_micro": platform.config.play_value_micro,
    }
