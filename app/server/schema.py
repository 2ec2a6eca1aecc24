# SPDX-License-Identifier: GPL-3.0-or-later
"""The platform's schema and its migrations (Alembic, in ``app/server/migrations``).

``fanfare-platform migrate`` brings a database to the newest revision; a platform on SQLite
(one machine, the embedded default) does it when it starts. A database on another engine
(PostgreSQL, shared by several API processes) is migrated by its operator, once, and a
platform refuses to start on one that is behind, with the sentence that says what to run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from app.server.db import make_engine, make_sessions

MIGRATIONS = Path(__file__).with_name("migrations")
#: The advisory lock two ``migrate`` runs on one PostgreSQL take, so that one waits for the
#: other (any 64-bit number no other program of the database uses).
_PG_LOCK = 0x66616E66617265


class SchemaError(Exception):
    """The database's schema does not suit this platform (the message says what to do)."""


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision this platform knows."""
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None
    return revision


def current(engine: Engine) -> str | None:
    """The revision ``engine``'s database is at; None for one never migrated (empty, or made
    by a release before migrations, which the first revision completes)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring ``engine``'s database to :func:`head`; returns (revision before, revision now).

    The whole upgrade is one transaction with its stamps: on PostgreSQL, whose DDL is
    transactional, a failure leaves the database as it was. Concurrent runs on PostgreSQL take
    turns (an advisory lock), and the second finds nothing left to do.
    """
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite alters a table by rebuilding it (batch mode), and dropping the old copy
            # fails while other tables' keys are checked against it. SQLite's own recipe:
            # checks off for the rebuild, every key checked before the commit.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK}
                    )
                before = MigrationContext.configure(connection).get_current_revision()
                _refuse_unknown(before)
                command.upgrade(_config(connection), "head")
                if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise SchemaError(
                        "After the migration some rows name rows that are not there: restore "
                        "the database file from before it."
                    )
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
    return before, head()


def _refuse_unknown(revision: str | None) -> None:
    scripts = ScriptDirectory.from_config(_config())
    if revision is not None and revision not in {s.revision for s in scripts.walk_revisions()}:
        raise SchemaError(
            f"The database is at schema revision {revision}, which this release does not "
            "know: a newer release of the platform migrated it. Run that release."
        )


def require_current(engine: Engine) -> None:
    """Raise :class:`SchemaError` unless the database is at :func:`head`."""
    at = current(engine)
    newest = head()
    if at == newest:
        return
    _refuse_unknown(at)
    raise SchemaError(
        f"The database's schema is at revision {at or 'none'}, not {newest}; "
        "run `fanfare-platform migrate` with the same --database-url first."
    )


def connect(url: str) -> Engine:
    """An engine on the database at ``url``, ready to serve (:func:`prepare`)."""
    engine = make_engine(url)
    try:
        prepare(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


@contextmanager
def database(url: str) -> Iterator[sessionmaker[Any]]:
    """Sessions on the database at ``url`` (ready to serve) for a command's span; its
    connections are closed after."""
    engine = connect(url)
    try:
        yield make_sessions(engine)
    finally:
        engine.dispose()


def prepare(engine: Engine) -> None:
    """Get the database ready to serve: migrated on SQLite (one machine: nobody else can be
    serving from it mid-migration), checked elsewhere (:func:`require_current`)."""
    if engine.dialect.name == "sqlite":
        upgrade(engine)
    else:
        require_current(engine)
