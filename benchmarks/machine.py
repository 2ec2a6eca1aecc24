# SPDX-License-Identifier: GPL-3.0-or-later
"""What the machine itself does to playback: the machine-pause probe, the audio buffer
settings a run measures, and the device floor (the simplest player, with both cores busy)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from typing import Any

from benchmarks import hooks
from benchmarks.table import ROOT, Figure, benchmark, probe_command, spinner


def start_pause_probe(seconds: float) -> subprocess.Popen[str]:
    """Start the machine-pause probe (benchmarks/probes/pause_probe.py) for ``seconds``."""
    return subprocess.Popen(
        probe_command("pause_probe", seconds), cwd=ROOT, stdout=subprocess.PIPE, text=True
    )


def machine_pauses(probe: subprocess.Popen[str]) -> list[tuple[float, float]] | None:
    """The probe's pauses as (monotonic time, ms), once it ends (None: it could not run at
    real-time priority, so it measures nothing)."""
    if probe.poll() is None:
        probe.terminate()
    found = json.loads(probe.communicate()[0] or "null")
    return None if found is None else [(float(t), float(ms)) for t, ms in found]


def pause_figures(pauses: list[tuple[float, float]] | None, what: str) -> list[Figure]:
    """The machine's pauses as the probe saw them: the longest, and how many exceeded 4 ms
    (the probe reports no shorter ones, so "0 ms" is "none over 4 ms")."""
    if pauses is None:
        return [Figure("machine pauses (not measured: no real-time rights)", 0, "", "", None)]
    return [
        Figure(f"longest oversleep of {what} (the machine pausing; 0: none over 4 ms)",
               max((ms for _, ms in pauses), default=0.0), "ms", "", None),
        Figure("  such oversleeps over 4 ms", len(pauses), "count", "", None),
    ]  # fmt: skip


def bench_bufferings() -> list[Any]:
    """The audio buffer settings to measure: ``FANFARE_BENCH_BUFFERS`` (names, comma-separated),
    or every one the studio offers."""
    from app.engine.output import BUFFERINGS

    names = os.environ.get("FANFARE_BENCH_BUFFERS")
    if not names:
        return list(BUFFERINGS)
    return [b for b in BUFFERINGS if b.name in names.split(",")]


@benchmark
def device_floor(quick: bool) -> list[Figure]:
    """What the machine does to the simplest player while both cores are busy: silence from
    a ring the size of an audio buffer setting's, topped up every 2.7 ms, through the device
    the studio opens with that setting's latency, its threads promoted as the player's are;
    two processes spin, and a real-time sleeper measures the machine's pauses. Once for each
    setting. The soak's dropouts are only the app's beyond this floor."""
    seconds = 60.0 if quick else 300.0
    figures = []
    for buffering in bench_bufferings():
        figures += _device_floor(seconds, buffering)
    return figures


def _device_floor(seconds: float, buffering: Any) -> list[Figure]:
    import numpy as np

    from app.engine import realtime

    before = realtime.native_threads()
    stream = hooks.open_stream(48_000, buffering.device_latency)
    spinners = [spinner() for _ in range(2)]
    sleeper = start_pause_probe(seconds)
    underflows = dry = 0
    try:
        stream.start()
        started = realtime.device_threads(before, realtime.native_threads())
        realtime.promote_all(started, realtime.DEVICE_PRIORITY)
        realtime.promote_current(realtime.FEEDER_PRIORITY)
        ring = hooks.ring_buffer(buffering.ring_frames)
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
        for busy in spinners:
            busy.kill()
        pauses = machine_pauses(sleeper)
        stream.stop()
        stream.close()
        with contextlib.suppress(OSError):  # this thread goes back to normal priority
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    label = f"{seconds / 60:.0f} min, buffer {buffering.label}, trivial player, both cores busy"
    return [
        Figure(f"PortAudio underflows ({label})", underflows, "count", "", None),
        Figure(f"dry rings ({label})", dry, "count", "", None),
        *pause_figures(pauses, "a 2 ms sleep at SCHED_FIFO 50"),
    ]
