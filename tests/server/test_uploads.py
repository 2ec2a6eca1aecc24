# SPDX-License-Identifier: GPL-3.0-or-later
"""An artist's track upload on the real API: stems in pieces, interrupted and resumed,
checked against their hashes, ingested as a draft; stems that do not fit get a sentence that
names them, and nothing is half-registered."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from app.server.uploads import CHUNK_BYTES
from tests.helpers.platform import API, Fan, TestClient, open_client

RATE = 44_100
SECONDS = 12.0


@pytest.fixture
def client(platform_dir: Path) -> Iterator[TestClient]:
    with open_client(platform_dir) as client:
        yield client


def wav(freq: float, *, seconds: float = SECONDS, level: float = 0.3, rate: int = RATE) -> bytes:
    """A stereo 24-bit WAV of a tone (``level`` 0 for silence)."""
    t = np.arange(int(seconds * rate)) / rate
    tone = (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    out = io.BytesIO()
    sf.write(out, np.stack([tone, tone], axis=1), rate, format="WAV", subtype="PCM_24")
    return out.getvalue()


def meta(stems: dict[str, bytes], title: str = "Glass Rivers", **more: Any) -> dict[str, Any]:
    listed = [
        {"kind": kind, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        for kind, data in stems.items()
    ]
    return {"title": title, "bpm": 96, "key": "D minor", "stems": listed} | more


def put(client: TestClient, who: Fan, upload: str, kind: str, offset: int, data: bytes) -> Any:
    return client.put(
        f"{API}/uploads/{upload}/stems/{kind}",
        params={"offset": offset},
        content=data,
        headers=who.headers | {"content-type": "application/octet-stream"},
    )


def send_all(client: TestClient, who: Fan, upload: str, stems: dict[str, bytes]) -> None:
    status = client.get(f"{API}/uploads/{upload}", headers=who.headers).json()
    for kind, data in stems.items():
        offset = status["received"][kind]
        while offset < len(data):
            answer = put(client, who, upload, kind, offset, data[offset : offset + CHUNK_BYTES])
            assert answer.status_code == 200, answer.text
            offset = answer.json()["received"]


def test_an_interrupted_upload_resumes_and_arrives_as_a_draft(client: TestClient) -> None:
    artist, fan = Fan.sign_in(client, "nova-lane"), Fan.sign_in(client, "fan")
    long = 40.0  # the bells' file is longer than one piece
    stems = {"keys": wav(220.0, seconds=long), "bass": wav(55.0, seconds=long),
             "bells": wav(880.0, seconds=long)}  # fmt: skip
    opened = client.post(f"{API}/uploads", headers=artist.headers, json=meta(stems))
    assert opened.status_code == 201, opened.text
    upload = opened.json()["upload_id"]
    # The first piece of the long stem arrives, then the connection drops.
    bells = stems["bells"]
    assert len(bells) > CHUNK_BYTES
    first = put(client, artist, upload, "bells", 0, bells[:CHUNK_BYTES])
    assert first.json()["received"] == CHUNK_BYTES
    # A piece sent again from the start is refused with where to resume.
    again = put(client, artist, upload, "bells", 0, bells[:1000])
    assert again.status_code == 409 and f"holds {CHUNK_BYTES} bytes" in again.json()["detail"]
    # Not finished yet: finishing says what is missing.
    early = client.post(f"{API}/uploads/{upload}/finish", headers=artist.headers)
    assert early.status_code == 409 and "not all here yet" in early.json()["detail"]
    # Resumed: only what the platform lacks is sent.
    status = client.get(f"{API}/uploads/{upload}", headers=artist.headers).json()
    assert status["received"] == {"keys": 0, "bass": 0, "bells": CHUNK_BYTES}
    send_all(client, artist, upload, stems)
    done = client.post(f"{API}/uploads/{upload}/finish", headers=artist.headers)
    assert done.status_code == 201, done.text
    track = done.json()
    assert track["state"] == "draft" and track["title"] == "Glass Rivers"
    assert [s["kind"] for s in track["stems"]] == ["keys", "bass", "bells"]
    assert track["sample_rate"] == 48_000 and track["duration_s"] == pytest.approx(40.0, abs=0.01)
    # A draft: its artist sees it, fans do not.
    assert track["id"] in [t["id"] for t in artist.get("/tracks", params={"mine": "true"}).json()]
    assert track["id"] not in [t["id"] for t in fan.get("/tracks").json()]
    # Finishing again answers the same track; no second one is made.
    assert (
        client.post(f"{API}/uploads/{upload}/finish", headers=artist.headers).json()["id"]
        == (track["id"])
    )


@pytest.mark.parametrize(
    ("stems", "reason"),
    [
        ({"keys": wav(220.0), "pad": wav(0.0, level=0.0)}, "Stem 'pad' (pad) is silent"),
        ({"keys": wav(220.0), "drums": wav(110.0, level=1.5)}, "Stem 'drums' (drums) clips"),
        (
            {"keys": wav(220.0), "bass": wav(55.0, seconds=SECONDS - 3)},
            "The stems have different lengths",
        ),
        (
            {"keys": wav(220.0), "bass": wav(55.0, rate=48_000)},
            "The stems have different sample rates",
        ),
    ],
    ids=["silent", "clipping", "lengths", "rates"],
)
def test_stems_that_do_not_fit_are_named_and_nothing_is_registered(
    client: TestClient, stems: dict[str, bytes], reason: str
) -> None:
    artist = Fan.sign_in(client, "nova-lane")
    before = artist.get("/tracks", params={"mine": "true"}).json()
    upload = client.post(f"{API}/uploads", headers=artist.headers, json=meta(stems)).json()
    send_all(client, artist, upload["upload_id"], stems)
    refused = client.post(f"{API}/uploads/{upload['upload_id']}/finish", headers=artist.headers)
    assert refused.status_code == 422
    assert reason in refused.json()["detail"]
    assert artist.get("/tracks", params={"mine": "true"}).json() == before


def test_stems_in_every_format_the_app_offers_are_taken(client: TestClient) -> None:
    artist = Fan.sign_in(client, "nova-lane")
    t = np.arange(int(SECONDS * RATE)) / RATE
    tone = (0.3 * np.sin(2 * np.pi * 330.0 * t)).astype(np.float32)
    stems = {}
    for kind, fmt in (("keys", "WAV"), ("bass", "FLAC"), ("pad", "OGG"), ("lead", "AIFF")):
        out = io.BytesIO()
        sf.write(out, np.stack([tone, tone], axis=1), RATE, format=fmt)
        stems[kind] = out.getvalue()
    upload = client.post(f"{API}/uploads", headers=artist.headers, json=meta(stems)).json()
    send_all(client, artist, upload["upload_id"], stems)
    done = client.post(f"{API}/uploads/{upload['upload_id']}/finish", headers=artist.headers)
    assert done.status_code == 201, done.text
    assert [s["kind"] for s in done.json()["stems"]] == ["keys", "bass", "pad", "lead"]


def test_a_damaged_stem_is_dropped_to_be_sent_again(client: TestClient) -> None:
    artist = Fan.sign_in(client, "nova-lane")
    stems = {"keys": wav(220.0), "bass": wav(55.0)}
    upload = client.post(f"{API}/uploads", headers=artist.headers, json=meta(stems)).json()
    damaged = {"keys": stems["keys"], "bass": stems["bass"][:-1] + b"\x00"}
    send_all(client, artist, upload["upload_id"], damaged)
    refused = client.post(f"{API}/uploads/{upload['upload_id']}/finish", headers=artist.headers)
    assert refused.status_code == 422 and "Stem 'bass' arrived damaged" in refused.json()["detail"]
    status = client.get(f"{API}/uploads/{upload['upload_id']}", headers=artist.headers).json()
    assert status["received"] == {"keys": len(stems["keys"]), "bass": 0}
    send_all(client, artist, upload["upload_id"], stems)
    done = client.post(f"{API}/uploads/{upload['upload_id']}/finish", headers=artist.headers)
    assert done.status_code == 201


def test_uploads_are_the_artists_own_and_bodies_are_refused_before_they_are_read(
    client: TestClient,
) -> None:
    artist, other, fan = (Fan.sign_in(client, n) for n in ("nova-lane", "marlow-reed", "fan"))
    stems = {"keys": wav(220.0)}
    refused = client.post(f"{API}/uploads", headers=fan.headers, json=meta(stems))
    assert refused.status_code == 403 and "Only artists" in refused.json()["detail"]
    upload = client.post(f"{API}/uploads", headers=artist.headers, json=meta(stems)).json()
    path = f"{API}/uploads/{upload['upload_id']}"
    assert client.get(path, headers=other.headers).status_code == 404
    assert put(client, other, upload["upload_id"], "keys", 0, stems["keys"][:10]).status_code == 404
    # Declared too large, or sent signed out: refused from the head alone.
    huge = client.put(
        f"{path}/stems/keys",
        params={"offset": 0},
        headers=artist.headers | {"content-length": str(CHUNK_BYTES + 1)},
        content=b"",
    )
    assert huge.status_code == 413
    anonymous = client.put(f"{path}/stems/keys", params={"offset": 0}, content=b"x" * 100)
    assert anonymous.status_code == 401
    bad = client.post(f"{API}/uploads", headers=artist.headers, json=meta({"Keys!": b"x"}))
    assert bad.status_code == 422 and "not a stem name" in bad.json()["detail"]


def test_a_mono_stem_among_stereo_ones_is_taken_and_the_artist_told(client: TestClient) -> None:
    artist = Fan.sign_in(client, "nova-lane")
    t = np.arange(int(SECONDS * RATE)) / RATE
    mono = io.BytesIO()
    sf.write(mono, (0.3 * np.sin(2 * np.pi * 55.0 * t)).astype(np.float32), RATE, format="WAV")
    stems = {"keys": wav(220.0), "bass": mono.getvalue()}
    upload = client.post(f"{API}/uploads", headers=artist.headers, json=meta(stems)).json()
    send_all(client, artist, upload["upload_id"], stems)
    done = client.post(f"{API}/uploads/{upload['upload_id']}/finish", headers=artist.headers)
    assert done.status_code == 201
    assert done.json()["notes"] == [
        "Stem 'bass' is mono while others are stereo: it sits in the centre of the mix. "
        "Upload it again in stereo if it should be wide."
    ]
