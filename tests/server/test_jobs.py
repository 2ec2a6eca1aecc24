# SPDX-License-Identifier: GPL-3.0-or-later
"""Uploads as jobs on one machine (SQLite, the embedded default): answered at once when the
studio asks so, followed to their end, and finished after a platform that stopped mid-job
starts again."""

from __future__ import annotations

import time
from pathlib import Path

from app.server.config import ServerConfig
from app.server.db import Derivative, PublishJob, now_s
from app.server.intake import RUNNING
from app.server.schema import database
from tests.helpers.platform import Fan, Studio, drums_down, open_client


def follow(fan: Fan, job_id: str, timeout_s: float = 120.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        doc: dict[str, object] = fan.get(f"/derivatives/jobs/{job_id}", params={"wait": 5}).json()
        if doc["state"] in ("done", "refused", "failed"):
            return doc
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not end in {timeout_s:g} s")


def test_an_upload_asked_asynchronously_is_answered_at_once_and_followed_to_its_end(
    platform_dir: Path, studio: Studio
) -> None:
    with open_client(platform_dir) as client:
        fan, fan2 = Fan.sign_in(client, "fan"), Fan.sign_in(client, "fan2")
        recipe = drums_down(studio)
        signed = fan.signed(recipe, studio.flac(recipe), fan.licence())
        parts = {"audio": signed, "recipe": recipe.to_json().encode()}
        answer = fan.post_parts(parts, headers={"Prefer": "respond-async"})
        assert answer.status_code == 202
        job_id = answer.json()["job_id"]
        assert answer.headers["location"] == f"/api/v1/derivatives/jobs/{job_id}"
        assert fan2.get(f"/derivatives/jobs/{job_id}").status_code == 404  # not theirs
        # A held question answers as the job ends (or after the time it was given).
        asked = time.monotonic()
        held = fan.get(f"/derivatives/jobs/{job_id}", params={"wait": 30}).json()
        assert held["state"] == "done" or time.monotonic() - asked >= 29.9
        doc = follow(fan, job_id)
        assert doc["state"] == "done" and doc["status_code"] == 201
        assert isinstance(doc["derivative"], dict)
        assert doc["derivative"]["status"] == "published"
        # The same upload again is refused by the spam gate, with its sentence, as a job.
        again = fan.post_parts(parts, headers={"Prefer": "respond-async"})
        refused = follow(fan, again.json()["job_id"])
        assert refused["state"] == "refused" and refused["status_code"] in (409, 422)
        assert isinstance(refused["detail"], str) and refused["detail"].endswith(".")


def test_a_job_cut_off_by_a_stopped_platform_is_finished_when_it_starts_again(
    platform_dir: Path, studio: Studio
) -> None:
    with open_client(platform_dir) as client:
        fan = Fan.sign_in(client, "fan")
        recipe = drums_down(studio)
        signed = fan.signed(recipe, studio.flac(recipe), fan.licence())
        platform = client.app.state.platform  # type: ignore[attr-defined]
        # As the platform left it when its process stopped mid-verification: the upload kept,
        # the job taken, nothing published.
        with platform.sessions() as session:
            job = PublishJob(
                id="job_cutoff", user_id=fan.user_id, derivative_id="drv_cutoff",
                title="Cut off", takes=0, state=RUNNING, attempts=1,
                updated_at=now_s() - 2,
            )  # fmt: skip
            platform.blobs.put("incoming/job_cutoff/audio.flac", signed)
            platform.blobs.put("incoming/job_cutoff/recipe.json", recipe.to_json().encode())
            session.add(job)
            session.commit()
    time.sleep(1.1)  # the next process starts after the job was taken
    with open_client(platform_dir) as client:
        fan = Fan.sign_in(client, "fan")
        doc = follow(fan, "job_cutoff")
        assert doc["state"] == "done" and doc["attempts"] == 2
    config = ServerConfig.load(platform_dir)
    with database(config.database_url) as sessions, sessions() as session:
        assert session.get(Derivative, "drv_cutoff") is not None
