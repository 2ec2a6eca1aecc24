# SPDX-License-Identifier: GPL-3.0-or-later
"""The platform as a deployment runs it, on real servers on loopback: PostgreSQL, the S3 object
store, an API process and job worker processes; and what it does when one of them fails."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from app.server.db import Derivative, make_engine
from app.server.stack.processes import free_port
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

    def serve(self) -> None:
        self.start("api", "serve", "--host", "127.0.0.1", "--port", str(self.port))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}{API}/platform/keys", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        pytest.fail((self.logs / "api.log").read_text())

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
    deployment.start("worker-1", "worker")
    with httpx.Client(base_url=deployment.url, timeout=30) as client:
        fan = Fan.sign_in(client, "fan")  # type: ignore[arg-type]
        recipe = drums_down(studio)
        signed = fan.signed(recipe, studio.flac(recipe), fan.licence())
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
        deployment.start("worker-2", "worker")

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
