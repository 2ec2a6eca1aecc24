# SPDX-License-Identifier: GPL-3.0-or-later
"""An artist's track uploads: open one, send each stem in pieces (resumable), finish it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from app.server.db import Upload, User
from app.server.deps import PlatformDep, SessionDep, UserDep
from app.server.routes.catalog import track_doc
from app.server.uploads import CHUNK_BYTES, UploadError, append, finish, start, upload_doc

router = APIRouter(tags=["uploads"])


def _own(session: Any, user: User, upload_id: str) -> Upload:
    row = session.get(Upload, upload_id)
    if row is None or (row.artist_id != user.id and user.role != "admin"):
        raise HTTPException(404, f"There is no upload '{upload_id}'.")
    return row


@router.post("/uploads", status_code=201)
def open_upload(
    meta: dict[str, Any], user: UserDep, session: SessionDep, platform: PlatformDep
) -> dict[str, Any]:
    """Say what is coming: ``title``, ``bpm``, ``key``, ``time_signature``, ``sections``,
    ``policy`` and ``stems`` (each ``kind``, ``size`` in bytes, ``sha256``)."""
    try:
        row = start(session, user, meta)
    except UploadError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    return upload_doc(platform.blobs, row)


@router.get("/uploads/{upload_id}")
def upload_status(
    upload_id: str, user: UserDep, session: SessionDep, platform: PlatformDep
) -> dict[str, Any]:
    """What the platform holds of each stem: where an interrupted upload resumes."""
    return upload_doc(platform.blobs, _own(session, user, upload_id))


@router.put("/uploads/{upload_id}/stems/{kind}")
async def send_piece(
    upload_id: str,
    kind: str,
    offset: int,
    request: Request,
    user: UserDep,
    session: SessionDep,
    platform: PlatformDep,
) -> dict[str, Any]:
    """The next piece of one stem (at most ``chunk_bytes``), at ``offset``: where the
    platform's part ends (409 with the right offset otherwise)."""
    row = _own(session, user, upload_id)
    data = await request.body()
    if len(data) > CHUNK_BYTES:
        raise HTTPException(413, f"A piece is at most {CHUNK_BYTES // (1024 * 1024)} MiB.")
    try:
        held = await run_in_threadpool(append, platform.blobs, row, kind, offset, data)
    except UploadError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    return {"kind": kind, "received": held}


@router.post("/uploads/{upload_id}/finish", status_code=201)
def finish_upload(
    upload_id: str, user: UserDep, session: SessionDep, platform: PlatformDep
) -> dict[str, Any]:
    """Check every stem and ingest the track, as a draft only its artist sees; ``notes`` says
    what the artist should know of stems taken as they are."""
    row = _own(session, user, upload_id)
    try:
        track = finish(session, platform.blobs, platform.config.master_key, row)
    except UploadError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    return track_doc(session, track) | {"notes": list(row.meta.get("notes", []))}
