# SPDX-License-Identifier: GPL-3.0-or-later
"""The timeline's overview of an open track: the platform's envelopes taken at once, the same
outline the studio measures itself from the stems it plays when the platform cannot give them,
and nothing of it on disk."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from app.platform_client.errors import PlatformUnreachableError
from app.studio.overview import TrackOverview
from app.studio.session import Studio


def _files(root: Path) -> dict[str, float]:
    return {
        os.path.join(folder, name): os.path.getmtime(os.path.join(folder, name))
        for folder, _, names in os.walk(root)
        for name in names
    }


def test_the_platforms_envelopes_match_what_the_studio_measures(studio: Studio, tmp_path) -> None:
    track = studio.open_track("neon-harbour")
    try:
        home = Path(os.environ["HOME"])
        before = _files(home)
        assert track.overview.wait(10.0)
        assert track.overview.origin == "platform"  # kept at ingest: nothing decoded here

        # Where the platform cannot give them (offline, an older platform), two threads measure
        # them from the decrypted stems in memory: the same outline, within a step.
        def unreachable() -> bytes:
            raise PlatformUnreachableError("The platform cannot be reached (test).")

        measured = TrackOverview(track.info, track._stems, unreachable)
        assert measured.wait(30.0) and measured.origin == "measured"
        for kind in track.info.stem_kinds:
            served = track.overview.peaks[kind].values.astype(int)
            made = measured.peaks[kind].values.astype(int)
            assert len(served) == len(made) and np.abs(served - made).max() <= 1
        # The lanes of the remix as it is: one per stem, all measured.
        lanes = track.lanes(0.0, track.duration_s, 400)
        assert [lane.kind for lane in lanes.lanes] == list(track.info.stem_kinds)
        assert all(lane.known.all() for lane in lanes.lanes) and lanes.mix.max() > 0.3
        # Nothing of it was written: the studio's folders hold the same files as before.
        assert _files(home) == before
    finally:
        track.close()
