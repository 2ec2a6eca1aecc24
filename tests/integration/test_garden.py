# SPDX-License-Identifier: GPL-3.0-or-later
"""The garden end to end, on the real platform on loopback with real studios and the real sound
device (the PulseAudio null sink): a fan publishes a remix of a walled track and one of an open
track; another fan finds both in the feed, listens, and the play is counted once however often
it is reported, and paid by the split; no route gives anyone the walled remix's plaintext, and
nothing decodable of it is on disk after listening; the open one downloads with its record; a
take-down leaves the feed and stops the listener's playback with the artist's reason."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from mutagen.flac import FLAC

from app.core.arrangement import SectionPlay
from app.core.codec import decode_audio
from app.core.credentials import strip_store
from app.core.play_report import PlayReport, sign_play_report
from app.platform_client.errors import ForbiddenError, GoneError
from app.server.config import PLAY_VALUE_MICRO
from app.server.routes import api_router
from app.studio.session import Studio
from app.studio.status import PlaybackStopped
from tests.helpers.garden import published_flac
from tests.helpers.plaintext import audio_windows, windows
from tests.helpers.playback import play_blocks, start
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.integration
API = "/api/v1"


def _publish(studio: Studio, track_id: str, title: str) -> dict[str, Any]:
    """A remix of the track's first section alone (a short remix, so a play counts soon)."""
    track = studio.open_track(track_id)
    recipe = track.recipe.with_arrangement(sections=(SectionPlay(0),)).with_stem(
        "drums", gain_db=-4
    )
    # The keys muted: a remix, not the original's intro (the spam gate measures 16-20 %).
    recipe = recipe.with_stem("keys", mute=True)
    made = track.publish(title=title, recipe=recipe)
    track.close()
    return made


def _routes_with_a_derivative() -> list[tuple[str, str]]:
    """Every (method, path) of the API that takes a derivative id."""
    found = []
    for route in api_router.routes:
        path = getattr(route, "path", "")
        if "{derivative_id}" in path:
            for method in sorted(getattr(route, "methods", ()) or ()):
                found.append((method, path))
    return found


def test_fans_hear_each_others_remixes_walled_or_open_and_every_play_pays(
    embedded: Any, isolated_home: Path
) -> None:
    maker = Studio(embedded.url)
    maker.login("fan", embedded.demo_password)
    walled = _publish(maker, "neon-harbour", "Harbour intro, drier")
    open_ = _publish(maker, "copper-wire", "Copper intro")
    assert (walled["status"], open_["status"]) == ("published", "published")

    listener = Studio(embedded.url)
    listener.login("fan2", embedded.demo_password)
    feed = listener.garden.feed()["items"]
    assert [i["id"] for i in feed][:2] == [open_["id"], walled["id"]]  # newest first
    by_id = {i["id"]: i for i in feed}
    assert by_id[walled["id"]]["walled"] is True and by_id[open_["id"]]["walled"] is False
    how = by_id[walled["id"]]["disclosure"]
    assert how["source"] == {"track_id": "neon-harbour", "version": 1, "title": "Neon Harbour",
                             "artist": "Nova Lane"}  # fmt: skip
    assert {s["stem"]: s["heard"] for s in how["stems"]}["drums"] == "clearly"
    assert how["ai"] == {
        "used": False,
        "share": 0.0,
        "areas": {a: {"ai": False, "models": [], "stems": []} for a in
                  ("vocals", "instrumentation", "post_production", "composition_lyrics")},
    }  # fmt: skip
    assert listener.garden.feed(track="copper-wire")["items"][0]["id"] == open_["id"]
    assert listener.garden.feed(q="harbour intro")["items"][0]["id"] == walled["id"]
    assert listener.garden.feed(fan="fan2")["items"] == []

    # fan2 listens to the walled remix through the sound device, to the end.
    listening = listener.listen(walled["id"])
    assert listening.duration_s == pytest.approx(walled["duration_s"], abs=0.01)
    start(listening)
    assert wait_for(lambda: listening.counted is not None, listening.duration_s + 15)
    assert listening.counted is True
    assert listening.listened_s >= listening.duration_s - 1.0
    listening.close()

    # The same play reported again, and again, counts no more.
    page = listener.garden.remix(walled["id"])
    assert page["plays"] == 1 and page["walled"] is True and page["downloadable"] is False
    ledger_before = listener.garden.earnings()
    lsn = listener.client.listen_licence(walled["id"], listener.profile.device_id)
    licence_id = json.loads(lsn)["body"]["licence_id"]
    again = sign_play_report(
        PlayReport(walled["id"], licence_id, listener.profile.user_id,
                   listener.profile.device_id, 40.0, int(time.time()) - 60),
        listener.device_keys().signing,
    )  # fmt: skip
    answers = listener.client.report_plays([again, again, again])
    assert answers["counted"] == 0
    assert listener.garden.remix(walled["id"])["plays"] == 1
    assert listener.garden.earnings() == ledger_before

    # The play paid the split of the licence the remix was made under: 60/10/30.
    artist = Studio(embedded.url)
    artist.login("nova-lane", embedded.demo_password)
    paid_artist = artist.garden.earnings()
    paid_fan = maker.garden.earnings()
    assert paid_artist["total_micro"] == int(PLAY_VALUE_MICRO * 0.6)
    assert paid_fan["total_micro"] == int(PLAY_VALUE_MICRO * 0.1)
    assert paid_artist["derivatives"][0] | {} == {
        "derivative_id": walled["id"], "title": "Harbour intro, drier",
        "track_id": "neon-harbour", "track_title": "Neon Harbour", "as": "artist", "plays": 1,
        "amount_micro": int(PLAY_VALUE_MICRO * 0.6),
    }  # fmt: skip

    # No route gives the walled remix's plaintext to the listener, its maker or its artist.
    admin = httpx.Client(base_url=embedded.url + API)
    token = admin.post(
        "/auth/login", json={"username": "admin", "password": embedded.demo_password}
    )
    admin.headers["Authorization"] = f"Bearer {token.json()['token']}"
    plain = admin.get(f"/derivatives/{walled['id']}/audio")
    assert plain.status_code == 200 and strip_store(plain.content)[:4] == b"fLaC"
    published = decode_audio(plain.content)[0]
    # The listener's own stream: the published audio with this listener's watermark.
    marked_flac = published_flac(listener, walled["id"])
    marked = decode_audio(marked_flac)[0]
    secret = (
        windows(strip_store(plain.content), 4096) | audio_windows(published)
        | windows(marked_flac, 4096) | audio_windows(marked)
    )  # fmt: skip
    assert secret
    # What the listener hears is that stream, sample for sample (volume at 0 dB): the
    # published audio, the mark 28 dB or more under it.
    heard = listener.listen(walled["id"])
    out = np.zeros_like(published)
    play_blocks(heard.mixer, 0, len(published), out)
    heard.close()
    assert np.array_equal(out, marked)
    mark_db = 10 * np.log10(np.sum((marked - published) ** 2) / np.sum(published**2))
    assert -60.0 < mark_db < -28.0
    for studio in (listener, maker, artist):
        for method, path in _routes_with_a_derivative():
            url = path.replace("{derivative_id}", walled["id"])
            body = {"device_id": studio.profile.device_id} if method == "POST" else None
            answer = studio.client._http.request(
                method, url, json=body,
                headers={"Authorization": f"Bearer {studio.client.token}"},
            )  # fmt: skip
            assert b"fLaC" not in answer.content[:64], (studio.profile.user_name, method, path)
            assert not any(w in answer.content for w in secret), (method, path)
    with pytest.raises(ForbiddenError, match="walled"):
        listener.garden.download(walled["id"], isolated_home / "walled.flac")

    # Nothing decodable of it on disk after listening: the cache holds only ciphertext.
    for path in isolated_home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(w in data for w in secret), path

    # The open one downloads, as published, with its record in its tags.
    saved = isolated_home / "copper.flac"
    listener.garden.download(open_["id"], saved)
    tags = FLAC(io.BytesIO(saved.read_bytes()))
    assert tags["TITLE"] == ["Copper intro"] and tags["ARTIST"] == ["fan"]
    assert tags["ORIGINAL_TITLE"] == ["Copper Wire"] and tags["ORIGINAL_ARTIST"] == ["Marlow Reed"]
    record = json.loads(tags["FANFARE_HOW_MADE"][0])
    assert record["source"]["track_id"] == "copper-wire"
    audio, rate = decode_audio(saved.read_bytes())
    assert rate == 48_000 and audio.shape[0] == round(open_["duration_s"] * rate)

    # A take-down: gone from the feed, and the listener's playback stops with the reason.
    listening = listener.garden.listen(open_["id"], renew_every_s=0.5)
    start(listening)
    owner = Studio(embedded.url)
    owner.login("marlow-reed", embedded.demo_password)
    owner.decide(open_["id"], "take down", "Not the version I agreed to.")
    assert wait_for(lambda: not listening.playing, 10)
    stopped = [n for n in listening.take_notices() if isinstance(n, PlaybackStopped)]
    assert stopped and "Not the version I agreed to." in stopped[0].text
    listening.close()
    assert open_["id"] not in [i["id"] for i in listener.garden.feed()["items"]]
    with pytest.raises(GoneError, match="took this remix down"):
        listener.listen(open_["id"])
    for studio in (maker, listener, artist, owner):
        studio.close()
    admin.close()
