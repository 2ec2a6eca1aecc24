# SPDX-License-Identifier: GPL-3.0-or-later
"""The provenance record a device signs for each derivative it uploads.

Wire form: ``{"format": "fanfare.provenance", "version": 1, "record": {...}, "sig": "..."}``,
the signature being the device's Ed25519 signature over the RFC 8785 canonical JSON of
``record``. The record binds the uploaded audio (SHA-256 of its bytes), the recipe (its digest),
the licence and the device, and says how the derivative was made (which stems, whether AI style
models were used) so the platform can disclose it to listeners.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.core.encoding import b64u, canonical_json, unb64u
from app.core.errors import ProvenanceError

FORMAT = "fanfare.provenance"
VERSION = 1
MAX_BYTES = 64 * 1024
REQUIRED = (
    "audio_sha256",
    "recipe_sha256",
    "track",
    "track_version",
    "licence_id",
    "device",
    "user",
    "created_at",
    "ingredients",
    "ai",
    "software",
)


def sign_record(record: dict[str, Any], key: Ed25519PrivateKey) -> bytes:
    """Sign a record with the device key; returns the wire bytes."""
    missing = [name for name in REQUIRED if name not in record]
    if missing:
        raise ValueError(f"provenance record lacks {missing}")
    sig = key.sign(canonical_json(record))
    doc = {"format": FORMAT, "version": VERSION, "record": record, "sig": b64u(sig)}
    return json.dumps(doc, separators=(",", ":")).encode()


def read_record(data: bytes) -> tuple[dict[str, Any], bytes]:
    """Parse the wire bytes without verifying; returns (record, signature)."""
    if len(data) > MAX_BYTES:
        raise ProvenanceError("The provenance record is too large.")
    try:
        doc = json.loads(data)
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ValueError("not a Fanfare provenance record")
        if doc.get("version") != VERSION:
            raise ValueError(f"unsupported version {doc.get('version')!r}")
        record, sig = doc["record"], unb64u(doc["sig"])
        if not isinstance(record, dict):
            raise ValueError("record is not an object")
        missing = [name for name in REQUIRED if name not in record]
        if missing:
            raise ValueError(f"record lacks {missing}")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError) as exc:
        raise ProvenanceError(
            f"The provenance record is malformed ({type(exc).__name__}: {str(exc)[:80]})."
        ) from None
    return record, sig


def verify_record(data: bytes, device_key: Ed25519PublicKey) -> dict[str, Any]:
    """Parse and verify against the device's enrolled key; returns the record."""
    record, sig = read_record(data)
    try:
        device_key.verify(sig, canonical_json(record))
    except (InvalidSignature, ValueError):
        raise ProvenanceError("The provenance record's signature does not verify.") from None
    return record
