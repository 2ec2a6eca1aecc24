# SPDX-License-Identifier: GPL-3.0-or-later
"""The platform's HTTP API, driven through FastAPI's TestClient over a seeded demo platform.

Uploads are built the way the studio builds them (``OpenTrack.publish``): a licence for an
enrolled device opens the downloaded stems, the offline engine renders the recipe, the render is
encoded as FLAC and its Content Credentials are signed into it with the device's key. The attacks
below are what a modified client could send instead.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from mutagen.flac import FLAC

from app.core.automation import GRID_FRAMES, make_move
from app.core.bundle import iter_decrypt, read_header
from app.core.codec import decode_audio
from app.core.credentials import PUBLISHER_NAME, REMIX_LABEL, read_credentials, strip_store
from app.core.effects import Eq, Reverb, StemFx
from app.core.encoding import b64u
from app.core.errors import LicenceDeviceError
from app.core.keys import DeviceKeys
from app.core.licence import verify_licence
from app.core.recipe import Recipe
from app.core.segmented import SegmentedReader
from app.server import accounts
from app.server.ca import DeviceCA, _self_signed
from app.server.config import TOKEN_TTL_S
from app.server.db import Derivative, now_s
from app.server.db import Licence as LicenceRow
from app.server.garden import plaintext
from app.server.spam import metrics
from tests.helpers.platform import (
    API,
    PASSWORD,
    TRACK,
    Fan,
    Studio,
    TestClient,
    device_body,
    drums_down,
    open_client,
    pinned_keys,
    sign_in,
)

DEMO_TRACKS = {
    "neon-harbour": ["drums", "bass", "keys", "lead", "pad"],
    "paper-moons": ["drums", "bass", "keys", "lead"],
    "copper-wire": ["drums", "bass", "keys", "lead", "guitar"],
}


# --- a signed-in user and a genuine client ------------------------------------------------------


@pytest.fixture
def client(platform_dir: Path) -> Iterator[TestClient]:
    with open_client(platform_dir) as client:
        yield client


@pytest.fixture
def fan(client: TestClient, studio: Studio) -> Fan:
    """The demo fan, on the device whose keys the studio used."""
    return Fan.sign_in(client, "fan", studio.keys)


@pytest.fixture
def fan2(client: TestClient) -> Fan:
    return Fan.sign_in(client, "fan2")


def assert_nothing_published(fan: Fan, platform_dir: Path) -> None:
    assert fan.get("/derivatives").json() == []
    assert fan.get("/derivatives", params={"mine": "false"}).json() == []
    assert not list((platform_dir / "blobs" / "derivatives").glob("*"))


# --- sign-in ------------------------------------------------------------------------------------


def login(client: TestClient, **body: Any) -> httpx.Response:
    return client.post(f"{API}/auth/login", json=body)


def test_login_with_the_right_password_returns_a_token_and_its_expiry(client: TestClient) -> None:
    response = login(client, username="fan", password=PASSWORD)
    assert response.status_code == 200
    doc = response.json()
    assert len(doc["token"]) >= 32
    assert abs(doc["expires_at"] - (time.time() + TOKEN_TTL_S)) < 60
    assert doc["user"]["name"] == "fan" and doc["user"]["role"] == "fan"
    me = client.get(f"{API}/auth/me", headers={"authorization": f"Bearer {doc['token']}"})
    assert me.json()["name"] == "fan"


@pytest.mark.parametrize(
    ("username", "password"), [("fan", "wrong-password"), ("nobody", PASSWORD)]
)
def test_login_refuses_a_wrong_password_or_unknown_user_alike(
    client: TestClient, username: str, password: str
) -> None:
    response = login(client, username=username, password=password)
    assert response.status_code == 401
    assert response.json() == {"detail": "The user name or password is wrong."}


def test_login_with_garbage_json_is_a_readable_422(client: TestClient) -> None:
    response = client.post(
        f"{API}/auth/login", content=b"{username: fan", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith("Invalid request:") and "JSON" in detail


def test_login_without_a_password_names_the_missing_field(client: TestClient) -> None:
    response = login(client, username="fan")
    assert response.status_code == 422
    assert response.json() == {"detail": "Invalid request: password: Field required."}


def test_an_oversized_json_body_is_refused_with_413(client: TestClient) -> None:
    response = login(client, username="fan", password="x" * (65 * 1024))
    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is larger than 64 KiB."}


# --- bearer tokens ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header", [None, "Bearer", "Basic ZmFuOmZhbmZhcmUtZGVtbw==", "Bearer not-a-real-token"]
)
def test_requests_without_a_live_token_are_401(client: TestClient, header: str | None) -> None:
    headers = {"authorization": header} if header else {}
    response = client.get(f"{API}/tracks", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["detail"] in (
        "Sign in first.",
        "Your session has expired or is not valid; sign in again.",
    )


def test_an_expired_token_is_401(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    headers, _ = sign_in(client, "fan")
    assert client.get(f"{API}/tracks", headers=headers).status_code == 200
    later = now_s() + TOKEN_TTL_S + 1
    monkeypatch.setattr(accounts, "now_s", lambda: later)
    response = client.get(f"{API}/tracks", headers=headers)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


# --- catalogue ----------------------------------------------------------------------------------


@pytest.fixture
def fan_headers(client: TestClient) -> dict[str, str]:
    return sign_in(client, "fan")[0]


def test_tracks_lists_the_demo_catalogue_with_stems_and_policy(
    client: TestClient, fan_headers: dict[str, str]
) -> None:
    tracks = {t["id"]: t for t in client.get(f"{API}/tracks", headers=fan_headers).json()}
    assert {k: [s["kind"] for s in t["stems"]] for k, t in tracks.items()} == DEMO_TRACKS
    neon = tracks[TRACK]
    assert (neon["title"], neon["artist"], neon["sample_rate"]) == (
        "Neon Harbour",
        "Nova Lane",
        48_000,
    )
    assert neon["policy"]["stems"]["lead"]["solo"] is False
    assert tracks["paper-moons"]["policy"]["min_audible_stems"] == 3
    assert all(s["blob_size"] > 0 for t in tracks.values() for s in t["stems"])


def test_an_unknown_track_is_404(client: TestClient, fan_headers: dict[str, str]) -> None:
    response = client.get(f"{API}/tracks/no-such-song", headers=fan_headers)
    assert response.status_code == 404
    assert response.json() == {"detail": "There is no track 'no-such-song'."}


def test_a_stem_download_is_an_encrypted_blob_naming_its_track_and_stem(
    client: TestClient, fan_headers: dict[str, str]
) -> None:
    response = client.get(f"{API}/tracks/{TRACK}/versions/1/stems/bass", headers=fan_headers)
    assert response.status_code == 200
    assert response.content.startswith(b"FFSTEM")
    header = read_header(response.content)
    assert (header.track_id, header.track_version, header.stem) == (TRACK, 1, "bass")
    assert b"fLaC" not in response.content[:4096]  # the audio is not in the clear


def test_a_range_request_returns_exactly_those_bytes(
    client: TestClient, fan_headers: dict[str, str]
) -> None:
    url = f"{API}/tracks/{TRACK}/versions/1/stems/drums"
    whole = client.get(url, headers=fan_headers).content
    response = client.get(url, headers={**fan_headers, "range": "bytes=100-199"})
    assert response.status_code == 206
    assert response.content == whole[100:200]
    assert response.headers["content-range"] == f"bytes 100-199/{len(whole)}"


@pytest.mark.parametrize("path", ["versions/1/stems/vocal", "versions/7/stems/drums"])
def test_an_unknown_stem_or_version_is_404(
    client: TestClient, fan_headers: dict[str, str], path: str
) -> None:
    response = client.get(f"{API}/tracks/{TRACK}/{path}", headers=fan_headers)
    assert response.status_code == 404
    assert "has no stem" in response.json()["detail"]


# --- devices ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"signing_public_key": "c2hvcnQ"},
        {"kem_public_key": "c2hvcnQ"},
        {"kem_public_key": b64u(b"\xff" * 1216)},  # the right length, not a valid ML-KEM key
    ],
    ids=["short-signing-key", "short-kem-key", "invalid-kem-key"],
)
def test_enrolling_malformed_keys_is_422(
    client: TestClient, fan_headers: dict[str, str], change: dict[str, str]
) -> None:
    body = device_body(DeviceKeys.generate()) | change
    response = client.post(f"{API}/devices", headers=fan_headers, json=body)
    assert response.status_code == 422
    assert response.json() == {"detail": "The device's public keys are malformed."}


def test_enrolling_the_same_keys_twice_is_the_same_device(
    client: TestClient, fan_headers: dict[str, str]
) -> None:
    body = device_body(DeviceKeys.generate())
    first = client.post(f"{API}/devices", headers=fan_headers, json=body)
    again = client.post(f"{API}/devices", headers=fan_headers, json=body)
    assert first.status_code == again.status_code == 201
    assert first.json()["device_id"] == again.json()["device_id"]
    assert len(client.get(f"{API}/devices", headers=fan_headers).json()) == 1


def test_an_account_may_enrol_at_most_ten_devices(
    client: TestClient, fan_headers: dict[str, str]
) -> None:
    headers = fan_headers
    for n in range(10):
        if n:  # a session enrols one device: each new one is a new sign-in
            headers = sign_in(client, "fan")[0]
        body = device_body(DeviceKeys.generate(), f"device {n}")
        assert client.post(f"{API}/devices", headers=headers, json=body).status_code == 201
    response = client.post(
        f"{API}/devices", headers=headers, json=device_body(DeviceKeys.generate())
    )
    assert response.status_code == 403
    assert "already has 10 devices" in response.json()["detail"]


def test_enrolling_a_kem_key_with_a_degenerate_x25519_half_is_422(
    client: TestClient, fan_headers: dict[str, str]
) -> None:
    keys = DeviceKeys.generate()
    degenerate = b64u(keys.kem_public().mlkem + bytes(32))
    body = device_body(keys) | {"kem_public_key": degenerate}
    response = client.post(f"{API}/devices", headers=fan_headers, json=body)
    assert response.status_code == 422, response.text


# --- licences -----------------------------------------------------------------------------------


def test_a_licence_is_signed_by_a_pinned_key_and_opens_each_stem_on_its_device(
    client: TestClient,
) -> None:
    fan = Fan.sign_in(client, "fan")
    response = client.post(
        f"{API}/licences", headers=fan.headers, json={"track_id": TRACK, "device_id": fan.device_id}
    )
    assert response.status_code == 201
    licence = verify_licence(
        response.content,
        pinned_keys(client),
        user=fan.user_id,
        device=fan.device_id,
        now=time.time(),
    )
    assert (licence.track, licence.track_version) == (TRACK, 1)
    assert licence.rights["publish"] is True
    assert sorted(licence.sealed_keys) == sorted(DEMO_TRACKS[TRACK])
    blob = fan.get(f"/tracks/{TRACK}/versions/1/stems/lead").content
    first_chunk = next(iter_decrypt(licence.content_key(fan.keys, "lead"), blob))
    assert first_chunk.startswith(b"fLaC")
    with pytest.raises(LicenceDeviceError):
        licence.content_key(DeviceKeys.generate(), "lead")


def test_a_licence_for_another_users_device_is_403(client: TestClient, fan2: Fan) -> None:
    headers, _ = sign_in(client, "fan")
    body = {"track_id": TRACK, "device_id": fan2.device_id}
    response = client.post(f"{API}/licences", headers=headers, json=body)
    assert response.status_code == 403
    assert response.json() == {"detail": "That device is not enrolled on your account."}


def test_a_licence_for_an_unknown_track_is_404(client: TestClient, fan2: Fan) -> None:
    body = {"track_id": "no-such-song", "device_id": fan2.device_id}
    response = client.post(f"{API}/licences", headers=fan2.headers, json=body)
    assert response.status_code == 404


# --- derivatives: a genuine upload --------------------------------------------------------------


def test_a_genuine_remix_is_published_listed_and_playable_with_both_credentials(
    fan: Fan, fan2: Fan, studio: Studio
) -> None:
    audio = studio.flac(drums_down(studio))
    signed = fan.signed(drums_down(studio), audio, fan.licence())
    response = fan.upload(drums_down(studio), signed)
    assert response.status_code == 201, response.text
    doc = response.json()
    assert (doc["status"], doc["by"], doc["track_id"], doc["title"]) == (
        "published",
        "fan",
        TRACK,
        "Harbour Lights",
    )
    assert doc["audio_sha256"] == hashlib.sha256(signed).hexdigest()
    assert doc["disclosure"]["ai_used"] is False
    assert doc["disclosure"]["stems_used"] == ["drums", "bass", "lead"]  # keys and pad muted
    assert doc["disclosure"]["source"] == {
        "track_id": TRACK, "version": 1, "title": "Neon Harbour", "artist": "Nova Lane"
    }  # fmt: skip
    assert doc["attribution"] == {
        "split": {"artist": 0.6, "fan": 0.1, "platform": 0.3},
        "artist": "nova-lane",
        "fan": "fan",
    }

    assert [d["id"] for d in fan.get("/derivatives").json()] == [doc["id"]]
    assert [d["id"] for d in fan2.get("/derivatives", params={"mine": "false"}).json()] == [
        doc["id"]
    ]
    assert fan2.get("/derivatives", params={"mine": "true"}).json() == []
    page = fan2.get(f"/derivatives/{doc['id']}").json()
    assert {k: page[k] for k in doc} == doc
    assert (page["walled"], page["downloadable"], page["plays"]) == (True, False, 0)
    # fan2 hears it through a listen licence for their device: their own stream, the
    # published audio with their watermark under it, behind the platform's credentials over
    # the fan's (whose hard binding is the published file's: the stream declares its mark).
    licence = fan2.listen_licence(doc["id"])
    stream = fan2.get(f"/derivatives/{doc['id']}/stream", params={"licence": licence.licence_id})
    assert stream.status_code == 200 and audio[:4096] not in stream.content
    reader = SegmentedReader(
        licence.segment_keys(fan2.keys), lambda o, n: stream.content[o : o + n],
        len(stream.content), derivative=doc["id"],
    )  # fmt: skip
    heard = reader.read(0, reader.size)
    ours, theirs = decode_audio(heard)[0], decode_audio(audio)[0]
    mark_db = 10 * np.log10(np.sum(theirs**2) / np.sum((ours - theirs) ** 2))
    assert 28.0 < mark_db < 60.0
    credentials = read_credentials(heard, fan2.get("/platform/ca").json()["ca_pem"])
    assert credentials.failures == ["assertion.dataHash.mismatch"]  # marked, as declared
    assert credentials.active.signer == PUBLISHER_NAME
    actions = [a["action"] for a in credentials.active.actions]
    assert "c2pa.published" in actions and "c2pa.watermarked" in actions
    made = credentials.parent()
    assert made is not None and made.signer == fan.device_id
    assert made.assertions[REMIX_LABEL]["recipe_sha256"] == drums_down(studio).digest()
    with pytest.raises(LicenceDeviceError):
        licence.segment_keys(fan.keys)  # sealed to fan2's device alone


def test_the_published_file_tells_the_platforms_measure_not_the_levels_the_fan_claims(
    fan: Fan, fan2: Fan, studio: Studio
) -> None:
    # The studio's credentials carry the levels its render measured, and the platform
    # countersigns with them while its own re-render runs; a claim that the drums are silent
    # and the muted keys loud must not reach what listeners are told.
    recipe = drums_down(studio)
    claimed = {"drums": None, "bass": -3.0, "lead": -1.0, "keys": 0.0, "pad": -2.0}
    response = fan.publish(recipe, studio.flac(recipe), levels=claimed)
    assert response.status_code == 201, response.text
    doc = response.json()
    heard = {s["stem"]: s["heard"] for s in doc["disclosure"]["stems"]}
    assert heard["drums"] == "clearly" and heard["keys"] == heard["pad"] == "not heard"
    platform = fan.client.app.state.platform  # type: ignore[attr-defined]
    with platform.sessions() as session:
        row = session.get(Derivative, doc["id"])
        published = plaintext(session, platform.blobs, platform.config.master_key, row)
    tags = FLAC(io.BytesIO(strip_store(published)))
    assert json.loads(tags["FANFARE_HOW_MADE"][0]) == doc["disclosure"]
    assert "not heard: keys, pad" in tags["COMMENT"][0]


def test_an_unknown_derivative_is_404(fan2: Fan) -> None:
    assert fan2.get("/derivatives/drv_0000").status_code == 404
    assert fan2.get("/derivatives/drv_0000/stream").status_code == 404
    assert fan2.get("/derivatives", params={"mine": "true"}).json() == []


# --- derivatives: what a modified client might send ---------------------------------------------


def assert_refused(response: httpx.Response, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]


def test_audio_changed_after_signing_is_refused(
    fan: Fan, studio: Studio, platform_dir: Path
) -> None:
    recipe = drums_down(studio)
    signed = fan.signed(recipe, studio.flac(recipe), fan.licence())
    tampered = signed[:-1] + bytes([signed[-1] ^ 1])
    response = fan.upload(recipe, tampered)
    assert_refused(response, 422, "The audio was changed after it was signed")
    assert_nothing_published(fan, platform_dir)


def test_a_remix_without_content_credentials_is_refused(
    fan: Fan, studio: Studio, platform_dir: Path
) -> None:
    recipe = drums_down(studio)
    signed = fan.signed(recipe, studio.flac(recipe), fan.licence())
    response = fan.upload(recipe, strip_store(signed))  # stripped: the bare FLAC
    assert_refused(response, 422, "carries no Content Credentials")
    assert_nothing_published(fan, platform_dir)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"lead": {"solo": True}}, "the lead stem may not be soloed"),
        ({"drums": {"solo": True}}, "must keep at least 2 stems audible"),
    ],
    ids=["solo-lead", "one-audible-stem"],
)
def test_a_signed_remix_the_policy_forbids_is_refused(
    fan: Fan, studio: Studio, platform_dir: Path, changes: dict[str, Any], reason: str
) -> None:
    recipe = studio.recipe
    for kind, settings in changes.items():
        recipe = recipe.with_stem(kind, **settings)
    response = fan.publish(recipe, studio.flac(recipe))
    assert_refused(response, 422, "The artist's policy does not allow this remix")
    assert reason in response.json()["detail"]
    assert_nothing_published(fan, platform_dir)


def test_a_stem_silenced_by_effects_does_not_keep_the_lead_company(
    fan: Fan, studio: Studio, platform_dir: Path
) -> None:
    from app.core.effects import Filter, StemFx

    # The faders say drums and lead are heard; the drums' filters say otherwise. The recipe
    # passes the recipe-level rules; the spam gate hears the lead stem alone first.
    closed = StemFx(filter=Filter(highpass_hz=2000.0, lowpass_hz=500.0))
    recipe = studio.recipe.with_stem("drums", fx=closed)
    for kind in ("bass", "keys", "pad"):
        recipe = recipe.with_stem(kind, mute=True)
    response = fan.publish(recipe, studio.flac(recipe))
    assert_refused(response, 422, "too close to the lead stem of 'Neon Harbour' on its own")
    assert_nothing_published(fan, platform_dir)


def test_the_original_mix_passed_off_as_a_remix_is_refused(
    fan: Fan, studio: Studio, platform_dir: Path
) -> None:
    # A fader moved 0.1 dB: the recipe is not neutral, the sound is the original mix.
    recipe = studio.recipe.with_stem("drums", gain_db=-0.1)
    response = fan.publish(recipe, studio.flac(recipe))
    assert_refused(response, 422, "too close to the original mix of 'Neon Harbour'")
    assert_nothing_published(fan, platform_dir)


def test_the_same_remix_twice_is_refused_and_counted(
    fan: Fan, studio: Studio, platform_dir: Path
) -> None:
    recipe = _every_stem(studio.recipe, gain_db=-6.0).with_stem("lead", gain_db=6.0)
    assert fan.publish(recipe, studio.flac(recipe)).status_code == 201
    again = fan.publish(recipe, studio.flac(recipe))
    assert_refused(again, 409, "You have sent this exact remix before")
    # The same sound from a recipe written another way (a -0.0 dB master move): still refused.
    same = recipe.with_master(gain_db=-0.001)
    twice = fan.publish(same, studio.flac(same))
    assert_refused(twice, 409, "sounds the same as your remix")
    with fan.client.app.state.platform.sessions() as session:
        counts = metrics(session)
    assert counts["published"] == 1 and counts["duplicate"] == 2


def test_audio_that_is_not_the_render_of_its_recipe_is_refused(
    fan: Fan, studio: Studio, platform_dir: Path
) -> None:
    # The recipe (and its credentials) say the keys and pad muted, but they are heard.
    other = studio.recipe.with_stem("drums", gain_db=-3.0).with_stem("bass", mute=True)
    response = fan.publish(drums_down(studio), studio.flac(other))
    assert_refused(response, 422, "not the render of its recipe")
    assert_nothing_published(fan, platform_dir)


def test_credentials_signed_under_another_ca_are_refused(
    fan: Fan, studio: Studio, platform_dir: Path
) -> None:
    # Re-signed by someone else: a certificate with the device's name from a CA of their own.
    recipe = drums_down(studio)
    key = Ed25519PrivateKey.generate()
    ca_key = Ed25519PrivateKey.generate()
    rogue = DeviceCA(ca_key, _self_signed(ca_key)).issue(fan.device_id, "fan", key.public_key())
    forged = fan.signed(recipe, studio.flac(recipe), fan.licence(), key=key, certificate_pem=rogue)
    assert_refused(fan.upload(recipe, forged), 422, "certificate this platform did not issue")
    assert_nothing_published(fan, platform_dir)


def test_credentials_signed_by_another_users_device_are_403(
    fan: Fan, fan2: Fan, studio: Studio, platform_dir: Path
) -> None:
    recipe = drums_down(studio)
    # fan2's genuine device signs a remix naming fan's licence, and fan uploads it.
    signed = fan2.signed(recipe, studio.flac(recipe), fan.licence())
    assert_refused(fan.upload(recipe, signed), 403, "device that is not one of yours")
    assert_nothing_published(fan, platform_dir)


def test_credentials_naming_another_device_are_403(
    fan: Fan, fan2: Fan, studio: Studio, platform_dir: Path
) -> None:
    recipe = drums_down(studio)
    signed = fan.signed(recipe, studio.flac(recipe), fan.licence(), device=fan2.device_id)
    assert_refused(fan.upload(recipe, signed), 403, "name another device or account")
    assert_nothing_published(fan, platform_dir)


def test_a_licence_held_by_another_user_is_403(
    fan: Fan, fan2: Fan, studio: Studio, platform_dir: Path
) -> None:
    recipe = drums_down(studio)
    signed = fan.signed(recipe, studio.flac(recipe), fan2.licence())
    assert_refused(fan.upload(recipe, signed), 403, "no licence for this track")
    assert_nothing_published(fan, platform_dir)


def test_a_recipe_for_an_unknown_track_is_404(fan: Fan, studio: Studio, platform_dir: Path) -> None:
    recipe = replace(drums_down(studio), track_id="no-such-song")
    signed = fan.signed(drums_down(studio), studio.flac(drums_down(studio)), fan.licence())
    assert_refused(fan.upload(recipe, signed), 404, "no published track")
    assert_nothing_published(fan, platform_dir)


def test_credentials_for_another_recipe_are_refused(
    fan: Fan, studio: Studio, platform_dir: Path
) -> None:
    recipe = drums_down(studio)
    other = recipe.with_stem("bass", gain_db=-2.0)
    signed = fan.signed(other, studio.flac(recipe), fan.licence())
    assert_refused(fan.upload(recipe, signed), 422, "name another recipe")
    assert_nothing_published(fan, platform_dir)


@pytest.mark.parametrize(
    ("part", "garbage", "message"),
    [
        ("recipe", b"\xff\xfe not json", "This recipe is not valid JSON"),
        ("recipe", json.dumps({"schema": "fanfare.recipe", "version": 1}).encode(), "malformed"),
        ("audio", b"{}", "not a FLAC, WAV or MP3 file"),
        ("audio", b"fLaC" + bytes(100), "no Content Credentials"),
    ],
    ids=["recipe-bytes", "recipe-without-track", "audio-json", "audio-bare-flac-header"],
)
def test_garbage_in_the_recipe_or_audio_is_422(
    fan: Fan, studio: Studio, platform_dir: Path, part: str, garbage: bytes, message: str
) -> None:
    recipe = drums_down(studio)
    parts = {
        "audio": fan.signed(recipe, studio.flac(recipe), fan.licence()),
        "recipe": recipe.to_json().encode(),
    }
    assert_refused(fan.post_parts(parts | {part: garbage}), 422, message)
    assert_nothing_published(fan, platform_dir)


@pytest.mark.parametrize("missing", ["audio", "recipe"])
def test_an_upload_missing_a_part_is_422(fan: Fan, platform_dir: Path, missing: str) -> None:
    parts = {"audio": b"fLaC", "recipe": b"{}"}
    del parts[missing]
    response = fan.post_parts(parts)
    assert response.status_code == 422
    assert response.json() == {"detail": f"Invalid request: {missing}: Field required."}
    assert_nothing_published(fan, platform_dir)


# --- gaps these tests found, now closed ----------------------------------------------------------


def test_credentials_with_a_malformed_ai_field_are_422(
    fan: Fan, studio: Studio, platform_dir: Path
) -> None:
    recipe = drums_down(studio)
    response = fan.publish(recipe, studio.flac(recipe), ai="none")
    assert_nothing_published(fan, platform_dir)
    assert response.status_code == 422, response.text


def test_a_remix_made_under_an_expired_licence_is_refused(
    fan: Fan, studio: Studio, platform_dir: Path
) -> None:
    recipe = drums_down(studio)
    audio = studio.flac(recipe)
    licence = fan.licence()
    with fan.client.app.state.platform.sessions() as session:
        session.get(LicenceRow, licence.licence_id).expires_at = now_s() - 1
        session.commit()
    response = fan.upload(recipe, fan.signed(recipe, audio, licence))
    assert response.status_code == 403, response.text
    assert_nothing_published(fan, platform_dir)


# --- a protected stem is never alone in a channel or a passage ---------------------------------


def _every_stem(recipe: Recipe, **settings: Any) -> Recipe:
    for kind in recipe.stems:
        if kind != "lead":
            recipe = recipe.with_stem(kind, **settings)
    return recipe


def _at(seconds: float, studio: Studio) -> int:
    """The automation grid frame nearest ``seconds`` into neon-harbour."""
    return round(seconds * studio.info.sample_rate / GRID_FRAMES) * GRID_FRAMES


def test_a_protected_stem_panned_alone_into_one_channel_is_refused(
    fan: Fan, studio: Studio, platform_dir: Path
) -> None:
    # Every stem is heard over the whole song, but the left channel is the lead alone (the
    # lead forward, enough of a remix for the spam gate to let the measure see it).
    recipe = _every_stem(studio.recipe, pan=1.0, gain_db=-6.0)
    recipe = recipe.with_stem("lead", pan=-1.0, gain_db=6.0)
    response = fan.publish(recipe, studio.flac(recipe))
    assert_refused(response, 422, "does not allow this remix as it sounds")
    detail = response.json()["detail"]
    assert "the lead stem would be heard almost alone from 0:0" in detail
    assert "in the left channel (nothing else heard with it)" in detail
    assert_nothing_published(fan, platform_dir)


def test_a_protected_stem_left_alone_for_most_of_the_song_is_refused(
    fan: Fan, studio: Studio, platform_dir: Path
) -> None:
    # The rest 24 dB down and dulled for 90 % of the song, then back: over the whole song
    # every stem is heard, but the first minute is the lead with a faint bed under it.
    dull = StemFx(eq=Eq(low_db=-12.0, high_db=-12.0))
    recipe = _every_stem(studio.recipe, gain_db=-24.0, fx=dull)
    back = _at(0.9 * studio.info.duration_s, studio)
    moves = tuple(
        make_move(back, kind, {"gain_db": 0.0, "fx": StemFx()})
        for kind in recipe.stems
        if kind != "lead"
    )
    recipe = recipe.with_moves(moves)
    # The spam gate hears it first: for most of the song it is the lead stem alone.
    response = fan.publish(recipe, studio.flac(recipe))
    assert_refused(response, 422, "too close to the lead stem of 'Neon Harbour' on its own")
    assert_nothing_published(fan, platform_dir)


@pytest.mark.parametrize(
    "honest",
    ["drums-out-for-8-bars", "lead-forward", "wide-panning", "lead-in-a-big-room"],
)
def test_honest_remixes_that_feature_the_protected_stem_are_published(
    fan: Fan, studio: Studio, honest: str
) -> None:
    # Each with the lead forward, which is what makes it a remix for the spam gate.
    recipe = _every_stem(studio.recipe, gain_db=-6.0).with_stem("lead", gain_db=6.0)
    if honest == "drums-out-for-8-bars":
        bar_s = 4 * 60 / 118
        recipe = recipe.with_moves(
            (
                make_move(_at(24.4, studio), "drums", {"mute": True}),
                make_move(_at(24.4 + 8 * bar_s, studio), "drums", {"mute": False}),
            )
        )
    elif honest == "lead-forward":
        pass
    elif honest == "wide-panning":
        recipe = recipe.with_stem("lead", pan=-0.4).with_stem("keys", pan=0.6)
        recipe = recipe.with_stem("pad", pan=-0.6)
    else:
        recipe = recipe.with_stem("lead", fx=StemFx(reverb=Reverb(room_size=0.8, mix=0.5)))
    response = fan.publish(recipe, studio.flac(recipe))
    assert response.status_code == 201, response.text
