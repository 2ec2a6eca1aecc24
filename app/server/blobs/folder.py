# SPDX-License-Identifier: GPL-3.0-or-later
"""Blobs as files in a folder: the store of a platform on one machine."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from app.core.files import atomic_write
from app.server.blobs.store import CHUNK, BlobMissingError, BlobStore, BlobStoreError, check_name


class FolderBlobs(BlobStore):
    """Blobs as files under ``root``: the store of a platform on one machine."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.where = str(root)
        root.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        return self.root / check_name(name)

    def put(self, name: str, data: bytes) -> int:
        atomic_write(self.path(name), data, fsync=True)
        return len(data)

    def get(self, name: str) -> bytes:
        try:
            return self.path(name).read_bytes()
        except FileNotFoundError:
            raise BlobMissingError(name) from None

    def read(self, name: str, start: int, length: int) -> bytes:
        try:
            fd = os.open(self.path(name), os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            raise BlobMissingError(name) from None
        try:
            return os.pread(fd, length, start)
        finally:
            os.close(fd)

    def size(self, name: str) -> int:
        try:
            return self.path(name).stat().st_size
        except FileNotFoundError:
            raise BlobMissingError(name) from None

    def delete(self, name: str) -> None:
        self.path(name).unlink(missing_ok=True)

    def sizes(self, prefix: str) -> dict[str, int]:
        folder = self.path(prefix.rstrip("/"))
        if not folder.is_dir():
            return {}
        return {
            str(path.relative_to(self.root)): path.stat().st_size
            for path in folder.rglob("*")
            if path.is_file() and not path.name.startswith(".part-")
        }

    def chunks(self, name: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        # One open file for the whole stream (a file renamed over it mid-stream is not read).
        try:
            fd = os.open(self.path(name), os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            raise BlobMissingError(name) from None
        try:
            end = os.fstat(fd).st_size if end is None else end
            while start < end:
                data = os.pread(fd, min(CHUNK, end - start), start)
                if not data:
                    raise BlobStoreError(f"The blob {name} ended early.")
                yield data
                start += len(data)
        finally:
            os.close(fd)
