# SPDX-License-Identifier: GPL-3.0-or-later
"""The platform as an ASGI app factory configured from the environment, for several workers:

    FANFARE_PLATFORM_DATA=/srv/fanfare uvicorn --factory app.server.asgi:create --workers 2

(``fanfare-platform serve --workers N`` does this.) Every worker reads the same data folder,
database and master key; rate limits are kept per worker.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

from fastapi import FastAPI

from app.server.api import create_app
from app.server.config import ServerConfig

DATA_ENV = "FANFARE_PLATFORM_DATA"
DATABASE_ENV = "FANFARE_DATABASE_URL"  # as the command line reads it


def create() -> FastAPI:
    data = os.environ.get(DATA_ENV)
    if not data:
        raise RuntimeError(f"set {DATA_ENV} to the platform's data folder")
    app = create_app(ServerConfig.load(Path(data), os.environ.get(DATABASE_ENV) or None))
    freeze_start_up()
    return app


def freeze_start_up() -> None:
    """Keep what a serving process made at start-up (modules, the app, its tables' metadata)
    out of every later full garbage collection: it lives as long as the process, and walking
    it made the slowest requests' time (benchmarks/README.md, the garden)."""
    gc.collect()
    gc.freeze()
