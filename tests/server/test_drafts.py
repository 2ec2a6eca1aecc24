# SPDX-License-Identifier: GPL-3.0-or-later
"""Drafts on the platform: a fan's projects kept for their other machines, private to them,
with the remixes published from each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core.project import Project, new_project_id
from app.server.routes import drafts as drafts_route
from tests.helpers.platform import API, Fan, Studio, drums_down, open_client


def _document(studio: Studio, title: str = "Night drive", **recipe: float) -> dict:
    made = drums_down(studio).with_title(title)
    if recipe:
        made = made.with_stem("bass", **recipe)
    project = Project(new_project_id(), made, "Neon Harbour", "Nova Lane", "fan", 3.5)
    return project.to_dict()


def _put(fan: Fan, document: dict, project_id: str | None = None):
    return fan.client.put(
        f"{API}/drafts/{project_id or document['id']}", headers=fan.headers, json=document
    )


def test_a_draft_is_kept_listed_with_what_was_published_from_it_and_deleted(
    platform_dir: Path, studio: Studio
) -> None:
    with open_client(platform_dir) as client:
        fan = Fan.sign_in(client, "fan", studio.keys)
        document = _document(studio)
        created = _put(fan, document)
        assert created.status_code == 201, created.text
        assert created.json()["remixes"] == []
        document["recipe"]["title"] = "Night drive II"
        assert _put(fan, document).status_code == 200
        assert fan.get(f"/drafts/{document['id']}").json() == document
        # Published from it: the studio names the project with the upload.
        recipe = drums_down(studio)
        signed = fan.signed(recipe, studio.flac(recipe), fan.licence())
        published = fan.post_parts(
            {"audio": signed, "recipe": recipe.to_json().encode()},
            headers={"X-Fanfare-Project": document["id"]},
        )
        assert published.status_code == 201, published.text
        [listed] = fan.get("/drafts").json()
        assert listed["title"] == "Night drive II" and listed["track_title"] == "Neon Harbour"
        assert [r["id"] for r in listed["remixes"]] == [published.json()["id"]]
        deleted = client.delete(f"{API}/drafts/{document['id']}", headers=fan.headers)
        assert deleted.status_code == 204
        assert fan.get("/drafts").json() == []


def test_another_account_can_neither_read_overwrite_nor_delete_a_draft(
    platform_dir: Path, studio: Studio
) -> None:
    with open_client(platform_dir) as client:
        fan, fan2 = Fan.sign_in(client, "fan", studio.keys), Fan.sign_in(client, "fan2")
        document = _document(studio)
        assert _put(fan, document).status_code == 201
        path = f"/drafts/{document['id']}"
        assert fan2.get(path).status_code == 404
        assert _put(fan2, _document(studio) | {"id": document["id"]}).status_code in (404, 422)
        assert client.delete(API + path, headers=fan2.headers).status_code == 404
        assert fan2.get("/drafts").json() == []
        assert fan.get(path).json() == document  # untouched


REFUSED = [
    (lambda d: d.update(schema="x"), "not a Fanfare project"),
    (lambda d: d["recipe"].update(track={"id": "no-such-song", "version": 1}), "another track"),
    (lambda d: d.update(id=new_project_id()), "not the one in the address"),
    (lambda d: d["view"].update(position_s=-5), "playhead"),
]


def test_what_is_not_a_project_is_refused_with_the_reason(
    platform_dir: Path, studio: Studio
) -> None:
    with open_client(platform_dir) as client:
        fan = Fan.sign_in(client, "fan", studio.keys)
        for change, words in REFUSED:
            document = _document(studio)
            project_id = document["id"]
            change(document)
            answer = _put(fan, document, project_id)
            assert answer.status_code == 422, answer.text
            assert words in json.dumps(answer.json()), answer.text
        assert fan.get("/drafts").json() == []


def test_an_account_keeps_a_bounded_number_of_drafts(
    platform_dir: Path, studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(drafts_route, "MAX_DRAFTS", 2)
    with open_client(platform_dir) as client:
        fan = Fan.sign_in(client, "fan", studio.keys)
        for n in range(2):
            assert _put(fan, _document(studio, f"Take {n}")).status_code == 201
        refused = _put(fan, _document(studio, "One more"))
        assert refused.status_code == 409 and "delete one" in refused.json()["detail"]
