# SPDX-License-Identifier: GPL-3.0-or-later
"""The platform as many fans use it at once, on the embedded default and on the stack
(PostgreSQL, SeaweedFS, API and job worker processes) in the same run: a load generator on
httpx, licences on PostgreSQL per API core, and verification throughput per job worker."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from benchmarks.serving import _wrk_licences, device_body, enrol, platform, sign_in
from benchmarks.table import Figure, benchmark, isolated_home, median

PASSWORD = "fanfare-demo"
LIFTED = ("LICENCE", "LOGIN", "UPLOAD")  # the per-minute limits a load from one address meets
TRACKS = ("neon-harbour", "paper-moons", "copper-wire")
WHOLE_EVERY = 10
PIECE_BYTES = 2 << 20
PIECE, WHOLE = "stem, 2 MiB range", "stem, whole"


# --- the two platforms ------------------------------------------------------------------------


@dataclass
class Target:
    """A running platform: its URL, its database, and (on the stack) its job workers."""

    name: str
    url: str
    database_url: str
    stack: Any = None  # app.server.stack.cli.Stack where it is one
    env: dict[str, str] = field(default_factory=dict)


@contextlib.contextmanager
def _limits_lifted() -> Iterator[None]:
    saved = {name: os.environ.get(f"FANFARE_{name}_PER_MINUTE") for name in LIFTED}
    os.environ.update({f"FANFARE_{name}_PER_MINUTE": "1e9" for name in LIFTED})
    os.environ["FANFARE_UPLOADS_PER_DAY_FREE"] = "1000"
    try:
        yield
    finally:
        os.environ.pop("FANFARE_UPLOADS_PER_DAY_FREE", None)
        for name, value in saved.items():
            os.environ.pop(f"FANFARE_{name}_PER_MINUTE", None)
            if value is not None:
                os.environ[f"FANFARE_{name}_PER_MINUTE"] = value


@contextlib.contextmanager
def embedded(fans: int, api_workers: int = 2) -> Iterator[Target]:
    """The embedded default (SQLite and a blob folder; jobs in a thread of each API process),
    seeded, with ``fans`` accounts more."""
    database = ""

    def setup(folder: Path) -> None:
        nonlocal database
        database = f"sqlite:///{folder / 'platform.sqlite3'}"
        add_fans(database, fans)

    with _limits_lifted(), platform(workers=api_workers, setup=setup) as url:
        yield Target("embedded (SQLite, folder)", url, database)


@contextlib.contextmanager
def stack(fans: int, api_workers: int = 2, job_workers: int = 1) -> Iterator[Target]:
    """``platform-stack up`` in a temporary folder, seeded, with ``fans`` accounts more."""
    from app.server.stack.cli import Stack

    root = Path(tempfile.mkdtemp(prefix="fanfare-bench-stack-"))
    running = Stack(root)
    try:
        with _limits_lifted():
            env = running.up(api_workers, job_workers, port=0, seed=True)
        add_fans(env["FANFARE_DATABASE_URL"], fans)
        yield Target(
            "stack (PostgreSQL, SeaweedFS)",
            env["FANFARE_PLATFORM_URL"],
            env["FANFARE_DATABASE_URL"],
            running,
            env,
        )
    finally:
        running.down(purge=True)
        shutil.rmtree(root, ignore_errors=True)


def fan_name(index: int) -> str:
    return f"load-fan-{index:04d}"


def add_fans(database_url: str, count: int) -> None:
    """``count`` fan accounts (password ``PASSWORD``), written straight into the database: one
    argon2 hash shared, so that set-up does not cost ``count`` hashes."""
    from argon2 import PasswordHasher
    from sqlalchemy.orm import Session

    from app.server.db import User, make_engine, new_id

    hashed = PasswordHasher().hash(PASSWORD)
    engine = make_engine(database_url)
    with Session(engine) as session:
        for i in range(count):
            session.add(
                User(
                    id=new_id("usr"),
                    name=fan_name(i),
                    display_name=f"Fan {i}",
                    role="fan",
                    tier="free",
                    password_hash=hashed,
                )
            )
        session.commit()
    engine.dispose()


# --- uploads a studio made --------------------------------------------------------------------


@dataclass
class Upload:
    """A remix a genuine studio rendered and signed, kept to be sent during the load."""

    studio: Any  # app.studio.session.Studio, signed in
    parts: dict[str, Any]


def prepare_uploads(url: str, first_fan: int, count: int, home: Path) -> list[Upload]:
    """``count`` (up to 24) distinct remixes of neon-harbour (each its own tempo and muted
    stem, so that no two sound alike to the spam gate), each rendered and signed by its own
    fan's studio (``OpenTrack.publish`` with the upload itself held back)."""
    from app.studio.profile import StudioPaths
    from app.studio.session import Studio

    uploads = []
    for index in range(count):
        folder = home / f"uploader-{first_fan + index}"
        paths = StudioPaths(folder / "config", folder / "data", home / "cache")
        studio = Studio(url, paths=paths)
        studio.login(fan_name(first_fan + index), PASSWORD)
        track = studio.open_track("neon-harbour")
        # 12 tempos x 2 muted stems: 24 remixes no two of which sound alike to the gate.
        track.set_tempo(ratio=0.82 + 0.035 * (index % 12))
        track.set_stem(("keys", "pad")[index // 12 % 2], mute=True)
        track.set_stem("drums", gain_db=-3.0)
        held: dict[str, Any] = {}

        def keep(held: dict[str, Any] = held, **parts: Any) -> dict[str, Any]:
            held.update(parts)
            return {}

        studio.client.upload_derivative = keep
        track.publish(title=f"Load remix {index}")
        del studio.client.upload_derivative  # the client's own method again
        track.close()
        uploads.append(Upload(studio, held))
    return uploads


def send(upload: Upload) -> tuple[float, str]:
    """Send a prepared upload as the studio does (202, then the job followed with held
    questions): seconds to published, and how it ended ("published" or the refusal)."""
    from app.platform_client.client import PlatformError

    start = time.perf_counter()
    try:
        upload.studio.client.upload_derivative(**upload.parts)
        outcome = "published"
    except PlatformError as exc:
        outcome = f"{exc.status}: {exc}"
    return time.perf_counter() - start, outcome


# --- the load -------------------------------------------------------------------------------


@dataclass
class Tally:
    """Each route's answer times (s), and what went wrong."""

    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: dict[str, str] = field(default_factory=dict)  # one error text per route

    def requests(self) -> int:
        return sum(len(t) for t in self.times.values()) + sum(self.errors.values())


async def _call(
    client: httpx.AsyncClient, tally: Tally, route: str, method: str, path: str, **kwargs: Any
) -> httpx.Response | None:
    start = time.perf_counter()
    try:
        if route.startswith("stem"):
            async with client.stream(method, path, **kwargs) as answer:
                if answer.status_code >= 400:
                    await answer.aread()  # the sentence, for the report
                else:
                    async for _ in answer.aiter_raw(1 << 20):
                        pass
        else:
            answer = await client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        tally.errors[route] += 1
        tally.samples.setdefault(route, repr(exc))
        return None
    if answer.status_code >= 400:
        tally.errors[route] += 1
        tally.samples.setdefault(route, f"{answer.status_code} {answer.text[:200]}")
        return None
    tally.times[route].append(time.perf_counter() - start)
    return answer


async def fan_session(
    client: httpx.AsyncClient, tally: Tally, index: int, device: dict[str, str], think_s: float
) -> None:
    """One fan's evening: sign in, browse the catalogue and the garden, enrol this computer,
    then license two tracks and fetch a stem of each: a 2 MiB range, or for one fan in
    ``WHOLE_EVERY`` the whole stem (5-15 MB), so that the load is not all bytes on loopback."""
    rng = random.Random(index)

    async def think() -> None:
        await asyncio.sleep(rng.uniform(0.5, 1.5) * think_s)

    answer = await _call(
        client, tally, "sign in", "POST", "/auth/login",
        json={"username": fan_name(index), "password": PASSWORD},
    )  # fmt: skip
    if answer is None:
        return
    auth = {"Authorization": f"Bearer {answer.json()['token']}"}
    await think()
    await _call(client, tally, "catalogue", "GET", "/tracks", headers=auth)
    await think()
    await _call(client, tally, "garden feed", "GET", "/feed", headers=auth)
    answer = await _call(
        client, tally, "enrol device", "POST", "/devices", headers=auth, json=device
    )
    if answer is None:
        return
    device_id = answer.json()["device_id"]
    for track in rng.sample(TRACKS, 2):
        await think()
        await _call(client, tally, "track", "GET", f"/tracks/{track}", headers=auth)
        body = {"track_id": track, "device_id": device_id}
        await _call(client, tally, "licence", "POST", "/licences", headers=auth, json=body)
        kind = rng.choice(("bass", "keys", "lead", "drums"))
        path = f"/tracks/{track}/versions/1/stems/{kind}"
        if index % WHOLE_EVERY == 0:
            await _call(client, tally, WHOLE, "GET", path, headers=auth)
        else:  # a studio resuming a download asks for the rest from where it stopped
            piece = auth | {"Range": f"bytes=0-{PIECE_BYTES - 1}"}
            await _call(client, tally, PIECE, "GET", path, headers=piece)


def _device_bodies(count: int) -> list[dict[str, str]]:
    from app.core.keys import DeviceKeys

    return [device_body(DeviceKeys.generate(), f"load {index}") for index in range(count)]


@dataclass
class LoadResult:
    tally: Tally
    wall_s: float
    uploads: list[tuple[float, str]]


async def _load(
    url: str, fans: int, ramp_s: float, think_s: float, uploads: list[Upload]
) -> LoadResult:
    tally = Tally()
    devices = _device_bodies(fans)
    limits = httpx.Limits(max_connections=fans, max_keepalive_connections=fans)
    timeout = httpx.Timeout(120.0, connect=30.0)
    async with httpx.AsyncClient(
        base_url=f"{url}/api/v1", limits=limits, timeout=timeout
    ) as client:

        async def arriving(index: int) -> None:
            await asyncio.sleep(ramp_s * index / fans)
            await fan_session(client, tally, index, devices[index], think_s)

        start = time.perf_counter()
        sent = [asyncio.to_thread(send, upload) for upload in uploads]
        done = await asyncio.gather(*(arriving(i) for i in range(fans)), *sent)
        wall_s = time.perf_counter() - start
    return LoadResult(tally, wall_s, list(done[fans:]))


def run_load(
    target: Target, fans: int, ramp_s: float, think_s: float, uploads: list[Upload]
) -> LoadResult:
    return asyncio.run(_load(target.url, fans, ramp_s, think_s, uploads))


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def load_figures(label: str, result: LoadResult) -> list[Figure]:
    tally = result.tally
    figures = [
        Figure(
            f"{label}: requests answered / s (all routes)",
            sum(len(t) for t in tally.times.values()) / result.wall_s,
            "req/s",
            "n/a",
            None,
        )
    ]
    for route in ("sign in", "catalogue", "garden feed", "enrol device", "track", "licence",
                  PIECE, WHOLE):  # fmt: skip
        times = tally.times.get(route, [])
        if times:
            figures.append(
                Figure(
                    f"{label}: {route} p50 / p99 ({len(times)} answered)",
                    1000 * _percentile(times, 0.5),
                    f"ms (p99 {1000 * _percentile(times, 0.99):,.0f} ms)",
                    "n/a",
                    None,
                )
            )
    published = [s for s, outcome in result.uploads if outcome == "published"]
    if published:
        figures.append(
            Figure(
                f"{label}: remix upload -> published, during the load "
                f"({len(published)} of {len(result.uploads)})",
                median(published, at_least=1),
                f"s median (slowest {max(published):.1f} s)",
                "n/a",
                None,
            )
        )
    errors = sum(tally.errors.values()) + len(result.uploads) - len(published)
    figures.append(Figure(f"{label}: errors", errors, "requests", "0", errors == 0))
    for route, text in tally.samples.items():
        print(f"  {label}: {tally.errors[route]} x {route}: {text}")
    for _, outcome in result.uploads:
        if outcome != "published":
            print(f"  {label}: an upload ended {outcome}")
    return figures


@benchmark
def platform_load(quick: bool) -> list[Figure]:
    """500 fans at once on the embedded default and on the stack, one after the other."""
    fans = 500
    uploaders = 3 if quick else 8
    ramp_s, think_s = (10.0, 0.5) if quick else (30.0, 1.0)
    figures = []
    home = isolated_home()
    try:
        for place in (embedded, stack):
            with place(fans + uploaders) as target:
                uploads = prepare_uploads(target.url, fans, uploaders, home / place.__name__)
                result = run_load(target, fans, ramp_s, think_s, uploads)
                for upload in uploads:
                    upload.studio.close()
            figures += load_figures(f"{fans} fans, {target.name}", result)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return figures


# --- per API core and per job worker ------------------------------------------------------------


@benchmark
def stack_licences(quick: bool) -> list[Figure]:
    """Licences per second with one API worker process (one core's worth) on PostgreSQL, beside
    the same on the embedded SQLite platform."""
    if shutil.which("wrk") is None:
        return [Figure("licence issue per API worker (needs wrk)", 0, "req/s", ">= 300", None)]
    seconds = 2 if quick else 8
    rates = {}
    for place in (embedded, stack):
        with place(0, api_workers=1) as target:
            token = sign_in(target.url)
            device = enrol(target.url, token)[0]
            _wrk_licences(target.url, device, token, 1)  # warm-up, not timed
            rates[place.__name__] = median(
                _wrk_licences(target.url, device, token, seconds) for _ in range(3)
            )
    return [
        Figure(
            "licence issue, 1 API worker, PostgreSQL (stack; wrk 8 connections)",
            rates["stack"],
            "req/s",
            ">= 300",
            rates["stack"] >= 300,
        ),
        Figure(
            "licence issue, 1 API worker, SQLite (embedded; the same run)",
            rates["embedded"],
            "req/s",
            "n/a",
            None,
        ),
    ]


@benchmark
def verify_scaling(quick: bool) -> list[Figure]:
    """Uploads verified per minute by 1 job worker and by 2, on the stack, in alternating
    rounds: each batch queued while no worker runs, then timed from the workers' start to the
    last remix published."""
    rounds, batch = 3, (2 if quick else 4)
    home = isolated_home()
    rates: dict[int, list[float]] = {1: [], 2: []}
    try:
        with stack(2 * rounds * batch, api_workers=1, job_workers=0) as target:
            uploads = prepare_uploads(target.url, 0, 2 * rounds * batch, home)
            for index in range(2 * rounds):
                workers = 1 + index % 2
                chosen = uploads[index * batch : (index + 1) * batch]
                rates[workers].append(_verified_per_minute(target, workers, chosen))
            for upload in uploads:
                upload.studio.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    one, two = median(rates[1]), median(rates[2])
    label = f"{batch} uploads a batch, {rounds} rounds"
    return [
        Figure(f"verification, 1 job worker ({label})", one, "per min", "n/a", None),
        Figure(f"verification, 2 job workers ({label})", two, "per min", "n/a", None),
        Figure("verification: 2 workers / 1 worker", two / one, "x", ">= 1.8", two / one >= 1.8),
    ]


def _verified_per_minute(target: Target, workers: int, uploads: list[Upload]) -> float:
    """Queue ``uploads`` with no worker running, then start ``workers`` and time them."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(uploads)) as pool:
        sent = [pool.submit(send, upload) for upload in uploads]
        _wait_queued(target, len(uploads))
        start = time.perf_counter()
        for index in range(workers):
            target.stack.start_job_worker(index, target.env)
        outcomes = [future.result() for future in sent]
        elapsed = time.perf_counter() - start
    for index in range(workers):
        target.stack.stop_job_worker(index, signal.SIGTERM)
    failed = [outcome for _, outcome in outcomes if outcome != "published"]
    if failed:
        raise RuntimeError(f"uploads were not published: {failed}")
    return 60.0 * len(uploads) / elapsed


def _wait_queued(target: Target, count: int) -> None:
    """Until ``count`` publish jobs more wait in the queue."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from app.server.db import PublishJob, make_engine

    engine = make_engine(target.database_url)
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            with Session(engine) as session:
                queued = session.scalar(
                    select(func.count()).select_from(PublishJob).where(PublishJob.state == "queued")
                )
            if queued == count:
                return
            time.sleep(0.2)
    finally:
        engine.dispose()
    raise RuntimeError(f"{count} uploads were not queued within 300 s")
