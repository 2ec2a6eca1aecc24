# SPDX-License-Identifier: GPL-3.0-or-later
"""The platform as a deployment runs it, on real servers on loopback: PostgreSQL, the S3 object
store, an API process and job worker processes; and what it does when one of them fails."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.recipe import Recipe
from app.platform_client.client import PlatformClient
from app.server.blobs.s3 import S3Blobs
from app.server.db import Derivative, PublishJob, make_engine
from app.server.stack.postgres import LocalPostgres
from app.server.stack.processes import StackError, free_port, wait_for_api
from app.server.stack.seaweed import LocalSeaweed
from tests.helpers.platform import API, Fan, Studio, drums_down

pytestmark = pytest.mark.integration


class Deployment:
    """``fanfare-platform serve`` and ``worker`` processes over one stack platform."""

    def __init__(self, data: Path, database: str, store: str, logs: Path) -> None:
        self.database = database
        self.logs = logs
        self.env = os.environ | {
            "FANFARE_PLATFORM_DATA": str(data),
            "FANFARE_DATABASE_URL": database,
            "FANFARE_BLOB_STORE": store,
            "FANFARE_UPLOAD_PER_MINUTE": "1e9",
        }
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> None:
        with (self.logs / f"{name}.log").open("ab") as log:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "app.server.cli", *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def serve(self, name: str = "api") -> str:
        """Start an API process (``name``: its log's name); its URL once it answers. The first
        is at :attr:`url`; others get ports of their own."""
        port = self.port if name == "api" else free_port()
        self.start(name, "serve", "--host", "127.0.0.1", "--port", str(port))
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for_api(url, self.processes[name], self.logs / f"{name}.log", timeout_s=60)
        except StackError as exc:
            pytest.fail(str(exc))
        return url

    def worker(self, name: str) -> None:
        """Start a job worker and wait until it works (its first line)."""
        self.start(name, "worker")
        log = self.logs / f"{name}.log"
        deadline = time.monotonic() + 60
        while "Fanfare job worker on" not in log.read_text(errors="replace"):
            if time.monotonic() > deadline or self.processes[name].poll() is not None:
                pytest.fail(log.read_text(errors="replace"))
            time.sleep(0.1)

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def deployment(stack_platform: tuple[Path, str, str], tmp_path: Path) -> Iterator[Deployment]:
    data, database, store = stack_platform
    running = Deployment(data, database, store, tmp_path)
    running.serve()
    yield running
    running.stop()


def signed_upload(http: httpx.Client, studio: Studio) -> tuple[Fan, Recipe, bytes]:
    """The demo fan signed in through ``http``, and a small honest remix signed for upload."""
    fan = Fan.sign_in(http, "fan")  # type: ignore[arg-type]
    recipe = drums_down(studio)
    return fan, recipe, fan.signed(recipe, studio.flac(recipe), fan.licence())


def wait_for(what: str, check: object, timeout_s: float) -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()  # type: ignore[operator]
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"waited {timeout_s:g} s for {what}")


def test_a_worker_killed_mid_verification_is_replaced_and_the_remix_published_once(
    deployment: Deployment, studio: Studio
) -> None:
    deployment.worker("worker-1")
    with httpx.Client(base_url=deployment.url, timeout=30) as client:
        fan, recipe, signed = signed_upload(client, studio)
        publish_id = secrets.token_urlsafe(16)
        started = time.monotonic()
        answer = fan.post_parts(
            {"audio": signed, "recipe": recipe.to_json().encode()},
            headers={"Prefer": "respond-async", "X-Fanfare-Publish": publish_id},
        )
        assert answer.status_code == 202, answer.text
        assert time.monotonic() - started < 5  # kept and queued: the answer does not wait
        job = f"/derivatives/jobs/{answer.json()['job_id']}"

        def rerendering() -> bool:
            progress = fan.get(f"/derivatives/publishing/{publish_id}")
            return progress.status_code == 200 and progress.json()["step"] == "re-rendering"

        wait_for("the re-render to start", rerendering, 120)
        deployment.kill("worker-1")  # as a crash or a lost machine would
        assert fan.get(job).json()["state"] == "running"
        deployment.worker("worker-2")

        def ended() -> dict[str, object] | None:
            doc: dict[str, object] = fan.get(job).json()
            return doc if doc["state"] in ("done", "refused", "failed") else None

        doc = wait_for("the job to end on the second worker", ended, 180)
        assert isinstance(doc, dict)
        assert doc["state"] == "done" and doc["attempts"] == 2, doc
        derivative = doc["derivative"]
        assert isinstance(derivative, dict) and derivative["status"] == "published"
        mine = fan.get("/derivatives").json()
        assert [d["id"] for d in mine] == [derivative["id"]]  # published once
    engine = make_engine(deployment.database)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Derivative)) == 1
    engine.dispose()


def _token(fan: Fan) -> str:
    return fan.headers["authorization"].split()[1]


def _jobs_of(database: str, user_id: str) -> list[PublishJob]:
    engine = make_engine(database)
    try:
        with Session(engine) as session:
            return list(session.scalars(select(PublishJob).where(PublishJob.user_id == user_id)))
    finally:
        engine.dispose()


def _derivatives_of(database: str, user_id: str) -> int:
    engine = make_engine(database)
    try:
        with engine.connect() as connection:
            return int(
                connection.scalar(
                    select(func.count())
                    .select_from(Derivative)
                    .where(Derivative.user_id == user_id)
                )
                or 0
            )
    finally:
        engine.dispose()


def test_postgresql_restarted_mid_upload_the_studio_sends_it_again_and_it_is_kept_once(
    deployment: Deployment, studio: Studio, postgres: object
) -> None:
    assert isinstance(postgres, LocalPostgres)
    deployment.worker("worker-1")
    store = S3Blobs.from_url(deployment.env["FANFARE_BLOB_STORE"])
    before = set(store.sizes("incoming/"))
    with httpx.Client(base_url=deployment.url, timeout=30) as http:
        fan, recipe, signed = signed_upload(http, studio)
    stopped = threading.Event()
    restart = threading.Thread(target=lambda: (stopped.wait(60), time.sleep(3), postgres.start()))
    restart.start()

    def progress(step: str, fraction: float) -> None:
        if step == "uploading" and fraction >= 0.5 and not stopped.is_set():
            postgres.stop()  # halfway through the upload's bytes, as a crash or a failover
            stopped.set()

    client = PlatformClient(deployment.url, token=_token(fan))
    try:
        doc = client.upload_derivative(
            audio=signed, recipe=recipe.to_json().encode(), title="Harbour Lights",
            on_progress=progress,
        )  # fmt: skip
    finally:
        stopped.set()
        restart.join()
        client.close()
    assert stopped.is_set() and doc["status"] == "published"
    # The first try met the database down (a 503 with the sentence): the studio sent it again.
    assert "database:" in (deployment.logs / "api.log").read_text()
    jobs = _jobs_of(deployment.database, fan.user_id)
    assert [job.state for job in jobs] == ["done"]  # one job: nothing half kept of the first try
    assert _derivatives_of(deployment.database, fan.user_id) == 1
    assert set(store.sizes("incoming/")) == before  # the upload's blobs go once it is published


def test_the_object_store_down_during_an_upload_keeps_nothing_and_it_goes_through_when_back(
    deployment: Deployment, studio: Studio, seaweed: object
) -> None:
    assert isinstance(seaweed, LocalSeaweed)
    deployment.worker("worker-1")
    with httpx.Client(base_url=deployment.url, timeout=60) as http:
        fan, recipe, signed = signed_upload(http, studio)
        parts = {"audio": signed, "recipe": recipe.to_json().encode()}
        seaweed.stop()
        try:
            answer = fan.post_parts(parts, headers={"Prefer": "respond-async"})
        except BaseException:
            seaweed.start()
            raise
    assert answer.status_code == 503
    assert answer.json()["detail"] == (
        "The platform's storage is not answering; nothing was lost, try again shortly."
    )
    assert _jobs_of(deployment.database, fan.user_id) == []  # nothing queued
    # The studio sends it again while the store is away; it goes through once it is back.
    back = threading.Timer(2.0, seaweed.start)
    back.start()
    client = PlatformClient(deployment.url, token=_token(fan))
    try:
        doc = client.upload_derivative(
            audio=signed, recipe=recipe.to_json().encode(), title="Harbour Lights"
        )
    finally:
        back.join()
        client.close()
    assert doc["status"] == "published"
    assert [job.state for job in _jobs_of(deployment.database, fan.user_id)] == ["done"]
    assert _derivatives_of(deployment.database, fan.user_id) == 1


def test_two_api_processes_racing_on_one_upload_or_one_recipe_publish_it_once(
    deployment: Deployment, studio: Studio
) -> None:
    second = deployment.serve("api-2")
    deployment.worker("worker-1")
    deployment.worker("worker-2")
    with httpx.Client(base_url=deployment.url, timeout=60) as http:
        fan, recipe, signed = signed_upload(http, studio)
        form = {"audio": signed, "recipe": recipe.to_json().encode()}

    def post(url: str, publish_id: str) -> httpx.Response:
        files = {name: (name, data, "application/octet-stream") for name, data in form.items()}
        headers = fan.headers | {"Prefer": "respond-async", "X-Fanfare-Publish": publish_id}
        return httpx.post(
            f"{url}{API}/derivatives", headers=headers, files=files,
            data={"title": "Harbour Lights"}, timeout=60,
        )  # fmt: skip

    urls = [deployment.url, second]
    # The same recipe in two uploads, one to each process, verified by two workers at once:
    # one is published, the other refused as the account's repeat.
    with ThreadPoolExecutor(2) as pool:
        pair = list(pool.map(post, urls, [secrets.token_urlsafe(16) for _ in urls]))
    assert [a.status_code for a in pair] == [202, 202], [a.text for a in pair]
    # One upload sent to both processes at once (a studio that sent it again elsewhere): one job.
    same = secrets.token_urlsafe(16)
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(post, urls, [same, same]))
    assert [a.status_code for a in answers] == [202, 202], [a.text for a in answers]
    assert answers[0].json()["job_id"] == answers[1].json()["job_id"]
    with httpx.Client(base_url=deployment.url, timeout=60, headers=fan.headers) as http:

        def ended(job_id: str) -> dict[str, Any]:
            def done() -> dict[str, Any] | None:
                doc: dict[str, Any] = http.get(
                    f"{API}/derivatives/jobs/{job_id}", params={"wait": 10}
                ).json()
                return doc if doc["state"] in ("done", "refused", "failed") else None

            found = wait_for(f"job {job_id} to end", done, 300)
            assert isinstance(found, dict)
            return found

        raced = [ended(a.json()["job_id"]) for a in pair]
        again = ended(same_job := answers[0].json()["job_id"])
    assert sorted(doc["state"] for doc in raced) == ["done", "refused"], raced
    for doc in (*raced, again):
        if doc["state"] == "refused":
            assert doc["status_code"] == 409, doc
            assert doc["detail"].startswith(
                ("You have sent this exact remix before", "This sounds the same as your remix")
            ), doc
    assert again["state"] == "refused"  # the recipe published already
    jobs = _jobs_of(deployment.database, fan.user_id)
    assert len(jobs) == 3 and [j.id for j in jobs if j.publish_id == same] == [same_job]
    assert _derivatives_of(deployment.database, fan.user_id) == 1
