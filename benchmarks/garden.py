# SPDX-License-Identifier: GPL-3.0-or-later
"""The garden: a published remix from a click to the first audio (cold and cached) and a seek
while it plays, a page of the feed over 100,000 remixes, and play reports counted per second
on two workers."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import http.client
import itertools
import json
import random
import shutil
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchmarks.serving import LONG_TRACK_S, enrol, long_audio, platform, sign_in
from benchmarks.studio import SEEKS_AT, _wait_for_audio
from benchmarks.table import Figure, benchmark, isolated_home, median

# --- remixes in a platform's database -------------------------------------------------------

#: Words of the benchmark remixes' titles: "<first> <second>", 40 x 40 titles. A search for
#: one first word (SEARCH) matches 1 remix in 40 by its title.
FIRST = (
    "midnight", "neon", "paper", "copper", "slow", "late", "bright", "hollow", "golden",
    "quiet", "broken", "electric", "velvet", "silver", "distant", "restless", "lazy", "wild",
    "frozen", "sunday", "northern", "city", "ocean", "summer", "winter", "dusty", "lucky",
    "lonely", "happy", "deep", "cosmic", "secret", "rainy", "early", "blue", "red", "green",
    "crystal", "tidal", "open",
)  # fmt: skip
SECOND = (
    "drive", "lights", "moons", "wire", "dance", "dub", "edit", "rework", "tape", "echo",
    "groove", "dream", "walk", "flip", "heat", "rain", "sky", "road", "line", "waves",
    "bounce", "shuffle", "garden", "harbour", "signal", "motion", "fever", "mirror", "static",
    "circuit", "bloom", "drift", "run", "tide", "glow", "pulse", "storm", "haze", "spin", "loop",
)  # fmt: skip
SEARCH = "midnight"
NO_MATCH = "zebrafinch"  # in no title, track or fan name: the search reads every remix
FEED_REMIXES = 100_000
FEED_FANS = 2_000
#: Remixes that are not in the feed besides (waiting for review, refused, taken down).
FEED_HIDDEN = 5_000


def _sessions(folder: Path) -> tuple[Any, Any]:
    """(the platform's configuration, a session factory on its database) for ``folder``."""
    from app.server.config import ServerConfig
    from app.server.db import make_sessions
    from app.server.schema import connect

    config = ServerConfig.load(folder)
    return config, make_sessions(connect(config.database_url))


def _templates(session: Any) -> list[dict[str, Any]]:
    """For each published track of the demo, what a remix of it carries, as the platform writes
    it on publication (``routes/derivatives.py``): its recipe (a stem turned down), the signed
    record's fields and the how-it-was-made document."""
    from sqlalchemy import select

    from app import __version__
    from app.core.disclosure import disclose
    from app.core.recipe import Recipe
    from app.server.catalog import track_info
    from app.server.db import Track, User

    found = []
    for track in session.scalars(select(Track).where(Track.published.is_(True))):
        info = track_info(session, track)
        artist = session.get(User, track.artist_id)
        kinds = info.stem_kinds
        recipe = Recipe.default_for(info).with_stem(kinds[0], gain_db=-4.0)
        levels = {kind: -3.0 - index for index, kind in enumerate(kinds)}
        disclosure = disclose(recipe, info, artist.display_name or artist.name, levels)
        disclosure |= {
            "ai_used": False, "ai_models": [], "styled_stems": {}, "stems_used": list(kinds),
            "policy_version": 1,
        }  # fmt: skip
        record = {
            "audio_format": "audio/flac", "recipe_sha256": recipe.digest(),
            "track": track.id, "track_version": track.version, "licence_id": "",
            "watermark_session": "", "device": "", "user": "", "created_at": 0,
            "ingredients": [f"{track.id}/v{track.version}/{kind}" for kind in kinds],
            "ai": {"used": False, "models": []},
            "software": {"name": "Fanfare", "version": __version__},
        }  # fmt: skip
        found.append({
            "track": track, "artist": artist.name, "recipe": recipe.to_dict(),
            "disclosure": disclosure, "record": record,
            "split": dict(track.policy.get("revenue_split") or {"artist": 1.0}),
        })  # fmt: skip
    return found


def _add_fans(session: Any, count: int, prefix: str) -> list[Any]:
    """``count`` fan accounts (``<prefix>-0001``...), with the demo's password."""
    from sqlalchemy import insert, select

    from app.server.db import User, new_id

    demo = session.scalar(select(User).where(User.name == "fan"))
    rows = [
        {"id": new_id("usr"), "name": f"{prefix}-{i:04d}", "display_name": f"Fan {i}",
         "role": "fan", "tier": "free", "password_hash": demo.password_hash,
         "created_at": int(time.time())}
        for i in range(1, count + 1)
    ]  # fmt: skip
    session.execute(insert(User), rows)
    session.commit()
    return list(session.scalars(select(User).where(User.name.like(f"{prefix}-%"))))


def _add_remixes(
    folder: Path, count: int, *, fans: int, hidden: int = 0, played: float = 0.4
) -> list[str]:
    """Write ``count`` published remixes (and ``hidden`` others) of the demo's tracks, by
    ``fans`` new fan accounts, made over the past year, straight into the platform's tables
    with SQLAlchemy core, each with the rows publication writes: the remix, its encrypted
    audio's row (a content key wrapped under the master key, its overview; no audio file) and
    its listing in the feed (with a play count for a share ``played`` of them). Returns the
    published remixes' ids."""
    from sqlalchemy import insert

    from app.server.db import Derivative, DerivativeAudio, DerivativeListing, new_id
    from app.server.garden import OVERVIEW_POINTS, audio_blob_name, audio_key_purpose
    from app.server.reviews import AWAITING, PUBLISHED, REFUSED, TAKEN_DOWN
    from app.server.vaultkeys import wrap

    config, sessions = _sessions(folder)
    chance = random.Random(15)
    now = int(time.time())
    peaks = [chance.randrange(40, 256) for _ in range(OVERVIEW_POINTS)]
    published: list[str] = []
    with sessions() as session:
        templates = _templates(session)
        makers = _add_fans(session, fans, "maker")
        step = 5_000
        for start in range(0, count + hidden, step):
            remixes, audio, plays = [], [], []
            for index in range(start, min(start + step, count + hidden)):
                made = templates[index % len(templates)]
                fan = makers[chance.randrange(len(makers))]
                remix_id = new_id("drv")
                title = f"{chance.choice(FIRST)} {chance.choice(SECOND)}".capitalize()
                created = now - chance.randrange(365 * 86_400)
                status = PUBLISHED
                if index >= count:
                    status = (AWAITING, REFUSED, TAKEN_DOWN)[index % 3]
                else:
                    published.append(remix_id)
                audio_sha = hashlib.sha256(remix_id.encode()).hexdigest()
                remixes.append({
                    "id": remix_id, "user_id": fan.id, "track_id": made["track"].id,
                    "track_version": made["track"].version, "licence_id": new_id("lic"),
                    "device_id": new_id("dev"), "title": title, "status": status,
                    "recipe": made["recipe"] | {"title": title},
                    "provenance": made["record"] | {
                        "audio_sha256": audio_sha, "user": fan.id, "created_at": created,
                    },
                    "disclosure": made["disclosure"],
                    "attribution": {"split": made["split"], "artist": made["artist"],
                                    "fan": fan.name},
                    "audio_blob": audio_blob_name(remix_id), "audio_sha256": audio_sha,
                    "duration_s": round(chance.uniform(45.0, 300.0), 3), "created_at": created,
                })  # fmt: skip
                audio.append({
                    "derivative_id": remix_id, "blob_name": audio_blob_name(remix_id),
                    "blob_size": chance.randrange(5_000_000, 50_000_000),
                    "wrapped_key": wrap(config.master_key, chance.randbytes(32),
                                        audio_key_purpose(remix_id)),
                    "downloadable": index % 2 == 0, "peaks": peaks,
                })  # fmt: skip
                times = 0
                if chance.random() < played:  # a long tail: most played a few times
                    times = int(chance.paretovariate(1.2))
                words = f"{title} {made['track'].title} {fan.name}".lower()
                plays.append({"derivative_id": remix_id, "plays": times, "created_at": created,
                              "words": words})  # fmt: skip
            session.execute(insert(Derivative), remixes)
            session.execute(insert(DerivativeAudio), audio)
            session.execute(insert(DerivativeListing), plays)
            session.commit()
    return published


def _remix_flac(seconds: float) -> tuple[bytes, list[int]]:
    """A remix as the platform keeps it: the long track's 8 stems mixed, at 48 kHz (soxr, as
    ingest resamples), brought to -14 LUFS (true peak under -1 dBTP) by the engine's own
    loudness step, 24-bit FLAC; and its waveform overview."""
    import numpy as np
    import soxr

    from app.core.codec import encode_flac
    from app.engine.loudness import normalise
    from app.server.garden import overview

    mix: Any = None
    rates = set()
    for _, audio, source_rate in long_audio(seconds):
        stereo = audio if audio.ndim == 2 else np.repeat(audio[:, None], 2, axis=1)
        mix = stereo.copy() if mix is None else mix + stereo
        rates.add(source_rate)
    (source_rate,) = rates
    rate = 48_000
    mix = soxr.resample(mix, source_rate, rate, quality="HQ").astype(np.float32)
    loud, _ = normalise(mix, rate)
    return encode_flac(loud, rate), overview(loud)


def _publish_remix(folder: Path, seconds: float) -> str:
    """A published remix of neon-harbour by the demo fan, ``seconds`` long, its audio encrypted
    and stored as publication stores it (``seal_audio``): what a listener streams."""
    from sqlalchemy import select

    from app.server.blobs import open_blobs
    from app.server.db import Derivative, User, new_id
    from app.server.garden import seal_audio
    from app.server.reviews import PUBLISHED

    flac, peaks = _remix_flac(seconds)
    config, sessions = _sessions(folder)
    with sessions() as session:
        made = _templates(session)[0]
        fan = session.scalar(select(User).where(User.name == "fan"))
        remix_id = new_id("drv")
        sha = hashlib.sha256(flac).hexdigest()
        session.add(
            Derivative(
                id=remix_id, user_id=fan.id, track_id=made["track"].id,
                track_version=made["track"].version, licence_id=new_id("lic"),
                device_id=new_id("dev"), title="Long night, bench remix", status=PUBLISHED,
                recipe=made["recipe"], provenance=made["record"] | {"audio_sha256": sha},
                disclosure=made["disclosure"],
                attribution={"split": made["split"], "artist": made["artist"], "fan": fan.name},
                audio_blob=f"derivatives/{remix_id}.ffstem", audio_sha256=sha,
                duration_s=seconds,
            )
        )  # fmt: skip
        sealed = seal_audio(
            open_blobs(config), config.master_key, remix_id, flac,
            downloadable=False, peaks=peaks,
        )  # fmt: skip
        session.flush()
        session.add(sealed)
        session.commit()
    return remix_id


# --- listening ----------------------------------------------------------------------------


@benchmark
def garden_listen(quick: bool) -> list[Figure]:
    """A published 4-minute remix (1 minute with --quick): click (``Studio.listen`` then
    ``play``) to the device pulling its first audio, with its ciphertext not cached and cached;
    then seeks while it plays to the device pulling audio from the new place."""
    seconds = 60.0 if quick else LONG_TRACK_S
    runs = 3 if quick else 5
    home = isolated_home()
    from app.studio.garden import MIX
    from app.studio.session import Studio

    made: dict[str, str] = {}
    clicks: dict[bool, list[float]] = {True: [], False: []}  # cold: not cached
    opens: dict[bool, list[float]] = {True: [], False: []}
    seeks: list[float] = []
    with platform(setup=lambda folder: made.update(id=_publish_remix(folder, seconds))) as url:
        remix = made["id"]
        studio = Studio(url)
        studio.login("fan2", "fanfare-demo")
        for run in range(runs + 1):  # the first run (device, connections, imports) not counted
            for cold in (True, False):
                if cold:
                    studio.cache.discard(remix, 1, MIX)
                start = time.perf_counter()
                listening = studio.listen(remix)
                opened = time.perf_counter() - start
                try:
                    listening.play()
                    first = _wait_for_audio(listening, start, 0.0)
                    if run > 0:
                        clicks[cold].append(first)
                        opens[cold].append(opened)
                    time.sleep(0.7)
                    for share in SEEKS_AT:
                        to = round(listening.duration_s * share, 3)
                        start = time.perf_counter()
                        listening.seek(to)
                        took = _wait_for_audio(listening, start, to)
                        if run > 0:
                            seeks.append(took)
                        time.sleep(0.5)
                    if not listening.playing:
                        raise RuntimeError("the remix stopped playing during the benchmark")
                finally:
                    listening.close()
        size = studio.cache.path(remix, 1, MIX).stat().st_size
        studio.close()
    shutil.rmtree(home, ignore_errors=True)
    label = f"{seconds / 60:g}-min remix, {size / 1e6:.0f} MB encrypted FLAC, loopback"
    cold, warm = median(clicks[True]) * 1000, median(clicks[False]) * 1000
    seek = median(seeks) * 1000
    return [
        Figure(f"remix click -> first audio, not cached ({label}), median of {runs}", cold,
               "ms", "<= 300", cold <= 300),
        Figure("  of which listen(): document, listen licence, stream into the cache, check",
               median(opens[True]) * 1000, "ms", "", None),
        Figure(f"remix click -> first audio, cached ({label}), median of {runs}", warm, "ms",
               "<= 100", warm <= 100),
        Figure("  of which listen(): document, listen licence, check the cached ciphertext",
               median(opens[False]) * 1000, "ms", "", None),
        Figure(f"remix seek while playing -> audio ({label}), median of {len(seeks)}", seek,
               "ms", "<= 150", seek <= 150),
    ]  # fmt: skip


# --- the feed -----------------------------------------------------------------------------


def _percentile(values: list[float], share: float) -> float:
    """The ``share`` (0-100) percentile of at least 20 samples, interpolated."""
    if len(values) < 20:
        raise RuntimeError(f"a percentile of {len(values)} samples (fewer than 20)")
    return statistics.quantiles(values, n=100, method="inclusive")[round(share) - 1]


@contextlib.contextmanager
def _full_collections() -> Iterator[list[float]]:
    """How long each full (generation 2) garbage collection of this process took meanwhile."""
    took: list[float] = []
    began = [0.0]

    def watch(phase: str, info: dict[str, Any]) -> None:
        if info["generation"] == 2:
            if phase == "start":
                began[0] = time.perf_counter()
            else:
                took.append(time.perf_counter() - began[0])

    gc.callbacks.append(watch)
    try:
        yield took
    finally:
        gc.callbacks.remove(watch)


@contextlib.contextmanager
def _statements(sessions: Any) -> Iterator[list[tuple[str, Any]]]:
    """Every SQL statement run through ``sessions``' engine meanwhile: (text, parameters)."""
    from sqlalchemy import event

    engine = sessions.kw["bind"]
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, text: str, params: Any, *_: Any) -> None:
        seen.append((text, params))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _query_plan(sessions: Any, query: Any) -> str:
    """SQLite's EXPLAIN QUERY PLAN of the feed's query for ``query``."""
    from app.server.feed import feed

    with _statements(sessions) as seen, sessions() as session:
        feed(session, query)
    sql, params = seen[-1]
    with sessions() as session:
        raw = session.connection().connection.driver_connection
        rows = raw.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
    return "\n".join(f"  {'  ' * (parent > 0)}{detail}" for _, parent, _, detail in rows)


#: The feed pages timed: their name in the table, and the query (``GET /api/v1/feed``'s).
FEED_PAGES = {
    "newest first": {"sort": "new"},
    "most played first": {"sort": "popular"},
    f"words ({SEARCH!r}: 1 remix in 40)": {"sort": "new", "q": SEARCH},
    "words matching none (reads every remix)": {"sort": "new", "q": NO_MATCH},
}


def _time_feed(folder: Path, calls: int) -> dict[str, Any]:
    """Run in a fresh process: each feed page of ``FEED_PAGES`` ``calls`` times, interleaved,
    through ``app.server.feed.feed`` on the platform's database (3 calls each first, not
    timed). Returns the times, the full garbage collections that fell in calls over 50 ms, and
    SQLite's plan of each page's query."""
    from app.server.feed import FeedQuery, feed

    _, sessions = _sessions(folder)
    queries = {name: FeedQuery(**page) for name, page in FEED_PAGES.items()}
    took: dict[str, list[float]] = {name: [] for name in queries}
    slow_gc: dict[str, list[float]] = {name: [] for name in queries}
    for name, query in queries.items():  # the first pages read the tables in
        for _ in range(3):
            with sessions() as session:
                items = feed(session, query)["items"]
        if len(items) != (0 if query.q == NO_MATCH else 50):
            raise RuntimeError(f"the feed ({name}) gave {len(items)} remixes")
    with _full_collections() as collected:
        for _ in range(calls):  # interleaved, so a busy moment falls on all of them
            for name, query in queries.items():
                with sessions() as session:
                    before = len(collected)
                    start = time.perf_counter()
                    feed(session, query)
                    took[name].append(time.perf_counter() - start)
                    if took[name][-1] > 0.05 and len(collected) > before:
                        slow_gc[name].append(collected[-1])
    plans = {name: _query_plan(sessions, query) for name, query in queries.items()}
    return {"took": took, "slow_gc": slow_gc, "plans": plans}


@benchmark
def garden_feed(quick: bool) -> list[Figure]:
    """A page of 50 of 100,000 published remixes (by 2,000 fans, 40 % of them played), newest
    first, most played first, and searched for words: ``app.server.feed.feed`` timed in a
    fresh process on the platform's database; then ``GET /api/v1/feed`` on loopback."""
    import multiprocessing

    calls = 20 if quick else 200
    slow_calls = 5 if quick else 30  # over HTTP, of a page that takes over 100 ms
    made: dict[str, Any] = {}

    def fill(folder: Path) -> None:
        began = time.perf_counter()
        _add_remixes(folder, FEED_REMIXES, fans=FEED_FANS, hidden=FEED_HIDDEN)
        made["folder"] = folder
        print(f"feed: {FEED_REMIXES:,} remixes written in {time.perf_counter() - began:.0f} s",
              file=sys.stderr)  # fmt: skip

    over_http: dict[str, list[float]] = {name: [] for name in FEED_PAGES}
    with platform(setup=fill) as url:
        # A fresh process, so that what ran before in this one (its heap, for the garbage
        # collector) does not weigh on the figure.
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            found = pool.apply(_time_feed, (made["folder"], calls))
        token = sign_in(url, "fan2")
        with _signed_client(url, token) as client:
            for page in FEED_PAGES.values():
                client.get("/api/v1/feed", params=page).raise_for_status()
            slow = {name for name, took in found["took"].items() if median(took) > 0.1}
            for _ in range(calls):
                for name, page in FEED_PAGES.items():
                    if name in slow and len(over_http[name]) >= slow_calls:
                        continue
                    start = time.perf_counter()
                    client.get("/api/v1/feed", params=page).raise_for_status()
                    over_http[name].append(time.perf_counter() - start)
    figures = []
    for name, took in found["took"].items():
        p50, p99 = median(took) * 1000, _percentile(took, 99) * 1000
        http = over_http[name]
        figures += [
            Figure(f"feed page (50 of {FEED_REMIXES:,} remixes), {name}: in process, p50 of "
                   f"{len(took)}", p50, "ms", "", None),
            Figure(f"  p99 of {len(took)}", p99, "ms", "<= 50", p99 <= 50),
            Figure(f"  over HTTP on loopback (GET /api/v1/feed, signed in), p50 of {len(http)}",
                   median(http) * 1000, "ms", "", None),
        ]  # fmt: skip
        if len(http) >= 20:
            figures.append(
                Figure(f"  over HTTP, p99 of {len(http)}", _percentile(http, 99) * 1000, "ms",
                       "", None)
            )  # fmt: skip
        if p99 > 50:
            over = sum(t > 0.05 for t in took)
            collections = found["slow_gc"][name]
            if collections:
                print(f"feed, {name}: {over} of {len(took)} calls over 50 ms, "
                      f"{len(collections)} of them with a full garbage collection of the "
                      f"process ({', '.join(f'{c * 1000:.0f}' for c in collections[:8])} ms)",
                      file=sys.stderr)  # fmt: skip
            print(f"feed, {name}: EXPLAIN QUERY PLAN\n{found['plans'][name]}", file=sys.stderr)
    return figures


@contextlib.contextmanager
def _signed_client(url: str, token: str) -> Iterator[Any]:
    """An HTTP client of the platform at ``url`` signed in with ``token``."""
    import httpx

    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as client:
        yield client


# --- play reports -------------------------------------------------------------------------

#: Reports in one POST /plays (the route takes up to 200).
BATCH = 100
#: Connections the load generator keeps open (keep-alive), each one request at a time.
CONNECTIONS = 8


def _hammer(
    url: str, requests: list[tuple[str, str, bytes]], connections: int = CONNECTIONS
) -> tuple[float, list[bytes]]:
    """POST every (path, token, JSON body) over ``connections`` keep-alive connections at
    once, each sending its next request when the last was answered; (seconds from the first
    request sent to the last answer, the answers in order). A status other than 200 or 201 is
    an error."""
    where = urlsplit(url)
    answers: list[bytes] = [b""] * len(requests)
    failures: list[str] = []
    turn = itertools.count()
    ready = threading.Barrier(connections + 1)

    def work() -> None:
        link = http.client.HTTPConnection(where.hostname, where.port, timeout=120)
        ready.wait()
        try:
            while (index := next(turn)) < len(requests) and not failures:
                path, token, body = requests[index]
                link.request("POST", path, body=body, headers={
                    "Authorization": f"Bearer {token}", "Content-Type": "application/json",
                })  # fmt: skip
                answer = link.getresponse()
                data = answer.read()
                if answer.status not in (200, 201):
                    failures.append(f"{path}: {answer.status} {data[:300]!r}")
                answers[index] = data
        finally:
            link.close()

    threads = [threading.Thread(target=work) for _ in range(connections)]
    for thread in threads:
        thread.start()
    ready.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed, e.g. {failures[0]}")
    return took, answers


def _listeners(folder: Path, count: int, made: dict[str, Any]) -> None:
    """Set-up: ``count`` listener accounts, each signed in (a bearer token, as a login gives);
    the tokens in ``made["tokens"]``."""
    from app.server.accounts import issue_token

    _, sessions = _sessions(folder)
    with sessions() as session:
        users = _add_fans(session, count, "listener")
        made["tokens"] = [(user.id, issue_token(session, user)[0]) for user in users]


@benchmark
def garden_plays(quick: bool) -> list[Figure]:
    """Signed play reports answered per second by the platform on 2 workers, in POSTs of 100
    and one per POST: many listeners, each with an enrolled device and a listen licence for
    each of 100 remixes issued through the API, reporting 31 s heard once the licences are
    over 30 s old, each (listener, remix) once, so each report is one the platform counts."""
    import httpx

    from app.core.play_report import PlayReport, sign_play_report

    rounds = 3
    batch_users = 5 if quick else 50  # a POST of 100 reports each, per round
    single_users = 2 if quick else 10  # 100 POSTs of 1 report each, per round
    users = rounds * (batch_users + single_users)
    made: dict[str, Any] = {}

    def setup(folder: Path) -> None:
        made["remixes"] = _add_remixes(folder, BATCH, fans=20)
        _listeners(folder, users, made)

    with platform(workers=2, setup=setup) as url:
        remixes = made["remixes"]
        listeners = []
        with httpx.Client() as client:
            for user_id, token in made["tokens"]:
                device, keys = enrol(url, token, client)
                listeners.append((user_id, token, device, keys))
        began = time.perf_counter()
        asks = [
            (f"/api/v1/derivatives/{remix}/listen", token, b'{"device_id": "%s"}' % device.encode())
            for _, token, device, _ in listeners for remix in remixes
        ]  # fmt: skip
        took, answers = _hammer(url, asks)
        issued = time.time()
        licences = [json.loads(a)["body"] for a in answers]
        print(f"plays: {len(licences):,} listen licences issued in {took:.1f} s "
              f"({len(licences) / took:,.0f}/s)", file=sys.stderr)  # fmt: skip
        reports: list[list[dict[str, Any]]] = []  # per listener, one per remix
        for index, (user_id, _, device, keys) in enumerate(listeners):
            mine = licences[index * len(remixes) : (index + 1) * len(remixes)]
            reports.append([
                sign_play_report(
                    PlayReport(body["derivative"], body["licence_id"], user_id, device, 31.0,
                               int(body["issued_at"])),
                    keys.signing,
                )
                for body in mine
            ])  # fmt: skip
        # A play counts once its licence is 30 s old (the platform allows 5 s of clock
        # difference): wait that out, as listeners who listened 31 s would.
        time.sleep(max(0.0, issued + 31.0 - time.time()))
        print(f"plays: set up in {time.perf_counter() - began:.0f} s", file=sys.stderr)
        batched: list[float] = []
        single: list[float] = []
        counted = answered = 0
        path = "/api/v1/plays"
        for round_ in range(rounds):
            first = round_ * (batch_users + single_users)
            group = range(first, first + batch_users)
            posts = [
                (path, listeners[i][1], json.dumps({"reports": reports[i]}).encode()) for i in group
            ]
            singles = range(first + batch_users, first + batch_users + single_users)
            posts_one = [
                (path, listeners[i][1], json.dumps({"reports": [report]}).encode())
                for i in singles for report in reports[i]
            ]  # fmt: skip
            for rates, sent in ((batched, posts), (single, posts_one)):
                took, answers = _hammer(url, sent)
                results = [r for a in answers for r in json.loads(a)["results"]]
                rates.append(len(results) / took)
                counted += sum(r["counted"] for r in results)
                answered += len(results)
                reasons = {r["reason"] for r in results if not r["counted"]}
                if reasons:
                    print(f"plays: not counted: {reasons}", file=sys.stderr)
    rate = median(batched)
    share = 100.0 * counted / answered
    return [
        Figure(f"play reports answered, POSTs of {BATCH} ({batch_users * BATCH:,} reports by "
               f"{batch_users} listeners, {CONNECTIONS} connections, 2 workers), median of "
               f"{rounds}", rate, "reports/s", ">= 1000", rate >= 1000),
        Figure(f"play reports answered, one per POST ({single_users * BATCH:,} reports), "
               f"median of {rounds}", median(single), "reports/s", "", None),
        Figure(f"  share of the {answered:,} reports counted (each a new listener and remix)",
               share, "%", "100", share == 100.0),
    ]  # fmt: skip
