# SPDX-License-Identifier: GPL-3.0-or-later
"""The feed: published remixes, newest or most played first, searched or narrowed to one
track, fan or artist, a page at a time.

It reads ``derivative_listing``, one narrow row per remix (its plays, when it was published,
the words it is searched by), walked in the page's order along an index; each remix is checked
to be heard (published, of a published track) as the walk goes, so a page stops when it is
full. Only then are the page's own rows read (benchmarks/README.md, the garden).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from app.server.db import Derivative, DerivativeAudio, DerivativeListing, Track, User
from app.server.garden import GardenError
from app.server.reviews import PUBLISHED

FEED_SORTS = ("new", "popular")
MAX_PAGE = 50
#: How deep the feed pages (a listener scrolls; a deeper offset walks that many remixes).
MAX_OFFSET = 10_000
MAX_QUERY = 100


@dataclass(frozen=True)
class FeedQuery:
    """One page of the feed: ``sort`` "new" or "popular"; filters by track, fan (the maker's
    account name), artist (the track's artist's account name) and words (``q``: in the
    remix's title, its track's title or its maker's name)."""

    sort: str = "new"
    track: str | None = None
    fan: str | None = None
    artist: str | None = None
    q: str | None = None
    limit: int = MAX_PAGE
    offset: int = 0


def list_remix(session: Session, row: Derivative, track_title: str, maker: str) -> None:
    """Put a new remix in the feed's listing (the caller commits)."""
    words = " ".join((row.title, track_title, maker)).lower()[:600]
    session.add(
        DerivativeListing(derivative_id=row.id, plays=0, created_at=row.created_at, words=words)
    )


def ensure_listings(session: Session) -> int:
    """List every remix published before the feed existed; returns how many were added."""
    missing = session.execute(
        select(Derivative, Track.title, User.name)
        .join(Track, Track.id == Derivative.track_id)
        .join(User, User.id == Derivative.user_id)
        .outerjoin(DerivativeListing, DerivativeListing.derivative_id == Derivative.id)
        .where(DerivativeListing.derivative_id.is_(None))
    ).all()
    for row, track_title, maker in missing:
        list_remix(session, row, track_title, maker)
    session.commit()
    return len(missing)


def feed(session: Session, query: FeedQuery) -> dict[str, Any]:
    """A page of published remixes of published tracks: ``{"items": [...], "next": offset
    or None}``. Two queries, whatever the page's size: the page's ids, walking the narrow
    listing in the page's order (an index each for newest and most played) and checking each
    remix is heard (so a page stops as soon as it is full); then those remixes' rows."""
    if query.sort not in FEED_SORTS:
        raise GardenError(f"A feed is sorted by {' or '.join(FEED_SORTS)}.", 422)
    listed = DerivativeListing
    maker, artist = aliased(User), aliased(User)
    heard = (
        select(Derivative.id)
        .join(Track, Track.id == Derivative.track_id)
        .where(
            Derivative.id == listed.derivative_id,
            Derivative.status == PUBLISHED,
            Track.published.is_(True),
        )
    )
    if query.track:
        heard = heard.where(Derivative.track_id == query.track)
    if query.fan:
        heard = heard.join(maker, maker.id == Derivative.user_id).where(maker.name == query.fan)
    if query.artist:
        heard = heard.join(artist, artist.id == Track.artist_id).where(artist.name == query.artist)
    page = select(listed.derivative_id)
    if query.q and query.q.strip():
        words = f"%{_escape(query.q.strip().lower()[:MAX_QUERY])}%"
        page = page.where(listed.words.like(words, escape="\\"))
    page = page.where(heard.exists())
    if query.sort == "popular":
        page = page.order_by(
            listed.plays.desc(), listed.created_at.desc(), listed.derivative_id.desc()
        )
    else:
        page = page.order_by(listed.created_at.desc(), listed.derivative_id.desc())
    limit = max(1, min(MAX_PAGE, query.limit))
    ids = list(session.scalars(page.offset(max(0, query.offset)).limit(limit + 1)))
    more, ids = len(ids) > limit, ids[:limit]
    rows: Sequence[Any] = session.execute(
        select(
            Derivative,
            Track.title,
            maker.name,
            artist.name,
            artist.display_name,
            listed.plays,
            DerivativeAudio.downloadable,
            Track.policy,
        )
        .join(listed, listed.derivative_id == Derivative.id)
        .join(Track, Track.id == Derivative.track_id)
        .join(maker, maker.id == Derivative.user_id)
        .join(artist, artist.id == Track.artist_id)
        .outerjoin(DerivativeAudio, DerivativeAudio.derivative_id == Derivative.id)
        .where(Derivative.id.in_(ids))
    ).all()
    found: dict[str, dict[str, Any]] = {}
    for row, title, fan, artist_name, shown, count, was_open, policy in rows:
        # Open only when it was published open and its track still is (else: walled).
        still_open = bool(was_open) and bool((policy or {}).get("downloadable", False))
        found[row.id] = listing(row, title, fan, (artist_name, shown or artist_name), count,
                                still_open)  # fmt: skip
    return {
        "items": [found[i] for i in ids if i in found],
        "next": query.offset + limit if more else None,
    }


def listing(
    row: Derivative,
    track_title: str,
    fan: str,
    artist: tuple[str, str],
    plays: int,
    downloadable: bool,
) -> dict[str, Any]:
    """A remix as the feed lists it (its overview comes with the remix's own document);
    ``artist``: the track's artist's account name and the name listeners see."""
    return {
        "id": row.id,
        "title": row.title,
        "by": fan,
        "track_id": row.track_id,
        "track_title": track_title,
        "artist": artist[0],
        "artist_name": artist[1],
        "duration_s": row.duration_s,
        "created_at": row.created_at,
        "plays": int(plays or 0),
        "walled": not downloadable,
        "disclosure": row.disclosure,
    }


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
