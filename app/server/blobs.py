# SPDX-License-Identifier: GPL-3.0-or-later
"""The platform's blob folder: encrypted stems and published derivatives, written atomically."""

from __future__ import annotations

import re
from pathlib import Path

from app.core.files import atomic_write

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,200}$")


class BlobStore:
    """Named blobs under ``root``; names are relative paths without ``..``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        if not _NAME.match(name) or ".." in name.split("/"):
            raise ValueError(f"invalid blob name {name!r}")
        return self.root / name

    def put(self, name: str, data: bytes) -> int:
        """Write ``data`` under ``name`` atomically and durably; returns its size."""
        atomic_write(self.path(name), data, fsync=True)
        return len(data)

    def get(self, name: str) -> bytes:
        return self.path(name).read_bytes()

    def delete(self, name: str) -> None:
        self.path(name).unlink(missing_ok=True)
