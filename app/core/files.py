# SPDX-License-Identifier: GPL-3.0-or-later
"""Atomic file writes: a crash leaves the old file or the new one, never a torn one; and
reading a JSON file a user named, with a sentence when it cannot be read.

Used for keys, profiles, encrypted blobs and the platform's blob store. Never for audio in the
clear: decoded stems and renders exist only in memory.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from app.core.errors import FanfareError


def atomic_write(path: Path, data: bytes, *, mode: int | None = None, fsync: bool = False) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    Args:
        mode: permission bits set before the rename (e.g. 0o600 for secrets), so the content is
            never visible with looser permissions.
        fsync: flush to stable storage before the rename (for data that must survive a crash).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".part-", dir=path.parent)
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def read_json_file(path: Path, what: str) -> Any:
    """The JSON document in ``path`` (a ``what`` file: "policy", "sections"); FanfareError
    with a sentence when it cannot be read or is not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FanfareError(f"The {what} file {path} cannot be read ({exc.strerror}).") from None
    except ValueError as exc:
        raise FanfareError(f"The {what} file {path} is not valid JSON ({exc}).") from None
