# SPDX-License-Identifier: GPL-3.0-or-later
"""The studio as a user meets it: start-up, first audio and changes on the long track, memory,
and a long soak with the window open."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from functools import partial
from typing import Any

from benchmarks import hooks
from benchmarks.machine import bench_bufferings, machine_pauses, pause_figures, start_pause_probe
from benchmarks.serving import LONG_TRACK_S, long_track_platform
from benchmarks.table import (
    ROOT,
    Figure,
    benchmark,
    isolated_home,
    median,
    probe_command,
    run_probe,
)

# Where first_audio and peak_memory play, as shares of the track's written length: 0:30, then
# 1:30, 0:20, 2:30 and 1:00 of the 4-minute track (the last four in the remix at x1.1, 3:38
# long), the same shares of the 1-minute one of --quick (benchmarks/README.md, Findings:
# "--quick played past the end of its track").
PLAY_AT = 30 / 240
SEEKS_AT = (90 / 240, 20 / 240, 150 / 240)
RESUME_AT = 60 / 240


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
    home = isolated_home()
    server, env = _virtual_screen()
    shown: list[float] = []
    listed: list[float] = []
    try:
        for run in range(4 if quick else 6):  # the first run seeds the demo platform
            start = time.monotonic()
            out = subprocess.run(
                probe_command("app_start"),
                capture_output=True, text=True, check=True, env=env, timeout=120, cwd=ROOT,
            )  # fmt: skip
            marks = json.loads(out.stdout.strip().splitlines()[-1])
            if "listed" not in marks:
                raise RuntimeError(f"the catalogue was not listed within a minute: {marks}")
            if run > 0:
                shown.append(marks["shown"] - start)
                listed.append(marks["listed"] - start)
    finally:
        if server is not None:
            server.terminate()
            server.wait()
        shutil.rmtree(home, ignore_errors=True)
    screen = "Xvfb" if server is not None else "Qt offscreen"
    window = median(shown)
    return [
        Figure(f"app start: launch -> window painted (median of {len(shown)}, {screen})",
               window * 1000, "ms", "<= 1500", window <= 1.5),
        Figure("app start: launch -> catalogue listed (embedded platform started, signed in)",
               median(listed) * 1000, "ms", "", None),
    ]  # fmt: skip


def _wait_for_audio(track: Any, start: float, at_s: float, limit_s: float = 5.0) -> float:
    """Seconds from ``start`` until the device has consumed frames past ``at_s``, where the
    track was just told to play from. Raises RuntimeError after ``limit_s``: a timeout is a
    failure, never a figure."""
    rate = track.info.sample_rate
    frame = int(at_s * rate)
    while round(track.position_s * rate) == frame:
        if time.perf_counter() - start > limit_s:
            raise RuntimeError(f"no audio {limit_s:.0f} s after playing from {at_s:.1f} s")
        time.sleep(0.0005)
    return time.perf_counter() - start


@benchmark
def first_audio(quick: bool) -> list[Figure]:
    """Open a cached, licensed 8-stem 4-minute track; time play() to the device pulling audio,
    and a tempo change to the first block of the new sound heard."""
    home = isolated_home()
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
    with long_track_platform(seconds) as url:
        studio = Studio(url)
        studio.login("fan", "fanfare-demo")
        studio.open_track("long-night").close()  # fills the encrypted cache
        for _ in range(5):
            start = time.perf_counter()
            track = studio.open_track("long-night")
            opens.append(time.perf_counter() - start)
            try:
                at = round(track.info.duration_s * PLAY_AT, 3)  # mid-track, as after a click
                track.seek(at)
                start = time.perf_counter()
                track.play()
                firsts.append(_wait_for_audio(track, start, at))
                clock = hooks.ChangeClock(track.player, track.mixer)
                time.sleep(1.0)
                for change in ({"ratio": 1.1}, {"ratio": 1.0}, {"key_shift": 2}, {"key_shift": 0}):
                    took = clock.change(partial(track.set_tempo, **change), needs_switch=True)
                    plain = track.recipe.tempo_ratio == 1.0 and track.recipe.key_shift == 0
                    (unchanged if plain else retimes).append(took)
                    print(change, round(took * 1000), file=sys.stderr)
                    time.sleep(0.5)
                # A remix at another tempo: seeks while it plays, and play from a pause.
                clock.change(partial(track.set_tempo, ratio=1.1), needs_switch=True)
                time.sleep(1.0)
                for share in SEEKS_AT:
                    to = round(track.info.duration_s * share, 3)
                    start = time.perf_counter()
                    track.seek(to)
                    retimed_seeks.append(_wait_for_audio(track, start, to))
                    time.sleep(0.7)
                track.pause()
                to = round(track.info.duration_s * RESUME_AT, 3)
                track.seek(to)
                start = time.perf_counter()
                track.play()
                retimed_plays.append(_wait_for_audio(track, start, to))
                time.sleep(0.5)
                if not track.playing:
                    raise RuntimeError("the track stopped playing during the benchmark")
                track.set_tempo(ratio=1.0)
                track.pause()
                underruns += track.underruns
            except OutputUnavailableError:
                pass
            track.close()
        studio.close()
    label = f"8 stems x {seconds:.0f} s"
    figures.append(
        Figure(f"open a cached track ({label}: licence, decrypt, check), median of {len(opens)}",
               median(opens) * 1000, "ms", "", None)
    )  # fmt: skip
    if firsts:
        value = median(firsts) * 1000
        figures.append(
            Figure(f"play -> first audio pulled by the device ({label}), median of {len(firsts)}",
                   value, "ms", "<= 300", value <= 300)
        )  # fmt: skip
        value = median(retimes) * 1000
        figures.append(
            Figure(f"tempo x1.1 or key +2 -> heard ({label}), median of {len(retimes)}", value,
                   "ms", "<= 250", value <= 250)
        )  # fmt: skip
        worst = max(retimes) * 1000
        figures.append(Figure("tempo or key change -> heard, worst", worst, "ms", "", None))
        value = median(unchanged) * 1000
        figures.append(
            Figure(f"back to the written tempo and key -> heard, median of {len(unchanged)}",
                   value, "ms", "", None)
        )  # fmt: skip
        value = median(retimed_seeks) * 1000
        figures.append(
            Figure(f"seek while a remix at x1.1 plays -> audio ({label}), median of "
                   f"{len(retimed_seeks)}", value, "ms", "<= 300", value <= 300)
        )  # fmt: skip
        value = median(retimed_plays) * 1000
        figures.append(
            Figure(f"play a remix at x1.1 -> first audio ({label}), median of "
                   f"{len(retimed_plays)}", value, "ms", "<= 300", value <= 300)
        )  # fmt: skip
        changes = len(retimes) + len(unchanged)
        run = f"{changes} changes, {len(retimed_seeks)} seeks, {len(retimed_plays)} plays"
        figures.append(
            Figure(f"underruns over that ({run})", underruns, "count", "0", underruns == 0)
        )
    shutil.rmtree(home, ignore_errors=True)
    return figures


def _decode_alone(sources: list[Any]) -> float:
    """Seconds to decode ``sources`` (encoded stems) to int16 on two threads, keeping nothing:
    the floor under the overview, which decodes the same way and keeps each bin's peak."""
    from concurrent.futures import ThreadPoolExecutor

    import soundfile as sf

    def decode(source: Any) -> None:
        with sf.SoundFile(source.open_stream()) as audio:
            while audio.read(65_536, dtype="int16", always_2d=True).shape[0]:
                pass

    start = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(decode, sources))
    return time.perf_counter() - start


@benchmark
def timeline_overview(quick: bool) -> list[Figure]:
    """The timeline's overview of the cached 8-stem long track, as the window asks for it when
    the track opens: the platform's envelopes (kept at ingest), and the envelopes measured here
    on two threads from the stems (offline, or a platform without them) beside decoding the
    same stems alone (the floor); and underruns while they are measured during playback, beside
    as long a stretch of the same playback without it (pairs, alternating)."""
    home = isolated_home()
    from app.engine.output import OutputUnavailableError
    from app.studio.overview import TrackOverview
    from app.studio.session import Studio

    seconds = 60.0 if quick else LONG_TRACK_S
    runs = 3 if quick else 5
    label = f"8 stems x {seconds:.0f} s"
    served: list[float] = []
    measured: list[float] = []
    floor: list[float] = []
    playing: list[float] = []
    added = [0, 0]  # underruns: without, with the envelopes measured meanwhile
    with long_track_platform(seconds) as url:
        studio = Studio(url)
        studio.login("fan", "fanfare-demo")
        studio.open_track("long-night").close()  # fills the encrypted cache
        for _ in range(runs):
            track = studio.open_track("long-night")
            start = time.perf_counter()
            if not track.overview.wait(30.0) or track.overview.origin != "platform":
                raise RuntimeError("the platform's envelopes were not taken")
            served.append(time.perf_counter() - start)
            sources = hooks.stem_sources(track)
            floor.append(_decode_alone(list(sources.values())))
            start = time.perf_counter()
            if not TrackOverview(track.info, sources).wait(30.0):
                raise RuntimeError("the overview did not finish in 30 s")
            measured.append(time.perf_counter() - start)
            track.close()
        for run in range(2 * runs):
            with_overview = run % 2 == 1
            track = studio.open_track("long-night")
            try:
                track.seek(round(track.info.duration_s * PLAY_AT, 3))
                track.play()
                time.sleep(1.0)  # past the start's own first chunks
                before = track.underruns
                start = time.perf_counter()
                if with_overview:
                    if not TrackOverview(track.info, hooks.stem_sources(track)).wait(30.0):
                        raise RuntimeError("the overview did not finish in 30 s")
                    playing.append(time.perf_counter() - start)
                    time.sleep(0.5)
                else:
                    time.sleep(max(playing, default=2.0) + 0.5)
                added[with_overview] += track.underruns - before
                if not track.playing:
                    raise RuntimeError("the track stopped playing during the benchmark")
            except OutputUnavailableError:
                pass
            track.close()
        studio.close()
    shutil.rmtree(home, ignore_errors=True)
    figures = [
        Figure(f"overview of {label}: the platform's envelopes, median of {runs}",
               median(served) * 1e3, "ms", "<= 500", median(served) <= 0.5),
        Figure(f"overview of {label} measured here (two threads, idle), median of {runs}",
               median(measured) * 1e3, "ms", "", None),
        Figure(f"  decoding the same stems alone (the floor), median of {runs}",
               median(floor) * 1e3, "ms", "", None),
    ]  # fmt: skip
    if playing:
        figures += [
            Figure(f"overview of {label} measured here while it plays, median of "
                   f"{len(playing)}", median(playing) * 1e3, "ms", "", None),
            Figure(f"underruns while it is measured ({len(playing)} runs)", added[1],
                   "count", f"<= {added[0]} (without)", added[1] <= added[0]),
            Figure(f"  underruns over as long without it ({len(playing)} runs)", added[0],
                   "count", "", None),
        ]  # fmt: skip
    return figures


@benchmark
def peak_memory(quick: bool) -> list[Figure]:
    """Peak resident memory of a fresh process that opens the 8-stem track, plays it, and
    changes its tempo (benchmarks/probes/peak_rss.py)."""
    home = isolated_home()
    seconds = 60.0 if quick else LONG_TRACK_S
    peaks = {}
    with long_track_platform(seconds) as url:
        for variant in ("plain", "styled"):
            peaks[variant] = int(run_probe("peak_rss", url, variant, seconds * RESUME_AT)) / 1e6
    shutil.rmtree(home, ignore_errors=True)
    return [
        Figure(f"peak RSS, 8 stems x {seconds:.0f} s open, playing, retimed", peaks["plain"],
               "MB", "<= 400", peaks["plain"] <= 400),
        Figure("peak RSS, the same, then 2 style models placed (violin, tape) and playing",
               peaks["styled"], "MB", "", None),
    ]  # fmt: skip


@benchmark
def soak(quick: bool) -> list[Figure]:
    """Underruns over a long playback of the 8-stem track with effects on every strip, the
    window open and redrawing its meters, and another process spinning on the other core;
    once for each audio buffer setting (benchmarks/probes/soak.py)."""
    home = isolated_home()
    seconds = 60.0 if quick else 600.0
    figures = []
    with long_track_platform(LONG_TRACK_S) as url:
        for buffering in bench_bufferings():
            probe = start_pause_probe(seconds + 600)  # ends with the soak
            result = json.loads(run_probe("soak", url, seconds, buffering.name))
            pauses = machine_pauses(probe)
            if not result["playing"]:
                raise RuntimeError("the soak's track stopped playing before the soak's end")
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
                figures += pause_figures(during, "a 2 ms sleep at SCHED_FIFO 50 meanwhile")
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
            else:
                figures += pause_figures(None, "")
    shutil.rmtree(home, ignore_errors=True)
    return figures
