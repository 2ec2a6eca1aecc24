# SPDX-License-Identifier: GPL-3.0-or-later
"""Stem envelopes for the timeline: kept at ingest, served to whoever may license the track and
to nobody else, measured again for a version ingested before they were kept; the parser refuses
what does not fit."""

from __future__ import annotations

import contextlib
import json
import random
from pathlib import Path

import numpy as np
import pytest

from app.core import envelopes
from app.core.envelopes import EnvelopesError
from app.engine.peaks import BIN_FRAMES
from tests.helpers.platform import API, open_client, sign_in


def _get(client, headers, track: str = "neon-harbour", version: int = 1):
    return client.get(f"{API}/tracks/{track}/versions/{version}/envelopes", headers=headers)


def test_envelopes_are_served_to_who_may_remix_and_measured_again_when_missing(
    platform_dir: Path,
) -> None:
    with open_client(platform_dir) as client:
        fan, _ = sign_in(client, "fan")
        info = client.get(f"{API}/tracks/neon-harbour", headers=fan).json()
        served = _get(client, fan)
        assert served.status_code == 200, served.text
        kinds = tuple(s["kind"] for s in info["stems"])
        found = envelopes.loads(
            served.content, frames=info["frames"], kinds=kinds, bin_frames=BIN_FRAMES
        )
        drums = np.frombuffer(found.stems["drums"], dtype=np.uint8)
        assert len(drums) == -(-info["frames"] // BIN_FRAMES) and drums.max() > 100
        # copper-wire is for superfans: fan2 may not open it, so gets no outline of it either.
        fan2, _ = sign_in(client, "fan2")
        assert _get(client, fan2, "copper-wire").status_code == 403
        assert _get(client, fan2, "no-such-track").status_code == 404
        assert _get(client, fan, version=7).status_code == 404
        # A version ingested before envelopes were kept: measured on the first request, alike.
        kept = platform_dir / "blobs" / "overviews" / "neon-harbour" / "1.json"
        kept.unlink()
        again = _get(client, fan)
        assert again.status_code == 200 and kept.exists()
        remeasured = envelopes.loads(
            again.content, frames=info["frames"], kinds=kinds, bin_frames=BIN_FRAMES
        )
        for kind in kinds:  # from the stored 24-bit stems, not the ingest's floats: within 1
            a = np.frombuffer(remeasured.stems[kind], dtype=np.uint8).astype(int)
            b = np.frombuffer(found.stems[kind], dtype=np.uint8).astype(int)
            assert np.abs(a - b).max() <= 1


def test_envelopes_that_do_not_fit_the_track_are_refused() -> None:
    good = envelopes.Envelopes(BIN_FRAMES, 10 * BIN_FRAMES, {"a": bytes(10), "b": bytes(10)})
    data = good.to_json()

    def read(doc: bytes, frames: int = 10 * BIN_FRAMES, kinds=("a", "b")) -> envelopes.Envelopes:
        return envelopes.loads(doc, frames=frames, kinds=kinds, bin_frames=BIN_FRAMES)

    assert read(data) == good
    with pytest.raises(EnvelopesError, match="another length"):
        read(data, frames=11 * BIN_FRAMES)
    with pytest.raises(EnvelopesError, match="not of this track's stems"):
        read(data, kinds=("a", "c"))
    short = json.loads(data)
    short["stems"]["a"] = "AAAA"
    with pytest.raises(EnvelopesError, match="the a stem is damaged"):
        read(json.dumps(short).encode())
    rng = random.Random(5)
    for _ in range(300):  # random damage: read or refused with a sentence, never a crash
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 5)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        with contextlib.suppress(EnvelopesError):
            read(bytes(damaged))
