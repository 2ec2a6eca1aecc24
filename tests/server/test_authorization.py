# SPDX-License-Identifier: GPL-3.0-or-later
"""Who may do what on the platform API: an authorization matrix, attacks, limits and garbage.

``MATRIX`` is the readable core: one line per endpoint, one column per actor (anonymous, the
fan who owns the device, licence and derivative in question, another fan, the track's artist,
another artist, an admin), each cell the status a trustworthy platform answers. The cells run
against one seeded platform per module; a cell that changes something (a revocation, a track's
state) works on its own fresh resource or puts the track back afterwards.

The sections after it are the attacks a modified client could try (other people's devices and
licences, revoked licences, traversal in ids, oversized or length-less bodies, garbage in every
JSON field), the rate limits, and artists changing their policy (including the numbers and
typos that once broke licensing).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.core.encoding import b64u
from app.core.keys import DeviceKeys, sign_in_proof
from app.core.licence import verify_licence, verify_revocations
from app.core.policy import Policy
from app.core.project import Project, new_project_id
from app.server import ratelimit
from app.server.api import create_app
from app.server.config import ServerConfig
from app.server.db import PublishJob
from app.server.routes import derivatives as derivative_routes
from app.server.style_models import shipped_packages
from tests.helpers.platform import (
    API,
    PASSWORD,
    TRACK,
    Fan,
    Studio,
    TestClient,
    copy_platform,
    device_body,
    drums_down,
    open_client,
    pinned_keys,
)

ANON, FAN, FAN2, ARTIST, OTHER_ARTIST, ADMIN = (
    "anonymous",
    "the fan",
    "another fan",
    "the artist",
    "another artist",
    "admin",
)
ACTORS = (ANON, FAN, FAN2, ARTIST, OTHER_ARTIST, ADMIN)
ACCOUNTS = {
    FAN: "fan",
    FAN2: "fan2",
    ARTIST: "nova-lane",
    OTHER_ARTIST: "marlow-reed",
    ADMIN: "admin",
}
SUPERFAN_TRACK = "copper-wire"  # marlow-reed's, open to superfans only


def _shipped_model() -> str:
    """The API path of a style model shipped in models/ (the seed registers them all)."""
    packages = shipped_packages()
    assert packages, "no style model is shipped in models/"
    doc = json.loads((packages[0] / "manifest.json").read_text())
    return f"/models/{doc['id']}/{doc['model_version']}"


MODEL = _shipped_model()
UNLIMITED = 1e9  # per minute: the matrix's own requests never meet a rate limit


# --- a platform with every actor signed in --------------------------------------------------------


@dataclass
class World:
    """One platform where each signed-in actor has a device and the fan has published a remix."""

    client: TestClient
    users: dict[str, Fan]
    studio: Studio
    derivative_id: str
    uploads: int = 0  # genuine uploads made: each is a remix of its own (the spam gate)
    publish_id: str = "the-fans-first-upload"  # its progress was kept under this id
    job_id: str = ""  # the job that verified and published it

    @property
    def fan(self) -> Fan:
        return self.users[FAN]

    def headers(self, actor: str) -> dict[str, str]:
        return {} if actor == ANON else self.users[actor].headers

    def device_of(self, actor: str) -> str:
        """The actor's enrolled device (anonymous has none and names the fan's)."""
        return self.users[FAN if actor == ANON else actor].device_id

    def request(
        self, actor: str, method: str, path: str, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        headers = self.headers(actor) | (headers or {})
        return self.client.request(method, API + path, headers=headers, **kw)

    def fan_parts(self) -> dict[str, bytes]:
        """A genuine upload by the fan: the render signed under a new licence, and its recipe;
        each call a remix that sounds unlike the ones before."""
        # The first is drums_down; each later one has the pad back and another stem out.
        muted = ("drums", "bass", "lead")[self.uploads % 3]
        recipe = drums_down(self.studio)
        if self.uploads:
            recipe = recipe.with_stem(muted, mute=True).with_stem("pad", mute=False)
        self.uploads += 1
        signed = self.fan.signed(recipe, self.studio.flac(recipe), self.fan.licence())
        return {"audio": signed, "recipe": recipe.to_json().encode()}


@pytest.fixture(scope="module")
def shared_studio(request: pytest.FixtureRequest) -> Studio:
    """The platform tests' studio: neon-harbour's stems, opened once through the API."""
    return request.getfixturevalue("studio")


@pytest.fixture(scope="module")
def world(
    seeded_platform_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
    shared_studio: Studio,
) -> Iterator[World]:
    data_dir = copy_platform(seeded_platform_template, tmp_path_factory.mktemp("authz") / "p")
    with open_client(data_dir, login_per_minute=UNLIMITED, licence_per_minute=UNLIMITED) as client:
        users = {actor: Fan.sign_in(client, name) for actor, name in ACCOUNTS.items()}
        built = World(client, users, shared_studio, derivative_id="")
        published = built.fan.post_parts(
            built.fan_parts(), headers={"X-Fanfare-Publish": built.publish_id}
        )
        assert published.status_code == 201, published.text
        built.derivative_id = published.json()["id"]
        with client.app.state.platform.sessions() as session:  # type: ignore[attr-defined]
            built.job_id = session.scalars(
                select(PublishJob.id).where(PublishJob.derivative_id == built.derivative_id)
            ).one()
        yield built


@pytest.fixture
def fresh(platform_dir: Path) -> Iterator[TestClient]:
    """A platform of its own, for tests that change what others would see."""
    with open_client(platform_dir) as client:
        yield client


def assert_answer(response: httpx.Response, expected: int) -> None:
    """The status, and for an error the documented shape: JSON ``{"detail": "<sentence>"}``."""
    assert response.status_code == expected, response.text[:300]
    if expected >= 400:
        assert response.headers["content-type"].startswith("application/json")
        detail = response.json()["detail"]
        assert isinstance(detail, str) and detail


# --- the endpoints, as each actor calls them ------------------------------------------------------

Call = Callable[[World, str], httpx.Response]


def _get(path: str) -> Call:
    return lambda w, actor: w.request(actor, "GET", path)


def _login(w: World, actor: str) -> httpx.Response:
    # Signing in needs no token: anonymous is who signs in (here, as the fan).
    body = {"username": ACCOUNTS.get(actor, "fan"), "password": PASSWORD}
    return w.client.post(f"{API}/auth/login", json=body)


def _logout(w: World, actor: str) -> httpx.Response:
    # A fresh session of the actor's own, so the world's tokens stay valid for the other cells.
    if actor == ANON:
        return w.client.post(f"{API}/auth/logout")
    body = {"username": ACCOUNTS[actor], "password": PASSWORD}
    token = w.client.post(f"{API}/auth/login", json=body).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    response = w.client.post(f"{API}/auth/logout", headers=headers)
    assert w.client.get(f"{API}/auth/me", headers=headers).status_code == 401  # it is gone
    return response


def _fresh_session(w: World, actor: str) -> dict[str, str]:
    """A new password sign-in of ``actor`` (the world's sessions are bound to their devices:
    a new device needs a new sign-in)."""
    if actor == ANON:
        return {}
    body = {"username": ACCOUNTS[actor], "password": PASSWORD}
    return {
        "Authorization": f"Bearer {w.client.post(f'{API}/auth/login', json=body).json()['token']}"
    }


def _enrol(w: World, actor: str) -> httpx.Response:
    headers = _fresh_session(w, actor)
    return w.client.post(f"{API}/devices", headers=headers, json=device_body(DeviceKeys.generate()))


def _delete_fans_device(w: World, actor: str) -> httpx.Response:
    session = _fresh_session(w, FAN)
    created = w.client.post(
        f"{API}/devices", headers=session, json=device_body(DeviceKeys.generate())
    )
    device_id = created.json()["device_id"]
    try:
        return w.request(actor, "DELETE", f"/devices/{device_id}")
    finally:  # stay under the per-account device limit
        w.request(FAN, "DELETE", f"/devices/{device_id}")


def _patch_track(w: World, actor: str) -> httpx.Response:
    return w.request(actor, "PATCH", f"/tracks/{TRACK}", json={"remix_opt_in": True})


def _licence_for(track_id: str) -> Call:
    def call(w: World, actor: str) -> httpx.Response:
        body = {"track_id": track_id, "device_id": w.device_of(actor)}
        return w.request(actor, "POST", "/licences", json=body)

    return call


def _on_the_fans_licence(action: str) -> Call:
    def call(w: World, actor: str) -> httpx.Response:
        licence_id = w.fan.licence().licence_id  # a fresh one each time: revoking is final
        return w.request(actor, "POST", f"/licences/{licence_id}/{action}")

    return call


def _upload_fans_parts(w: World, actor: str) -> httpx.Response:
    as_actor = replace(w.fan, headers=w.headers(actor))
    return as_actor.post_parts(w.fan_parts())


def _fans_derivative_post(suffix: str, body: dict[str, Any]) -> Call:
    return lambda w, actor: w.request(
        actor, "POST", f"/derivatives/{w.derivative_id}{suffix}", json=body
    )


def _fans_derivative(suffix: str = "") -> Call:
    return lambda w, actor: w.request(actor, "GET", f"/derivatives/{w.derivative_id}{suffix}")


@contextmanager
def neon_harbour(w: World, **changes: bool) -> Iterator[None]:
    """The artist changes neon-harbour's flags for the duration, then puts them back."""
    before = w.request(ARTIST, "GET", f"/tracks/{TRACK}").json()
    response = w.request(ARTIST, "PATCH", f"/tracks/{TRACK}", json=changes)
    assert response.status_code == 200, response.text
    try:
        yield
    finally:
        restore = {name: before[name] for name in changes}
        assert w.request(ARTIST, "PATCH", f"/tracks/{TRACK}", json=restore).status_code == 200


def _while(call: Call, **changes: bool) -> Call:
    def wrapped(w: World, actor: str) -> httpx.Response:
        with neon_harbour(w, **changes):
            return call(w, actor)

    return wrapped


UPLOAD_META = {
    "title": "Matrix",
    "bpm": 100,
    "stems": [{"kind": "keys", "size": 10, "sha256": "0" * 64}],
}


def _artists_upload(then: str) -> Call:
    """The artist opens an upload; the actor then GETs it, PUTs a piece or finishes it."""

    def call(w: World, actor: str) -> httpx.Response:
        opened = w.request(ARTIST, "POST", "/uploads", json=UPLOAD_META)
        assert opened.status_code == 201, opened.text
        path = f"/uploads/{opened.json()['upload_id']}"
        if then == "get":
            return w.request(actor, "GET", path)
        if then == "put":
            headers = {"content-type": "application/octet-stream"}
            return w.request(
                actor, "PUT", f"{path}/stems/keys?offset=0", content=b"k" * 10, headers=headers
            )
        return w.request(actor, "POST", f"{path}/finish")

    return call


def _warm_licensed(w: World, actor: str) -> httpx.Response:
    """A licence for the track first (where the actor may have one), then the written tempo
    and key: nothing to stretch, so the platform answers without working."""
    if actor != ANON:
        w.request(actor, "POST", "/licences", json={"track_id": TRACK,
                                                    "device_id": w.device_of(actor)})  # fmt: skip
    recipe = json.loads(w.studio.recipe.to_json())
    return w.request(actor, "POST", f"/tracks/{TRACK}/warm", json=recipe)


def _draft_document(w: World, actor: str) -> dict[str, Any]:
    """A project of the actor's (the fan's for anonymous), new each call."""
    who = FAN if actor == ANON else actor
    project = Project(new_project_id(), w.studio.recipe, "Neon Harbour", "Nova Lane", who)
    return project.to_dict()


def _on_a_fans_draft(method: str) -> Call:
    """A draft the fan keeps (new for each cell), then ``method`` on it by the actor."""

    def call(w: World, actor: str) -> httpx.Response:
        document = _draft_document(w, FAN)
        w.request(FAN, "PUT", f"/drafts/{document['id']}", json=document).raise_for_status()
        path = f"/drafts/{document['id']}"
        if method == "PUT":
            return w.request(actor, "PUT", path, json=document)
        return w.request(actor, method, path)

    return call


def _own_draft(w: World, actor: str) -> httpx.Response:
    document = _draft_document(w, actor)
    return w.request(actor, "PUT", f"/drafts/{document['id']}", json=document)


STEM = f"/tracks/{TRACK}/versions/1/stems/bass"
ENVELOPES = f"/tracks/{TRACK}/versions/1/envelopes"
ENDPOINTS: dict[str, Call] = {
    "POST login": _login,
    "GET me": _get("/auth/me"),
    "POST logout": _logout,
    "GET platform keys": _get("/platform/keys"),
    "GET platform CA": _get("/platform/ca"),
    "POST device": _enrol,
    "GET devices": _get("/devices"),
    "DELETE the fan's device": _delete_fans_device,
    "GET tracks": _get("/tracks"),
    "GET track": _get(f"/tracks/{TRACK}"),
    "PATCH track": _patch_track,
    "GET stem": _get(STEM),
    "GET stem envelopes": _get(ENVELOPES),
    "GET superfan-only track's envelopes": _get(f"/tracks/{SUPERFAN_TRACK}/versions/1/envelopes"),
    "GET opted-out track's envelopes": _while(_get(ENVELOPES), remix_opt_in=False),
    "GET unpublished track's envelopes": _while(_get(ENVELOPES), published=False),
    "GET models": _get("/models"),
    "GET model manifest": _get(f"{MODEL}/manifest"),
    "GET model file": _get(f"{MODEL}/files/model.onnx"),
    "POST licence": _licence_for(TRACK),
    "POST renew the fan's licence": _on_the_fans_licence("renew"),
    "POST revoke the fan's licence": _on_the_fans_licence("revoke"),
    "GET revocations": _get("/licences/revocations"),
    "POST derivative (the fan's signed parts)": _upload_fans_parts,
    "GET derivatives": _get("/derivatives"),
    "GET the fan's publishing progress": lambda w, actor: w.request(
        actor, "GET", f"/derivatives/publishing/{w.publish_id}"
    ),
    "GET the fan's upload job": lambda w, actor: w.request(
        actor, "GET", f"/derivatives/jobs/{w.job_id}"
    ),
    "POST warm a tempo of the track (holding a licence)": _warm_licensed,
    "GET the fan's derivative": _fans_derivative(),
    "GET the fan's derivative audio": _fans_derivative("/audio"),
    "GET feed": _get("/feed"),
    "POST listen licence for the fan's derivative": lambda w, actor: w.request(
        actor,
        "POST",
        f"/derivatives/{w.derivative_id}/listen",
        json={"device_id": w.device_of(actor)},
    ),
    "GET the fan's derivative stream": _fans_derivative("/stream"),
    "GET the fan's walled derivative download": _fans_derivative("/download"),
    "POST plays": lambda w, actor: w.request(actor, "POST", "/plays", json={"reports": [{}]}),
    "GET earnings": _get("/earnings"),
    "POST report the fan's derivative": _fans_derivative_post(
        "/report", {"reason": "It sounds like the original."}
    ),
    "GET moderation queue": _get("/moderation"),
    "PUT a draft of one's own": _own_draft,
    "PUT the fan's draft": _on_a_fans_draft("PUT"),
    "GET drafts": _get("/drafts"),
    "GET the fan's draft": _on_a_fans_draft("GET"),
    "DELETE the fan's draft": _on_a_fans_draft("DELETE"),
    "POST moderation decision on the fan's derivative": lambda w, actor: w.request(
        actor, "POST", f"/moderation/{w.derivative_id}", json={"action": "restore"}
    ),  # it is published: restoring it is refused (422) even to a moderator
    "GET upload metrics": _get("/admin/metrics"),
    "POST licence superfan-only track": _licence_for(SUPERFAN_TRACK),
    "POST licence opted-out track": _while(_licence_for(TRACK), remix_opt_in=False),
    "GET unpublished track": _while(_get(f"/tracks/{TRACK}"), published=False),
    "GET unpublished track's stem": _while(_get(STEM), published=False),
    "POST licence unpublished track": _while(_licence_for(TRACK), published=False),
    "PATCH unpublished track": _while(_patch_track, published=False),
    "POST track state": lambda w, actor: w.request(
        actor, "POST", f"/tracks/{TRACK}/state", json={"state": "live"}
    ),
    "GET track audit": _get(f"/tracks/{TRACK}/audit"),
    "GET track policies": _get(f"/tracks/{TRACK}/policies"),
    "GET track derivatives": _get(f"/tracks/{TRACK}/derivatives"),
    "POST upload": lambda w, actor: w.request(actor, "POST", "/uploads", json=UPLOAD_META),
    "GET the artist's upload": _artists_upload("get"),
    "PUT a piece of the artist's upload": _artists_upload("put"),
    "POST finish the artist's upload": _artists_upload("finish"),
    "POST decision on the fan's derivative": lambda w, actor: w.request(
        actor,
        "POST",
        f"/derivatives/{w.derivative_id}/decision",
        json={"decision": "approve"},  # it is published: the decision itself is refused (422)
    ),
    "GET my tracks": _get("/tracks?mine=true"),
    "POST unpublished track state": _while(
        lambda w, actor: w.request(actor, "POST", f"/tracks/{TRACK}/state", json={"state": "live"}),
        published=False,
    ),
}


def row(endpoint: str, *statuses: int) -> list[tuple[str, str, int]]:
    assert endpoint in ENDPOINTS
    return [(endpoint, actor, status) for actor, status in zip(ACTORS, statuses, strict=True)]


# fmt: off
MATRIX = [
    #                                              anon  fan fan2 artist other admin
    *row("POST login",                               200, 200, 200, 200, 200, 200),
    *row("GET me",                                   401, 200, 200, 200, 200, 200),
    *row("POST logout",                              401, 200, 200, 200, 200, 200),
    *row("GET platform keys",                        200, 200, 200, 200, 200, 200),
    *row("GET platform CA",                          200, 200, 200, 200, 200, 200),
    *row("POST device",                              401, 201, 201, 201, 201, 201),
    *row("GET devices",                              401, 200, 200, 200, 200, 200),
    *row("DELETE the fan's device",                  401, 200, 404, 404, 404, 200),
    *row("GET tracks",                               401, 200, 200, 200, 200, 200),
    *row("GET track",                                401, 200, 200, 200, 200, 200),
    *row("PATCH track",                              401, 403, 403, 200, 403, 200),
    *row("GET stem",                                 401, 200, 200, 200, 200, 200),
    # A stem's outline is not audio, yet it is for whoever may license the track, as a licence.
    *row("GET stem envelopes",                       401, 200, 200, 200, 200, 200),
    *row("GET superfan-only track's envelopes",      401, 200, 403, 403, 200, 200),
    *row("GET opted-out track's envelopes",          401, 403, 403, 200, 403, 200),
    *row("GET unpublished track's envelopes",        401, 404, 404, 200, 404, 200),
    *row("GET models",                               401, 200, 200, 200, 200, 200),
    *row("GET model manifest",                       401, 200, 200, 200, 200, 200),
    *row("GET model file",                           401, 200, 200, 200, 200, 200),
    *row("POST licence",                             401, 201, 201, 201, 201, 201),
    *row("POST renew the fan's licence",             401, 201, 404, 404, 404, 403),
    *row("POST revoke the fan's licence",            401, 403, 403, 403, 403, 200),
    *row("GET revocations",                          401, 200, 200, 200, 200, 200),
    *row("POST derivative (the fan's signed parts)", 401, 201, 403, 403, 403, 403),
    *row("GET derivatives",                          401, 200, 200, 200, 200, 200),
    # How far an upload's verification is: for its uploader alone.
    *row("GET the fan's publishing progress",        401, 200, 404, 404, 404, 404),
    *row("GET the fan's upload job",                 401, 200, 404, 404, 404, 404),
    # Anyone holding a licence for the track version says what tempo they work at (without
    # one: 403, in test_warming).
    *row("POST warm a tempo of the track (holding a licence)", 401, 202, 202, 202, 202, 202),
    *row("GET the fan's derivative",                 401, 200, 200, 200, 200, 200),
    # A remix's plaintext is for an admin alone (audited); everyone streams the ciphertext
    # under a listen licence for their own device, and a walled remix downloads for nobody.
    *row("GET the fan's derivative audio",           401, 403, 403, 403, 403, 200),
    *row("GET feed",                                 401, 200, 200, 200, 200, 200),
    *row("POST listen licence for the fan's derivative", 401, 201, 201, 201, 201, 201),
    *row("GET the fan's derivative stream",          401, 200, 200, 200, 200, 200),
    *row("GET the fan's walled derivative download", 401, 403, 403, 403, 403, 403),
    *row("POST plays",                               401, 200, 200, 200, 200, 200),
    *row("GET earnings",                             401, 200, 200, 200, 200, 200),
    # Anyone who can hear a remix may report it, once; its maker may not.
    *row("POST report the fan's derivative",         401, 422, 201, 201, 201, 201),
    *row("GET moderation queue",                     401, 403, 403, 403, 403, 200),
    # A draft is its owner's alone, admins included: anyone else is told there is none.
    *row("PUT a draft of one's own",                 401, 201, 201, 201, 201, 201),
    *row("PUT the fan's draft",                      401, 200, 404, 404, 404, 404),
    *row("GET drafts",                               401, 200, 200, 200, 200, 200),
    *row("GET the fan's draft",                      401, 200, 404, 404, 404, 404),
    *row("DELETE the fan's draft",                   401, 204, 404, 404, 404, 404),
    *row("POST moderation decision on the fan's derivative", 401, 403, 403, 403, 403, 422),
    *row("GET upload metrics",                       401, 403, 403, 403, 403, 200),
    # The track's state decides what fans may see and license; its artist (previewing their
    # own policy) and admins still may. copper-wire is marlow-reed's: "another artist" here.
    *row("POST licence superfan-only track",         401, 201, 403, 403, 201, 201),
    *row("POST licence opted-out track",             401, 403, 403, 201, 403, 201),
    *row("GET unpublished track",                    401, 404, 404, 200, 404, 200),
    *row("GET unpublished track's stem",             401, 404, 404, 200, 404, 200),
    *row("POST licence unpublished track",           401, 404, 404, 201, 404, 201),
    *row("PATCH unpublished track",                  401, 404, 404, 200, 404, 200),
    # States and their audit are the artist's and admins' alone.
    *row("POST track state",                         401, 403, 403, 200, 403, 200),
    *row("GET track audit",                          401, 403, 403, 200, 403, 200),
    *row("GET track policies",                       401, 403, 403, 200, 403, 200),
    *row("GET track derivatives",                    401, 404, 404, 200, 404, 200),
    # Uploads are their artist's (and an admin's); finishing one with nothing sent says so.
    *row("POST upload",                              401, 403, 403, 201, 201, 201),
    *row("GET the artist's upload",                  401, 404, 404, 200, 404, 200),
    *row("PUT a piece of the artist's upload",       401, 404, 404, 200, 404, 200),
    *row("POST finish the artist's upload",          401, 404, 404, 409, 404, 409),
    *row("POST decision on the fan's derivative",    401, 403, 403, 422, 403, 422),
    *row("GET my tracks",                            401, 200, 200, 200, 200, 200),
    *row("POST unpublished track state",             401, 404, 404, 200, 404, 200),
]
# fmt: on


@pytest.mark.parametrize(
    ("endpoint", "actor", "expected"),
    MATRIX,
    ids=[f"{endpoint} | {actor} -> {expected}" for endpoint, actor, expected in MATRIX],
)
def test_authorization_matrix(world: World, endpoint: str, actor: str, expected: int) -> None:
    response = ENDPOINTS[endpoint](world, actor)
    assert_answer(response, expected)
    if expected == 401:  # a bearer challenge, not a wrong password
        assert response.headers.get("www-authenticate") == "Bearer"


def test_the_matrix_covers_every_api_route(world: World) -> None:
    # A new route fails this until it has its line in MATRIX (and here).
    paths = world.client.app.openapi()["paths"]
    routes = {(method.upper(), path) for path, methods in paths.items() for method in methods}
    covered = {
        ("POST", "/auth/login"),
        ("GET", "/auth/me"),
        ("POST", "/auth/logout"),
        ("GET", "/platform/keys"),
        ("GET", "/platform/ca"),
        ("POST", "/devices"),
        ("GET", "/devices"),
        ("DELETE", "/devices/{device_id}"),
        ("GET", "/tracks"),
        ("GET", "/tracks/{track_id}"),
        ("PATCH", "/tracks/{track_id}"),
        ("POST", "/tracks/{track_id}/state"),
        ("POST", "/tracks/{track_id}/warm"),
        ("GET", "/tracks/{track_id}/audit"),
        ("GET", "/tracks/{track_id}/policies"),
        ("GET", "/tracks/{track_id}/derivatives"),
        ("POST", "/uploads"),
        ("GET", "/uploads/{upload_id}"),
        ("PUT", "/uploads/{upload_id}/stems/{kind}"),
        ("POST", "/uploads/{upload_id}/finish"),
        ("POST", "/derivatives/{derivative_id}/decision"),
        ("GET", "/tracks/{track_id}/versions/{version}/stems/{kind}"),
        ("GET", "/tracks/{track_id}/versions/{version}/envelopes"),
        ("GET", "/models"),
        ("GET", "/models/{model_id}/{version}/manifest"),
        ("GET", "/models/{model_id}/{version}/files/{name}"),
        ("POST", "/licences"),
        ("POST", "/licences/{licence_id}/renew"),
        ("POST", "/licences/{licence_id}/revoke"),
        ("GET", "/licences/revocations"),
        ("POST", "/derivatives"),
        ("GET", "/derivatives"),
        ("GET", "/derivatives/publishing/{publish_id}"),
        ("GET", "/derivatives/jobs/{job_id}"),
        ("GET", "/derivatives/{derivative_id}"),
        ("GET", "/derivatives/{derivative_id}/audio"),
        ("GET", "/feed"),
        ("POST", "/derivatives/{derivative_id}/listen"),
        ("GET", "/derivatives/{derivative_id}/stream"),
        ("GET", "/derivatives/{derivative_id}/download"),
        ("POST", "/plays"),
        ("GET", "/earnings"),
        ("POST", "/derivatives/{derivative_id}/report"),
        ("GET", "/moderation"),
        ("PUT", "/drafts/{project_id}"),
        ("GET", "/drafts"),
        ("GET", "/drafts/{project_id}"),
        ("DELETE", "/drafts/{project_id}"),
        ("POST", "/moderation/{derivative_id}"),
        ("GET", "/admin/metrics"),
    }
    assert routes == {(method, API + path) for method, path in covered}


# --- what each account sees of the others ---------------------------------------------------------


@pytest.mark.parametrize("actor", ACTORS[1:])
def test_an_account_sees_only_its_own_identity_devices_revocations_and_remixes(
    world: World, actor: str
) -> None:
    me = world.request(actor, "GET", "/auth/me").json()
    assert me["name"] == ACCOUNTS[actor]
    devices = {d["device_id"] for d in world.request(actor, "GET", "/devices").json()}
    assert world.device_of(actor) in devices
    assert (world.fan.device_id in devices) == (actor == FAN)
    revocations = world.request(actor, "GET", "/licences/revocations")
    verify_revocations(revocations.content, pinned_keys(world.client), user=me["id"])
    mine = {d["id"] for d in world.request(actor, "GET", "/derivatives").json()}
    assert (world.derivative_id in mine) == (actor == FAN)
    everyone = world.request(actor, "GET", "/derivatives", params={"mine": "false"}).json()
    assert world.derivative_id in {d["id"] for d in everyone}


def test_an_unpublished_track_leaves_fans_catalogues_only(world: World) -> None:
    with neon_harbour(world, published=False):
        for actor in ACTORS[1:]:
            listed = {t["id"] for t in world.request(actor, "GET", "/tracks").json()}
            assert (TRACK in listed) == (actor in (ARTIST, ADMIN)), actor


def test_an_unpublished_tracks_remixes_are_no_longer_served(world: World) -> None:
    """Unpublishing a track stops serving its remixes to others (they were still listed and
    downloadable), who are told why (410); the fan who made one still sees it, and so do the
    track's artist (who looks after its remixes) and an admin."""
    remix = f"/derivatives/{world.derivative_id}"
    with neon_harbour(world, published=False):
        for actor in (FAN2, OTHER_ARTIST):
            assert_answer(world.request(actor, "GET", remix), 410)
            assert_answer(world.request(actor, "GET", f"{remix}/stream"), 410)
            listen = {"device_id": world.device_of(actor)}
            assert_answer(world.request(actor, "POST", f"{remix}/listen", json=listen), 410)
            listed = world.request(actor, "GET", "/derivatives?mine=false").json()
            assert world.derivative_id not in {d["id"] for d in listed}
        for actor in (FAN, ARTIST, ADMIN):
            assert_answer(world.request(actor, "GET", remix), 200)
    assert_answer(world.request(FAN2, "GET", f"{remix}/stream"), 200)  # published again


def test_a_free_fan_is_told_the_track_is_for_superfans(world: World) -> None:
    response = _licence_for(SUPERFAN_TRACK)(world, FAN2)
    assert_answer(response, 403)
    assert "superfans" in response.json()["detail"]


# --- attacks: other people's devices, licences and keys -------------------------------------------


@pytest.mark.parametrize(
    ("actor", "victim"), [(FAN, FAN2), (FAN2, FAN), (ARTIST, FAN), (ADMIN, FAN)]
)
def test_a_licence_for_another_accounts_device_is_403(
    world: World, actor: str, victim: str
) -> None:
    body = {"track_id": TRACK, "device_id": world.device_of(victim)}
    response = world.request(actor, "POST", "/licences", json=body)
    assert_answer(response, 403)
    assert response.json()["detail"] == "That device is not enrolled on your account."


def test_another_fan_cannot_touch_the_fans_device_or_licence(world: World) -> None:
    licence_id = world.fan.licence().licence_id
    assert_answer(world.request(FAN2, "POST", f"/licences/{licence_id}/renew"), 404)
    assert_answer(world.request(FAN2, "POST", f"/licences/{licence_id}/revoke"), 403)
    assert_answer(world.request(FAN2, "DELETE", f"/devices/{world.fan.device_id}"), 404)
    devices = world.request(FAN, "GET", "/devices").json()
    assert {d["device_id"]: d["revoked"] for d in devices}[world.fan.device_id] is False
    assert_answer(world.request(FAN, "POST", f"/licences/{licence_id}/renew"), 201)


def test_a_revoked_devices_session_ends_with_it(fresh: TestClient) -> None:
    """Revoking a device signs it out: its token no longer answers, enrols keys or gets a
    licence (it did all three before sessions were bound to their device)."""
    fan = Fan.sign_in(fresh, "fan")
    assert fan.licence().track == TRACK
    assert_answer(fresh.delete(f"{API}/devices/{fan.device_id}", headers=fan.headers), 200)
    me = fresh.get(f"{API}/auth/me", headers=fan.headers)
    assert_answer(me, 401)
    assert "device was revoked" in me.json()["detail"]
    assert me.headers["x-fanfare-reason"] == "device-revoked"  # the app forgets the device
    new_keys = device_body(DeviceKeys.generate())
    assert_answer(fresh.post(f"{API}/devices", headers=fan.headers, json=new_keys), 401)
    body = {"track_id": TRACK, "device_id": fan.device_id}
    assert_answer(fresh.post(f"{API}/licences", headers=fan.headers, json=body), 401)
    # The password still works, on a new device.
    assert Fan.sign_in(fresh, "fan").licence().track == TRACK


def test_revoking_a_device_from_another_session_ends_only_that_devices_session(
    fresh: TestClient,
) -> None:
    laptop, phone = Fan.sign_in(fresh, "fan"), Fan.sign_in(fresh, "fan")
    response = fresh.delete(f"{API}/devices/{laptop.device_id}", headers=phone.headers)
    assert_answer(response, 200)
    assert_answer(fresh.get(f"{API}/auth/me", headers=laptop.headers), 401)
    assert_answer(fresh.get(f"{API}/auth/me", headers=phone.headers), 200)


def test_a_session_enrols_one_device_and_another_needs_the_password(fresh: TestClient) -> None:
    fan = Fan.sign_in(fresh, "fan")
    # The same keys again (the studio enrols at every start) is the same device.
    again = fresh.post(f"{API}/devices", headers=fan.headers, json=device_body(fan.keys))
    assert_answer(again, 201)
    assert again.json()["device_id"] == fan.device_id
    other = device_body(DeviceKeys.generate(), "another laptop")
    refused = fresh.post(f"{API}/devices", headers=fan.headers, json=other)
    assert_answer(refused, 403)
    assert "sign in again with your password" in refused.json()["detail"]
    second = Fan.sign_in(fresh, "fan")  # a new sign-in may enrol a new device
    # Each session speaks for its own device only.
    body = {"track_id": TRACK, "device_id": fan.device_id}
    crossed = fresh.post(f"{API}/licences", headers=second.headers, json=body)
    assert_answer(crossed, 403)
    assert crossed.json()["detail"] == "This session belongs to another device of your account."


def _answer_to_head(url: str, head: bytes, timeout_s: float = 5.0) -> int | None:
    """Send a request's head and no body; the status the server answers before the body
    comes, or None when it waits for the body."""
    where = httpx.URL(url)
    with socket.create_connection((where.host, where.port), timeout=timeout_s) as sock:
        sock.sendall(head)
        try:
            first = sock.recv(4096)
        except TimeoutError:
            return None
    return int(first.split(b" ", 2)[1]) if first else None


@pytest.mark.integration
@pytest.mark.parametrize(
    ("method", "path", "headers", "expected"),
    [
        ("POST", "/derivatives", "", 401),
        ("POST", "/derivatives", "Authorization: Bearer not-a-session\r\n", 401),
        ("PATCH", "/tracks/derivatives", "", 413),
        ("POST", "/devices/derivatives", "", 413),
    ],
    ids=["upload-signed-out", "upload-bad-token", "patch-ending-in-derivatives", "post-ending"],
)
def test_a_large_body_is_refused_before_it_is_read(
    embedded: Any, method: str, path: str, headers: str, expected: int
) -> None:
    """A 64 MiB body announced to the real server is refused from its head alone: an upload
    without a live session gets its 401 (it was read in full first), and only the upload route
    itself takes a large body (any path ending in /derivatives did)."""
    head = (
        f"{method} {API}{path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}"
        "Content-Type: multipart/form-data; boundary=x\r\n"
        f"Content-Length: {64 * 1024 * 1024}\r\n\r\n"
    ).encode()
    assert _answer_to_head(embedded.url, head) == expected


def test_the_api_documentation_is_served_only_when_the_operator_turns_it_on(
    platform_dir: Path,
) -> None:
    for pages, expected in ((False, 404), (True, 200)):
        with open_client(platform_dir, api_docs=pages) as client:
            for page in ("/docs", "/redoc", "/openapi.json"):
                assert client.get(page).status_code == expected, page


def test_enrolling_keys_enrolled_on_another_account_is_refused(fresh: TestClient) -> None:
    fan = Fan.sign_in(fresh, "fan")
    fan2 = Fan.sign_in(fresh, "fan2")
    response = fresh.post(f"{API}/devices", headers=fan2.headers, json=device_body(fan.keys))
    assert 400 <= response.status_code < 500, response.text


def revocations_of(client: TestClient, who: Fan) -> frozenset[str]:
    """The revoked licence ids in ``who``'s list, after checking its signature."""
    response = client.get(f"{API}/licences/revocations", headers=who.headers)
    assert response.status_code == 200, response.text
    return verify_revocations(response.content, pinned_keys(client), user=who.user_id).licences


def test_a_revoked_licence_cannot_be_renewed_or_published_under(
    fresh: TestClient, shared_studio: Studio, platform_dir: Path
) -> None:
    fan, fan2 = Fan.sign_in(fresh, "fan"), Fan.sign_in(fresh, "fan2")
    admin_headers = Fan.sign_in(fresh, "admin").headers
    licence = fan.licence()
    revoke = fresh.post(f"{API}/licences/{licence.licence_id}/revoke", headers=admin_headers)
    assert_answer(revoke, 200)
    assert revoke.json() == {"licence_id": licence.licence_id, "revoked": True}

    renew = fresh.post(f"{API}/licences/{licence.licence_id}/renew", headers=fan.headers)
    assert_answer(renew, 403)
    assert "revoked" in renew.json()["detail"]
    assert licence.licence_id in revocations_of(fresh, fan)
    assert licence.licence_id not in revocations_of(fresh, fan2)

    recipe = drums_down(shared_studio)
    audio = shared_studio.flac(recipe)
    response = fan.upload(recipe, fan.signed(recipe, audio, licence))
    assert_answer(response, 403)
    assert "revoked" in response.json()["detail"]
    assert fan.get("/derivatives").json() == []
    assert not list((platform_dir / "blobs" / "derivatives").glob("*"))


@pytest.mark.parametrize("held", [True, False], ids=["licence-for-another-track", "no-licence"])
def test_a_derivative_of_a_track_without_a_licence_for_it_is_403(world: World, held: bool) -> None:
    fan2 = world.users[FAN2]
    recipe = drums_down(world.studio)  # a neon-harbour remix
    audio = world.studio.flac(recipe)
    other = fan2.licence("paper-moons")
    licence_id = other.licence_id if held else "lic_0000"
    response = fan2.upload(recipe, fan2.signed(recipe, audio, other, licence_id=licence_id))
    assert_answer(response, 403)
    assert response.json()["detail"] == "You hold no licence for this track on this device."
    assert fan2.get("/derivatives").json() == []


# --- attacks: traversal in ids --------------------------------------------------------------------


TRAVERSALS = [
    "/tracks/..%2F..%2Fetc",
    "/tracks/..%2F..%2Fmaster.key",
    f"/tracks/{TRACK}/versions/1/stems/..%2F..%2Fmaster.key",
    f"/tracks/{TRACK}/versions/1/stems/%2E%2E",
    f"/tracks/{TRACK}/versions/1/stems/../../../../master.key",
    "/derivatives/..%2F..%2Fmaster.key",
    "/derivatives/..%2F..%2Fplatform.sqlite3/stream",
    "/derivatives/drv_1%2F..%2F..%2Fmaster.key/stream",
    "/derivatives/%2E%2E/stream",
    "/derivatives/%2E%2E/download",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_traversal_in_an_id_is_404_and_leaks_no_file(world: World, path: str) -> None:
    response = world.request(FAN, "GET", path)
    assert_answer(response, 404)
    master_key = (Path(world.client.app.state.platform.config.data_dir) / "master.key").read_bytes()
    assert master_key not in response.content
    assert b"SQLite format" not in response.content
    assert b"FFSTEM" not in response.content


THE_FANS_DEVICE = "<the fan's device>"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("DELETE", "/devices/..%2F..%2Fmaster.key", None),
        ("POST", "/licences/..%2F..%2Fmaster.key/renew", None),
        ("POST", "/licences/..%2F..%2Fmaster.key/revoke", None),
        ("POST", "/licences", {"track_id": "../../master.key", "device_id": THE_FANS_DEVICE}),
        ("PATCH", "/tracks/..%2F..%2Fetc", {"published": True}),
    ],
)
def test_traversal_in_a_changing_request_is_404(
    world: World, method: str, path: str, body: dict[str, Any] | None
) -> None:
    if body is not None:
        body = {k: world.fan.device_id if v == THE_FANS_DEVICE else v for k, v in body.items()}
    headers = world.headers(ADMIN) if path.endswith("/revoke") else {}  # past the admin check
    assert_answer(world.request(FAN, method, path, headers=headers, json=body), 404)


# --- attacks: oversized and length-less bodies ----------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/auth/login"), ("POST", "/devices"), ("POST", "/licences"), ("PATCH", "/tracks/x")],
)
def test_a_json_body_over_64_kib_is_413_before_it_is_read(
    world: World, method: str, path: str
) -> None:
    body = json.dumps({"name": "x" * (64 * 1024)}).encode()
    response = world.request(
        FAN, method, path, content=body, headers={"content-type": "application/json"}
    )
    assert_answer(response, 413)
    assert "64 KiB" in response.json()["detail"]


def chunks(data: bytes) -> Iterator[bytes]:
    """A streamed body: httpx sends it chunked, without a Content-Length."""
    for start in range(0, len(data), 7):
        yield data[start : start + 7]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/auth/login"),
        ("POST", "/devices"),
        ("POST", "/licences"),
        ("PATCH", f"/tracks/{TRACK}"),
        ("POST", "/derivatives"),
    ],
)
def test_a_body_without_a_declared_length_is_411(world: World, method: str, path: str) -> None:
    body = json.dumps({"username": "fan", "password": PASSWORD}).encode()
    request = world.client.build_request(
        method,
        API + path,
        headers=world.headers(FAN) | {"content-type": "application/json"},
        content=chunks(body),
    )
    assert "content-length" not in request.headers
    assert request.headers["transfer-encoding"] == "chunked"
    assert_answer(world.client.send(request), 411)


@pytest.mark.parametrize(
    ("part", "limit_name", "limit"),
    [
        ("audio", "MAX_AUDIO_BYTES", 4096),
        ("recipe", "MAX_DOC_BYTES", 2048),
    ],
)
def test_an_upload_part_over_its_limit_is_413(
    world: World, monkeypatch: pytest.MonkeyPatch, part: str, limit_name: str, limit: int
) -> None:
    monkeypatch.setattr(derivative_routes, limit_name, limit)
    parts = {"audio": b"fLaC", "recipe": b"{}"}
    stored = world.fan.get("/derivatives").json()
    at_limit = world.fan.post_parts(parts | {part: b"\0" * limit})
    assert at_limit.status_code != 413, at_limit.text
    response = world.fan.post_parts(parts | {part: b"\0" * (limit + 1)})
    assert_answer(response, 413)
    assert f"larger than {limit // 1024} KiB" in response.json()["detail"]
    assert world.fan.get("/derivatives").json() == stored


# --- garbage in every field of every JSON body ----------------------------------------------------

GARBAGE = st.one_of(  # text first: Hypothesis favours early branches, and text gets deepest
    st.text(),
    st.none(),
    st.integers(),
    st.lists(st.integers()),
    st.dictionaries(st.text(), st.integers()),
)
FUZZ = settings(
    max_examples=50,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
JSONISH = st.recursive(  # finite numbers: the infinite ones have their own tests below
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


@st.composite
def bodies(draw: st.DrawFn, **typed: st.SearchStrategy[Any]) -> dict[str, Any]:
    """A JSON object whose fields are each missing, garbage, or (most often) of the right type
    but a wrong value, so that garbage gets past the schema into the handler too."""
    body = {}
    for name, right in typed.items():
        kind = draw(st.sampled_from(["right", "right", "right", "garbage", "missing"]))
        if kind != "missing":
            body[name] = draw(right if kind == "right" else GARBAGE)
    return body


@dataclass
class Junkyard:
    """A platform of its own for the fuzzing (the PATCH fuzz rewrites a track)."""

    client: TestClient
    fan: Fan
    artist: Fan
    not_the_fans_devices: list[str]  # fan2's, and one of the fan's that was revoked


@pytest.fixture(scope="module")
def junkyard(
    seeded_platform_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Junkyard]:
    data_dir = copy_platform(seeded_platform_template, tmp_path_factory.mktemp("junk") / "p")
    # Sign-in keeps its real limits: once the address's bucket is empty, garbage meets a 429.
    with open_client(data_dir, licence_per_minute=UNLIMITED) as client:
        fan, fan2 = Fan.sign_in(client, "fan"), Fan.sign_in(client, "fan2")
        revoked = Fan.sign_in(client, "fan")
        assert client.delete(f"{API}/devices/{revoked.device_id}", headers=revoked.headers)
        devices = [fan2.device_id, revoked.device_id]
        yield Junkyard(client, fan, Fan.sign_in(client, "nova-lane"), devices)


def assert_refused_readably(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, response.text[:300]
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail
    event(f"{response.status_code} {detail[:40]}")  # see --hypothesis-show-statistics


@FUZZ
@given(body=bodies(username=st.text(max_size=70), password=st.text(max_size=260)))
def test_garbage_login_is_a_readable_4xx(junkyard: Junkyard, body: dict[str, Any]) -> None:
    assert_refused_readably(junkyard.client.post(f"{API}/auth/login", json=body))


KEY_TEXT = st.text(max_size=80) | st.binary(min_size=1, max_size=1300).map(b64u)


@FUZZ
@given(
    body=bodies(name=st.text(max_size=110), signing_public_key=KEY_TEXT, kem_public_key=KEY_TEXT)
)
def test_garbage_enrolment_is_a_readable_4xx(junkyard: Junkyard, body: dict[str, Any]) -> None:
    fan = junkyard.fan
    assert_refused_readably(fan.client.post(f"{API}/devices", headers=fan.headers, json=body))


@FUZZ
@given(data=st.data())
def test_garbage_licence_request_is_a_readable_4xx(junkyard: Junkyard, data: st.DataObject) -> None:
    body = data.draw(
        bodies(
            track_id=st.sampled_from([TRACK, SUPERFAN_TRACK, "no-such-song"]) | st.text(),
            device_id=st.sampled_from(junkyard.not_the_fans_devices) | st.text(),
        )
    )
    fan = junkyard.fan
    assert_refused_readably(fan.client.post(f"{API}/licences", headers=fan.headers, json=body))


POLICY_FIELDS = sorted(Policy().to_dict())


@FUZZ
@given(
    body=bodies(
        policy=st.dictionaries(st.sampled_from(POLICY_FIELDS), JSONISH),
        published=st.booleans(),
        remix_opt_in=st.booleans(),
        required_tier=st.sampled_from(["free", "superfan"]) | st.text(),
    )
)
def test_garbage_track_update_is_a_readable_4xx_or_a_valid_change(
    junkyard: Junkyard, body: dict[str, Any]
) -> None:
    # Every field is optional, so {} (or nulls, or a policy made of defaults) is a valid update.
    artist = junkyard.artist
    response = artist.client.patch(f"{API}/tracks/paper-moons", headers=artist.headers, json=body)
    if response.status_code == 200:
        assert artist.get("/tracks/paper-moons").json() == response.json()
        event("200 a valid update")
    else:
        assert_refused_readably(response)


@pytest.mark.parametrize(
    "policy",
    [
        '{"max_length_s": 1' + "0" * 400 + "}",
        '{"min_audible_stems": 1e400}',
        '{"key_shift_range": [0, 1e400]}',
    ],
    ids=["huge-integer", "infinite-count", "infinite-range-end"],
)
def test_a_policy_with_a_number_out_of_range_is_422(fresh: TestClient, policy: str) -> None:
    artist = Fan.sign_in(fresh, "nova-lane")
    response = fresh.patch(
        f"{API}/tracks/{TRACK}",
        headers=artist.headers | {"content-type": "application/json"},
        content=f'{{"policy": {policy}}}'.encode(),
    )
    assert_answer(response, 422)


@pytest.mark.parametrize(
    "policy",
    [
        '{"max_length_s": NaN}',
        '{"max_length_s": Infinity}',
        '{"gain_db_range": [-1e400, 0]}',
        '{"min_audible_stems": 1e300}',
    ],
    ids=["nan", "infinity", "overflowing-float", "integer-beyond-2**53"],
)
def test_a_policy_with_an_unsignable_number_is_422_and_licensing_still_works(
    fresh: TestClient, policy: str
) -> None:
    artist = Fan.sign_in(fresh, "nova-lane")
    response = fresh.patch(
        f"{API}/tracks/{TRACK}",
        headers=artist.headers | {"content-type": "application/json"},
        content=f'{{"policy": {policy}}}'.encode(),
    )
    fan = Fan.sign_in(fresh, "fan")
    body = {"track_id": TRACK, "device_id": fan.device_id}
    licence = fresh.post(f"{API}/licences", headers=fan.headers, json=body)
    assert_answer(response, 422)
    assert_answer(licence, 201)


def test_a_policy_with_an_unknown_field_is_422_and_keeps_the_old_rules(fresh: TestClient) -> None:
    artist = Fan.sign_in(fresh, "nova-lane")
    before = artist.get(f"/tracks/{TRACK}").json()["policy"]
    typo = {"min_audible_stem": 3}  # meant min_audible_stems; the lead stem's rule is not restated
    response = fresh.patch(f"{API}/tracks/{TRACK}", headers=artist.headers, json={"policy": typo})
    assert artist.get(f"/tracks/{TRACK}").json()["policy"] == before
    assert_answer(response, 422)


# --- rate limits ----------------------------------------------------------------------------------


class FrozenClock:
    """Stands in for ``time`` in the rate limiter: time moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    frozen = FrozenClock()
    monkeypatch.setattr(ratelimit, "time", frozen)
    return frozen


def login(client: TestClient, name: str, password: str = PASSWORD) -> httpx.Response:
    return client.post(f"{API}/auth/login", json={"username": name, "password": password})


def assert_limited(response: httpx.Response, retry_after: int, message: str) -> None:
    assert_answer(response, 429)
    assert response.headers["retry-after"] == str(retry_after)
    assert message in response.json()["detail"]


def known_device(fan: Fan, name: str = "fan", signed_at: int | None = None) -> dict[str, Any]:
    """The proof that a sign-in comes from ``fan``'s enrolled device."""
    at = int(time.time()) if signed_at is None else signed_at
    return {
        "device_id": fan.device_id,
        "signed_at": at,
        "signature": sign_in_proof(fan.keys, name, fan.device_id, at),
    }


def login_from(
    client: TestClient, name: str, device: dict[str, Any], password: str = PASSWORD
) -> httpx.Response:
    body = {"username": name, "password": password, "device": device}
    return client.post(f"{API}/auth/login", json=body)


def test_failed_sign_ins_are_limited_per_account_and_per_address(
    platform_dir: Path, clock: FrozenClock
) -> None:
    app = create_app(ServerConfig.load(platform_dir))  # 10 failures a minute, bursts of 10
    here = TestClient(app, raise_server_exceptions=False)
    elsewhere = TestClient(app, raise_server_exceptions=False, client=("203.0.113.9", 40000))
    with here, elsewhere:
        # Right passwords use nothing up.
        for _ in range(12):
            assert_answer(login(here, "fan"), 200)
        for _ in range(10):
            assert_answer(login(here, "fan", "wrong-password"), 401)
        # One token refills every 6 s: Retry-After says so.
        assert_limited(login(here, "fan", "wrong-password"), 6, "Too many sign-in attempts")
        assert_limited(login(here, "fan"), 6, "Too many sign-in attempts")
        # The address's failures are used up too, so another account from here waits as well...
        assert_limited(login(here, "fan2"), 6, "Too many sign-in attempts")
        # ...but not from elsewhere, where only the guessed account is still held.
        assert_answer(login(elsewhere, "fan2"), 200)
        assert_limited(login(elsewhere, "fan"), 6, "Too many sign-in attempts")
        clock.now += 6
        assert_answer(login(elsewhere, "fan"), 200)


def test_the_owner_on_a_known_device_signs_in_during_a_guessing_attack(
    platform_dir: Path, clock: FrozenClock
) -> None:
    app = create_app(ServerConfig.load(platform_dir))
    with TestClient(app, raise_server_exceptions=False) as client:
        owner = Fan.sign_in(client, "fan")  # the fan's laptop, enrolled before the attack
        guessers = [
            TestClient(app, raise_server_exceptions=False, client=(f"198.51.100.{n}", 40000))
            for n in range(1, 4)
        ]
        for guesser in guessers:  # from several addresses, and from the owner's own
            with guesser:
                for _ in range(4):
                    login(guesser, "fan", "wrong-password")
        for _ in range(10):
            login(client, "fan", "wrong-password")
        assert_limited(login(client, "fan"), 6, "Too many sign-in attempts")
        # The owner's laptop signs the sign-in: its failures count apart, and it gets in.
        answer = login_from(client, "fan", known_device(owner))
        assert_answer(answer, 200)
        # The session is bound to that device at once (revoking the device ends it).
        token = {"authorization": f"Bearer {answer.json()['token']}"}
        assert_answer(client.delete(f"{API}/devices/{owner.device_id}", headers=token), 200)
        me = client.get(f"{API}/auth/me", headers=token)
        assert_answer(me, 401)
        assert me.headers["x-fanfare-reason"] == "device-revoked"


def test_a_known_device_has_its_own_limit_and_a_proof_that_is_not_one_counts_as_unknown(
    platform_dir: Path, clock: FrozenClock
) -> None:
    app = create_app(ServerConfig.load(platform_dir))
    with TestClient(app, raise_server_exceptions=False) as client:
        owner, other = Fan.sign_in(client, "fan"), Fan.sign_in(client, "fan2")
        for _ in range(10):
            assert_answer(login_from(client, "fan", known_device(owner), "wrong"), 401)
        assert_limited(login_from(client, "fan", known_device(owner)), 6, "Too many sign-in")
        # Its failures were its own: the account and the address still have theirs.
        assert_answer(login(client, "fan"), 200)
        # Not proofs of a known device, so they count against the account and the address:
        stale = known_device(owner, signed_at=int(time.time()) - 600)
        forged = dict(known_device(owner), signature=known_device(other, "fan")["signature"])
        another_account = known_device(other, "fan")
        for proof in (stale, forged, another_account) * 3 + (stale,):
            assert_answer(login_from(client, "fan", proof, "wrong"), 401)
        assert_limited(login_from(client, "fan", stale), 6, "Too many sign-in")
        assert_limited(login(client, "fan"), 6, "Too many sign-in")
        clock.now += 60
        assert_answer(login_from(client, "fan", known_device(owner)), 200)


@pytest.mark.integration
def test_a_client_cannot_choose_the_address_its_sign_ins_count_under(embedded: Any) -> None:
    """On the real server, X-Forwarded-For from a client that is no configured proxy is not
    believed: rotating it (uvicorn believed it from 127.0.0.1) leaves every guess counted
    against the client's own address, which runs out after 10."""
    answers = []
    with httpx.Client(base_url=embedded.url) as client:
        for n in range(11):
            body = {"username": f"guess-{n}", "password": "wrong-password"}
            forwarded = {"X-Forwarded-For": f"198.51.100.{n + 1}"}
            answers.append(client.post(f"{API}/auth/login", json=body, headers=forwarded))
    assert [a.status_code for a in answers] == [401] * 10 + [429]


def test_licence_requests_come_in_bursts_of_30(platform_dir: Path, clock: FrozenClock) -> None:
    with open_client(platform_dir) as client:  # 120 a minute, bursts of 30
        fan, fan2 = Fan.sign_in(client, "fan"), Fan.sign_in(client, "fan2")
        body = {"track_id": TRACK, "device_id": fan.device_id}
        licence_ids = [fan.licence().licence_id for _ in range(30)]
        message = "Too many licence requests"
        assert_limited(client.post(f"{API}/licences", headers=fan.headers, json=body), 1, message)
        renew = client.post(f"{API}/licences/{licence_ids[0]}/renew", headers=fan.headers)
        assert_limited(renew, 1, message)
        assert fan2.licence().licence_id  # each account has its own bucket
        clock.now += 1
        assert_answer(client.post(f"{API}/licences", headers=fan.headers, json=body), 201)


def test_uploads_come_in_bursts_of_5_then_one_every_10_seconds(
    platform_dir: Path, clock: FrozenClock
) -> None:
    with open_client(platform_dir, upload_per_minute=6.0) as client:
        fan = Fan.sign_in(client, "fan")
        files = {"audio": b"x", "recipe": b"{}"}

        def upload() -> httpx.Response:
            return client.post(
                f"{API}/derivatives", headers=fan.headers, files=files, data={"title": "t"}
            )

        for _ in range(5):  # refused by verification, but each still costs a token
            assert_answer(upload(), 422)
        assert_limited(upload(), 10, "Too many uploads")
        clock.now += 10
        assert_answer(upload(), 422)


# --- artists change their policy ------------------------------------------------------------------


def test_a_policy_whose_revenue_split_is_not_whole_is_422(fresh: TestClient) -> None:
    artist = Fan.sign_in(fresh, "nova-lane")
    before = artist.get(f"/tracks/{TRACK}").json()["policy"]
    policy = before | {"revenue_split": {"artist": 0.5, "fan": 0.1}}
    response = fresh.patch(f"{API}/tracks/{TRACK}", headers=artist.headers, json={"policy": policy})
    assert_answer(response, 422)
    assert response.json()["detail"] == "A policy's revenue split must add up to 1."
    assert artist.get(f"/tracks/{TRACK}").json()["policy"] == before


def test_a_policy_change_shows_in_the_track_and_the_next_licence(fresh: TestClient) -> None:
    artist, fan = Fan.sign_in(fresh, "nova-lane"), Fan.sign_in(fresh, "fan")
    old = fan.licence()
    policy = old.policy | {
        "min_audible_stems": 3,
        "revenue_split": {"artist": 0.7, "fan": 0.1, "platform": 0.2},
    }
    response = fresh.patch(f"{API}/tracks/{TRACK}", headers=artist.headers, json={"policy": policy})
    assert_answer(response, 200)
    assert response.json()["policy"] == policy
    assert fan.get(f"/tracks/{TRACK}").json()["policy"] == policy
    assert old.policy["min_audible_stems"] != 3
    renewed = fresh.post(f"{API}/licences/{old.licence_id}/renew", headers=fan.headers)
    assert_answer(renewed, 201)
    keys = pinned_keys(fresh)
    assert verify_licence(renewed.content, keys, now=time.time()).policy == policy
    assert fan.licence().policy == policy
