# SPDX-License-Identifier: GPL-3.0-or-later
"""A private PostgreSQL server on loopback, in a folder of its own: what ``platform-stack``
and the tests run the platform on. Debian's ``postgresql`` package provides the programs.

PostgreSQL will not run as root; under root the server and its folder belong to the
``postgres`` account the package makes.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from app.server.stack.processes import StackError, free_port, run

#: The platform's database and the account it connects as.
DATABASE = "fanfare"
ROLE = "fanfare"


def postgres_bin() -> Path:
    """The folder of PostgreSQL's server programs (initdb, pg_ctl), newest first."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not versions:
        raise StackError(
            "PostgreSQL is not installed; install Debian's postgresql package "
            "(sudo apt-get install postgresql)."
        )
    return versions[-1].parent


@dataclass
class LocalPostgres:
    """A PostgreSQL cluster in ``root`` (made on first :meth:`start`), serving 127.0.0.1.

    Attributes:
        root: the cluster's folder: ``data/``, its log, its socket and the password file.
        durable: False trades crash safety for speed (no fsync), for throw-away test data.
    """

    root: Path
    durable: bool = True

    @property
    def _data(self) -> Path:
        return self.root / "data"

    @property
    def _port_file(self) -> Path:
        return self.root / "port"

    def _as_owner(self) -> list[str]:
        # PostgreSQL refuses root: run its programs as the package's postgres account.
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _password(self) -> str:
        return (self.root / "password").read_text().strip()

    @property
    def port(self) -> int:
        return int(self._port_file.read_text())

    @property
    def url(self) -> str:
        """The platform's database URL (SQLAlchemy, psycopg 3)."""
        return self.database_url(DATABASE)

    def database_url(self, name: str) -> str:
        """The URL of database ``name`` on this server."""
        return f"postgresql+psycopg://{ROLE}:{self._password()}@127.0.0.1:{self.port}/{name}"

    def create_database(self, name: str, template: str | None = None) -> str:
        """Make database ``name`` (letters, digits, _), empty or a copy of ``template``, and
        return its URL."""
        for word in (name, template or "x"):
            if not word.replace("_", "").isalnum() or not word.isascii():
                raise ValueError(f"not a database name: {word!r}")
        import psycopg  # only the stack's own set-up speaks to PostgreSQL directly

        copy = f" TEMPLATE {template}" if template else ""
        with psycopg.connect(self._admin_url(), autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}{copy}")  # names checked above
        return self.database_url(name)

    def running(self) -> bool:
        if not self._data.exists():
            return False
        done = subprocess.run(
            [*self._as_owner(), str(postgres_bin() / "pg_ctl"), "status", "-D", str(self._data)],
            capture_output=True,
            check=False,
        )
        return done.returncode == 0

    def start(self, port: int | None = None) -> str:
        """Make the cluster and its database if they are new, start it, return :attr:`url`."""
        bin_dir = postgres_bin()
        self.root.mkdir(parents=True, exist_ok=True)
        owner = self._as_owner()
        new = not self._data.exists()
        if new:
            self._make(bin_dir, owner)
        elif self.running():
            return self.url
        port = port or (int(self._port_file.read_text()) if self._port_file.exists() else 0)
        self._port_file.write_text(str(port or free_port()))
        # Room for every process's pool (db.POOL_SIZE + POOL_OVERFLOW each) on one machine.
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        options += " -c max_connections=400"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        run(
            [
                *owner,
                str(bin_dir / "pg_ctl"),
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                str(self._data),
                "-l",
                str(self.root / "postgres.log"),
                "-o",
                options,
            ],
            what="start PostgreSQL",
            log=self.root / "postgres.log",
        )
        if new:
            self.create_database(DATABASE)
        return self.url

    def _make(self, bin_dir: Path, owner: list[str]) -> None:
        secret = self.root / "password"
        secret.write_text(secrets.token_urlsafe(24) + "\n")
        secret.chmod(0o600)
        if owner:  # the server writes its socket and log here: the folder is postgres's
            account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)
            os.chown(secret, account.pw_uid, account.pw_gid)
            probe = subprocess.run([*owner, "test", "-w", str(self.root)], check=False)
            if probe.returncode != 0:
                raise StackError(
                    f"The postgres account cannot reach {self.root}; "
                    "choose a folder under /tmp or /var/lib."
                )
        run(
            [
                *owner,
                str(bin_dir / "initdb"),
                "-D",
                str(self._data),
                "-U",
                ROLE,
                "--pwfile",
                str(secret),
                "--auth-local=peer",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            what="make the PostgreSQL cluster",
        )

    def _admin_url(self) -> str:
        return f"postgresql://{ROLE}:{self._password()}@127.0.0.1:{self.port}/postgres"

    def restart(self) -> None:
        """Stop the server (fast: clients are cut off) and start it again on the same port."""
        self.stop()
        self.start()

    def stop(self) -> None:
        """Stop the server if it runs (its data stays)."""
        if not self.running():
            return
        run(
            [
                *self._as_owner(),
                str(postgres_bin() / "pg_ctl"),
                "stop",
                "-w",
                "-m",
                "fast",
                "-D",
                str(self._data),
            ],
            what="stop PostgreSQL",
        )
