# SPDX-License-Identifier: GPL-3.0-or-later
"""An artist's track from stem files to a draft on the platform, resumable.

The stems are hashed, the platform is told what is coming, and each stem goes in pieces from
where the platform's copy ends. The upload's id is kept in a small file (keyed by the platform,
the account and everything being sent), so running the same upload again after a dropped
connection or a closed app sends only what is missing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.errors import FanfareError
from app.core.files import atomic_write
from app.platform_client.client import PlatformClient
from app.platform_client.errors import NotFoundError, PlatformError

STEM_SUFFIXES = (".wav", ".flac", ".ogg", ".aif", ".aiff")


@dataclass(frozen=True)
class NewTrack:
    """What an artist uploads: the stem files by kind and what they say of the track."""

    title: str
    stems: dict[str, Path]
    bpm: float
    key: str = "unknown"
    time_signature: str = "4/4"
    sections: list[dict[str, Any]] = field(default_factory=list)
    policy: dict[str, Any] | None = None


class UploadRefusedError(FanfareError):
    """A stem file cannot be sent (the message names it and says why)."""


def _sha256(path: Path, done: Callable[[int], None]) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stem:
        for block in iter(lambda: stem.read(1 << 20), b""):
            digest.update(block)
            done(len(block))
    return digest.hexdigest()


def upload_track(
    client: PlatformClient,
    pending_dir: Path,
    scope: str,
    new: NewTrack,
    progress: Callable[[str, float], None],
) -> dict[str, Any]:
    """Send ``new`` to the platform (resuming an earlier attempt) and ingest it as a draft;
    returns the track's document."""
    sizes = {}
    for kind, path in new.stems.items():
        if path.suffix.lower() not in STEM_SUFFIXES:
            raise UploadRefusedError(
                f"Stem '{kind}': {path.name} is not a WAV, FLAC, OGG or AIFF file."
            )
        try:
            sizes[kind] = path.stat().st_size
        except OSError as exc:
            raise UploadRefusedError(
                f"Stem '{kind}': cannot read {path} ({exc.strerror})."
            ) from None
    total = max(1, sum(sizes.values()))
    hashed = 0

    def hashing(n: int) -> None:
        nonlocal hashed
        hashed += n
        progress("Checking the stems", 0.1 * hashed / total)

    stems = [
        {"kind": kind, "size": sizes[kind], "sha256": _sha256(path, hashing)}
        for kind, path in new.stems.items()
    ]
    meta = {
        "title": new.title,
        "bpm": new.bpm,
        "key": new.key,
        "time_signature": new.time_signature,
        "sections": new.sections,
        "policy": new.policy,
        "stems": stems,
    }
    fingerprint = hashlib.sha256(json.dumps([scope, meta], sort_keys=True).encode()).hexdigest()
    pending = pending_dir / f"{fingerprint[:32]}.json"
    doc = _resume(client, pending) or client.open_upload(meta)
    upload_id = str(doc["upload_id"])
    atomic_write(pending, json.dumps({"upload_id": upload_id}).encode())
    chunk = int(doc.get("chunk_bytes", 8 * 1024 * 1024))
    received = {k: int(v) for k, v in doc["received"].items()}
    sent = sum(received.values())
    for stem in stems:
        kind = str(stem["kind"])
        offset = received.get(kind, 0)
        with new.stems[kind].open("rb") as source:
            source.seek(offset)
            while offset < sizes[kind]:
                piece = source.read(chunk)
                try:
                    offset = client.send_piece(upload_id, kind, offset, piece)
                except PlatformError as exc:
                    if exc.status != 409:
                        raise
                    # The platform holds another length (an earlier piece did arrive): go on
                    # from where it is.
                    offset = int(client.upload_status(upload_id)["received"][kind])
                    source.seek(offset)
                    continue
                sent += len(piece)
                progress(f"Uploading the {kind} stem", 0.1 + 0.8 * sent / total)
    progress("Ingesting", 0.92)
    try:
        track = client.finish_upload(upload_id)
    except PlatformError as exc:
        if exc.status == 409 or "damaged" in str(exc):
            raise  # keep the pending record: running it again sends what is missing
        pending.unlink(missing_ok=True)  # refused for good: the next try starts afresh
        raise
    pending.unlink(missing_ok=True)
    progress("Uploaded", 1.0)
    return track


def _resume(client: PlatformClient, pending: Path) -> dict[str, Any] | None:
    """The earlier attempt's upload as the platform has it, or None."""
    try:
        upload_id = json.loads(pending.read_text())["upload_id"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        doc = client.upload_status(str(upload_id))
    except NotFoundError:
        return None
    return None if doc.get("track_id") else doc
