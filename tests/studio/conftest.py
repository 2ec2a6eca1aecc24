# SPDX-License-Identifier: GPL-3.0-or-later
"""The studio signed in as the demo fan on the embedded platform on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.studio.session import Studio


@pytest.fixture
def studio(embedded) -> Iterator[Studio]:
    studio = Studio(embedded.url)
    studio.login(embedded.demo_user, embedded.demo_password)
    yield studio
    studio.close()
