# SPDX-License-Identifier: GPL-3.0-or-later
"""The embedded platform: the real platform server, in-process, for the demo.

``fanfare`` with no arguments runs it over SQLite and a blob folder in the user's data
directory, seeds it with the demo catalogue on first run, and signs the studio in as the demo
fan. It is the same code as ``fanfare-platform serve``.

It is not a shared door. Each installation has its own random password for the demo accounts,
kept in ``credentials.json`` (mode 0600) beside the platform's data; the window signs in with
it and never shows it. There is no admin account unless one is asked for
(``fanfare studio --with-admin``). And the window's platform listens on a Unix socket in a
folder only this user can enter (``private_socket_path``), not on a loopback port that every
local account can reach. Where there are no Unix sockets (Windows) it falls back to loopback,
still behind the installation's password.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.files import atomic_write

# Where it listens is its own light module, which the command line reads on every command.
from app.embedded_socket import EmbeddedPlatformError, private_socket_path, socket_url
from app.server.accounts import authenticate, create_user, set_password
from app.server.api import create_app
from app.server.blobs import open_blobs
from app.server.config import ServerConfig
from app.server.db import User
from app.server.demo import ADMIN, DEMO_FAN, demo_accounts, seed_demo
from app.server.schema import database
from app.server.vaultkeys import Signer

START_TIMEOUT_S = 20.0
CREDENTIALS_FILE = "credentials.json"


@dataclass(frozen=True)
class Credentials:
    """An installation's demo credentials: one password for its demo accounts, and whether
    its admin account was asked for."""

    password: str
    admin: bool = False


def load_credentials(data_dir: Path) -> Credentials | None:
    """The installation's credentials, or None before the first start."""
    try:
        doc = json.loads((data_dir / CREDENTIALS_FILE).read_text(encoding="utf-8"))
        return Credentials(password=str(doc["password"]), admin=bool(doc.get("admin", False)))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        raise EmbeddedPlatformError(
            f"The embedded platform's credentials file {data_dir / CREDENTIALS_FILE} is "
            "damaged; remove it and start Fanfare again to make new ones."
        ) from None


def save_credentials(data_dir: Path, credentials: Credentials) -> None:
    """Write the credentials, readable only by this user."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    doc = {"password": credentials.password, "admin": credentials.admin}
    atomic_write(data_dir / CREDENTIALS_FILE, json.dumps(doc).encode(), mode=0o600, fsync=True)


class EmbeddedPlatform:
    """A platform server on a background thread; use as a context manager or start()/stop().

    Args:
        data_dir: its database, blobs, master key and credentials.
        with_admin: make (or keep) its admin account, with the installation's password;
            False takes it away again. None: as the installation was last asked.
        config: ``ServerConfig`` overrides.
    """

    def __init__(self, data_dir: Path, *, with_admin: bool | None = None, **config: Any) -> None:
        self.config = ServerConfig.load(data_dir, **config)
        self.with_admin = with_admin
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""
        self.credentials: Credentials | None = None
        #: The platform app being served (once started): its state holds the ``Platform``.
        self.app: FastAPI | None = None

    demo_user = DEMO_FAN

    @property
    def accounts(self) -> tuple[str, ...]:
        """The demo accounts that sign in with this installation's password."""
        if self.credentials is None:
            self.seed_if_empty()
        assert self.credentials is not None
        return (*demo_accounts(), *((ADMIN,) if self.credentials.admin else ()))

    @property
    def demo_password(self) -> str:
        """This installation's password for the demo accounts."""
        if self.credentials is None:
            self.seed_if_empty()
        assert self.credentials is not None
        return self.credentials.password

    def seed_if_empty(self) -> bool:
        """Seed the demo accounts and catalogue on first run, and settle the accounts with
        the installation's credentials; True if it seeded now."""
        data_dir = self.config.data_dir
        known = load_credentials(data_dir)
        credentials = known or Credentials(password=secrets.token_urlsafe(18))
        admin = credentials.admin if self.with_admin is None else self.with_admin
        credentials = Credentials(credentials.password, admin)
        with database(self.config.database_url) as sessions, sessions() as session:
            Signer.load_or_create(session, self.config.master_key)
            seeded = seed_demo(
                session,
                open_blobs(self.config),
                self.config.master_key,
                password=credentials.password,
                admin=admin,
            )
            if known is None and not seeded:
                # A platform from before per-installation credentials: its demo accounts
                # had the one password everyone knew.
                _reset_demo_passwords(session, credentials.password)
            if known is None or known.admin != admin:
                _settle_admin(session, credentials.password, admin)
            session.commit()
        if known != credentials:
            save_credentials(data_dir, credentials)
        self.credentials = credentials
        return seeded

    def start(self, port: int = 0, *, private: bool = False) -> str:
        """Serve and return the base URL: on a Unix socket only this user can reach when
        ``private`` (where the system has them), else on 127.0.0.1 at ``port`` (0: a free
        one)."""
        self.seed_if_empty()
        where: dict[str, Any] = {"host": "127.0.0.1", "port": port}
        path: Path | None = None
        if private and hasattr(socket, "AF_UNIX"):
            path = private_socket_path(self.config.data_dir)
            _claim_socket(path)
            where = {"uds": str(path)}
        self.app = create_app(self.config)
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            lifespan="off",
            **where,
            **self.config.proxy_settings(),
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="fanfare-platform", daemon=True)
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise EmbeddedPlatformError("The embedded platform did not start.")
            time.sleep(0.01)
        self._server, self._thread = server, thread
        if path is not None:
            self.url = socket_url(path)
        else:
            port = server.servers[0].sockets[0].getsockname()[1]
            self.url = f"http://127.0.0.1:{port}"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        if self.app is not None:  # a stretch ahead for a fan is not left running
            self.app.state.platform.warmer.close()
        self._server = self._thread = None

    def __enter__(self) -> EmbeddedPlatform:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def _claim_socket(path: Path) -> None:
    """Remove a socket left by a studio that did not close; refuse one that answers."""
    if not path.exists():
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink(missing_ok=True)  # nobody is listening: a crashed studio's
        return
    finally:
        probe.close()
    raise EmbeddedPlatformError(
        "Another Fanfare studio is already running on this computer's embedded platform; "
        "use that window, or close it first."
    )


def _reset_demo_passwords(session: Session, password: str) -> None:
    """Give the demo accounts the installation's password (ending their sessions)."""
    for name in demo_accounts():
        user = session.scalar(select(User).where(User.name == name))
        if user is not None and authenticate(session, name, password) is None:
            set_password(session, user, password)


def _settle_admin(session: Session, password: str, wanted: bool) -> None:
    """Make the admin account usable with the installation's password, or lock it with a
    password nobody holds (ending its sessions)."""
    user = session.scalar(select(User).where(User.name == ADMIN))
    if wanted:
        if user is None:
            create_user(session, ADMIN, "admin", password, "Platform Admin")
        else:
            set_password(session, user, password)
    elif user is not None:
        set_password(session, user, secrets.token_urlsafe(32))
