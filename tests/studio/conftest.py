# SPDX-License-Identifier: GPL-3.0-or-later
"""The studio signed in as the demo fan on the embedded platform on loopback."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.studio.session import Studio


@pytest.fixture
def studio(embedded) -> Iterator[Studio]:
    studio = Studio(embedded.url)
    studio.login(embedded.demo_user, embedded.demo_password)
    yield studio
    studio.close()


@pytest.fixture
def home_holds_all(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh HOME (the autouse fixture) that also holds TMPDIR: every file the studio writes
    is under it, for the disk audits."""
    tmp = isolated_home / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", None)
    return isolated_home
