# SPDX-License-Identifier: GPL-3.0-or-later
"""What an open track tells the window: a snapshot of playback read once per meter tick, and
notices (the news since the last tick), each a small frozen value the window dispatches on by
type."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.core.recipe import MasterMix, StemMix

#: The strips' settings at one moment: each stem's, and the master's.
StripMix = tuple[dict[str, StemMix], MasterMix]


@dataclass(frozen=True)
class PlaybackStatus:
    """The open track's playback at one moment (:meth:`OpenTrack.status`)."""

    playing: bool
    #: Where the playhead is on the arranged timeline, in seconds.
    position_s: float
    #: Where in the track as written it is (for the sections display), in seconds.
    source_position_s: float
    #: The arranged length in seconds.
    duration_s: float
    #: Each stem's level in its last block (0.0 while not playing), by stem.
    peaks: Mapping[str, float]
    master_peak: float
    #: How often the sound dropped out since this track's player started.
    dropouts: int
    #: Why the audio threads do not run at real-time priority; None when they do.
    realtime: str | None
    #: How many recorded moves the recipe holds.
    moves: int
    #: The strips' settings at the playhead as the moves set them; None without moves.
    mix: StripMix | None


@dataclass(frozen=True, kw_only=True)
class Notice:
    """A sentence for the user from the open track."""

    text: str


@dataclass(frozen=True, kw_only=True)
class StyleAdjusted(Notice):
    """A style model changed how it treats ``stem`` (e.g. moved its melody an octave): news
    for the stem's strip and panel, not an error."""

    stem: str


@dataclass(frozen=True, kw_only=True)
class PlaybackStopped(Notice):
    """Playback stopped by itself: the licence expired or was revoked, or the output failed."""


@dataclass(frozen=True, kw_only=True)
class LicenceNotice(Notice):
    """The licence could not be renewed (yet, or any more); playback goes on meanwhile."""
