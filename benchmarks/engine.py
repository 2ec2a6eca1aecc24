# SPDX-License-Identifier: GPL-3.0-or-later
"""Engine benchmarks: offline render speed against sox, the feeder's block time, peak memory.

Imported by benchmarks/run.py, which registers and prints them.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

SAMPLE_RATE = 48_000
STEMS = 8


def synthetic_stems(seconds: float, seed: int = 7) -> dict[str, np.ndarray]:
    """8 stereo stems of band-limited noise and tones: busy enough for EQ, compressor, reverb."""
    rng = np.random.default_rng(seed)
    frames = int(seconds * SAMPLE_RATE)
    t = np.arange(frames) / SAMPLE_RATE
    stems = {}
    for i in range(STEMS):
        tone = 0.2 * np.sin(2 * np.pi * (110.0 * (i + 1)) * t)
        noise = 0.05 * rng.standard_normal(frames)
        mono = (tone + noise).astype(np.float32)
        stems[f"s{i}"] = np.ascontiguousarray(np.stack([mono, mono * 0.9], axis=1))
    return stems


def _recipe(stems: dict[str, np.ndarray]):  # returns a Recipe (imported lazily)
    from app.core.effects import Compressor, Eq, Reverb, StemFx
    from app.core.recipe import Recipe, StemMix

    fx = StemFx(
        eq=Eq(mid_db=-3.0, mid_hz=1000.0),
        compressor=Compressor(threshold_db=-18.0, ratio=3.0),
        reverb=Reverb(room_size=0.5, mix=0.2),
    )
    return Recipe("bench", 1, "bench", {k: StemMix(gain_db=-6.0, fx=fx) for k in stems})


def render_speed(quick: bool) -> list[tuple[str, float, str, str, bool | None]]:
    """x real time for 8 stems with EQ, compressor and reverb, and the same chain in sox."""
    from app.engine.offline import render

    seconds = 60.0 if quick else 240.0
    stems = synthetic_stems(seconds)
    recipe = _recipe(stems)
    ours = []
    for _ in range(1 if quick else 3):
        start = time.perf_counter()
        render(stems, SAMPLE_RATE, recipe)
        ours.append(time.perf_counter() - start)
    ours_s = statistics.median(ours)
    rows: list[tuple[str, float, str, str, bool | None]] = [
        (
            f"offline render, 8 stems x {seconds:.0f} s, EQ+comp+reverb (one shared room)",
            seconds / ours_s,
            "x real time",
            ">= 60",
            seconds / ours_s >= 60,
        ),
    ]
    plain_s = statistics.median(_plain_pedalboard(stems) for _ in range(1 if quick else 3))
    rows.append(
        (
            "plain pedalboard script, same plugins, a reverb per stem, 2 threads",
            seconds / plain_s,
            "x real time",
            "",
            None,
        )
    )
    if shutil.which("sox") is None:
        return rows
    folder = Path(tempfile.mkdtemp(prefix="fanfare-bench-sox-"))
    try:
        for name, audio in stems.items():  # benchmark input only, synthetic noise and tones
            sf.write(folder / f"{name}.wav", audio, SAMPLE_RATE, subtype="FLOAT")
        commands = [
            f"sox {folder}/{n}.wav -e floating-point {folder}/{n}.fx.wav "
            "equalizer 1000 1q -3 compand 0.005,0.12 6:-18,-18,-24 0 reverb 20 50 50 100 0 0 "
            "vol -6dB"
            for n in stems
        ]
        mix = (
            f"sox -m {' '.join(f'{folder}/{n}.fx.wav' for n in stems)} {folder}/mix.wav gain -n -1"
        )
        # sox as a script runs it: one stem after another, then the mix (one core)...
        start = time.perf_counter()
        subprocess.run(" && ".join([*commands, mix]), shell=True, check=True, capture_output=True)
        sox_seq_s = time.perf_counter() - start
        # ...and with every stem on its own process at once (both cores).
        start = time.perf_counter()
        script = " & ".join(commands)
        subprocess.run(f"({script} & wait) && {mix}", shell=True, check=True, capture_output=True)
        sox_s = time.perf_counter() - start
        rows += [
            ("sox, same chain and mix, stems one after another", seconds / sox_seq_s,
             "x real time", "", None),
            ("offline render speed / sox one after another", sox_seq_s / ours_s, "ratio",
             ">= 4", sox_seq_s / ours_s >= 4),
            ("plain pedalboard script / sox one after another",
             sox_seq_s / plain_s, "ratio", "", None),
            ("sox, same chain and mix, 8 processes at once (both cores)", seconds / sox_s,
             "x real time", "", None),
            ("offline render speed / sox 8 processes at once", sox_s / ours_s, "ratio", "",
             None),
        ]  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return rows


def _plain_pedalboard(stems: dict[str, np.ndarray]) -> float:
    """Seconds for the bare plugin work of the render: each whole stem through the same
    pedalboard plugins in one call, on two threads, summed. No faders, automation or limiter:
    the ceiling a render built on these plugins can reach."""
    from concurrent.futures import ThreadPoolExecutor

    import pedalboard

    def one(audio: np.ndarray) -> np.ndarray:
        board = pedalboard.Pedalboard(
            [
                pedalboard.PeakFilter(cutoff_frequency_hz=1000.0, gain_db=-3.0, q=1.0),
                pedalboard.Compressor(
                    threshold_db=-18.0, ratio=3.0, attack_ms=5.0, release_ms=120.0
                ),
                pedalboard.Reverb(room_size=0.5, wet_level=0.2, dry_level=0.8),
            ]
        )
        return board.process(audio.T, SAMPLE_RATE)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        total = sum(pool.map(one, stems.values()))
    del total
    return time.perf_counter() - start


def feeder_block_time(quick: bool) -> list[tuple[str, float, str, str, bool | None]]:
    """Time the mixer spends per block on the feeder thread while 8 stems play."""
    from app.engine.mixer import Mixer
    from app.engine.output import OutputUnavailableError, Player

    stems = synthetic_stems(30.0 if quick else 70.0)
    mixer = Mixer(stems, SAMPLE_RATE, _recipe(stems))
    timings: list[float] = []
    render = mixer.render

    def timed(start: int, out: np.ndarray) -> None:
        begin = time.perf_counter()
        render(start, out)
        timings.append(time.perf_counter() - begin)

    mixer.render = timed  # type: ignore[method-assign]
    player = Player(mixer)
    try:
        player.play()
    except OutputUnavailableError:
        return [("feeder block time (no audio device here)", 0.0, "ms", "", None)]
    time.sleep(10.0 if quick else 60.0)
    underruns = player.underruns
    player.close()
    period_ms = mixer.block_frames / SAMPLE_RATE * 1000
    p99 = float(np.percentile(timings, 99)) * 1000
    return [
        (
            "feeder render per 512-frame block, p99 (8 stems with effects)",
            p99,
            "ms",
            f"<= {period_ms * 0.1:.2f} (10 % of the block)",
            p99 <= period_ms * 0.1,
        ),
        (
            f"underruns while playing {10 if quick else 60} s",
            float(underruns),
            "count",
            "0",
            underruns == 0,
        ),
    ]


# A 2 ms sleep at SCHED_FIFO 50, which no ordinary thread can delay: how far it oversleeps is
# the machine itself pausing. Runs for argv[1] seconds or until SIGTERM, then prints a JSON list
# of [monotonic time, ms overslept] for each oversleep over 4 ms ("null": no real-time rights).
SLEEPER = """
import json, os, signal, sys, time
try:
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(50))
except PermissionError:
    print("null"); raise SystemExit
pauses = []
def done(*_):
    print(json.dumps(pauses), flush=True)
    os._exit(0)
signal.signal(signal.SIGTERM, done)
end = time.monotonic() + float(sys.argv[1])
while (start := time.monotonic()) < end:
    time.sleep(0.002)
    late = time.monotonic() - start - 0.002
    if late > 0.004:
        pauses.append([round(start, 4), round(late * 1e3, 2)])
done()
"""


def start_pause_probe(seconds: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", SLEEPER, str(seconds)], stdout=subprocess.PIPE, text=True
    )


def machine_pauses(probe: subprocess.Popen[str]) -> list[tuple[float, float]] | None:
    """The probe's pauses as (monotonic time, ms), once it ends (None: it could not run at
    real-time priority, so it measures nothing)."""
    if probe.poll() is None:
        probe.terminate()
    return json.loads(probe.communicate()[0] or "null")


def bench_bufferings() -> list[Any]:
    """The audio buffer settings to measure: ``FANFARE_BENCH_BUFFERS`` (names, comma-separated),
    or every one the studio offers."""
    from app.engine.output import BUFFERINGS

    names = os.environ.get("FANFARE_BENCH_BUFFERS")
    if not names:
        return list(BUFFERINGS)
    return [b for b in BUFFERINGS if b.name in names.split(",")]


def control_latency(quick: bool) -> list[tuple[str, float, str, str, bool | None]]:
    """Fader move -> audible, and underruns with the other core busy (a spinning process),
    for each audio buffer setting.

    Audible = when the first block rendered with the new setting reaches the device: the
    render time plus what the ring buffer still held before it, plus the device's latency.
    """
    rows: list[tuple[str, float, str, str, bool | None]] = []
    for buffering in bench_bufferings():
        rows += _control_latency(quick, buffering)
    return rows


def _control_latency(quick: bool, buffering: Any) -> list[tuple[str, float, str, str, bool | None]]:
    from app.engine.mixer import Mixer
    from app.engine.output import OutputUnavailableError, Player

    stems = synthetic_stems(40.0 if quick else 130.0)
    recipe = _recipe(stems)
    mixer = Mixer(stems, SAMPLE_RATE, recipe)
    player = Player(mixer, buffering=buffering)
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    probe = start_pause_probe(600.0)
    try:
        player.play()
    except OutputUnavailableError:
        spinner.kill()
        machine_pauses(probe)
        return [("control latency (no audio device here)", 0.0, "ms", "", None)]
    latencies = []
    render = mixer.render
    pending: list[float] = []

    def timed(start: int, out: np.ndarray) -> None:
        render(start, out)
        if pending:
            queued = player._ring.read_available / SAMPLE_RATE  # what plays before this block
            device = float(player._stream.latency) if player._stream is not None else 0.0
            latencies.append(time.perf_counter() - pending.pop() + queued + device)

    mixer.render = timed  # type: ignore[method-assign]
    try:
        time.sleep(2.0)
        for index in range(20 if quick else 100):
            name = list(stems)[index % len(stems)]
            pending.append(time.perf_counter())
            mixer.set_recipe(mixer.recipe.with_stem(name, gain_db=-6.0 - index % 5))
            time.sleep(0.5 if quick else 1.0)
        underruns = player.underruns
    finally:
        player.close()
        spinner.kill()
        spinner.wait()
    pauses = machine_pauses(probe)
    p50 = float(np.median(latencies)) * 1000
    # The 30 ms target is the low-latency setting's; the others trade it for headroom.
    low = buffering.name == "low"
    return [
        (f"mixer control -> audible, median (buffer {buffering.label}, other core busy)", p50,
         "ms", "<= 30" if low else "", p50 <= 30 if low else None),
        (f"underruns during that ({'~12' if quick else '~100'} s, other core busy)",
         float(underruns), "count", "0", underruns == 0),
        ("  machine pauses over 8 ms meanwhile (a 2 ms sleep at SCHED_FIFO 50 overslept)",
         float(sum(ms > 8.0 for _, ms in pauses or ())), "count", "", None),
        ("  the longest", max((ms for _, ms in pauses or ()), default=0.0), "ms", "", None),
    ]  # fmt: skip


PEAK_RSS = textwrap.dedent("""
    import sys, time, psutil
    sys.path.insert(0, sys.argv[1])
    from benchmarks.engine import synthetic_stems, _recipe, SAMPLE_RATE
    from app.engine.mixer import Mixer
    from app.engine.output import Player, OutputUnavailableError
    stems = synthetic_stems(float(sys.argv[2]))
    mixer = Mixer(stems, SAMPLE_RATE, _recipe(stems))
    player = Player(mixer)
    try:
        player.play()
        time.sleep(3)
    except OutputUnavailableError:
        pass
    player.close()
    print(psutil.Process().memory_info().rss, flush=True)
""")


def peak_memory(quick: bool) -> list[tuple[str, float, str, str, bool | None]]:
    """Resident memory with an 8-stem track decoded in memory and playing (own process)."""
    seconds = 60.0 if quick else 240.0
    root = Path(__file__).resolve().parents[1]
    out = (
        subprocess.run(
            [sys.executable, "-c", PEAK_RSS, str(root), str(seconds)],
            capture_output=True,
            text=True,
            check=True,
            env=dict(os.environ),
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    rss_mb = int(out) / 1e6
    return [
        (
            f"RSS, 8 stems x {seconds:.0f} s decoded and playing",
            rss_mb,
            "MB",
            "<= 400",
            rss_mb <= 400,
        )
    ]
