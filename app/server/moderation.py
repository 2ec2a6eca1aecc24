# SPDX-License-Identifier: GPL-3.0-or-later
"""Listeners report remixes; the platform's moderators see the reported ones first and hide or
restore them (``reviews.decide``, audited like an artist's decisions).

A listener reports a remix once, with a reason of up to ``MAX_REASON`` characters; a remix's
maker cannot report their own. Hiding or restoring a remix resolves its open reports.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.server.db import Derivative, Report, Track, User, now_s
from app.server.reviews import HIDDEN, MAX_REASON, PUBLISHED, ReviewError, decide


class ModerationError(Exception):
    """A refused report or decision; ``status`` is the HTTP status, the message the reason."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def report(session: Session, user: User, row: Derivative, reason: str) -> Report:
    """Keep ``user``'s report of ``row`` (a remix they may hear).

    Raises:
        ModerationError: their own remix, no reason or too long a one, or reported already.
    """
    reason = " ".join(reason.split())
    if row.user_id == user.id:
        raise ModerationError("You cannot report your own remix; delete or change it instead.")
    if not reason:
        raise ModerationError("Say what is wrong with it: the moderators read your reason.")
    if len(reason) > MAX_REASON:
        raise ModerationError(f"A reason is at most {MAX_REASON} characters.")
    kept = Report(derivative_id=row.id, user_id=user.id, reason=reason, at=now_s())
    session.add(kept)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ModerationError("You have reported this remix already.", 409) from None
    return kept


@dataclass(frozen=True)
class Reported:
    """A remix in the moderation queue: its open reports, newest reason first."""

    derivative_id: str
    title: str
    by: str
    track: str
    status: str
    reports: int
    reasons: list[str]
    last_at: int


def queue(session: Session, *, include_resolved: bool = False) -> list[Reported]:
    """Remixes with open reports (or any reports), the most reported first."""
    query = select(Report.derivative_id, func.count(), func.max(Report.at)).group_by(
        Report.derivative_id
    )
    if not include_resolved:
        query = query.where(Report.resolved.is_(False))
    found = []
    for derivative_id, count, last_at in session.execute(query):
        row = session.get(Derivative, derivative_id)
        if row is None:
            continue
        maker = session.get(User, row.user_id)
        track = session.get(Track, row.track_id)
        reasons = [
            r.reason
            for r in session.scalars(
                select(Report)
                .where(Report.derivative_id == derivative_id)
                .order_by(Report.at.desc())
            )
        ]
        found.append(
            Reported(
                derivative_id,
                row.title,
                maker.name if maker else "?",
                track.title if track else row.track_id,
                row.status,
                int(count),
                reasons,
                int(last_at),
            )
        )
    return sorted(found, key=lambda r: (-r.reports, -r.last_at))


def moderate(
    session: Session, moderator: User, derivative_id: str, action: str, reason: str
) -> Derivative:
    """Hide (with the reason its maker reads) or restore a remix, resolving its reports.

    Raises:
        ModerationError: no such remix, not a moderator, or a move its status does not allow.
    """
    row = session.get(Derivative, derivative_id)
    track = session.get(Track, row.track_id) if row is not None else None
    if row is None or track is None:
        raise ModerationError(f"There is no remix '{derivative_id}'.", 404)
    try:
        decide(session, row, track, moderator, action, reason)
    except ReviewError as exc:
        raise ModerationError(str(exc), 403 if "moderators" in str(exc) else 422) from None
    for open_report in session.scalars(
        select(Report).where(Report.derivative_id == row.id, Report.resolved.is_(False))
    ):
        open_report.resolved = True
    session.commit()
    return row


__all__ = ["HIDDEN", "PUBLISHED", "ModerationError", "Reported", "moderate", "queue", "report"]
