# SPDX-License-Identifier: GPL-3.0-or-later
"""Typed errors of talking to the platform, each with a sentence for the user."""

from __future__ import annotations

from app.core.errors import FanfareError


class PlatformError(FanfareError):
    """The platform refused a request; ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class PlatformUnreachableError(PlatformError):
    """The platform could not be reached at all."""


class AuthError(PlatformError):
    """Signing in failed, or the session expired or was revoked (HTTP 401)."""


class DeviceRevokedAuthError(AuthError):
    """The session was refused because its device was revoked: the device's identity is
    burned (HTTP 401 with ``X-Fanfare-Reason: device-revoked``)."""


class ForbiddenError(PlatformError):
    """The account may not do this (HTTP 403)."""


class NotFoundError(PlatformError):
    """The platform has no such thing, or it is not visible to this account (HTTP 404)."""


class GoneError(PlatformError):
    """It was there and is no longer: a remix taken down, or of a withdrawn track (HTTP 410)."""
