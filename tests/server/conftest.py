# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures of the platform tests: a per-test copy of the seeded demo platform, made cheaply, and
neon-harbour's stems opened once per module through the API."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.core.bundle import decrypt_stem
from app.core.codec import decode_audio
from app.core.track import TrackInfo
from tests.helpers.platform import TRACK, Fan, Studio, copy_platform, open_client

# Tests here upload many times on purpose (module-scoped apps included): lift the upload
# limit for them; test_authorization checks the limit itself with an explicit setting.
os.environ["FANFARE_UPLOAD_PER_MINUTE"] = "1e9"


@pytest.fixture
def platform_dir(seeded_platform_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the seeded demo platform's data for one test (overrides the shared one)."""
    return copy_platform(seeded_platform_template, tmp_path / "platform")


@pytest.fixture(scope="module")
def studio(seeded_platform_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Studio:
    """Download and open neon-harbour's stems once, through the API, with a licence."""
    data_dir = copy_platform(seeded_platform_template, tmp_path_factory.mktemp("studio") / "p")
    with open_client(data_dir) as client:
        fan = Fan.sign_in(client, "fan")
        licence = fan.licence()
        info = TrackInfo.from_dict(fan.get(f"/tracks/{TRACK}").json())
        stems = {}
        for kind in info.stem_kinds:
            blob = fan.get(f"/tracks/{TRACK}/versions/1/stems/{kind}").content
            key = licence.content_key(fan.keys, kind)
            stems[kind], _ = decode_audio(decrypt_stem(key, blob, expect=(TRACK, 1, kind)))
    return Studio(info, stems, fan.keys)
