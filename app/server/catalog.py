# SPDX-License-Identifier: GPL-3.0-or-later
"""The catalogue as the platform presents it: tracks with their public metadata."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.track import Section, StemInfo, TrackInfo
from app.server.db import Track, User
from app.server.ingest import stems_of


def track_info(session: Session, track: Track) -> TrackInfo:
    """The public metadata of the current version of ``track``."""
    artist = session.get(User, track.artist_id)
    return TrackInfo(
        id=track.id,
        version=track.version,
        title=track.title,
        artist=(artist.display_name or artist.name) if artist else "unknown",
        bpm=track.bpm,
        key=track.key,
        time_signature=track.time_signature,
        sample_rate=track.sample_rate,
        frames=track.frames,
        sections=tuple(Section(s["name"], s["start_s"], s["end_s"]) for s in track.sections),
        stems=tuple(StemInfo(s.kind, s.blob_size) for s in stems_of(session, track)),
        policy=dict(track.policy),
    )


def visible_tracks(session: Session, user: User) -> list[Track]:
    """Published tracks, plus an artist's own unpublished ones (all of them for an admin)."""
    query = select(Track).order_by(Track.created_at, Track.id)
    tracks = list(session.scalars(query))
    if user.role == "admin":
        return tracks
    return [t for t in tracks if t.published or t.artist_id == user.id]
