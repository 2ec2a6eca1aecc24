# SPDX-License-Identifier: GPL-3.0-or-later
"""Sign-in and the signed-in account."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from app.server.accounts import authenticate, issue_token
from app.server.api import SessionDep, UserDep

router = APIRouter(tags=["auth"])


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


def user_doc(user: Any) -> dict[str, Any]:
    return {"id": user.id, "name": user.name, "role": user.role}


@router.post("/auth/login")
def login(body: LoginRequest, session: SessionDep) -> dict[str, Any]:
    user = authenticate(session, body.username, body.password)
    if user is None:
        raise HTTPException(401, "The user name or password is wrong.")
    token, expires_at = issue_token(session, user)
    return {"token": token, "expires_at": expires_at, "user": user_doc(user)}


@router.get("/auth/me")
def me(user: UserDep) -> dict[str, Any]:
    return user_doc(user)
