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
import json
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
from typing import Any

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
def _platform(workers: int = 1, setup: Callable[[Path], None] | None = None) -> Iterator[str]:
    """A seeded platform in its own processes (``workers`` uvicorn workers), limits lifted.

    ``setup`` runs on the data folder after seeding, before the server starts."""
    from app.server.cli import main as platform_cli

    folder = Path(tempfile.mkdtemp(prefix="fanfare-bench-"))
    with contextlib.redirect_stdout(sys.stderr):
        platform_cli(["seed-demo", "--data", str(folder)])
    if setup is not None:
        setup(folder)
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


for _name in ("render_speed", "feeder_block_time", "control_latency"):
    benchmark(_engine(_name))


# --- style models (benchmarks/styles.py) ---------------------------------------------------------


def _styles(fn_name: str) -> Callable[[bool], list[Figure]]:
    def run(quick: bool) -> list[Figure]:
        import benchmarks.styles as styles

        return [Figure(*row) for row in getattr(styles, fn_name)(quick)]

    run.__name__ = fn_name
    return run


for _name in ("style_speed", "style_playback"):
    benchmark(_styles(_name))


# --- the studio ----------------------------------------------------------------------------------


LONG_TRACK_S = 240.0
LONG_KINDS = ("drums", "bass", "keys", "chords", "lead", "pad", "guitar", "other")
LONG_SOURCES = (
    "neon-harbour/drums", "neon-harbour/bass", "neon-harbour/keys", "paper-moons/keys",
    "neon-harbour/lead", "neon-harbour/pad", "copper-wire/guitar", "copper-wire/keys",
)  # fmt: skip


def _long_stems(folder: Path, seconds: float) -> dict[str, Path]:
    """8 stems of music, ``seconds`` long: the demo's stems (SoundFont renders) repeated, as
    24-bit FLAC, the way the platform takes stems. Benchmark input, not user content."""
    import numpy as np
    import soundfile as sf

    paths = {}
    for kind, source in zip(LONG_KINDS, LONG_SOURCES, strict=True):
        audio, rate = sf.read(ROOT / "assets/demo/stems" / f"{source}.ogg", dtype="float32")
        frames = int(seconds * rate)
        tiled = np.resize(audio, (frames, audio.shape[1]) if audio.ndim == 2 else (frames,))
        paths[kind] = folder / f"{kind}.flac"
        sf.write(paths[kind], tiled, rate, subtype="PCM_24")
    return paths


@contextlib.contextmanager
def _long_track_platform(seconds: float) -> Iterator[str]:
    """The demo platform plus ``long-night``: 8 stems x ``seconds``, tempo and key allowed."""
    with _platform(setup=lambda folder: _publish_long(folder, seconds)) as url:
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


def _wait_for_audio(track: Any, start: float, limit_s: float = 5.0) -> float:
    """Seconds from ``start`` until the device has consumed frames past the play position."""
    first = track.player.position_frames
    while track.player.position_frames == first and time.perf_counter() - start < limit_s:
        time.sleep(0.0005)
    return time.perf_counter() - start


APP_START = """
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv[:1])  # the studio takes the running application as its own
marks = {}
class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and isinstance(obj, QMainWindow):
            marks.setdefault("shown", time.monotonic())
        return False
paint = FirstPaint()
app.installEventFilter(paint)
def listed():
    windows = [w for w in app.topLevelWidgets() if isinstance(w, QMainWindow)]
    if windows and windows[0].catalogue.count() > 0:
        marks["listed"] = time.monotonic()
        app.quit()
timer = QTimer()
timer.timeout.connect(listed)
timer.start(5)
QTimer.singleShot(60000, app.quit)
from app.cli import main
main(["studio"])  # as `fanfare` with no arguments: the embedded demo platform
print(json.dumps(marks), flush=True)
"""


def _virtual_screen() -> tuple[subprocess.Popen[bytes] | None, dict[str, str]]:
    """A real X server (Xvfb) for the window when there is one, else Qt's offscreen platform."""
    env = dict(os.environ)
    if not shutil.which("Xvfb"):
        env["QT_QPA_PLATFORM"] = "offscreen"
        return None, env
    read, write = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(write)
    with os.fdopen(read) as lines:
        display = lines.readline().strip()
    env.pop("QT_QPA_PLATFORM", None)
    env["DISPLAY"] = f":{display}"
    return server, env


@benchmark
def app_start(quick: bool) -> list[Figure]:
    """Launch ``fanfare`` (the studio on the embedded demo platform, already seeded) in a fresh
    process: seconds to the window's first paint, and to the catalogue listed in it."""
    home = _isolated_home()
    server, env = _virtual_screen()
    shown: list[float] = []
    listed: list[float] = []
    try:
        for run in range(4 if quick else 6):  # the first run seeds the demo platform
            start = time.monotonic()
            out = subprocess.run(
                [sys.executable, "-c", APP_START, str(ROOT)],
                capture_output=True, text=True, check=True, env=env, timeout=120,
            )  # fmt: skip
            marks = json.loads(out.stdout.strip().splitlines()[-1])
            if run > 0:
                shown.append(marks["shown"] - start)
                listed.append(marks["listed"] - start)
    finally:
        if server is not None:
            server.terminate()
            server.wait()
        shutil.rmtree(home, ignore_errors=True)
    screen = "Xvfb" if server is not None else "Qt offscreen"
    window = statistics.median(shown)
    return [
        Figure(f"app start: launch -> window painted (median of {len(shown)}, {screen})",
               window * 1000, "ms", "<= 1500", window <= 1.5),
        Figure("app start: launch -> catalogue listed (embedded platform started, signed in)",
               statistics.median(listed) * 1000, "ms", "", None),
    ]  # fmt: skip


@benchmark
def first_audio(quick: bool) -> list[Figure]:
    """Open a cached, licensed 8-stem 4-minute track; time play() to the device pulling audio,
    and a tempo change to the first block of the new sound."""
    home = _isolated_home()
    from app.engine.output import OutputUnavailableError
    from app.studio.session import Studio

    seconds = 60.0 if quick else LONG_TRACK_S
    figures = []
    opens: list[float] = []
    firsts: list[float] = []
    retimes: list[float] = []  # to a retimed or transposed sound: made by Rubber Band first
    unchanged: list[float] = []  # back to the stems as written
    retimed_seeks: list[float] = []  # a seek while a retimed remix plays -> audio again
    retimed_plays: list[float] = []  # play a retimed remix from a pause elsewhere
    underruns = 0
    with _long_track_platform(seconds) as url:
        studio = Studio(url)
        studio.login("fan", "fanfare-demo")
        studio.open_track("long-night").close()  # fills the encrypted cache
        for _ in range(3 if quick else 5):
            start = time.perf_counter()
            track = studio.open_track("long-night")
            opens.append(time.perf_counter() - start)
            try:
                track.seek(30.0)  # mid-track, as after a click on the timeline
                start = time.perf_counter()
                track.play()
                firsts.append(_wait_for_audio(track, start))
                time.sleep(1.0)
                for change in ({"ratio": 1.1}, {"ratio": 1.0}, {"key_shift": 2}, {"key_shift": 0}):
                    start = time.perf_counter()
                    track.set_tempo(**change)
                    while track.mixer.switch_waiting and time.perf_counter() - start < 5:
                        time.sleep(0.002)
                    plain = track.recipe.tempo_ratio == 1.0 and track.recipe.key_shift == 0
                    (unchanged if plain else retimes).append(time.perf_counter() - start)
                    print(change, round((time.perf_counter() - start) * 1000), file=sys.stderr)
                    time.sleep(0.5)
                # A remix at another tempo: seeks while it plays, and play from a pause.
                track.set_tempo(ratio=1.1)
                while track.mixer.switch_waiting:
                    time.sleep(0.002)
                time.sleep(1.0)
                for to in (90.0, 20.0, 150.0):
                    start = time.perf_counter()
                    track.seek(to)
                    retimed_seeks.append(_wait_for_audio(track, start))
                    time.sleep(0.7)
                track.pause()
                track.seek(60.0)
                start = time.perf_counter()
                track.play()
                retimed_plays.append(_wait_for_audio(track, start))
                time.sleep(0.5)
                track.set_tempo(ratio=1.0)
                track.pause()
                underruns += track.player.underruns
            except OutputUnavailableError:
                pass
            track.close()
        studio.close()
    label = f"8 stems x {seconds:.0f} s"
    figures.append(
        Figure(
            f"open a cached track ({label}: licence, decrypt, check)",
            statistics.median(opens) * 1000,
            "ms",
            "",
            None,
        )
    )
    if firsts:
        value = statistics.median(firsts) * 1000
        figures.append(
            Figure(
                f"play -> first audio pulled by the device ({label})",
                value,
                "ms",
                "<= 300",
                value <= 300,
            )
        )
        from app.engine.output import DEFAULT_BUFFERING  # what a fresh studio plays with

        ring_ms = DEFAULT_BUFFERING.ring_frames / 48.0
        value = statistics.median(retimes) * 1000 + ring_ms
        figures.append(
            Figure(f"tempo x1.1 or key +2 -> heard ({label}), median", value, "ms", "<= 250",
                   value <= 250)
        )  # fmt: skip
        worst = max(retimes) * 1000 + ring_ms
        figures.append(Figure("tempo or key change -> heard, worst", worst, "ms", "", None))
        value = statistics.median(unchanged) * 1000 + ring_ms
        figures.append(Figure("back to the written tempo and key -> heard", value, "ms", "", None))
        value = statistics.median(retimed_seeks) * 1000
        figures.append(
            Figure(f"seek while a remix at x1.1 plays -> audio ({label}), median", value, "ms",
                   "<= 300", value <= 300)
        )  # fmt: skip
        value = statistics.median(retimed_plays) * 1000
        figures.append(
            Figure(f"play a remix at x1.1 -> first audio ({label}), median", value, "ms",
                   "<= 300", value <= 300)
        )  # fmt: skip
        changes = len(retimes) + len(unchanged)
        run = f"{changes} changes, {len(retimed_seeks)} seeks, {len(retimed_plays)} plays"
        figures.append(Figure(f"underruns over that ({run})", underruns, "", "0", underruns == 0))
    shutil.rmtree(home, ignore_errors=True)
    return figures


PEAK_RSS = """
import sys, time
sys.path.insert(0, sys.argv[1])
from app.engine.output import OutputUnavailableError
from app.studio.session import Studio
studio = Studio(sys.argv[2])
studio.login("fan", "fanfare-demo")
track = studio.open_track("long-night")
try:
    track.seek(60.0)
    track.play()
    time.sleep(5)
    track.set_tempo(ratio=1.1)  # retimed stems are made ahead in chunks, not whole
    time.sleep(5)
    if sys.argv[3] == "styled":  # and a violin on the lead, tape on the bass
        from app.core.style_slot import StyleSlot
        track.set_style("lead", StyleSlot.make("timbre.violin", 1))
        track.set_style("bass", StyleSlot.make("character.tape", 1))
        time.sleep(15)  # the violin's whole-stem analysis, then playing styled
except OutputUnavailableError:
    pass
print("underruns", track.underruns, file=sys.stderr)
track.close()
studio.close()
# VmHWM: this process's own peak (ru_maxrss would carry the parent's peak over exec).
status = open("/proc/self/status").read()
print(int(status.split("VmHWM:")[1].split()[0]) * 1024, flush=True)
"""


@benchmark
def peak_memory(quick: bool) -> list[Figure]:
    """Peak resident memory of a fresh process that opens the 8-stem track, plays it, and
    changes its tempo."""
    home = _isolated_home()
    seconds = 60.0 if quick else LONG_TRACK_S
    peaks = {}
    with _long_track_platform(seconds) as url:
        for variant in ("plain", "styled"):
            out = subprocess.run(
                [sys.executable, "-c", PEAK_RSS, str(ROOT), url, variant],
                capture_output=True, text=True, check=True, env=dict(os.environ),
            )  # fmt: skip
            peaks[variant] = int(out.stdout.strip().splitlines()[-1]) / 1e6
    shutil.rmtree(home, ignore_errors=True)
    return [
        Figure(f"peak RSS, 8 stems x {seconds:.0f} s open, playing, retimed", peaks["plain"],
               "MB", "<= 400", peaks["plain"] <= 400),
        Figure("peak RSS, the same, then 2 style models placed (violin, tape) and playing",
               peaks["styled"], "MB", "", None),
    ]  # fmt: skip


SOAK = """
import json, os, subprocess, sys, time
sys.path.insert(0, sys.argv[1])
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from app.core.effects import Compressor, Eq, Reverb, StemFx
from app.studio.session import Studio
from app.ui.track_view import TrackView
from app.engine.output import buffering_named
app = QApplication([])
studio = Studio(sys.argv[2])
studio.login("fan", "fanfare-demo")
studio.set_buffering(buffering_named(sys.argv[4]))  # as the user picks it in the transport
track = studio.open_track("long-night")
fx = StemFx(eq=Eq(mid_db=-3.0), compressor=Compressor(threshold_db=-18.0, ratio=3.0),
            reverb=Reverb(room_size=0.5, mix=0.2))
for kind in track.info.stem_kinds:
    track.set_stem(kind, fx=fx)
# Two style models, as the target asks: a violin on the lead and tape on the bass; their
# whole-stem analysis runs when they are placed, before the soak's clock starts.
from app.core.style_slot import StyleSlot
if os.environ.get("FANFARE_SOAK_STYLES", "1") == "1":
    track.set_style("lead", StyleSlot.make("timbre.violin", 1))
    track.set_style("bass", StyleSlot.make("character.tape", 1))
while track.mixer.switch_waiting:  # made ahead; taken once ready (settle, while stopped)
    time.sleep(0.1)
    track.player.settle()
view = TrackView(track)
view.resize(1180, 720)
view.show()
ticks = [0]  # the window's own refresh timer (meters, clock, playhead), counted
drops = []  # when each dropout was first seen (monotonic s; the underflow count comes 4 times a s)
def tick():
    ticks[0] += 1
    seen = track.player.underruns
    drops.extend([time.monotonic()] * (seen - len(drops)))
view.timer.timeout.connect(tick)
busy = subprocess.Popen([sys.executable, "-c", "while True: pass"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    track.play()
    began = time.monotonic()
    track.player.set_loop(0, track.mixer.frames)  # a soak longer than the track goes round
    QTimer.singleShot(int(float(sys.argv[3]) * 1000), app.quit)
    app.exec()
finally:
    busy.kill()
player = track.player
print(json.dumps({"ring": player.ring_underruns, "device": player.device_underflows,
                  "ticks": ticks[0], "began": began, "ended": time.monotonic(), "drops": drops}),
      flush=True)
view.close()
view.deleteLater()  # as the window does when it closes: widgets go before the interpreter
app.processEvents()
del view
track.close()
studio.close()
# Leave without interpreter teardown: in this harness (not in the app's own quit path) a C
# extension has crashed there after all the work was done (see the session notes).
os._exit(0)
"""


@benchmark
def soak(quick: bool) -> list[Figure]:
    """Underruns over a long playback of the 8-stem track with effects on every strip, the
    window open and redrawing its meters, and another process spinning on the other core;
    once for each audio buffer setting."""
    home = _isolated_home()
    seconds = 60.0 if quick else 600.0
    figures = []
    from benchmarks.engine import bench_bufferings, machine_pauses, start_pause_probe

    with _long_track_platform(LONG_TRACK_S) as url:
        for buffering in bench_bufferings():
            probe = start_pause_probe(seconds + 600)  # ends with the soak
            out = subprocess.run(
                [sys.executable, "-c", SOAK, str(ROOT), url, str(seconds), buffering.name],
                capture_output=True, text=True, check=True, env=dict(os.environ),
            )  # fmt: skip
            result = json.loads(out.stdout.strip().splitlines()[-1])
            pauses = machine_pauses(probe)
            underruns = result["ring"] + result["device"]
            label = (
                f"{seconds / 60:.0f} min, buffer {buffering.label}, 8 stems with "
                "EQ+comp+reverb, 2 style models (violin, tape), window redrawing, other core busy"
            )
            figures += [
                Figure(f"underruns in a soak ({label})", underruns, "count", "0", underruns == 0),
                Figure("  of which the ring ran dry (the feeder was late)", result["ring"],
                       "count", "", None),
                Figure("  of which PortAudio underflowed (the device side was late)",
                       result["device"], "count", "", None),
                Figure("  window refreshes during it (meters, clock, playhead; 33 ms timer)",
                       result["ticks"], "count", "", None),
            ]  # fmt: skip
            if pauses is not None:
                during = [(t, ms) for t, ms in pauses if result["began"] <= t <= result["ended"]]
                figures += _pause_figures(during, "a 2 ms sleep at SCHED_FIFO 50 meanwhile")
                # A dropout is seen up to ~0.3 s after it happens (the underflow count is
                # fetched every 0.25 s, the window ticks every 33 ms).
                after_pause = sum(
                    any(t <= drop <= t + 1.0 and ms > 8.0 for t, ms in during)
                    for drop in result["drops"]
                )
                own = underruns - after_pause  # with no pause of the machine to explain them
                figures += [
                    Figure("  dropouts within 1 s after a machine pause over 8 ms", after_pause,
                           "count", "", None),
                    Figure("  dropouts with no machine pause before them (the app's own)", own,
                           "count", "0", own == 0),
                ]  # fmt: skip
    shutil.rmtree(home, ignore_errors=True)
    return figures


@benchmark
def device_floor(quick: bool) -> list[Figure]:
    """What the machine does to the simplest player while both cores are busy: silence from
    a ring the size of an audio buffer setting's, topped up every 2.7 ms, through the device
    the studio opens with that setting's latency, its threads promoted as the player's are;
    two processes spin, and a real-time sleeper measures the machine's pauses. Once for each
    setting. The soak's dropouts are only the app's beyond this floor."""
    from benchmarks.engine import bench_bufferings

    seconds = 60.0 if quick else 300.0
    figures = []
    for buffering in bench_bufferings():
        figures += _device_floor(seconds, buffering)
    return figures


def _device_floor(seconds: float, buffering: Any) -> list[Figure]:
    import numpy as np
    import rtmixer

    from app.engine import realtime
    from app.engine.output import BYTES_PER_FRAME, _open_stream
    from benchmarks.engine import machine_pauses, start_pause_probe

    before = realtime.native_threads()
    stream = _open_stream(48_000, None, buffering.device_latency)
    spinners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)
    ]  # fmt: skip
    sleeper = start_pause_probe(seconds)
    underflows = dry = 0
    try:
        stream.start()
        started = realtime.device_threads(before, realtime.native_threads())
        realtime.promote_all(started, realtime.DEVICE_PRIORITY)
        realtime.promote_current(realtime.FEEDER_PRIORITY)
        ring = rtmixer.RingBuffer(BYTES_PER_FRAME, buffering.ring_frames)
        block = np.zeros((512, 2), dtype=np.float32)

        def top_up() -> None:
            while ring.write_available >= len(block):
                ring.write(block)

        def keep_playing(seconds: float) -> None:
            """Top the ring up every 2.7 ms for ``seconds``; count a dry ring and requeue."""
            nonlocal action, dry
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                top_up()
                if action not in stream.actions:
                    dry += 1
                    top_up()
                    action = stream.play_ringbuffer(ring)
                time.sleep(0.0027)

        top_up()
        action = stream.play_ringbuffer(ring)
        keep_playing(0.5)
        start_up = stream.fetch_and_reset_stats()  # the device's start: not what this measures
        while start_up in stream.actions:
            keep_playing(0.002)
        dry = 0
        stats = stream.fetch_and_reset_stats()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            keep_playing(0.0027)
            if stats not in stream.actions:
                underflows += int(stats.stats.output_underflows)
                stats = stream.fetch_and_reset_stats()
        while stats in stream.actions:  # the last count, up to the end
            keep_playing(0.002)
        underflows += int(stats.stats.output_underflows)
        stream.cancel(action)
    finally:
        for spinner in spinners:
            spinner.kill()
        pauses = machine_pauses(sleeper)
        stream.stop()
        stream.close()
        with contextlib.suppress(OSError):  # this thread goes back to normal priority
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    label = f"{seconds / 60:.0f} min, buffer {buffering.label}, trivial player, both cores busy"
    return [
        Figure(f"PortAudio underflows ({label})", underflows, "count", "", None),
        Figure(f"dry rings ({label})", dry, "count", "", None),
        *_pause_figures(pauses, "a 2 ms sleep at SCHED_FIFO 50"),
    ]


def _pause_figures(pauses: list[tuple[float, float]] | None, what: str) -> list[Figure]:
    """The machine's pauses as the probe saw them: the longest, and how many exceeded 4 ms."""
    if pauses is None:
        return [Figure("machine pauses (not measured: no real-time rights)", 0, "", "", None)]
    return [
        Figure(f"longest oversleep of {what} (the machine pausing)",
               max((ms for _, ms in pauses), default=0.0), "ms", "", None),
        Figure("  such oversleeps over 4 ms", len(pauses), "count", "", None),
    ]  # fmt: skip


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
