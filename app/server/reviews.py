# SPDX-License-Identifier: GPL-3.0-or-later
"""The artist looks after what fans made: approves or refuses a remix that waits for review,
takes a published one down. Each decision keeps its reason, which the remix's maker sees,
and goes into the track's audit.

A derivative's ``status``: "published" (heard by everyone), "awaiting review" (its track's
policy asks the artist first), "refused", "taken down" or "hidden" (by the platform's
moderators, after reports; heard by its maker, the artist and admins only).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.server.db import Derivative, DerivativeDecision, Track, User
from app.server.track_states import audit

PUBLISHED = "published"
AWAITING = "awaiting review"
REFUSED = "refused"
TAKEN_DOWN = "taken down"
HIDDEN = "hidden"
#: The moderators' decisions, an administrator's alone.
MODERATION = ("hide", "restore")
MAX_REASON = 500


class ReviewError(Exception):
    """A refused decision; the message says why."""


def decide(
    session: Session, row: Derivative, track: Track, actor: User, decision: str, reason: str
) -> None:
    """Apply ``decision`` ("approve", "refuse", "take down") to ``row``, audited.

    Raises:
        ReviewError: an unknown decision, one that does not fit the derivative's status, or a
            refusal or take-down without a reason.
    """
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise ReviewError(f"A reason is at most {MAX_REASON} characters.")
    moves = {
        "approve": ((AWAITING,), PUBLISHED),
        "refuse": ((AWAITING,), REFUSED),
        "take down": ((PUBLISHED, AWAITING), TAKEN_DOWN),
        "hide": ((PUBLISHED, AWAITING), HIDDEN),
        "restore": ((HIDDEN,), PUBLISHED),
    }
    if decision not in moves:
        raise ReviewError("A decision is approve, refuse or take down.")
    if decision in MODERATION and actor.role != "admin":
        raise ReviewError("Only the platform's moderators hide and restore remixes.")
    allowed, status = moves[decision]
    if row.status not in allowed:
        raise ReviewError(f"This remix is {row.status}; it cannot be {_past(decision)} now.")
    if decision not in ("approve", "restore") and not reason:
        raise ReviewError("Say why: the fan who made it sees the reason.")
    audit(session, track, actor, f"derivative {row.id}", row.status, status)
    row.status = status
    kept = session.get(DerivativeDecision, row.id)
    if kept is None:
        kept = DerivativeDecision(derivative_id=row.id, decision=decision, by_id=actor.id)
        session.add(kept)
    kept.decision, kept.reason, kept.by_id = decision, reason, actor.id
    session.commit()


def reason_for(session: Session, row: Derivative) -> str:
    """The reason given with the last decision on ``row`` ("" if none)."""
    kept = session.get(DerivativeDecision, row.id)
    return kept.reason if kept is not None else ""


def _past(decision: str) -> str:
    return {
        "approve": "approved",
        "refuse": "refused",
        "take down": "taken down",
        "hide": "hidden",
        "restore": "restored",
    }[decision]
