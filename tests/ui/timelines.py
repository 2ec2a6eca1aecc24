# SPDX-License-Identifier: GPL-3.0-or-later
"""A timeline panel over a track of synthetic stems held in memory, for widget tests."""

from __future__ import annotations

import numpy as np

from app.core.recipe import Recipe
from app.core.track import Section, StemInfo, TrackInfo
from app.studio.overview import TrackOverview
from app.ui.widgets.timeline import TimelinePanel

RATE = 48_000


def track_of(seconds: float) -> TrackInfo:
    return TrackInfo(
        id="t", version=1, title="T", artist="A", bpm=120, key="C major",
        time_signature="4/4", sample_rate=RATE, frames=int(seconds * RATE),
        stems=(StemInfo("drums"), StemInfo("keys")),
        sections=(Section("intro", 0, seconds / 2), Section("outro", seconds / 2, seconds)),
    )  # fmt: skip


def timeline_of(seconds: float) -> TimelinePanel:
    """A panel over two stems: drums loud in the first half, keys quieter in the second."""
    track = track_of(seconds)
    half = track.frames // 2
    t = np.arange(track.frames) / RATE
    tone = np.sin(2 * np.pi * 220 * t).astype(np.float32)[:, None] * np.ones((1, 2), np.float32)
    drums, keys = tone * 0.8, tone * 0.3
    drums[half:] = 0
    keys[:half] = 0
    overview = TrackOverview(track, {"drums": drums, "keys": keys})
    overview.wait()
    recipe = Recipe.default_for(track)
    panel = TimelinePanel(track.stem_kinds, lambda a, b, n: overview.lanes(recipe, a, b, n))
    panel.canvas.set_duration(track.duration_s)
    return panel
