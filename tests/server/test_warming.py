# SPDX-License-Identifier: GPL-3.0-or-later
"""A fan's studio tells the platform the tempo and key it is working at; the platform stretches
the stems ahead, and the upload's verification then stretches nothing. Only a fan holding a
licence may ask, only for what the artist allows, and only so many times a day."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from app.core.arrangement import SectionPlay
from app.core.recipe import Recipe
from tests.helpers.platform import API, TRACK, Fan, Studio, drums_down, open_client
from tests.helpers.waiting import wait_for


def _doc(recipe: Recipe) -> dict[str, Any]:
    return dict(json.loads(recipe.to_json()))


def _remix(studio: Studio) -> Recipe:
    """A short retimed remix: one section of Neon Harbour at 1.12x, drums down, keys and pad
    out (past the spam gate)."""
    return drums_down(studio).with_tempo(ratio=1.12).with_arrangement(sections=(SectionPlay(3),))


def test_a_tempo_worked_at_is_stretched_ahead_and_the_upload_verified_from_it(
    platform_dir: Path, studio: Studio
) -> None:
    recipe = _remix(studio)
    with open_client(platform_dir) as client:
        fan = Fan.sign_in(client, "fan")
        fan.licence()
        platform = client.app.state.platform  # type: ignore[attr-defined]
        store = platform.stem_cache.chunks
        answer = client.post(f"{API}/tracks/{TRACK}/warm", headers=fan.headers, json=_doc(recipe))
        assert answer.status_code == 202, answer.text
        assert answer.json() == {"queued": True}
        assert wait_for(platform.warmer.idle, timeout_s=180)
        assert platform.warmer.made > 0 and len(store) == platform.warmer.made
        misses = store.misses
        published = fan.publish(recipe, studio.flac(recipe))
        assert published.status_code == 201, published.text
        assert store.misses == misses  # the re-render read every stretched chunk back


def test_only_a_licensed_fan_may_ask_and_only_for_what_the_artist_allows(
    platform_dir: Path, studio: Studio
) -> None:
    recipe = _remix(studio)
    with open_client(platform_dir, warms_per_day=2) as client:
        fan = Fan.sign_in(client, "fan")
        path = f"{API}/tracks/{TRACK}/warm"
        unlicensed = client.post(path, headers=fan.headers, json=_doc(recipe))
        assert unlicensed.status_code == 403
        assert "no licence" in unlicensed.json()["detail"]
        fan.licence()
        too_fast = _doc(recipe) | {"tempo_ratio": 1.5}
        refused = client.post(path, headers=fan.headers, json=too_fast)
        assert refused.status_code in (403, 422), refused.text
        unchanged = client.post(path, headers=fan.headers, json=_doc(studio.recipe))
        assert unchanged.status_code == 202 and unchanged.json() == {"queued": False}
        other = client.post(f"{API}/tracks/paper-moons/warm", headers=fan.headers,
                            json=_doc(recipe))  # fmt: skip
        assert other.status_code == 404
        platform = client.app.state.platform  # type: ignore[attr-defined]
        for ratio in (1.05, 1.1):
            queued = client.post(
                path, headers=fan.headers, json=_doc(recipe.with_tempo(ratio=ratio))
            )
            assert queued.status_code == 202
        over = client.post(path, headers=fan.headers, json=_doc(recipe.with_tempo(ratio=1.15)))
        assert over.status_code == 429
        assert "2 tempo or key changes a day" in over.json()["detail"]
        signed_out = client.post(path, json=_doc(recipe))
        assert signed_out.status_code == 401
        platform.warmer.close()


def test_an_upload_stops_its_fans_stretch_ahead(platform_dir: Path, studio: Studio) -> None:
    """The fan's upload arrives while the platform still stretches their tempo: the stretch
    ahead stops (the re-render makes the rest on every core), whatever the upload's fate."""
    whole = drums_down(studio).with_tempo(ratio=0.9)  # the whole track: most of a minute
    with open_client(platform_dir) as client:
        fan = Fan.sign_in(client, "fan")
        fan.licence()
        platform = client.app.state.platform  # type: ignore[attr-defined]
        store = platform.stem_cache.chunks
        answer = client.post(f"{API}/tracks/{TRACK}/warm", headers=fan.headers, json=_doc(whole))
        assert answer.json() == {"queued": True}
        assert wait_for(lambda: len(store) >= 5)
        refused = fan.post_parts({"audio": b"fLaC not really", "recipe": whole.to_json().encode()})
        assert refused.status_code == 422  # no Content Credentials: refused first thing
        assert wait_for(platform.warmer.idle, timeout_s=10)
        stopped_at = len(store)
        time.sleep(0.5)
        assert len(store) == stopped_at < 5 * 150  # ~150 chunks a stem at 0.9x: far from done
