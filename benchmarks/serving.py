# SPDX-License-Identifier: GPL-3.0-or-later
"""The platform under load (licences, upload verification), and the seeded platforms the
studio's figures run against."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from app.server.stack.processes import wait_for_api
from benchmarks.table import ROOT, Figure, benchmark, isolated_home, median

# --- seeded platforms -----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def platform(workers: int = 1, setup: Callable[[Path], None] | None = None) -> Iterator[str]:
    """A seeded platform in its own processes (``workers`` uvicorn workers), rate limits lifted.

    ``setup`` runs on the data folder after seeding, before the server starts."""
    from app.server.cli import main as platform_cli

    folder = Path(tempfile.mkdtemp(prefix="fanfare-bench-"))
    try:
        with contextlib.redirect_stdout(sys.stderr):
            platform_cli(["seed-demo", "--data", str(folder)])
        if setup is not None:
            setup(folder)
    except BaseException:  # a set-up that fails leaves no data folder behind (the feed's: 1 GB)
        shutil.rmtree(folder, ignore_errors=True)
        raise
    port = _free_port()
    limits = ("LICENCE", "LOGIN", "UPLOAD")
    env = dict(os.environ, **{f"FANFARE_{name}_PER_MINUTE": "1e9" for name in limits})
    log = folder / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "fanfare-platform"),
                "serve",
                "--data",
                str(folder),
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_api(url, process, log, timeout_s=30)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


LONG_TRACK_S = 240.0  # long-night's length; 60 s with --quick where a figure says so
LONG_KINDS = ("drums", "bass", "keys", "chords", "lead", "pad", "guitar", "other")
LONG_SOURCES = (
    "neon-harbour/drums", "neon-harbour/bass", "neon-harbour/keys", "paper-moons/keys",
    "neon-harbour/lead", "neon-harbour/pad", "copper-wire/guitar", "copper-wire/keys",
)  # fmt: skip


def long_audio(seconds: float) -> Iterator[tuple[str, Any, int]]:
    """(kind, float32 audio, sample rate) of 8 stems of music, ``seconds`` long: the demo's
    stems (SoundFont renders) repeated. Benchmark input, not user content."""
    import numpy as np
    import soundfile as sf

    for kind, source in zip(LONG_KINDS, LONG_SOURCES, strict=True):
        audio, rate = sf.read(ROOT / "assets/demo/stems" / f"{source}.ogg", dtype="float32")
        frames = int(seconds * rate)
        yield kind, np.resize(audio, (frames, *audio.shape[1:])), rate


def _long_stems(folder: Path, seconds: float) -> dict[str, Path]:
    """The 8 stems of ``long_audio`` as 24-bit FLAC, the way the platform takes stems."""
    import soundfile as sf

    paths = {}
    for kind, audio, rate in long_audio(seconds):
        paths[kind] = folder / f"{kind}.flac"
        sf.write(paths[kind], audio, rate, subtype="PCM_24")
    return paths


@contextlib.contextmanager
def long_track_platform(seconds: float) -> Iterator[str]:
    """The demo platform plus ``long-night``: 8 stems x ``seconds``, tempo and key allowed."""
    with platform(setup=lambda folder: _publish_long(folder, seconds)) as url:
        yield url


def _publish_long(folder: Path, seconds: float) -> None:
    from app.server.cli import main as platform_cli

    work = Path(tempfile.mkdtemp(prefix="fanfare-bench-long-"))
    try:
        stems = _long_stems(work, seconds)
        policy = work / "policy.json"
        policy.write_text(
            '{"version": 1, "min_audible_stems": 2, "tempo_ratio_range": [0.8, 1.25], '
            '"key_shift_range": [-3, 3], "effects": ["eq", "compressor", "reverb"], '
            '"style_families": ["timbre", "character"]}'
        )
        sections = work / "sections.json"
        bar = 4 * 60 / 118
        sections.write_text(
            "["
            + ", ".join(
                f'{{"name": "part {i + 1}", "start_s": {i * 8 * bar:.4f}, '
                f'"end_s": {min(seconds, (i + 1) * 8 * bar):.4f}}}'
                for i in range(int(seconds // (8 * bar)))
            )
            + "]"
        )
        args = ["publish", "--data", str(folder), "--artist", "nova-lane"]
        args += ["--title", "Long Night", "--track-id", "long-night", "--bpm", "118"]
        args += ["--key", "A major", "--policy", str(policy), "--sections", str(sections)]
        for kind, path in stems.items():
            args += ["--stem", f"{kind}={path}"]
        with contextlib.redirect_stdout(sys.stderr):
            platform_cli(args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def sign_in(url: str, name: str = "fan") -> str:
    """A bearer token of the demo account ``name``."""
    answer = httpx.post(
        f"{url}/api/v1/auth/login", json={"username": name, "password": "fanfare-demo"}
    )
    answer.raise_for_status()
    return str(answer.json()["token"])


def enrol(url: str, token: str, client: httpx.Client | None = None) -> tuple[str, Any]:
    """Enrol a new device (fresh keys) for the session ``token``: (device id, its keys)."""
    from app.core.keys import DeviceKeys

    keys = DeviceKeys.generate()
    answer = (client or httpx).post(
        f"{url}/api/v1/devices",
        headers={"Authorization": f"Bearer {token}"},
        json=device_body(keys, "bench"),
    )
    answer.raise_for_status()
    return str(answer.json()["device_id"]), keys


def device_body(keys: Any, name: str) -> dict[str, str]:
    """What ``POST /devices`` takes to enrol ``keys`` (``DeviceKeys``) as ``name``."""
    from app.core.keys import enrolment_proof

    return {
        "name": name,
        "signing_public_key": keys.signing_public_b64(),
        "kem_public_key": keys.kem_public().to_b64(),
        "proof": enrolment_proof(keys),
    }


def _enrolled_fan(url: str) -> tuple[str, str]:
    token = sign_in(url)
    return token, enrol(url, token)[0]


# --- figures ----------------------------------------------------------------------------------


def _wrk_licences(url: str, device: str, token: str, seconds: int) -> float:
    """Requests per second that ``wrk`` reaches asking licences for ``seconds``."""
    script = Path(__file__).resolve().parent / "probes" / "licence.lua"
    out = subprocess.run(
        ["wrk", "-t1", "-c8", f"-d{seconds}s", "-s", str(script), f"{url}/api/v1/licences",
         "--", device, token],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    if re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        raise RuntimeError(f"licence requests failed: {out}")
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if found is None:
        raise RuntimeError(f"wrk printed no rate: {out}")
    return float(found.group(1))


@benchmark
def licence_issue(quick: bool) -> list[Figure]:
    """Licences issued per second on loopback (5 stems each: 5 HPKE seals, a signature, a row)."""
    if shutil.which("wrk") is None:
        return [
            Figure("licence issue (needs wrk: apt-get install wrk)", 0, "req/s", ">= 300", None)
        ]
    with platform(workers=2) as url:
        token, device = _enrolled_fan(url)
        _wrk_licences(url, device, token, 1)  # warm-up: both workers' first requests, not timed
        rates = [_wrk_licences(url, device, token, 2 if quick else 8) for _ in range(3)]
    rate = median(rates)
    return [
        Figure(
            "licence issue (2 workers, wrk 8 connections, loopback)",
            rate,
            "req/s",
            ">= 300",
            rate >= 300,
        )
    ]


@benchmark
def ingest_verify(quick: bool) -> list[Figure]:
    """Upload → verified and published, for the 75 s demo track (re-render and compare)."""
    home = isolated_home()
    from app.studio.session import Studio

    timings = []
    with platform() as url:
        studio = Studio(url)
        studio.login("fan", "fanfare-demo")
        track = studio.open_track("neon-harbour")
        client = studio.client
        upload = client.upload_derivative
        for index in range(4):  # the first fills the platform's stem cache: not counted
            track.set_stem("drums", gain_db=-1.0 - index)  # a new recipe each time

            def timed(**parts: object) -> dict[str, object]:
                start = time.perf_counter()
                result = upload(**parts)  # type: ignore[arg-type]
                timings.append(time.perf_counter() - start)
                return result

            client.upload_derivative = timed  # type: ignore[method-assign]
            track.publish(title=f"bench {index}")
            client.upload_derivative = upload  # type: ignore[method-assign]
        duration = track.info.duration_s
        track.close()
        studio.close()
    shutil.rmtree(home, ignore_errors=True)
    ratio = median(timings[1:]) / duration
    return [
        Figure(
            "upload -> verified and published (re-render, loudness, compare) / duration",
            ratio,
            "x",
            "<= 0.25",
            ratio <= 0.25,
        ),
    ]


@benchmark
def artist_upload(quick: bool) -> list[Figure]:
    """An artist's track from stem files to a draft: 8 stems x 4 min (quick: 1 min), sent in
    pieces and ingested; and a preview of a draft, from asking to playable."""
    home = isolated_home()
    from app.studio.session import Studio
    from app.studio.uploading import NewTrack

    seconds = 60.0 if quick else 240.0
    work = Path(tempfile.mkdtemp(prefix="fanfare-bench-stems-"))
    stems = _long_stems(work, seconds)
    sent = sum(p.stat().st_size for p in stems.values())
    with platform() as url:
        studio = Studio(url)
        studio.login("nova-lane", "fanfare-demo")
        start = time.perf_counter()
        track = studio.upload_track(NewTrack(title="Bench Upload", stems=stems, bpm=120.0))
        upload_s = time.perf_counter() - start
        draft = dict(track.info.policy) | {"tempo_ratio_range": [0.9, 1.1]}
        opens = []
        for _ in range(4 if quick else 6):
            start = time.perf_counter()
            preview = studio.open_track("neon-harbour", preview_policy=draft)
            opens.append(time.perf_counter() - start)
            preview.close()
        studio.close()
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)
    opened = median(opens[1:])  # the first one downloads the stems into the cache
    return [
        Figure(
            f"artist upload: 8 stems x {seconds / 60:g} min ({sent / 1e6:.0f} MB FLAC), "
            "sent and ingested",
            upload_s,
            "s",
            "n/a",
            None,
        ),
        Figure(
            "artist upload: ingest speed (track duration / time from files to draft)",
            seconds / upload_s,
            "x real time",
            ">= 10",
            seconds / upload_s >= 10,
        ),
        Figure(
            "preview as fan: open a draft (licence, stems from the cache) ready to play",
            opened,
            "s",
            "<= 1",
            opened <= 1.0,
        ),
    ]
