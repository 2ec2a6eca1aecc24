# SPDX-License-Identifier: GPL-3.0-or-later
"""The style models the platform offers: the list, each signed manifest, and each file.

Any signed-in account may fetch them: a model is useless without a licence that allows it, and
the studio refuses one whose manifest the platform did not sign.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import StreamingResponse

from app.server.db import StyleModel
from app.server.deps import PlatformDep, SessionDep, UserDep
from app.server.routes.ranges import BlobBody, ranged
from app.server.style_models import blob_name, listing

router = APIRouter(tags=["style models"])


def _model(session: Any, model_id: str, version: int) -> StyleModel:
    row = session.get(StyleModel, f"{model_id}@{version}")
    if row is None:
        raise HTTPException(404, f"There is no style model {model_id}@{version}.")
    return row


@router.get("/models")
def list_models(user: UserDep, session: SessionDep) -> dict[str, Any]:
    """Every model offered, with its family, knobs and the stems it suits."""
    return {"models": listing(session)}


@router.get("/models/{model_id}/{version}/manifest")
def model_manifest(model_id: str, version: int, user: UserDep, session: SessionDep) -> Response:
    """The manifest in the platform's signed envelope."""
    row = _model(session, model_id, version)
    return Response(row.signed_manifest, media_type="application/json")


@router.get("/models/{model_id}/{version}/files/{name}")
def model_file(
    model_id: str, version: int, name: str, user: UserDep, session: SessionDep,
    platform: PlatformDep, request: Request,
) -> StreamingResponse:  # fmt: skip
    """One of the package's files (the studio checks it against the signed manifest)."""
    row = _model(session, model_id, version)
    if name not in row.manifest.get("files", {}):
        raise HTTPException(404, f"The model {row.ref} has no file '{name}'.")
    stored = blob_name(row.model_id, row.version, name)
    body = BlobBody.of(platform.blobs, stored, f"A file of the model {row.ref} is missing.")
    return ranged(body, request.headers.get("range"), "application/octet-stream")
