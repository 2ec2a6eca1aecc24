# SPDX-License-Identifier: GPL-3.0-or-later
"""Bodies served whole or by one byte range (RFC 9110): a blob of the store, or a listener's
stream assembled from one (``segments.StreamPlan``). The client resumes a download with
``Range: bytes=N-``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from fastapi import HTTPException
from fastapi.responses import StreamingResponse

from app.server.blobs import BlobMissingError, BlobStore


class Body(Protocol):
    """What can be served by ranges: its size in bytes, and its bytes ``[start, end)``."""

    @property
    def size(self) -> int: ...

    def chunks(self, start: int = 0, end: int | None = None) -> Iterator[bytes]: ...


@dataclass(frozen=True)
class BlobBody:
    """A whole blob of the store."""

    blobs: BlobStore
    name: str
    size: int

    @classmethod
    def of(cls, blobs: BlobStore, name: str, missing: str) -> BlobBody:
        """The blob ``name``; HTTP 404 with the sentence ``missing`` where it is not there."""
        try:
            return cls(blobs, name, blobs.size(name))
        except BlobMissingError:
            raise HTTPException(404, missing) from None

    def chunks(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        return self.blobs.chunks(self.name, start, self.size if end is None else end)


def ranged(body: Body, asked: str | None, media_type: str) -> StreamingResponse:
    """``body`` whole (200), or the one byte range asked for (206; 416 when it lies past the
    end). Several ranges in one request are answered with the whole body, as RFC 9110
    allows."""
    size = body.size
    headers = {"Accept-Ranges": "bytes"}
    span = byte_range(asked, size)
    if span is None:
        headers["Content-Length"] = str(size)
        return StreamingResponse(body.chunks(), media_type=media_type, headers=headers)
    start, end = span
    if start >= size or start >= end:
        raise HTTPException(416, "That byte range lies past the end.",
                            headers={"Content-Range": f"bytes */{size}"})  # fmt: skip
    headers |= {
        "Content-Length": str(end - start),
        "Content-Range": f"bytes {start}-{end - 1}/{size}",
    }
    return StreamingResponse(
        body.chunks(start, end), status_code=206, media_type=media_type, headers=headers
    )


def byte_range(asked: str | None, size: int) -> tuple[int, int] | None:
    """``bytes=a-b``, ``bytes=a-`` or ``bytes=-n`` as [start, end); None for no range, one
    that cannot be parsed, or several."""
    if not asked or not asked.startswith("bytes=") or "," in asked:
        return None
    first, _, last = asked[6:].strip().partition("-")
    try:
        if not first:
            suffix = int(last)
            return max(0, size - suffix), size
        start = int(first)
        end = int(last) + 1 if last else size
    except ValueError:
        return None
    return start, min(end, size)
