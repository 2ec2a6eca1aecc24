# SPDX-License-Identifier: GPL-3.0-or-later
"""The garden's storage on the real app: a remix published before remixes were kept encrypted
is encrypted at its first request and its plain file removed, and sounds the same; the feed is
one page of published remixes of published tracks, filtered and searched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.core.bundle import decrypt_stem
from app.core.credentials import strip_store
from app.server.db import Derivative, DerivativeAudio
from app.server.garden import plaintext
from tests.helpers.platform import Fan, Studio, drums_down, open_client


def as_before(platform: Any, drv: str, audio: bytes) -> None:
    """Keep ``drv`` as the previous release did: its FLAC in the clear, no encrypted copy."""
    with platform.sessions() as session:
        row, kept = session.get(Derivative, drv), session.get(DerivativeAudio, drv)
        platform.blobs.delete(kept.blob_name)
        session.delete(kept)
        row.audio_blob = f"derivatives/{drv}.flac"
        platform.blobs.put(row.audio_blob, audio)
        session.commit()


def test_an_older_plain_remix_is_encrypted_at_its_first_request(
    platform_dir: Path, studio: Studio
) -> None:
    with open_client(platform_dir) as client:
        fan, fan2 = Fan.sign_in(client, "fan"), Fan.sign_in(client, "fan2")
        audio = studio.flac(drums_down(studio))
        drv = fan.publish(drums_down(studio), audio).json()["id"]
        platform = client.app.state.platform  # type: ignore[attr-defined]
        as_before(platform, drv, audio)
        plain_file = platform.blobs.path(f"derivatives/{drv}.flac")
        assert plain_file.exists()

        licence = fan2.listen_licence(drv)
        stream = fan2.get(f"/derivatives/{drv}/stream")
        assert stream.status_code == 200 and stream.content[:6] == b"FFSTEM"
        key = licence.content_key(fan2.keys)
        assert bytes(decrypt_stem(key, stream.content, expect=(drv, 1, "mix"))) == audio
        assert not plain_file.exists()  # nothing of it in the clear any more
        page = fan2.get(f"/derivatives/{drv}").json()
        assert page["walled"] is True and len(page["overview"]) > 100
        with platform.sessions() as session:
            row = session.get(Derivative, drv)
            assert plaintext(session, platform.blobs, platform.config.master_key, row) == audio


def test_an_older_remix_made_walled_stays_walled_when_its_track_opens(
    platform_dir: Path, studio: Studio
) -> None:
    """Its policy then said walled: opening the track later does not make it downloadable."""
    with open_client(platform_dir) as client:
        fan, fan2 = Fan.sign_in(client, "fan"), Fan.sign_in(client, "fan2")
        artist = Fan.sign_in(client, "nova-lane")
        audio = studio.flac(drums_down(studio))
        drv = fan.publish(drums_down(studio), audio).json()["id"]
        as_before(client.app.state.platform, drv, audio)  # type: ignore[attr-defined]
        policy = artist.get("/tracks/neon-harbour").json()["policy"] | {"downloadable": True}
        opened = client.patch(
            "/api/v1/tracks/neon-harbour", headers=artist.headers, json={"policy": policy}
        )
        assert opened.status_code == 200, opened.text
        refused = fan2.get(f"/derivatives/{drv}/download")
        assert refused.status_code == 403 and "walled" in refused.json()["detail"]
        assert fan2.get(f"/derivatives/{drv}").json()["walled"] is True


def test_an_open_remix_downloads_under_its_title_whatever_its_script(
    platform_dir: Path, studio: Studio
) -> None:
    with open_client(platform_dir) as client:
        fan, fan2 = Fan.sign_in(client, "fan"), Fan.sign_in(client, "fan2")
        artist = Fan.sign_in(client, "nova-lane")
        policy = artist.get("/tracks/neon-harbour").json()["policy"] | {"downloadable": True}
        client.patch("/api/v1/tracks/neon-harbour", headers=artist.headers, json={"policy": policy})
        recipe = drums_down(studio)
        audio = studio.flac(recipe)
        parts = {"audio": fan.signed(recipe, audio, fan.licence()),
                 "recipe": recipe.to_json().encode()}  # fmt: skip
        drv = fan.post_parts(parts, title="港の夜 / night").json()["id"]
        got = fan2.get(f"/derivatives/{drv}/download")
        assert got.status_code == 200, got.text
        assert got.headers["content-disposition"] == (
            'attachment; filename="___ _ night.flac"; '
            "filename*=UTF-8''%E6%B8%AF%E3%81%AE%E5%A4%9C%20%2F%20night.flac"
        )
        # The FLAC stream behind the Content Credentials' ID3 tag, signed by the platform.
        assert got.content[:3] == b"ID3" and strip_store(got.content)[:4] == b"fLaC"


def test_the_feed_lists_published_remixes_of_published_tracks(
    platform_dir: Path, studio: Studio
) -> None:
    with open_client(platform_dir) as client:
        fan, fan2 = Fan.sign_in(client, "fan"), Fan.sign_in(client, "fan2")
        artist = Fan.sign_in(client, "nova-lane")
        made = []
        for title, muted in (("Night bus", "bass"), ("Dawn 100% tide_", "lead")):
            recipe = drums_down(studio).with_stem(muted, mute=True)  # two different sounds
            audio = studio.flac(recipe)
            parts = {"audio": fan.signed(recipe, audio, fan.licence()),
                     "recipe": recipe.to_json().encode()}  # fmt: skip
            response = fan.post_parts(parts, title=title)
            assert response.status_code == 201, response.text
            made.append(response.json()["id"])

        def ids(**query: object) -> list[str]:
            answer = fan2.get("/feed", params=query)
            assert answer.status_code == 200, answer.text
            return [item["id"] for item in answer.json()["items"]]

        assert ids() == made[::-1]
        assert ids(limit=1) == [made[1]]
        assert fan2.get("/feed", params={"limit": 1}).json()["next"] == 1
        assert ids(limit=1, offset=1) == [made[0]]
        assert ids(fan="fan") == made[::-1] and ids(fan="fan2") == []
        assert ids(artist="nova-lane") == made[::-1] and ids(artist="marlow-reed") == []
        assert ids(track="copper-wire") == []
        assert ids(q="100%") == [made[1]]  # % and _ are words here, not wildcards
        assert ids(q="tide_") == [made[1]] and ids(q="n_") == []  # not "Dawn 1…", "Night…"
        assert ids(q="NEON") == made[::-1]  # the track's title, any case
        assert fan2.get("/feed", params={"sort": "loudest"}).status_code == 422
        hidden = client.patch(
            "/api/v1/tracks/neon-harbour", headers=artist.headers, json={"published": False}
        )
        assert hidden.status_code == 200
        assert ids() == []
