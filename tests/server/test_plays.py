# SPDX-License-Identifier: GPL-3.0-or-later
"""Plays and royalties on the real app: which reports count (signed by an enrolled device of
the listener, under a listen licence the platform issued, long enough, once an hour, within a
device's daily cap), and the double-entry ledger they pay into, whose lines balance per play
and whose credits are plays × value, per party and in total."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.core.keys import DeviceKeys
from app.core.play_report import PlayReport, sign_play_report
from app.server import garden, royalties
from app.server.db import LedgerEntry, Play
from app.server.royalties import shares_micro
from tests.helpers.platform import API, Fan, Studio, TestClient, drums_down, open_client

VALUE = 4_001  # millionths: not a round number, so rounding is exercised
CAP = 3


@pytest.fixture
def world(platform_dir: Path, studio: Studio) -> Iterator[tuple[TestClient, dict[str, Fan], str]]:
    with open_client(
        platform_dir, play_value_micro=VALUE, plays_per_device_per_day=CAP,
        licence_per_minute=1e9,
    ) as client:  # fmt: skip
        fans = {name: Fan.sign_in(client, name) for name in ("fan", "fan2", "marlow-reed", "admin")}
        made = fans["fan"].publish(drums_down(studio), studio.flac(drums_down(studio)))
        assert made.status_code == 201, made.text
        yield client, fans, made.json()["id"]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """The platform's clocks, moved on by the test (seconds): "s" for counting plays, and
    "licences" for issuing listen licences."""
    offset = {"s": 40, "licences": 0}  # reports come after the 30 s they report
    real = royalties.now_s
    monkeypatch.setattr(royalties, "now_s", lambda: real() + offset["s"])
    monkeypatch.setattr(garden, "now_s", lambda: real() + offset["licences"])
    return offset


def report(listener: Fan, derivative: str, heard_s: float = 31.0, **changes: Any) -> dict[str, Any]:
    licence = listener.listen_licence(derivative, now=garden.now_s())
    fields: dict[str, Any] = {
        "derivative": derivative, "listen_licence": licence.licence_id,
        "user": listener.user_id, "device": listener.device_id,
        "listened_s": heard_s, "started_at": licence.issued_at,
    } | changes  # fmt: skip
    return sign_play_report(PlayReport(**fields), listener.keys.signing)


def send(listener: Fan, *reports: dict[str, Any]) -> list[dict[str, Any]]:
    response = listener.client.post(
        f"{API}/plays", headers=listener.headers, json={"reports": list(reports)}
    )
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


def ledger(client: TestClient) -> list[LedgerEntry]:
    sessions = client.app.state.platform.sessions  # type: ignore[attr-defined]
    with sessions() as session:
        return list(session.scalars(select(LedgerEntry)))


def test_a_play_counts_once_an_hour_and_pays_the_split(world: Any, clock: dict[str, int]) -> None:
    client, fans, drv = world
    listener = fans["fan2"]
    first = report(listener, drv)
    spent = {"counted": False, "reason": "A play under this listen licence was already counted."}
    assert send(listener, first, first, first) == [{"counted": True, "reason": ""}, spent, spent]
    assert send(listener, report(listener, drv))[0] == {  # a new licence, within the hour
        "counted": False, "reason": "This play was already counted this hour."
    }  # fmt: skip
    clock["s"] += 3601
    # An hour on, the same signed report again: one listen licence, one play.
    assert send(listener, first)[0] == {
        "counted": False, "reason": "A play under this listen licence was already counted."
    }  # fmt: skip
    assert send(listener, report(listener, drv))[0] == {"counted": True, "reason": ""}
    for other in ("marlow-reed", "admin"):
        assert send(fans[other], report(fans[other], drv))[0]["counted"] is True
    assert fans["fan2"].get(f"/derivatives/{drv}").json()["plays"] == 4

    lines = ledger(client)
    by_play: dict[int, int] = defaultdict(int)
    by_account: dict[str, int] = defaultdict(int)
    for line in lines:
        by_play[line.play_id] += line.amount_micro
        by_account[line.account] += line.amount_micro
    assert len(by_play) == 4 and set(by_play.values()) == {0}  # every play balances
    shares = shares_micro({"artist": 0.6, "fan": 0.1, "platform": 0.3}, VALUE)
    assert sum(shares.values()) == VALUE
    artist_id, fan_id = Fan.sign_in(client, "nova-lane").user_id, fans["fan"].user_id
    assert by_account == {
        "pool:listening": -4 * VALUE,
        f"user:{artist_id}": 4 * shares["artist"],
        f"user:{fan_id}": 4 * shares["fan"],
        "platform": 4 * shares["platform"],
    }
    statement = fans["fan"].get("/earnings").json()
    assert statement["total_micro"] == 4 * shares["fan"]
    assert statement["derivatives"] == [
        {"derivative_id": drv, "title": "Harbour Lights", "track_id": "neon-harbour",
         "track_title": "Neon Harbour", "as": "fan", "plays": 4,
         "amount_micro": 4 * shares["fan"]}
    ]  # fmt: skip
    assert [m["plays"] for m in statement["months"]] in ([4], [2, 2], [1, 3], [3, 1])


def test_a_device_adds_at_most_its_daily_cap(world: Any, clock: dict[str, int]) -> None:
    _, fans, drv = world
    listener = fans["fan2"]
    clock["s"] = 40 + (86_400 - (royalties.now_s() - clock["s"]) % 86_400) % 86_400  # midnight
    counted = []
    for _ in range(CAP + 2):
        clock["licences"] = clock["s"] - 40  # each listened to from 40 s before its report
        counted.append(send(listener, report(listener, drv))[0])
        clock["s"] += 3601
    assert [c["counted"] for c in counted] == [True] * CAP + [False, False]
    assert counted[-1]["reason"] == "This device has reached its plays for today."


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"listened_s": 12.0}, "A play counts after 30 s of listening."),
        ({"started_at": 1_000_000_000}, "came sooner than the listening it reports"),
        ({"user": "usr_someone"}, "This play report is for another account."),
        ({"device": "dev_unknown"}, "This play report comes from a device not enrolled on your"),
        ({"listen_licence": "lsn_made_up"}, "names no listen licence of yours for this remix"),
        ({"sig": "forged"}, "signature does not verify"),
        ({"report": "not an object"}, "malformed"),
    ],
)
def test_a_report_that_does_not_hold_is_not_counted(
    world: Any, clock: dict[str, int], change: dict[str, Any], reason: str
) -> None:
    _, fans, drv = world
    listener = fans["fan2"]
    doc = report(listener, drv)
    if "sig" in change:
        doc["sig"] = sign_play_report(
            PlayReport(**doc["report"] | {"listened_s": 300.0}), listener.keys.signing
        )["sig"]
    elif "report" in change:
        doc["report"] = change["report"]
    else:
        doc = sign_play_report(PlayReport(**doc["report"] | change), listener.keys.signing)
    outcome = send(listener, doc)[0]
    assert outcome["counted"] is False and reason in outcome["reason"]
    assert listener.get(f"/derivatives/{drv}").json()["plays"] == 0


def test_the_maker_and_the_artist_earn_nothing_by_listening_themselves(
    world: Any, clock: dict[str, int]
) -> None:
    client, fans, drv = world
    maker, artist = fans["fan"], Fan.sign_in(client, "nova-lane")
    for who in (maker, artist):
        outcome = send(who, report(who, drv))[0]
        assert outcome["reason"] == "Plays of your own remix, or of your own track, do not count."


def test_a_report_long_after_its_licence_ran_out_does_not_count(
    world: Any, clock: dict[str, int]
) -> None:
    _, fans, drv = world
    listener = fans["fan2"]
    pending = report(listener, drv)
    clock["s"] += 600 + 3600 + 10  # the licence's 10 minutes, then the hour a late report gets
    outcome = send(listener, pending)[0]
    assert "too long after its listen licence ran out" in outcome["reason"]


def test_reports_from_a_revoked_device_or_too_soon_or_of_a_taken_down_remix_do_not_count(
    world: Any, clock: dict[str, int]
) -> None:
    client, fans, drv = world
    listener = fans["fan2"]
    clock["s"] = 5  # 5 s after the licence: nobody heard 30 s in that time
    outcome = send(listener, report(listener, drv))[0]
    assert outcome["reason"] == "This play report came sooner than the listening it reports."
    clock["s"] = 40
    # Another listener's licence, signed with their key but sent by fan2: not fan2's report.
    stranger = fans["marlow-reed"]
    theirs = report(stranger, drv)
    assert send(listener, theirs)[0]["reason"] == "This play report is for another account."
    # A second device of fan2, revoked: its reports are refused.
    spare = Fan.sign_in(client, "fan2", DeviceKeys.generate())
    pending = report(spare, drv)
    assert spare.client.delete(f"{API}/devices/{spare.device_id}", headers=listener.headers)
    outcome = send(listener, pending)[0]
    assert outcome == {"counted": False, "reason": "This play report comes from a revoked device."}
    # A taken-down remix's plays stop counting.
    heard_before = report(listener, drv)
    artist = Fan.sign_in(client, "nova-lane")
    decided = client.post(
        f"{API}/derivatives/{drv}/decision", headers=artist.headers,
        json={"decision": "take down", "reason": "Not this one."},
    )  # fmt: skip
    assert decided.status_code == 200
    outcome = send(listener, heard_before)[0]
    assert outcome["reason"] == "This remix is not published; its plays do not count."
    sessions = client.app.state.platform.sessions  # type: ignore[attr-defined]
    with sessions() as session:
        assert session.scalars(select(Play)).all() == []
