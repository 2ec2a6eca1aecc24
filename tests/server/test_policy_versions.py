# SPDX-License-Identifier: GPL-3.0-or-later
"""A policy over time on the real API: each save a version with its history, new licences
under the new one, a licence in force keeping its own terms, and contradictions refused as
sentences before anything is saved."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.platform import API, TRACK, Fan, Studio, TestClient, drums_down, open_client


@pytest.fixture
def client(platform_dir: Path) -> Iterator[TestClient]:
    with open_client(platform_dir) as client:
        yield client


def save(client: TestClient, artist: Fan, **changes: Any) -> Any:
    policy = artist.get(f"/tracks/{TRACK}").json()["policy"] | changes
    return client.patch(f"{API}/tracks/{TRACK}", headers=artist.headers, json={"policy": policy})


def test_a_saved_policy_is_a_new_version_and_the_history_keeps_the_old(
    client: TestClient,
) -> None:
    artist = Fan.sign_in(client, "nova-lane")
    assert artist.get(f"/tracks/{TRACK}").json()["policy_version"] == 1
    answer = save(client, artist, min_audible_stems=4)
    assert answer.status_code == 200 and answer.json()["policy_version"] == 2
    history = artist.get(f"/tracks/{TRACK}/policies").json()
    assert [(v["version"], v["by"], v["policy"]["min_audible_stems"]) for v in history] == [
        (1, "nova-lane", 2),
        (2, "nova-lane", 4),
    ]
    # Saving the same policy again makes no version.
    assert save(client, artist, min_audible_stems=4).json()["policy_version"] == 2


def test_a_licence_in_force_keeps_its_terms_until_it_is_renewed(
    client: TestClient, studio: Studio
) -> None:
    artist = Fan.sign_in(client, "nova-lane")
    fan = Fan.sign_in(client, "fan", studio.keys)
    held = fan.licence()  # under version 1: two stems audible, split 60/10/30
    recipe = drums_down(studio).with_stem("pad", mute=True).with_stem("keys", mute=True)
    split = {"artist": 0.7, "fan": 0.1, "platform": 0.2}
    assert save(client, artist, min_audible_stems=4, revenue_split=split).status_code == 200
    audio = studio.flac(recipe)
    # Made under the licence in force: checked, and published, with that licence's terms.
    made = fan.upload(recipe, fan.signed(recipe, audio, held))
    assert made.status_code == 201, made.text
    doc = made.json()
    assert doc["disclosure"]["policy_version"] == 1
    assert doc["attribution"]["split"] == {"artist": 0.6, "fan": 0.1, "platform": 0.3}
    # Under a new licence, the new terms: three stems are too few now.
    again = fan.publish(recipe.with_title("Again"), audio)
    assert again.status_code == 422
    assert "at least 4 stems audible" in again.json()["detail"]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"min_audible_stems": 6}, "asks for 6 stems audible, and the track has 5"),
        ({"stems": {"vocals": {"solo": False}}}, "rules for stems the track does not have"),
        ({"min_audible_stems": 0}, "at least 1 stem audible"),
        ({"tempo_ratio_range": [1.2, 0.9]}, "is reversed"),
        ({"revenue_split": {"artist": 0.7, "fan": 0.2}}, "must add up to 1"),
    ],
    ids=["more-stems-than-the-track", "a-stem-it-lacks", "none-audible", "inverted", "split"],
)
def test_a_contradiction_is_refused_as_a_sentence_and_nothing_is_saved(
    client: TestClient, changes: dict[str, Any], reason: str
) -> None:
    artist = Fan.sign_in(client, "nova-lane")
    before = artist.get(f"/tracks/{TRACK}").json()
    audited = artist.get(f"/tracks/{TRACK}/audit").json()
    answer = save(client, artist, **changes)
    assert answer.status_code == 422
    assert reason in answer.json()["detail"]
    after = artist.get(f"/tracks/{TRACK}").json()
    assert (after["policy"], after["policy_version"]) == (before["policy"], 1)
    assert artist.get(f"/tracks/{TRACK}/audit").json() == audited


def _preview(client: TestClient, who: Fan, draft: dict[str, Any]) -> Any:
    body = {"track_id": TRACK, "device_id": who.device_id, "preview_policy": draft}
    return client.post(f"{API}/licences", headers=who.headers, json=body)


def test_only_the_artist_previews_a_draft_and_nothing_made_in_it_is_published(
    client: TestClient, studio: Studio
) -> None:
    from app.core.licence import verify_licence
    from tests.helpers.platform import pinned_keys

    artist = Fan.sign_in(client, "nova-lane", studio.keys)
    fan = Fan.sign_in(client, "fan2")
    live = artist.get(f"/tracks/{TRACK}").json()["policy"]
    draft = live | {"min_audible_stems": 3, "tempo_ratio_range": [0.9, 1.1]}
    answer = _preview(client, artist, draft)
    assert answer.status_code == 201, answer.text
    licence = verify_licence(answer.content, pinned_keys(client), now=time.time())
    assert licence.policy["min_audible_stems"] == 3 and licence.policy["tempo_ratio_range"] == [
        0.9,
        1.1,
    ]
    assert licence.rights["publish"] is False and licence.offline_grace_s == 0
    # The live policy is untouched, and a fan cannot preview.
    assert artist.get(f"/tracks/{TRACK}").json()["policy_version"] == 1
    refused = _preview(client, fan, draft)
    assert refused.status_code == 403 and "Only the track's artist" in refused.json()["detail"]
    contradiction = _preview(client, artist, live | {"min_audible_stems": 9})
    assert contradiction.status_code == 422
    # A remix signed under the preview licence, even one the draft allows, is not published.
    recipe = drums_down(studio)
    audio = studio.flac(recipe)
    upload = artist.upload(recipe, artist.signed(recipe, audio, licence))
    assert upload.status_code == 403 and "preview" in upload.json()["detail"]
    # Renewed, it is the same draft's preview.
    renewed = client.post(f"{API}/licences/{licence.licence_id}/renew", headers=artist.headers)
    again = verify_licence(renewed.content, pinned_keys(client), now=time.time())
    assert again.policy["min_audible_stems"] == 3 and again.rights["publish"] is False
