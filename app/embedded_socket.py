# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the embedded platform listens: a Unix socket in a folder only this user may enter.

Apart from ``app.embedded`` (which starts the whole server) so that every ``fanfare``
command can tell whether a URL is the embedded platform's without importing the server.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from urllib.parse import quote

from app.core.errors import FanfareError
from app.platform_client.client import UNIX_SCHEME

SOCKET_NAME = "platform.sock"
_SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes on Linux, 104 on macOS


class EmbeddedPlatformError(FanfareError):
    """The embedded platform cannot start safely (the message says why and what to do)."""


def private_socket_path(data_dir: Path) -> Path:
    """Where the window's platform listens: a socket in a folder that only this user may
    enter (mode 0700, owned by them): ``$XDG_RUNTIME_DIR/fanfare/``, else the platform's data
    folder, else (a path too long for a socket) ``/tmp/fanfare-<uid>/``."""
    candidates = []
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        candidates.append(Path(runtime) / "fanfare")
    candidates += [data_dir, Path(tempfile.gettempdir()) / f"fanfare-{os.getuid()}"]
    for folder in candidates:
        path = folder / SOCKET_NAME
        if len(os.fsencode(path)) <= _SOCKET_PATH_MAX:
            _private_folder(folder)
            return path
    raise EmbeddedPlatformError("No folder here has a path short enough for a socket.")


def _private_folder(folder: Path) -> None:
    """Make ``folder`` this user's alone, or refuse one that someone else could enter."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise EmbeddedPlatformError(
            f"{folder} is not a folder of yours; Fanfare will not put its platform's socket "
            "there. Remove it, or set XDG_RUNTIME_DIR."
        )
    if stat.S_IMODE(info.st_mode) & 0o077:
        folder.chmod(0o700)


def socket_url(path: Path) -> str:
    """The platform URL of a Unix socket (what ``PlatformClient`` connects to)."""
    return UNIX_SCHEME + quote(str(path), safe="")
