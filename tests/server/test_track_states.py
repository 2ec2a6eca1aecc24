# SPDX-License-Identifier: GPL-3.0-or-later
"""A track's states on the real API: live, paused (no new licences, remixes stay), withdrawn
(gone, remixes hidden, fans' licences revoked), never back to draft, and every change audited
with who, when, the old and the new."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.licence import verify_revocations
from tests.helpers.platform import (
    API,
    TRACK,
    Fan,
    Studio,
    TestClient,
    drums_down,
    open_client,
    pinned_keys,
)


@pytest.fixture
def client(platform_dir: Path) -> Iterator[TestClient]:
    with open_client(platform_dir) as client:
        yield client


def move(client: TestClient, artist: Fan, state: str, track: str = TRACK) -> dict:
    response = client.post(
        f"{API}/tracks/{track}/state", headers=artist.headers, json={"state": state}
    )
    assert response.status_code == 200, response.text
    return response.json()


def licence_answer(client: TestClient, who: Fan) -> int:
    body = {"track_id": TRACK, "device_id": who.device_id}
    return client.post(f"{API}/licences", headers=who.headers, json=body).status_code


def test_paused_takes_no_new_licences_and_keeps_published_remixes(
    client: TestClient, studio: Studio
) -> None:
    artist = Fan.sign_in(client, "nova-lane")
    fan = Fan.sign_in(client, "fan", studio.keys)
    recipe = drums_down(studio)
    assert fan.publish(recipe, studio.flac(recipe)).status_code == 201
    held = fan.licence()
    doc = move(client, artist, "paused")
    assert doc["state"] == "paused" and doc["licences_revoked"] == 0
    refused = client.post(
        f"{API}/licences", headers=fan.headers, json={"track_id": TRACK, "device_id": fan.device_id}
    )
    assert refused.status_code == 403 and "paused" in refused.json()["detail"]
    renew = client.post(f"{API}/licences/{held.licence_id}/renew", headers=fan.headers)
    assert renew.status_code == 403
    assert len(fan.get("/derivatives", params={"mine": "false"}).json()) == 1  # it stays
    assert licence_answer(client, artist) == 201  # the artist goes on previewing
    assert move(client, artist, "live")["state"] == "live"
    assert licence_answer(client, fan) == 201


def test_withdrawn_hides_the_track_and_its_remixes_and_revokes_fans_licences(
    client: TestClient, studio: Studio
) -> None:
    artist = Fan.sign_in(client, "nova-lane")
    fan, fan2 = Fan.sign_in(client, "fan", studio.keys), Fan.sign_in(client, "fan2")
    recipe = drums_down(studio)
    assert fan.publish(recipe, studio.flac(recipe)).status_code == 201
    held = fan.licence()
    doc = move(client, artist, "withdrawn")
    assert doc["state"] == "withdrawn" and doc["licences_revoked"] >= 2  # upload's and held
    assert TRACK not in [t["id"] for t in fan2.get("/tracks").json()]
    assert fan2.get("/derivatives", params={"mine": "false"}).json() == []
    # The fan's studio learns it at its next sync: the licence is on the signed list.
    data = client.get(f"{API}/licences/revocations", headers=fan.headers).content
    revoked = verify_revocations(data, pinned_keys(client), user=fan.user_id)
    assert held.licence_id in revoked.licences
    assert licence_answer(client, fan) == 404
    # The artist still has it, with its state, among their own.
    mine = artist.get("/tracks", params={"mine": "true"}).json()
    assert {t["id"]: t["state"] for t in mine}[TRACK] == "withdrawn"
    assert licence_answer(client, artist) == 201
    # Live again: fans license it anew.
    move(client, artist, "live")
    assert licence_answer(client, fan) == 201


def test_a_live_track_never_goes_back_to_draft_and_unknown_states_are_refused(
    client: TestClient,
) -> None:
    artist = Fan.sign_in(client, "nova-lane")
    for state, reason in (("draft", "cannot go back to draft"), ("archived", "is one of")):
        answer = client.post(
            f"{API}/tracks/{TRACK}/state", headers=artist.headers, json={"state": state}
        )
        assert answer.status_code == 422 and reason in answer.json()["detail"]
    assert artist.get(f"/tracks/{TRACK}").json()["state"] == "live"


def test_every_change_is_audited_with_who_when_old_and_new(client: TestClient) -> None:
    artist = Fan.sign_in(client, "nova-lane")
    admin = Fan.sign_in(client, "admin")
    before = time.time()
    seeded = artist.get(f"/tracks/{TRACK}/audit").json()  # the seed made it live
    assert [(e["actor"], e["field"], e["old"], e["new"]) for e in seeded] == [
        ("nova-lane", "state", "draft", "live")
    ]
    policy = artist.get(f"/tracks/{TRACK}").json()["policy"]
    changed = policy | {"min_audible_stems": 3}
    patch = client.patch(f"{API}/tracks/{TRACK}", headers=artist.headers, json={"policy": changed})
    assert patch.status_code == 200
    move(client, artist, "paused")
    move(client, admin, "live")
    entries = artist.get(f"/tracks/{TRACK}/audit").json()[len(seeded) :]
    assert [(e["actor"], e["field"]) for e in entries] == [
        ("nova-lane", "policy"),
        ("nova-lane", "state"),
        ("admin", "state"),
    ]
    assert entries[0]["old"]["min_audible_stems"] == 2
    assert entries[0]["new"]["min_audible_stems"] == 3
    assert (entries[1]["old"], entries[1]["new"]) == ("live", "paused")
    assert all(before - 1 <= e["at"] <= time.time() + 1 for e in entries)
