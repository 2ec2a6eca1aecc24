# SPDX-License-Identifier: GPL-3.0-or-later
"""A track's state and the audit of every change to it.

- **draft**: only its artist (and admins) see it; the artist previews what fans could do.
- **live**: fans may license and remix it.
- **paused**: no new licences or renewals for fans; published remixes stay.
- **withdrawn**: gone from the catalogue; its remixes are hidden; every fan's licence is revoked,
  so a studio drops it at its next revocation sync.

A track that has been live never goes back to draft. Every change is recorded with who made
it, when, and the old and new value (``TrackAudit``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.server.db import Licence, Track, TrackAudit, TrackState, User, now_s

STATES = ("draft", "live", "paused", "withdrawn")


class TrackStateError(Exception):
    """A refused change of state; the message says why."""


def state_of(session: Session, track: Track) -> str:
    row = session.get(TrackState, track.id)
    if row is not None:
        return row.state
    if not track.published:
        return "draft"
    return "live" if track.remix_opt_in else "paused"


def follow_flags(session: Session, track: Track) -> None:
    """After the published or opt-in flag was set on its own: the state reads from the flags
    again (a state set as a whole is forgotten)."""
    row = session.get(TrackState, track.id)
    if row is not None:
        session.delete(row)


def audit(session: Session, track: Track, actor: User, field: str, old: Any, new: Any) -> None:
    """Record one change (the caller commits)."""
    if old != new:
        session.add(TrackAudit(track_id=track.id, actor_id=actor.id, field=field, old=old, new=new))


def set_state(session: Session, track: Track, actor: User, state: str) -> int:
    """Move ``track`` to ``state``, audited; returns how many fans' licences were revoked.

    Raises:
        TrackStateError: an unknown state, or back to draft after being live.
    """
    if state not in STATES:
        raise TrackStateError(f"A track's state is one of {', '.join(STATES)}.")
    old = state_of(session, track)
    if state == "draft" and old != "draft":
        raise TrackStateError(
            "A track that has been live cannot go back to draft; pause or withdraw it."
        )
    track.published = state in ("live", "paused")
    track.remix_opt_in = state == "live"
    row = session.get(TrackState, track.id)
    if row is None:
        session.add(TrackState(track_id=track.id, state=state))
    else:
        row.state = state
    revoked = _revoke_fans_licences(session, track) if state == "withdrawn" else 0
    audit(session, track, actor, "state", old, state)
    session.commit()
    return revoked


def _revoke_fans_licences(session: Session, track: Track) -> int:
    """Revoke every licence on ``track`` but its artist's own (they keep previewing)."""
    rows = session.scalars(
        select(Licence).where(
            Licence.track_id == track.id,
            Licence.revoked.is_(False),
            Licence.user_id != track.artist_id,
        )
    ).all()
    for row in rows:
        row.revoked, row.revoked_at = True, now_s()
    return len(rows)


def history(session: Session, track: Track) -> list[dict[str, Any]]:
    """The track's audit, oldest first: ``at``, ``actor`` (user name), ``field``, ``old``,
    ``new``."""
    rows = session.scalars(
        select(TrackAudit).where(TrackAudit.track_id == track.id).order_by(TrackAudit.id)
    ).all()
    actors = {r.actor_id for r in rows}
    names = {u.id: u.name for u in session.scalars(select(User).where(User.id.in_(actors)))}
    return [
        {"at": r.at, "actor": names.get(r.actor_id, r.actor_id), "field": r.field,
         "old": r.old, "new": r.new}
        for r in rows
    ]  # fmt: skip
