# SPDX-License-Identifier: GPL-3.0-or-later
"""A track's policy over time: every save is a new version, kept with who saved it and when.

New licences carry the current version; a licence in force keeps the version it was issued
under until it is renewed, and a remix made under it is checked against that version and
published with its terms (its revenue split). A track whose policy was never changed has one
version, its first, written down the first time it changes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.errors import PolicyError
from app.core.policy import Policy
from app.server.db import Licence, LicenceTerms, PolicyVersion, Track, User
from app.server.ingest import stems_of
from app.server.track_states import audit


def current_version(session: Session, track: Track) -> int:
    latest = session.scalar(
        select(func.max(PolicyVersion.version)).where(PolicyVersion.track_id == track.id)
    )
    return int(latest) if latest is not None else 1


def policy_at(session: Session, track: Track, version: int) -> dict[str, Any]:
    """The policy document of ``version`` (the current one when none was written down)."""
    row = session.get(PolicyVersion, (track.id, version))
    return dict(row.policy) if row is not None else dict(track.policy)


def licence_policy(session: Session, licence: Licence, track: Track) -> tuple[int, dict[str, Any]]:
    """(version, policy document) a licence was issued under."""
    terms = session.get(LicenceTerms, licence.id)
    version = terms.policy_version if terms is not None else 1
    return version, policy_at(session, track, version)


def is_preview(session: Session, licence: Licence) -> bool:
    """Whether ``licence`` is an artist's preview of a draft policy."""
    terms = session.get(LicenceTerms, licence.id)
    return terms is not None and terms.preview_policy is not None


def save_policy(session: Session, track: Track, actor: User, doc: Any) -> int:
    """Check ``doc`` against the track and save it as the next version (audited); returns the
    version. Raises PolicyError with the sentence of the first thing wrong."""
    policy = Policy.from_dict(doc)
    problems = policy.contradictions([s.kind for s in stems_of(session, track)])
    if problems:
        raise PolicyError("This policy contradicts itself: " + "; ".join(problems) + ".")
    new = policy.to_dict()
    if new == track.policy:
        return current_version(session, track)
    version = current_version(session, track)
    if session.get(PolicyVersion, (track.id, version)) is None:
        # The first version, written down now that there is a second.
        session.add(
            PolicyVersion(
                track_id=track.id, version=version, policy=dict(track.policy),
                created_at=track.created_at, actor_id=track.artist_id,
            )
        )  # fmt: skip
    session.add(
        PolicyVersion(track_id=track.id, version=version + 1, policy=new, actor_id=actor.id)
    )
    audit(session, track, actor, "policy", track.policy, new)
    track.policy = new
    return version + 1


def versions(session: Session, track: Track) -> list[dict[str, Any]]:
    """Every version, oldest first: ``version``, ``created_at``, ``by`` (user name),
    ``policy``."""
    rows = session.scalars(
        select(PolicyVersion)
        .where(PolicyVersion.track_id == track.id)
        .order_by(PolicyVersion.version)
    ).all()
    if not rows:
        artist = session.get(User, track.artist_id)
        return [{"version": 1, "created_at": track.created_at,
                 "by": artist.name if artist else None, "policy": dict(track.policy)}]  # fmt: skip
    ids = {r.actor_id for r in rows if r.actor_id}
    names = {u.id: u.name for u in session.scalars(select(User).where(User.id.in_(ids)))}
    return [
        {"version": r.version, "created_at": r.created_at,
         "by": names.get(r.actor_id or ""), "policy": dict(r.policy)}
        for r in rows
    ]  # fmt: skip
