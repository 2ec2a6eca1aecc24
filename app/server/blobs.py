# SPDX-License-Identifier: GPL-3.0-or-later
"""The platform's blob folder: encrypted stems and published derivatives, written atomically."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

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
        """Write ``data`` under ``name`` atomically; returns its size."""
        path = self.path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return len(data)

    def get(self, name: str) -> bytes:
        return self.path(name).read_bytes()

    def delete(self, name: str) -> None:
        self.path(name).unlink(missing_ok=True)
