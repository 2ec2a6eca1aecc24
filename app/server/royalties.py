# SPDX-License-Identifier: GPL-3.0-or-later
"""Plays and royalties: which reported plays count, and the double-entry ledger they pay into.

A play counts when its report (``app.core.play_report``) is signed by an enrolled, unrevoked
device of the listener, names a listen licence the platform issued to that listener and device
for that remix, says at least the counting threshold was heard (30 s, or the whole remix if
shorter), and the remix is still published. Then the platform dedupes (one listener, one
remix, one play an hour) and caps each device's plays a day. A report that does not count is
answered with the reason; it is not an error, since a studio reports again after a failure.

Each counted play debits the listening pool by the operator's per-play value and credits each
party of the revenue split the remix was published under its share, in whole millionths: the
shares are rounded down and what rounding leaves goes to the platform, so every play's lines
add up to zero and each party's credits are its per-play share times its plays.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.keys import ed25519_public_from_b64
from app.core.play_report import (
    PlayReport,
    PlayReportError,
    counts_after_s,
    read_play_report,
    verify_play_report,
)
from app.server.db import (
    Derivative,
    DerivativeListing,
    Device,
    LedgerEntry,
    ListenLicenceRow,
    Play,
    Track,
    User,
    new_id,
    now_s,
)
from app.server.reviews import PUBLISHED

POOL = "pool:listening"
HOUR_S = 3600
DAY_S = 86400
#: A listener's clock may run this far ahead of the platform's (seconds).
CLOCK_SLACK_S = 5
#: A report may come this long after its listen licence ran out (a studio offline a while).
LATE_REPORT_S = 3600
#: Remixes shorter than this (seconds) earn nothing: a play of them is no listening.
MIN_PAID_S = 5.0
MAX_REPORTS = 200


@dataclass(frozen=True)
class Outcome:
    """What became of one report: counted, or not and why."""

    counted: bool
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"counted": self.counted, "reason": self.reason}


def shares_micro(split: dict[str, float], value_micro: int) -> dict[str, int]:
    """Each party's whole-millionth share of one play (the platform takes what rounding
    leaves, so they add up to ``value_micro``)."""
    # Exact fractions of the shares as written (0.29, not the float just under it).
    shares = {
        party: math.floor(value_micro * Fraction(str(share))) for party, share in split.items()
    }
    shares["platform"] = shares.get("platform", 0) + value_micro - sum(shares.values())
    return {party: amount for party, amount in shares.items() if amount}


def account_for(party: str, artist_id: str, fan_id: str) -> str:
    """The ledger account a party of a split is paid into."""
    if party == "artist":
        return f"user:{artist_id}"
    if party == "fan":
        return f"user:{fan_id}"
    if party == "platform":
        return "platform"
    return f"party:{party}"


@dataclass
class _Remix:
    """What counting needs of a remix and its track (one query for a whole batch)."""

    id: str
    maker_id: str
    artist_id: str
    duration_s: float
    split: dict[str, float]
    listed: bool  # published, and its track too


class PlayCounter:
    """Counts a batch of reports from one signed-in listener.

    Reads first, a query per kind for the whole batch (devices, licences, remixes, recent
    plays, today's plays), then writes the counted plays, their ledger lines and the counts in
    one short transaction at the end: the database's write lock is held only for that, so
    workers count side by side (benchmarks/README.md, the garden).
    """

    def __init__(self, session: Session, user: User, *, value_micro: int, cap_per_day: int):
        self.session = session
        self.user = user
        self.value_micro = value_micro
        self.cap_per_day = cap_per_day

    def count(self, docs: list[Any]) -> list[Outcome]:
        try:
            return self._count(docs)
        except IntegrityError:
            # Another worker counted one of these in the same hour: count them one by one,
            # each seeing what the others wrote.
            self.session.rollback()
            return [self._alone(doc) for doc in docs]

    def _alone(self, doc: Any) -> Outcome:
        try:
            return self._count([doc])[0]
        except IntegrityError:
            self.session.rollback()
            return Outcome(False, "This play was already counted, or its device is at its cap.")

    def _count(self, docs: list[Any]) -> list[Outcome]:
        session = self.session
        now = now_s()
        with session.no_autoflush:
            checked = [self._checked(doc) for doc in docs]
            reports = [r for r in checked if isinstance(r, PlayReport)]
            licences = self._load(ListenLicenceRow, {r.listen_licence for r in reports})
            spent = set(
                session.scalars(
                    select(Play.listen_licence_id).where(
                        Play.listen_licence_id.in_({r.listen_licence for r in reports})
                    )
                )
            )
            remixes = self._remixes({r.derivative for r in reports})
            heard = set(
                session.scalars(
                    select(Play.derivative_id).where(
                        Play.user_id == self.user.id,
                        Play.derivative_id.in_({r.derivative for r in reports}),
                        Play.at > now - HOUR_S,
                    )
                )
            )
            day = now // DAY_S
            today = dict(
                session.execute(
                    select(Play.device_id, func.count())
                    .where(Play.device_id.in_({r.device for r in reports}), Play.day == day)
                    .group_by(Play.device_id)
                ).all()
            )
        outcomes: list[Outcome] = []
        plays: list[dict[str, Any]] = []
        for item in checked:
            if isinstance(item, Outcome):
                outcomes.append(item)
                continue
            outcome = self._judge(item, licences, remixes, heard, spent, today, now)
            if outcome.counted:
                plays.append(self._play(item, now, day))
                heard.add(item.derivative)
                spent.add(item.listen_licence)
                today[item.device] = today.get(item.device, 0) + 1
            outcomes.append(outcome)
        if plays:
            self._write(plays, remixes, now)
            self._check_caps({p["device_id"] for p in plays}, day)
        session.commit()
        return outcomes

    def _check_caps(self, devices: set[str], day: int) -> None:
        """Inside the write transaction, after this batch's plays: another worker's batch
        for the same device may have been counted since this one read today's plays, so count
        again, and start over one report at a time if a cap was passed."""
        over = self.session.execute(
            select(Play.device_id)
            .where(Play.device_id.in_(devices), Play.day == day)
            .group_by(Play.device_id)
            .having(func.count() > self.cap_per_day)
        ).first()
        if over is not None:
            raise IntegrityError("plays over a device's daily cap", None, ValueError("cap"))

    def _checked(self, doc: Any) -> PlayReport | Outcome:
        """The report, parsed and signed by an enrolled device of this listener; or why not."""
        try:
            report, sig = read_play_report(doc)
        except PlayReportError as exc:
            return Outcome(False, str(exc))
        if report.user != self.user.id:
            return Outcome(False, "This play report is for another account.")
        device = self.session.get(Device, report.device)  # the identity map keeps it
        if device is None or device.user_id != self.user.id:
            return Outcome(
                False, "This play report comes from a device not enrolled on your account."
            )
        if device.revoked:
            return Outcome(False, "This play report comes from a revoked device.")
        try:
            verify_play_report(report, sig, ed25519_public_from_b64(device.signing_public_key))
        except (PlayReportError, ValueError) as exc:
            return Outcome(False, str(exc))
        return report

    def _load(self, table: Any, ids: set[str]) -> dict[str, Any]:
        if not ids:
            return {}
        found: list[Any] = list(self.session.scalars(select(table).where(table.id.in_(ids))))
        return {row.id: row for row in found}

    def _remixes(self, ids: set[str]) -> dict[str, _Remix]:
        if not ids:
            return {}
        rows: Sequence[Any] = self.session.execute(
            select(
                Derivative.id,
                Derivative.user_id,
                Track.artist_id,
                Derivative.duration_s,
                Derivative.attribution,
                Derivative.status,
                Track.published,
            )
            .join(Track, Track.id == Derivative.track_id)
            .where(Derivative.id.in_(ids))
        ).all()
        remixes = {}
        for d, maker, artist, duration, attribution, status, published in rows:
            split = dict((attribution or {}).get("split") or {"artist": 1.0})
            listed = status == PUBLISHED and bool(published)
            remixes[d] = _Remix(d, maker, artist, float(duration), split, listed)
        return remixes

    def _judge(
        self,
        report: PlayReport,
        licences: dict[str, ListenLicenceRow],
        remixes: dict[str, _Remix],
        heard: set[str],
        spent: set[str],
        today: dict[str, int],
        now: int,
    ) -> Outcome:
        """Whether ``report`` counts: ``heard``, the remixes this listener was counted for in
        the last hour; ``spent``, the listen licences a play was counted under."""
        licence = licences.get(report.listen_licence)
        if (
            licence is None
            or licence.user_id != self.user.id
            or licence.device_id != report.device
            or licence.derivative_id != report.derivative
        ):
            return Outcome(
                False, "This play report names no listen licence of yours for this remix."
            )
        if report.listen_licence in spent:
            return Outcome(False, "A play under this listen licence was already counted.")
        remix = remixes.get(report.derivative)
        if remix is None or not remix.listed:
            return Outcome(False, "This remix is not published; its plays do not count.")
        if self.user.id in (remix.maker_id, remix.artist_id):
            return Outcome(False, "Plays of your own remix, or of your own track, do not count.")
        if remix.duration_s < MIN_PAID_S:
            return Outcome(False, f"Remixes shorter than {MIN_PAID_S:.0f} s earn no plays.")
        needed = counts_after_s(remix.duration_s)
        if report.listened_s < needed:
            return Outcome(False, f"A play counts after {needed:.0f} s of listening.")
        # The listening it reports happened under this licence and has ended by now: nobody
        # hears 30 s of a stream in less than 30 s after its licence was issued.
        if (
            now + CLOCK_SLACK_S < licence.issued_at + needed
            or report.started_at < licence.issued_at - CLOCK_SLACK_S
            or report.started_at + report.listened_s > now + CLOCK_SLACK_S
        ):
            return Outcome(False, "This play report came sooner than the listening it reports.")
        if now > licence.expires_at + LATE_REPORT_S:
            return Outcome(
                False, "This play report came too long after its listen licence ran out."
            )
        if report.derivative in heard:
            return Outcome(False, "This play was already counted this hour.")
        if today.get(report.device, 0) >= self.cap_per_day:
            return Outcome(False, "This device has reached its plays for today.")
        return Outcome(True)

    def _play(self, report: PlayReport, now: int, day: int) -> dict[str, Any]:
        return {
            "id": new_id("ply"), "derivative_id": report.derivative, "user_id": self.user.id,
            "device_id": report.device, "listen_licence_id": report.listen_licence,
            "hour": now // HOUR_S, "day": day, "listened_s": report.listened_s, "at": now,
        }  # fmt: skip

    def _write(self, plays: list[dict[str, Any]], remixes: dict[str, _Remix], now: int) -> None:
        """The plays, their ledger lines and the counts: the batch's only writes."""
        month = time.strftime("%Y-%m", time.gmtime(now))
        lines: list[dict[str, Any]] = []
        counts: dict[str, int] = {}
        for play in plays:
            remix = remixes[play["derivative_id"]]
            counts[remix.id] = counts.get(remix.id, 0) + 1
            entries = [("listening", POOL, -self.value_micro)] + [
                (party, account_for(party, remix.artist_id, remix.maker_id), amount)
                for party, amount in shares_micro(remix.split, self.value_micro).items()
            ]
            lines.extend(
                {"play_id": play["id"], "derivative_id": remix.id, "account": account,
                 "party": party, "amount_micro": amount, "month": month, "at": now}
                for party, account, amount in entries
            )  # fmt: skip
        session = self.session
        session.execute(insert(Play), plays)
        session.execute(insert(LedgerEntry), lines)
        for derivative_id, n in counts.items():
            session.execute(
                update(DerivativeListing)
                .where(DerivativeListing.derivative_id == derivative_id)
                .values(plays=DerivativeListing.plays + n)
            )


def statement(session: Session, user: User) -> dict[str, Any]:
    """What ``user`` has earned: per remix (as its track's artist, as its maker, or both) and
    per month, in millionths of the currency, with the plays that earned it."""
    account = f"user:{user.id}"
    by_derivative = session.execute(
        select(
            LedgerEntry.derivative_id,
            Derivative.title,
            Derivative.track_id,
            Track.title,
            LedgerEntry.party,
            func.count(),
            func.sum(LedgerEntry.amount_micro),
        )
        .join(Derivative, Derivative.id == LedgerEntry.derivative_id)
        .join(Track, Track.id == Derivative.track_id)
        .where(LedgerEntry.account == account)
        .group_by(
            LedgerEntry.derivative_id,
            Derivative.title,
            Derivative.track_id,
            Track.title,
            LedgerEntry.party,
        )
        .order_by(func.sum(LedgerEntry.amount_micro).desc())
    ).all()
    by_month = session.execute(
        select(
            LedgerEntry.month, LedgerEntry.party, func.count(), func.sum(LedgerEntry.amount_micro)
        )
        .where(LedgerEntry.account == account)
        .group_by(LedgerEntry.month, LedgerEntry.party)
        .order_by(LedgerEntry.month.desc(), LedgerEntry.party)
    ).all()
    derivatives = [
        {"derivative_id": d, "title": title, "track_id": track_id, "track_title": track,
         "as": party, "plays": n, "amount_micro": int(total or 0)}
        for d, title, track_id, track, party, n, total in by_derivative
    ]  # fmt: skip
    months = [
        {"month": month, "as": party, "plays": n, "amount_micro": int(total or 0)}
        for month, party, n, total in by_month
    ]
    return {
        "user": user.name,
        "total_micro": sum(d["amount_micro"] for d in derivatives),
        "derivatives": derivatives,
        "months": months,
    }
