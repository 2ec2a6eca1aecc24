# SPDX-License-Identifier: GPL-3.0-or-later
"""The runtimes table covers every runtime a manifest may name."""

from __future__ import annotations

from app.core import style_manifest
from app.styles.runtimes import RUNTIMES


def test_every_runtime_a_manifest_may_name_has_a_processor() -> None:
    assert set(RUNTIMES) == set(style_manifest.RUNTIMES)
