# SPDX-License-Identifier: GPL-3.0-or-later
"""The on-disk cache of encrypted stem blobs and remix streams (useless without a licence, so
safe to keep)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from app.core.bundle import read_header
from app.core.errors import BundleError
from app.core.files import atomic_write
from app.core.segmented import read_stream_header

_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def _safe(name: str) -> str:
    """One path component from a platform-supplied name: no separators, never ``..``."""
    return _SAFE.sub("_", name).lstrip(".") or "_"


class BlobFile:
    """An open cached blob, read at offsets (``os.pread``: safe from several threads)."""

    def __init__(self, path: Path) -> None:
        self._fd = -1  # so a failed open leaves nothing for close() to trip on
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        self.size = os.fstat(self._fd).st_size

    def read_at(self, offset: int, size: int) -> bytes:
        return os.pread(self._fd, size, offset)

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

    def __del__(self) -> None:
        self.close()


class BlobCache:
    """Encrypted blobs under ``root/<track>/<version>/<stem>.ffstem``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, track_id: str, version: int, stem: str) -> Path:
        return self.root / _safe(track_id) / str(int(version)) / f"{_safe(stem)}.ffstem"

    def get(self, track_id: str, version: int, stem: str) -> bytes | None:
        """The cached blob, or None; a blob whose header is not genuine is discarded."""
        path = self.path(track_id, version, stem)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            header = read_header(blob)
        except BundleError:
            path.unlink(missing_ok=True)
            return None
        if (header.track_id, header.track_version, header.stem) != (track_id, version, stem):
            path.unlink(missing_ok=True)
            return None
        return blob

    def open(self, track_id: str, version: int, stem: str) -> BlobFile | None:
        """The cached blob opened for reading at offsets, or None (a blob whose header is not
        genuine, or for another stem, is discarded)."""
        path = self.path(track_id, version, stem)
        try:
            blob = BlobFile(path)
        except FileNotFoundError:
            return None
        try:
            header = read_header(blob.read_at(0, 8192))
        except BundleError:
            header = None
        if header is None or (header.track_id, header.track_version, header.stem) != (
            track_id,
            version,
            stem,
        ):
            blob.close()
            path.unlink(missing_ok=True)
            return None
        return blob

    def stream_path(self, derivative_id: str, stream: str) -> Path:
        """Where a listener's watermarked stream of a remix is kept (``stream``: its name in
        the listen licence; another account on this computer has another)."""
        return self.root / _safe(derivative_id) / "stream" / f"{_safe(stream)}.ffsegs"

    def open_stream(self, derivative_id: str, stream: str) -> BlobFile | None:
        """A cached watermarked stream opened for reading at offsets, or None (one whose header
        is not genuine, or of another remix, is discarded)."""
        path = self.stream_path(derivative_id, stream)
        try:
            blob = BlobFile(path)
        except FileNotFoundError:
            return None
        try:
            header, _ = read_stream_header(blob.read_at, blob.size)
        except BundleError:
            header = None
        if header is None or header.derivative != derivative_id:
            blob.close()
            path.unlink(missing_ok=True)
            return None
        return blob

    def put_stream(self, derivative_id: str, stream: str, blob: bytes) -> None:
        atomic_write(self.stream_path(derivative_id, stream), blob)

    def put(self, track_id: str, version: int, stem: str, blob: bytes) -> None:
        atomic_write(self.path(track_id, version, stem), blob)

    def discard(self, track_id: str, version: int, stem: str) -> None:
        self.path(track_id, version, stem).unlink(missing_ok=True)
