# SPDX-License-Identifier: GPL-3.0-or-later
"""The embedded platform: the real platform server, in-process on loopback, for the demo.

``fanfare`` with no arguments runs it on 127.0.0.1 at a random port over SQLite and a blob
folder in the user's data directory, seeds it with the demo catalogue on first run, and signs
the studio in as the demo fan. It is the same code as ``fanfare-platform serve``.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from app.core.errors import FanfareError
from app.server.api import create_app
from app.server.blobs import BlobStore
from app.server.config import ServerConfig
from app.server.db import make_engine, make_sessions
from app.server.demo import DEMO_FAN, DEMO_PASSWORD, seed_demo
from app.server.vaultkeys import Signer

START_TIMEOUT_S = 20.0


class EmbeddedPlatform:
    """A platform server on a background thread; use as a context manager or start()/stop()."""

    def __init__(self, data_dir: Path, **config: Any) -> None:
        self.config = ServerConfig.load(data_dir, **config)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    demo_user = DEMO_FAN
    demo_password = DEMO_PASSWORD

    def seed_if_empty(self) -> bool:
        """Seed the demo accounts and catalogue on first run; True if it seeded now."""
        sessions = make_sessions(make_engine(self.config.database_url))
        with sessions() as session:
            Signer.load_or_create(session, self.config.master_key)
            return seed_demo(session, BlobStore(self.config.blob_dir), self.config.master_key)

    def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1 at ``port`` (0: a free one); returns the base URL."""
        self.seed_if_empty()
        config = uvicorn.Config(
            create_app(self.config),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            **self.config.proxy_settings(),
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="fanfare-platform", daemon=True)
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise FanfareError("The embedded platform did not start.")
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        self._server, self._thread = server, thread
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self._server = self._thread = None

    def __enter__(self) -> EmbeddedPlatform:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
