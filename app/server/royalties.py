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

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
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
    DerivativePlays,
    Device,
    LedgerEntry,
    ListenLicenceRow,
    Play,
    Track,
    User,
    now_s,
)
from app.server.reviews import PUBLISHED

POOL = "pool:listening"
HOUR_S = 3600
DAY_S = 86400
#: A listener's clock may run this far ahead of the platform's (seconds).
CLOCK_SLACK_S = 5
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
    shares = {party: int(value_micro * share) for party, share in split.items()}
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


class PlayCounter:
    """Counts a batch of reports from one signed-in listener, in one transaction."""

    def __init__(self, session: Session, user: User, *, value_micro: int, cap_per_day: int):
        self.session = session
        self.user = user
        self.value_micro = value_micro
        self.cap_per_day = cap_per_day
        self._devices: dict[str, Device | None] = {}
        self._today: dict[str, int] = {}

    def count(self, docs: list[Any]) -> list[Outcome]:
        outcomes = [self._one(doc) for doc in docs]
        try:
            self.session.commit()
        except IntegrityError:
            # Another worker counted one of these in the same hour: count them one by one.
            self.session.rollback()
            return [self._alone(doc) for doc in docs]
        return outcomes

    def _alone(self, doc: Any) -> Outcome:
        outcome = self._one(doc)
        try:
            self.session.commit()
        except IntegrityError:
            self.session.rollback()
            return Outcome(False, "This play was already counted this hour.")
        return outcome

    def _one(self, doc: Any) -> Outcome:
        try:
            report, sig = read_play_report(doc)
        except PlayReportError as exc:
            return Outcome(False, str(exc))
        if report.user != self.user.id:
            return Outcome(False, "This play report is for another account.")
        device = self._device(report.device)
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
        return self._counted(report)

    def _device(self, device_id: str) -> Device | None:
        if device_id not in self._devices:
            self._devices[device_id] = self.session.get(Device, device_id)
        return self._devices[device_id]

    def _counted(self, report: PlayReport) -> Outcome:
        session = self.session
        now = now_s()
        licence = session.get(ListenLicenceRow, report.listen_licence)
        if (
            licence is None
            or licence.user_id != self.user.id
            or licence.device_id != report.device
            or licence.derivative_id != report.derivative
        ):
            return Outcome(
                False, "This play report names no listen licence of yours for this remix."
            )
        row = session.get(Derivative, report.derivative)
        track = session.get(Track, row.track_id) if row is not None else None
        if row is None or track is None or row.status != PUBLISHED or not track.published:
            return Outcome(False, "This remix is not published; its plays do not count.")
        needed = counts_after_s(row.duration_s)
        if report.listened_s < needed:
            return Outcome(False, f"A play counts after {needed:.0f} s of listening.")
        # Nobody hears 30 s of a stream in less than 30 s after its licence was issued.
        if now + CLOCK_SLACK_S < licence.issued_at + needed:
            return Outcome(False, "This play report came sooner than the listening it reports.")
        recent = session.scalar(
            select(Play.id).where(
                Play.user_id == self.user.id,
                Play.derivative_id == row.id,
                Play.at > now - HOUR_S,
            )
        )
        if recent is not None:
            return Outcome(False, "This play was already counted this hour.")
        day = now // DAY_S
        if report.device not in self._today:
            self._today[report.device] = int(
                session.scalar(
                    select(func.count())
                    .select_from(Play)
                    .where(Play.device_id == report.device, Play.day == day)
                )
                or 0
            )
        if self._today[report.device] >= self.cap_per_day:
            return Outcome(False, "This device has reached its plays for today.")
        play = Play(
            derivative_id=row.id,
            user_id=self.user.id,
            device_id=report.device,
            listen_licence_id=licence.id,
            hour=now // HOUR_S,
            day=day,
            listened_s=report.listened_s,
            at=now,
        )
        session.add(play)
        session.flush()  # the play's id, for its ledger lines
        self._today[report.device] += 1
        self._pay(play, row, track, now)
        return Outcome(True)

    def _pay(self, play: Play, row: Derivative, track: Track, now: int) -> None:
        split = dict(row.attribution.get("split") or {"artist": 1.0})
        month = time.strftime("%Y-%m", time.gmtime(now))
        lines = [("listening", POOL, -self.value_micro)]
        for party, amount in shares_micro(split, self.value_micro).items():
            lines.append((party, account_for(party, track.artist_id, row.user_id), amount))
        for party, account, amount in lines:
            self.session.add(
                LedgerEntry(
                    play_id=play.id, derivative_id=row.id, account=account, party=party,
                    amount_micro=amount, month=month, at=now,
                )
            )  # fmt: skip
        counter = self.session.get(DerivativePlays, row.id)
        if counter is None:
            self.session.add(DerivativePlays(derivative_id=row.id, plays=1))
        else:
            counter.plays += 1


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
