# SPDX-License-Identifier: GPL-3.0-or-later
"""What every blob store offers, and its errors."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,200}$")
#: How much of a blob a stream reads at a time, in bytes.
CHUNK = 1 << 20


class BlobMissingError(FileNotFoundError):
    """No blob has this name."""


class BlobStoreError(OSError):
    """The store could not be reached or refused (the message says which and why)."""


def check_name(name: str) -> str:
    """``name`` if it is a blob name: a relative path of letters, digits, ``._-/``, no ``..``."""
    if not _NAME.match(name) or ".." in name.split("/"):
        raise ValueError(f"invalid blob name {name!r}")
    return name


class BlobStore(ABC):
    """Named blobs. Names are relative paths (``stems/<track>/v1/drums.stem``)."""

    #: Where the store is, for a sentence to an operator (a folder or an S3 URL, no secret).
    where: str

    @abstractmethod
    def put(self, name: str, data: bytes) -> int:
        """Write ``data`` under ``name`` whole (replacing any blob there); returns its size."""

    @abstractmethod
    def get(self, name: str) -> bytes:
        """The whole blob (raises :class:`BlobMissingError`)."""

    @abstractmethod
    def read(self, name: str, start: int, length: int) -> bytes:
        """Bytes ``[start, start + length)`` of the blob (fewer at its end)."""

    @abstractmethod
    def size(self, name: str) -> int:
        """The blob's size in bytes (raises :class:`BlobMissingError`)."""

    @abstractmethod
    def delete(self, name: str) -> None:
        """Remove the blob if it is there."""

    @abstractmethod
    def sizes(self, prefix: str) -> dict[str, int]:
        """Every blob whose name starts with ``prefix`` (a folder, ending in ``/``): its size."""

    def exists(self, name: str) -> bool:
        try:
            self.size(name)
        except BlobMissingError:
            return False
        return True

    def chunks(self, name: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The blob's bytes ``[start, end)``, at most :data:`CHUNK` at a time."""
        end = self.size(name) if end is None else end
        while start < end:
            data = self.read(name, start, min(CHUNK, end - start))
            if not data:
                raise BlobStoreError(f"The blob {name} ended early.")
            yield data
            start += len(data)
