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
    from app.server.blobs import BlobStore
    from app.server.config import ServerConfig
    from app.server.db import make_engine, make_sessions
    from app.server.demo import seed_demo
    from app.server.vaultkeys import Signer

    folder = tmp_path_factory.mktemp("platform-template")
    config = ServerConfig.load(folder)
    engine = make_engine(config.database_url)
    with make_sessions(engine)() as session:
        Signer.load_or_create(session, config.master_key)
        assert seed_demo(session, BlobStore(config.blob_dir), config.master_key)
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
def jack() -> Iterator[str]:
    """A JACK server (dummy backend) that MIDI clients of this test process reach."""
    from tests.helpers.jack import jack_server

    with jack_server(f"fanfare-test-{os.getpid()}") as name:
        yield name
