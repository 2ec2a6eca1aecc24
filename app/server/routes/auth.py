# SPDX-License-Identifier: GPL-3.0-or-later
"""Sign-in and the signed-in account."""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidSignature
from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from app.core.encoding import unb64u
from app.core.keys import SIGN_IN_PROOF_TTL_S, ed25519_public_from_b64, sign_in_message
from app.server.accounts import authenticate, bind_token, issue_token, revoke_token
from app.server.db import Device, User, now_s
from app.server.deps import PlatformDep, SessionDep, TokenDep, UserDep

router = APIRouter(tags=["auth"])


class KnownDevice(BaseModel):
    """An enrolled device's signature showing the sign-in comes from it (``core.keys``)."""

    device_id: str = Field(min_length=1, max_length=64)
    signed_at: int
    signature: str = Field(min_length=1, max_length=200)


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    device: KnownDevice | None = None


def user_doc(user: Any) -> dict[str, Any]:
    return {"id": user.id, "name": user.name, "role": user.role}


@router.post("/auth/login")
def login(
    body: LoginRequest, request: Request, session: SessionDep, platform: PlatformDep
) -> dict[str, Any]:
    """Sign in with a password; from an enrolled device, with its proof too.

    Only failures count. From a device the account has enrolled (its signature in ``device``),
    they count against that device alone, so a guesser elsewhere, or on the same address,
    cannot lock its owner out; the session is bound to that device at once. From anywhere
    else they count per account and per address: guessing one password from many places, or
    many accounts from one place, both run out.
    """
    known = _known_device(session, body)
    if known is not None:
        buckets = [f"failed|device|{known.id}"]
    else:
        client = request.client.host if request.client else "unknown"
        buckets = [f"failed|user|{body.username}", f"failed|ip|{client}"]
    limiter = platform.login_limiter
    if not all(limiter.available(bucket) for bucket in buckets):
        raise HTTPException(
            429,
            "Too many sign-in attempts; wait a minute and try again.",
            headers={"Retry-After": str(limiter.retry_after_s())},
        )
    user = authenticate(session, body.username, body.password)
    if user is None:
        for bucket in buckets:
            limiter.spend(bucket)
        raise HTTPException(401, "The user name or password is wrong.")
    token, expires_at = issue_token(session, user)
    if known is not None:
        bind_token(session, token, known.id)
        session.commit()
    return {"token": token, "expires_at": expires_at, "user": user_doc(user)}


def _known_device(session: Session, body: LoginRequest) -> Device | None:
    """The enrolled, unrevoked device of ``body.username`` whose fresh signature the request
    carries; None for anything less (the sign-in then counts as from an unknown device)."""
    proof = body.device
    if proof is None or abs(now_s() - proof.signed_at) > SIGN_IN_PROOF_TTL_S:
        return None
    device = session.get(Device, proof.device_id)
    if device is None or device.revoked:
        return None
    owner = session.get(User, device.user_id)
    if owner is None or owner.name != body.username:
        return None
    message = sign_in_message(body.username, proof.device_id, proof.signed_at)
    try:
        ed25519_public_from_b64(device.signing_public_key).verify(unb64u(proof.signature), message)
    except (InvalidSignature, ValueError):
        return None
    return device


@router.post("/auth/logout")
def logout(user: UserDep, token: TokenDep, session: SessionDep) -> dict[str, Any]:
    """End this session: the token stops working at once."""
    revoke_token(session, token)
    return {"signed_out": user.name}


@router.get("/auth/me")
def me(user: UserDep) -> dict[str, Any]:
    return user_doc(user)
