# SPDX-License-Identifier: GPL-3.0-or-later
"""The platform's schema: made and migrated by Alembic, on SQLite and on a real PostgreSQL
server; a database of the release before migrations upgraded with all its data; the
operator's ``fanfare-platform migrate``."""

from __future__ import annotations

import gzip
import shutil
import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from app.core.bundle import decrypt_stem
from app.core.encoding import canonical_json, sha256_hex
from app.server import schema
from app.server.api import create_app
from app.server.cli import main
from app.server.config import ServerConfig
from app.server.db import (
    Base,
    Derivative,
    DerivativeListing,
    Draft,
    LedgerEntry,
    Report,
    Stem,
    StyleModel,
    Track,
    User,
    make_engine,
    make_sessions,
    ours,
)
from tests.helpers.platform import TRACK, Fan, open_client

RELEASE_0_1 = Path(__file__).parents[1] / "fixtures" / "release_0_1"


def differences(engine: Engine) -> list[object]:
    """How the database's tables differ from the models' (empty: they agree)."""
    with engine.connect() as connection:
        opts = {"compare_type": True, "include_name": ours}
        context = MigrationContext.configure(connection, opts=opts)
        return list(compare_metadata(context, Base.metadata))


@pytest.fixture(params=["sqlite", "postgresql"])
def any_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'platform.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def release_0_1(target: Path) -> Path:
    """A data folder holding release 0.1's database (made before migrations existed)."""
    target.mkdir(parents=True)
    with gzip.open(RELEASE_0_1 / "platform.sqlite3.gz") as packed:
        (target / "platform.sqlite3").write_bytes(packed.read())
    shutil.copy(RELEASE_0_1 / "master.key", target / "master.key")
    return target


def test_a_new_database_is_made_by_the_migrations_as_the_models_describe_it(any_url: str) -> None:
    engine = make_engine(any_url)
    assert schema.upgrade(engine) == (None, schema.head())
    assert schema.current(engine) == schema.head()
    assert differences(engine) == []
    engine.dispose()


def test_a_database_of_release_0_1_is_migrated_with_all_its_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = release_0_1(tmp_path / "old")
    assert main(["migrate", "--data", str(data), "--status"]) == 1
    assert "at revision none" in capsys.readouterr().out

    assert main(["migrate", "--data", str(data)]) == 0
    assert f"from revision none to {schema.head()}" in capsys.readouterr().out
    assert main(["migrate", "--data", str(data)]) == 0
    assert "already" in capsys.readouterr().out

    engine = make_engine(ServerConfig.load(data).database_url)
    assert differences(engine) == []
    with make_sessions(engine)() as session:
        count = lambda table: session.scalar(select(func.count()).select_from(table))  # noqa: E731
        assert (count(User), count(Track), count(Stem), count(StyleModel)) == (5, 3, 14, 6)
        remix = session.get(Derivative, "drv_old1")
        assert remix is not None and remix.title == "Harbour lights (old remix)"
        # Its recipe's digest is filled in, and the same recipe cannot be published twice
        # (two job workers verifying it at once: the database refuses the second).
        assert remix.recipe_sha256 == sha256_hex(canonical_json(remix.recipe))
        copy = {c.name: getattr(remix, c.name) for c in Derivative.__table__.columns}
        session.add(Derivative(**(copy | {"id": "drv_old2"})))
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()
        listing = session.get(DerivativeListing, "drv_old1")
        assert listing is not None and listing.plays == 1
        assert session.scalar(select(func.sum(LedgerEntry.amount_micro))) == 0
        assert count(LedgerEntry) == 2 and count(Report) == 1
        assert session.get(Draft, "prj_old1") is not None
    engine.dispose()

    # The upgraded platform serves its old accounts, catalogue and drafts.
    with open_client(data) as client:
        fan = Fan.sign_in(client, "fan")
        assert {t["id"] for t in fan.get("/tracks").json()} >= {TRACK}
        drafts = fan.get("/drafts").json()
        assert [d["title"] for d in drafts] == ["Unfinished"]


def test_a_postgresql_platform_is_migrated_by_its_operator_then_serves(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "platform"
    # Several API processes share it: none migrates it on its own.
    with pytest.raises(schema.SchemaError, match="run `fanfare-platform migrate`"):
        create_app(ServerConfig.load(data, postgres_url))
    args = ["--data", str(data), "--database-url", postgres_url]
    assert main(["migrate", *args]) == 0
    assert main(["migrate", "--status", *args]) == 0
    # Ingest writes a track's row before the stems that name it: PostgreSQL checks.
    assert main(["seed-demo", *args]) == 0
    capsys.readouterr()

    with open_client(data, database_url=postgres_url) as client:
        fan = Fan.sign_in(client, "fan")
        licence = fan.licence()
        stem = fan.get(f"/tracks/{TRACK}/versions/1/stems/drums")
        assert stem.status_code == 200
        assert decrypt_stem(licence.content_key(fan.keys, "drums"), stem.content)


def test_the_database_url_comes_from_the_environment(
    tmp_path: Path,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FANFARE_DATABASE_URL", postgres_url)
    monkeypatch.setenv("FANFARE_PLATFORM_DATA", str(tmp_path / "platform"))
    assert main(["migrate", "--status"]) == 1
    assert main(["migrate"]) == 0
    assert main(["users", "add", "riley", "--role", "fan", "--password", "long-enough-1"]) == 0
    engine = make_engine(postgres_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT name FROM users")).scalars().all() == ["riley"]
    engine.dispose()
    assert not (tmp_path / "platform" / "platform.sqlite3").exists()
    capsys.readouterr()


def test_two_operators_migrating_at_once_take_turns(postgres_url: str) -> None:
    results: list[tuple[str | None, str]] = []
    errors: list[BaseException] = []

    def migrate() -> None:
        engine = make_engine(postgres_url)
        try:
            results.append(schema.upgrade(engine))
        except BaseException as exc:  # a failure is the test's to report
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=migrate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(results, key=lambda r: r[0] or "") == [
        (None, schema.head()),
        (schema.head(), schema.head()),
    ]


def test_a_database_migrated_by_a_newer_release_is_refused_with_a_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'platform.sqlite3'}"
    schema.connect(url).dispose()
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099_future'"))
    with pytest.raises(schema.SchemaError, match="newer release"):
        schema.connect(url)
    assert main(["migrate", "--data", str(tmp_path), "--database-url", url]) == 1
    assert "newer release" in capsys.readouterr().err
