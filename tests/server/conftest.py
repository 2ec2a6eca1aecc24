# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures of the platform tests: a per-test copy of the seeded demo platform, made cheaply."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Tests here upload many times on purpose (module-scoped apps included): lift the upload
# limit for them; test_authorization checks the limit itself with an explicit setting.
os.environ["FANFARE_UPLOAD_PER_MINUTE"] = "1e9"


def copy_platform(template: Path, target: Path) -> Path:
    """Copy a platform data folder, hard-linking its blobs instead of copying ~120 MB.

    Safe because the blob store never writes a file in place (it writes a temporary file and
    renames it over the old one), so no test can change the template's blobs through a link.
    """

    def link_or_copy(src: str, dst: str) -> object:
        if Path(src).is_relative_to(template / "blobs"):
            try:
                os.link(src, dst)
                return dst
            except OSError:
                pass
        return shutil.copy2(src, dst)

    shutil.copytree(template, target, copy_function=link_or_copy)
    return target


@pytest.fixture
def platform_dir(seeded_platform_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the seeded demo platform's data for one test (overrides the shared one)."""
    return copy_platform(seeded_platform_template, tmp_path / "platform")
