# SPDX-License-Identifier: GPL-3.0-or-later
"""The artist looks after what fans made, on the real API: a track that asks for review holds
each remix until the artist approves or refuses it; a published one can be taken down; the fan
sees why; other fans hear only what is published; every decision is audited."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.platform import API, TRACK, Fan, Studio, TestClient, drums_down, open_client


@pytest.fixture
def client(platform_dir: Path) -> Iterator[TestClient]:
    with open_client(platform_dir) as client:
        yield client


def decide(client: TestClient, who: Fan, derivative: str, decision: str, reason: str = "") -> Any:
    body = {"decision": decision, "reason": reason}
    return client.post(f"{API}/derivatives/{derivative}/decision", headers=who.headers, json=body)


def heard_by_others(fan2: Fan) -> list[str]:
    return [d["id"] for d in fan2.get("/derivatives", params={"mine": "false"}).json()]


def test_a_track_that_asks_for_review_holds_remixes_until_the_artist_decides(
    client: TestClient, studio: Studio
) -> None:
    artist = Fan.sign_in(client, "nova-lane")
    fan, fan2 = Fan.sign_in(client, "fan", studio.keys), Fan.sign_in(client, "fan2")
    policy = artist.get(f"/tracks/{TRACK}").json()["policy"] | {"review": "artist"}
    saved = client.patch(f"{API}/tracks/{TRACK}", headers=artist.headers, json={"policy": policy})
    assert saved.status_code == 200
    first, second = drums_down(studio), drums_down(studio).with_stem("bass", mute=True)
    made = [fan.publish(r, studio.flac(r)).json() for r in (first, second)]
    assert [d["status"] for d in made] == ["awaiting review", "awaiting review"]
    assert heard_by_others(fan2) == []
    assert (
        client.get(f"{API}/derivatives/{made[0]['id']}/stream", headers=fan2.headers).status_code
        == 404
    )
    # The artist sees both, hears them, and decides.
    waiting = artist.get(f"/tracks/{TRACK}/derivatives").json()
    assert {d["id"] for d in waiting} == {d["id"] for d in made}
    assert (
        client.get(f"{API}/derivatives/{made[0]['id']}/stream", headers=artist.headers).status_code
        == 200
    )
    no_reason = decide(client, artist, made[1]["id"], "refuse")
    assert no_reason.status_code == 422 and "the fan who made it sees" in no_reason.json()["detail"]
    assert decide(client, artist, made[0]["id"], "approve").json()["status"] == "published"
    refused = decide(client, artist, made[1]["id"], "refuse", "The pad is the song's heart.")
    assert refused.json()["status"] == "refused"
    assert heard_by_others(fan2) == [made[0]["id"]]
    # The fan sees which went out and why the other did not.
    mine = {d["id"]: (d["status"], d["reason"]) for d in fan.get("/derivatives").json()}
    assert mine == {
        made[0]["id"]: ("published", ""),
        made[1]["id"]: ("refused", "The pad is the song's heart."),
    }
    # A decision is final for its status: a refused remix is not approved later.
    again = decide(client, artist, made[1]["id"], "approve")
    assert again.status_code == 422 and "refused" in again.json()["detail"]
    fields = [e["field"] for e in artist.get(f"/tracks/{TRACK}/audit").json()]
    assert fields[-3:] == ["policy", f"derivative {made[0]['id']}", f"derivative {made[1]['id']}"]


def test_a_published_remix_is_taken_down_with_a_reason_only_by_the_artist(
    client: TestClient, studio: Studio
) -> None:
    artist, other = Fan.sign_in(client, "nova-lane"), Fan.sign_in(client, "marlow-reed")
    fan, fan2 = Fan.sign_in(client, "fan", studio.keys), Fan.sign_in(client, "fan2")
    recipe = drums_down(studio)
    made = fan.publish(recipe, studio.flac(recipe)).json()
    assert made["status"] == "published" and heard_by_others(fan2) == [made["id"]]
    assert decide(client, fan, made["id"], "take down", "mine").status_code == 403
    assert decide(client, fan2, made["id"], "take down", "spite").status_code == 403
    assert decide(client, other, made["id"], "take down", "rival").status_code == 403
    assert decide(client, artist, made["id"], "delete").status_code == 422
    down = decide(client, artist, made["id"], "take down", "It samples a voice that is not ours.")
    assert down.json()["status"] == "taken down"
    assert heard_by_others(fan2) == []
    assert fan.get(f"/derivatives/{made['id']}").json()["reason"] == (
        "It samples a voice that is not ours."
    )
    assert artist.get("/tracks/copper-wire/derivatives").status_code == 404  # not theirs
