# SPDX-License-Identifier: GPL-3.0-or-later
"""What request handlers depend on: the app's :class:`Platform`, a database session per
request, the signed-in user, and their ``*Dep`` aliases for route signatures.

A leaf under the routes: routes import it, ``api.create_app`` builds the ``Platform`` it hands
out, and it imports neither (the shape of the FastAPI full-stack template's ``api/deps.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session, sessionmaker

from app.server.accounts import device_revoked_for, token_device, user_for_token
from app.server.blobs import BlobStore
from app.server.ca import DeviceCA
from app.server.config import ServerConfig
from app.server.db import Device, User
from app.server.fingerprint_index import FingerprintIndex
from app.server.job_queue import JobQueue
from app.server.ratelimit import RateLimiter
from app.server.style_models import PackageCache
from app.server.vaultkeys import Signer
from app.server.verify import StemAudioCache
from app.server.warming import Warmer


@dataclass
class Platform:
    """Everything a request handler needs, built once per app."""

    config: ServerConfig
    sessions: sessionmaker[Session]
    blobs: BlobStore
    signer: Signer
    ca: DeviceCA
    stem_cache: StemAudioCache
    style_cache: PackageCache
    fingerprints: FingerprintIndex
    login_limiter: RateLimiter
    licence_limiter: RateLimiter
    upload_limiter: RateLimiter
    warmer: Warmer
    #: Where uploads' verification jobs run (``job_queue``): a thread here, or the workers.
    jobs: JobQueue


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def get_session(platform: Annotated[Platform, Depends(get_platform)]) -> Iterator[Session]:
    with platform.sessions() as session:
        yield session


#: A 401's machine-readable cause, for a client to act on (the detail is for the user).
REASON_HEADER = "X-Fanfare-Reason"
DEVICE_REVOKED = "device-revoked"


def bearer_token(request: Request) -> str:
    """The request's bearer token (401 without one); :func:`current_user` checks it."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "Sign in first.", headers={"WWW-Authenticate": "Bearer"})
    return token.strip()


def current_user(
    token: Annotated[str, Depends(bearer_token)],
    session: Annotated[Session, Depends(get_session)],
) -> User:
    user = user_for_token(session, token)
    if user is None and device_revoked_for(session, token):
        raise HTTPException(
            401,
            "This device was revoked on your account; sign in again to enrol it anew.",
            headers={"WWW-Authenticate": "Bearer", REASON_HEADER: DEVICE_REVOKED},
        )
    if user is None:
        raise HTTPException(
            401,
            "Your session has expired or is not valid; sign in again.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


def require_admin(user: User) -> None:
    if user.role != "admin":
        raise HTTPException(403, "Only a platform administrator may do this.")


def own_device(session: Session, user: User, token: str, device_id: str) -> Device:
    """``device_id``, if it is an unrevoked device of ``user`` and the one this session is
    bound to; else HTTP 403 with the sentence why."""
    device = session.get(Device, device_id)
    if device is None or device.user_id != user.id:
        raise HTTPException(403, "That device is not enrolled on your account.")
    if device.revoked:
        raise HTTPException(403, "That device has been revoked; enrol it again.")
    bound = token_device(session, token)
    if bound is not None and bound != device_id:
        raise HTTPException(403, "This session belongs to another device of your account.")
    return device


PlatformDep = Annotated[Platform, Depends(get_platform)]
SessionDep = Annotated[Session, Depends(get_session)]
UserDep = Annotated[User, Depends(current_user)]
#: The caller's bearer token (declare it after ``UserDep``, which checks it).
TokenDep = Annotated[str, Depends(bearer_token)]
