# SPDX-License-Identifier: GPL-3.0-or-later
"""Small codecs for keys and signatures on the wire: base64url and canonical JSON (RFC 8785)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

import rfc8785


def b64u(data: bytes) -> str:
    """Unpadded base64url, as JOSE uses."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64u(text: str) -> bytes:
    """Decode unpadded base64url; raises ValueError on anything else."""
    if not isinstance(text, str):
        raise ValueError("expected a base64url string")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"invalid base64url: {exc}") from None


def canonical_json(value: Any) -> bytes:
    """RFC 8785 canonical JSON bytes: the exact bytes that are signed and verified."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError) as exc:
        raise ValueError(f"value cannot be canonicalised: {exc}") from None


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()
