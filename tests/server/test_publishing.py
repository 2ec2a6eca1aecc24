# SPDX-License-Identifier: GPL-3.0-or-later
"""An upload's verification, step by step, as its uploader reads it while the upload waits for
its answer (``GET /derivatives/publishing/{id}``), and as nobody else may."""

from __future__ import annotations

import secrets
import threading
import time
from pathlib import Path

from httpx import Response

from tests.helpers.platform import Fan, Studio, drums_down, open_client

STEPS = ("checking", "re-rendering", "publishing", "done")


Seen = list[tuple[str, float]]


def _upload_watched(fan: Fan, parts: dict[str, bytes], publish_id: str) -> tuple[Response, Seen]:
    """Upload ``parts`` under ``publish_id`` on one thread while this one reads its progress
    as often as it can; the upload's answer and every distinct (step, fraction) read."""
    answer: list[Response] = []
    uploading = threading.Thread(
        target=lambda: answer.append(
            fan.post_parts(parts, headers={"X-Fanfare-Publish": publish_id})
        )
    )
    uploading.start()
    seen: Seen = []
    while True:
        done = not uploading.is_alive()
        response = fan.get(f"/derivatives/publishing/{publish_id}")
        if response.status_code == 200:
            doc = response.json()
            assert set(doc) == {"step", "fraction", "updated_at"}
            if not seen or seen[-1] != (doc["step"], doc["fraction"]):
                seen.append((doc["step"], doc["fraction"]))
        else:
            assert response.status_code == 404, response.text  # not started yet
        if done:
            break
        time.sleep(0.01)
    uploading.join()
    return answer[0], seen


def test_the_uploader_reads_verification_step_by_step_and_nobody_else_does(
    platform_dir: Path, studio: Studio
) -> None:
    with open_client(platform_dir) as client:
        fan, fan2 = Fan.sign_in(client, "fan"), Fan.sign_in(client, "fan2")
        recipe = drums_down(studio)  # the whole song: its re-render takes a while
        signed = fan.signed(recipe, studio.flac(recipe), fan.licence())
        parts = {"audio": signed, "recipe": recipe.to_json().encode()}
        publish_id = secrets.token_urlsafe(16)
        response, seen = _upload_watched(fan, parts, publish_id)
        assert response.status_code == 201, response.text
        steps = [step for step, _ in seen]
        assert steps[-1] == "done" and seen[-1][1] == 1.0
        assert "re-rendering" in steps
        order = [STEPS.index(step) for step in steps]
        assert order == sorted(order), seen  # in order, never back
        for step in STEPS:
            fractions = [f for s, f in seen if s == step]
            assert fractions == sorted(fractions) and all(0 <= f <= 1 for f in fractions)
        # Only its uploader reads it; for anyone else there is no such upload.
        path = f"/derivatives/publishing/{publish_id}"
        assert fan2.get(path).status_code == 404
        assert fan.get(f"/derivatives/publishing/{secrets.token_urlsafe(16)}").status_code == 404

        # The same remix again is refused, and its progress says so.
        again = secrets.token_urlsafe(16)
        signed = fan.signed(recipe, studio.flac(recipe), fan.licence())
        parts = {"audio": signed, "recipe": recipe.to_json().encode()}
        refused = fan.post_parts(parts, headers={"X-Fanfare-Publish": again})
        assert refused.status_code == 409, refused.text
        assert fan.get(f"/derivatives/publishing/{again}").json()["step"] == "refused"
        assert fan.get(path).json()["step"] == "done"  # the first is as it was


def test_a_publish_id_is_16_to_64_url_safe_characters(platform_dir: Path, studio: Studio) -> None:
    with open_client(platform_dir) as client:
        fan = Fan.sign_in(client, "fan")
        recipe = drums_down(studio)
        parts = {"audio": b"not even FLAC", "recipe": recipe.to_json().encode()}
        for bad in ("short", "x" * 65, "a/b" + "c" * 20, "a.b" + "c" * 20):
            response = fan.post_parts(parts, headers={"X-Fanfare-Publish": bad})
            assert response.status_code == 422, (bad, response.text)
        # Without one (an older studio), the upload is verified as before, with no progress.
        response = fan.post_parts(parts)
        assert response.status_code == 422 and "X-Fanfare-Publish" not in response.text
