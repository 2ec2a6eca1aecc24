# SPDX-License-Identifier: GPL-3.0-or-later
"""Sign-in and the signed-in account."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from app.server.accounts import authenticate, issue_token, revoke_token
from app.server.deps import PlatformDep, SessionDep, TokenDep, UserDep

router = APIRouter(tags=["auth"])


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


def user_doc(user: Any) -> dict[str, Any]:
    return {"id": user.id, "name": user.name, "role": user.role}


@router.post("/auth/login")
def login(
    body: LoginRequest, request: Request, session: SessionDep, platform: PlatformDep
) -> dict[str, Any]:
    client = request.client.host if request.client else "unknown"
    limiter = platform.login_limiter
    # Per account and per address: guessing one password from many places, or many accounts
    # from one place, both run out of tokens.
    if not (limiter.allow(f"user|{body.username}") and limiter.allow(f"ip|{client}")):
        raise HTTPException(
            429,
            "Too many sign-in attempts; wait a minute and try again.",
            headers={"Retry-After": str(limiter.retry_after_s())},
        )
    user = authenticate(session, body.username, body.password)
    if user is None:
        raise HTTPException(401, "The user name or password is wrong.")
    token, expires_at = issue_token(session, user)
    return {"token": token, "expires_at": expires_at, "user": user_doc(user)}


@router.post("/auth/logout")
def logout(user: UserDep, token: TokenDep, session: SessionDep) -> dict[str, Any]:
    """End this session: the token stops working at once."""
    revoke_token(session, token)
    return {"signed_out": user.name}


@router.get("/auth/me")
def me(user: UserDep) -> dict[str, Any]:
    return user_doc(user)
