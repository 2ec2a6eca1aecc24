# SPDX-License-Identifier: GPL-3.0-or-later
"""Fanfare's benchmarks: prints a Markdown table ``figure | value | unit | target | met``.

    .venv/bin/python benchmarks/run.py [--quick] [--only NAME ...]

Each figure is the median of several runs and, where a peer exists, is compared with it in the
same run (this machine is shared and noisy: ratios travel, absolute numbers less so).
How each figure is measured: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    target: str
    met: bool | None

    def row(self) -> str:
        met = "n/a" if self.met is None else ("yes" if self.met else "NO")
        value = f"{self.value:,.3g}" if abs(self.value) < 1000 else f"{self.value:,.0f}"
        return f"| {self.name} | {value} | {self.unit} | {self.target} | {met} |"


BENCHMARKS: dict[str, Callable[[bool], list[Figure]]] = {}


def benchmark(fn: Callable[[bool], list[Figure]]) -> Callable[[bool], list[Figure]]:
    BENCHMARKS[fn.__name__] = fn
    return fn


def _isolated_home() -> Path:
    """Point the studio's folders (and secret store) at a fresh temporary home."""
    os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    home = Path(tempfile.mkdtemp(prefix="fanfare-bench-home-"))
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        os.environ[name] = str(home / name.lower())
    return home


# --- decryption ---------------------------------------------------------------------------------


def _openssl_gcm_bytes_per_s(seconds: int) -> float | None:
    """What ``openssl speed -evp aes-256-gcm`` reports for 64 KiB blocks, in bytes/s."""
    if shutil.which("openssl") is None:
        return None
    out = subprocess.run(
        ["openssl", "speed", "-evp", "aes-256-gcm", "-bytes", "65536", "-seconds", str(seconds)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    match = re.search(r"AES-256-GCM\s+([\d.]+)k", out, re.IGNORECASE)
    return float(match.group(1)) * 1000 if match else None


@benchmark
def decrypt(quick: bool) -> list[Figure]:
    """Stem blob → plaintext codec bytes in memory, against openssl in the same run."""
    from app.core.bundle import (
        StemHeader,
        decrypt_into,
        decrypt_stem,
        encrypt_stem,
        new_content_key,
    )

    size = (16 if quick else 64) * 1024 * 1024
    key = new_content_key()
    blob = encrypt_stem(key, StemHeader("bench", 1, "drums"), os.urandom(size))
    out = bytearray(size)

    def rate(fn: Callable[[], object]) -> float:
        runs = []
        for _ in range(3 if quick else 7):
            start = time.perf_counter()
            fn()
            runs.append(size / (time.perf_counter() - start))
        return statistics.median(runs)

    # Into a reused buffer, as openssl speed measures; and into a fresh one, as the studio does
    # per stem (the difference is the kernel mapping fresh pages on first touch).
    ours = rate(lambda: decrypt_into(key, blob, out))
    fresh = rate(lambda: decrypt_stem(key, blob))
    peer = _openssl_gcm_bytes_per_s(1 if quick else 3)
    figures = [
        Figure(
            "stem decrypt into a buffer (AES-256-GCM STREAM, 1 core)", ours / 1e9, "GB/s", "", None
        ),
        Figure("stem decrypt into a fresh allocation", fresh / 1e9, "GB/s", "", None),
    ]
    if peer:
        figures.append(
            Figure("openssl speed -evp aes-256-gcm (64 KiB)", peer / 1e9, "GB/s", "", None)
        )
        figures.append(
            Figure("decrypt / openssl", ours / peer, "ratio", ">= 0.5", ours / peer >= 0.5)
        )
    return figures


# --- the platform under load ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _platform(workers: int = 1) -> Iterator[str]:
    """A seeded platform in its own processes (``workers`` uvicorn workers), limits lifted."""
    from app.server.cli import main as platform_cli

    folder = Path(tempfile.mkdtemp(prefix="fanfare-bench-"))
    with contextlib.redirect_stdout(sys.stderr):
        platform_cli(["seed-demo", "--data", str(folder)])
    port = _free_port()
    env = dict(os.environ, FANFARE_LICENCE_PER_MINUTE="1e9", FANFARE_LOGIN_PER_MINUTE="1e9")
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
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"{url}/api/v1/platform/keys", timeout=1).raise_for_status()
                break
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def _enrolled_fan(url: str) -> tuple[str, str]:
    from app.core.keys import DeviceKeys, enrolment_proof

    token = httpx.post(
        f"{url}/api/v1/auth/login", json={"username": "fan", "password": "fanfare-demo"}
    ).json()["token"]
    keys = DeviceKeys.generate()
    device = httpx.post(
        f"{url}/api/v1/devices",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "name": "bench",
            "signing_public_key": keys.signing_public_b64(),
            "kem_public_key": keys.kem_public().to_b64(),
            "proof": enrolment_proof(keys),
        },
    ).json()["device_id"]
    return token, device


WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = '{"track_id": "neon-harbour", "device_id": "%s"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
"""


@benchmark
def licence_issue(quick: bool) -> list[Figure]:
    """Licences issued per second on loopback (5 stems each: 5 HPKE seals, a signature, a row)."""
    if shutil.which("wrk") is None:
        return [
            Figure("licence issue (needs wrk: apt-get install wrk)", 0, "req/s", ">= 300", None)
        ]
    with _platform(workers=2) as url:
        token, device = _enrolled_fan(url)
        script = Path(tempfile.mkstemp(suffix=".lua")[1])
        script.write_text(WRK_SCRIPT % (device, token))
        rates = []
        for _ in range(1 if quick else 3):
            out = subprocess.run(
                [
                    "wrk",
                    "-t1",
                    "-c8",
                    f"-d{3 if quick else 8}s",
                    "-s",
                    str(script),
                    f"{url}/api/v1/licences",
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            if non2xx:
                raise RuntimeError(f"licence requests failed: {out}")
            rates.append(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)))
        script.unlink()
    rate = statistics.median(rates)
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
    home = _isolated_home()
    from app.studio.session import Studio

    timings = []
    with _platform() as url:
        studio = Studio(url)
        studio.login("fan", "fanfare-demo")
        track = studio.open_track("neon-harbour")
        client = studio.client
        upload = client.upload_derivative
        for index in range(2 if quick else 4):
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
    ratio = statistics.median(timings[1:] or timings) / duration
    return [
        Figure(
            "upload verification (re-render, loudness, compare) / duration",
            ratio,
            "x",
            "<= 0.25",
            ratio <= 0.25,
        ),
    ]


# --- the engine (benchmarks/engine.py) -----------------------------------------------------------


def _engine(fn_name: str) -> Callable[[bool], list[Figure]]:
    def run(quick: bool) -> list[Figure]:
        import benchmarks.engine as engine

        return [Figure(*row) for row in getattr(engine, fn_name)(quick)]

    run.__name__ = fn_name
    return run


for _name in ("render_speed", "feeder_block_time", "control_latency", "peak_memory"):
    benchmark(_engine(_name))


# --- the studio ----------------------------------------------------------------------------------


@benchmark
def first_audio(quick: bool) -> list[Figure]:
    """Open a cached, licensed track, then time from play() to the device pulling audio."""
    home = _isolated_home()
    from app.engine.output import OutputUnavailableError
    from app.studio.session import Studio

    figures = []
    with _platform() as url:
        studio = Studio(url)
        studio.login("fan", "fanfare-demo")
        studio.open_track("neon-harbour").close()  # fills the encrypted cache
        opens, firsts = [], []
        for _ in range(3 if quick else 5):
            start = time.perf_counter()
            track = studio.open_track("neon-harbour")
            opens.append(time.perf_counter() - start)
            try:
                start = time.perf_counter()
                track.play()
                while track.player.position_frames == 0 and time.perf_counter() - start < 5:
                    time.sleep(0.001)
                firsts.append(time.perf_counter() - start)
            except OutputUnavailableError:
                pass
            track.close()
        studio.close()
    figures.append(
        Figure(
            "open a cached track (licence, decrypt, decode 5 stems x 75 s)",
            statistics.median(opens) * 1000,
            "ms",
            "",
            None,
        )
    )
    if firsts:
        value = statistics.median(firsts) * 1000
        figures.append(
            Figure("play -> first audio pulled by the device", value, "ms", "<= 300", value <= 300)
        )
    shutil.rmtree(home, ignore_errors=True)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHMARKS), help="run only these")
    args = parser.parse_args()
    print("| figure | value | unit | target | met |")
    print("|---|---|---|---|---|")
    for name in args.only or BENCHMARKS:
        for figure in BENCHMARKS[name](args.quick):
            print(figure.row(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
