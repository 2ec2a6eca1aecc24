# SPDX-License-Identifier: GPL-3.0-or-later
"""Accounts: argon2 password hashes, expiring bearer tokens stored only as hashes.

A token starts unbound (a password sign-in); the device enrolled with it binds it to that
device, and from then on it speaks for that device alone: it cannot enrol another (that needs
the password again), and it is refused from the moment the device is revoked (it stays stored
until it expires, so the refusal can say why).
"""

from __future__ import annotations

import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.server.config import TOKEN_TTL_S
from app.server.db import ROLES, TIERS, Device, Token, TokenDevice, User, new_id, now_s

_HASHER = PasswordHasher()
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")
# Verified against when the user does not exist, so a wrong name costs the same time as a wrong
# password and does not reveal which names exist.
_DUMMY_HASH = _HASHER.hash("fanfare-dummy-password")


class AccountError(Exception):
    """A refused account operation; the message is for the user."""


def create_user(
    session: Session,
    name: str,
    role: str,
    password: str,
    display_name: str = "",
    tier: str = "free",
) -> User:
    """Add an account; raises AccountError for a bad name, role, short password or duplicate."""
    if not _NAME.match(name):
        raise AccountError(
            "A user name is 2 to 32 characters: lower-case letters, digits, '.', '_' or '-'."
        )
    if role not in ROLES:
        raise AccountError(f"A role is one of {', '.join(ROLES)}.")
    if tier not in TIERS:
        raise AccountError(f"A tier is one of {', '.join(TIERS)}.")
    if len(password) < 8:
        raise AccountError("A password must be at least 8 characters long.")
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise AccountError(f"The user '{name}' already exists.")
    user = User(
        id=new_id("usr"),
        name=name,
        display_name=display_name or name,
        role=role,
        tier=tier,
        password_hash=_HASHER.hash(password),
    )
    session.add(user)
    session.commit()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """Give ``user`` a new password and end every session they had (the caller commits)."""
    if len(password) < 8:
        raise AccountError("A password must be at least 8 characters long.")
    user.password_hash = _HASHER.hash(password)
    ended = select(Token.token_hash).where(Token.user_id == user.id)
    session.execute(delete(TokenDevice).where(TokenDevice.token_hash.in_(ended)))
    session.execute(delete(Token).where(Token.user_id == user.id))


def authenticate(session: Session, name: str, password: str) -> User | None:
    """The user if ``password`` is right, else None (in constant-ish time)."""
    user = session.scalar(select(User).where(User.name == name))
    try:
        _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return user


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, ttl_s: int = TOKEN_TTL_S) -> tuple[str, int]:
    """A new bearer token for ``user``: (token, expires_at)."""
    token = secrets.token_urlsafe(32)
    expires_at = now_s() + ttl_s
    expired = select(Token.token_hash).where(Token.expires_at <= now_s())
    session.execute(delete(TokenDevice).where(TokenDevice.token_hash.in_(expired)))
    session.execute(delete(Token).where(Token.expires_at <= now_s()))
    session.add(Token(token_hash=_hash_token(token), user_id=user.id, expires_at=expires_at))
    session.commit()
    return token, expires_at


def user_for_token(session: Session, token: str) -> User | None:
    """The user a live token belongs to, or None if unknown, expired, or bound to a device
    that has been revoked."""
    row = session.get(Token, _hash_token(token))
    if row is None or row.expires_at <= now_s() or device_revoked_for(session, token):
        return None
    return session.get(User, row.user_id)


def token_device(session: Session, token: str) -> str | None:
    """The device ``token`` is bound to, or None while it is unbound."""
    bound = session.get(TokenDevice, _hash_token(token))
    return bound.device_id if bound is not None else None


def bind_token(session: Session, token: str, device_id: str) -> None:
    """Bind ``token`` to the device just enrolled with it (the caller commits)."""
    token_hash = _hash_token(token)
    if session.get(TokenDevice, token_hash) is None:
        session.add(TokenDevice(token_hash=token_hash, device_id=device_id))


def revoke_token(session: Session, token: str) -> None:
    token_hash = _hash_token(token)
    session.execute(delete(TokenDevice).where(TokenDevice.token_hash == token_hash))
    session.execute(delete(Token).where(Token.token_hash == token_hash))
    session.commit()


def device_revoked_for(session: Session, token: str) -> bool:
    """Whether ``token`` is refused because the device it is bound to was revoked (so the
    app can forget that device's identity, not merely sign in again)."""
    bound = session.get(TokenDevice, _hash_token(token))
    if bound is None:
        return False
    device = session.get(Device, bound.device_id)
    return device is None or device.revoked
