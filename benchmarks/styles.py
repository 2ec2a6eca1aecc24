# SPDX-License-Identifier: GPL-3.0-or-later
"""Style-model benchmarks: each model's speed on one core, what it adds in latency, and the CPU
playback takes with two styled stems.

Imported by benchmarks/run.py, which registers and prints them.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_RATE = 48_000
Row = tuple[str, float, str, str, bool | None]

# Which demo stem each family is measured on: a melody for timbre, a bass line for character.
STEM_FOR = {"timbre": "neon-harbour/lead", "character": "neon-harbour/bass"}

ONE_CORE = textwrap.dedent("""
    import json, os, sys, time
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the target says
    sys.path.insert(0, sys.argv[1])
    from benchmarks.styles import demo_stem
    from app.engine.styled import StyledSource
    from app.styles.package import StylePackage
    from pathlib import Path
    package = StylePackage.from_dir(Path(sys.argv[2]))
    stem = demo_stem(sys.argv[3], float(sys.argv[4]))
    package.self_test()  # warms the session up too
    processor = package.processor({}, 48_000)
    source = StyledSource(stem, processor, 1.0, ("bench",))
    started = time.perf_counter()
    source.prepare()
    prepare_s = time.perf_counter() - started
    started = time.perf_counter()
    for index in range(source.chunks):
        source.chunk(index)
    render_s = time.perf_counter() - started
    print(json.dumps({"prepare_s": prepare_s, "render_s": render_s,
                      "latency": package.manifest.latency_samples / package.manifest.sample_rate}))
""")


def demo_stem(name: str, seconds: float) -> np.ndarray:
    """A demo stem (``track/kind``) at 48 kHz, repeated to ``seconds``: float32 (frames, 2)."""
    import soundfile as sf
    import soxr

    audio, rate = sf.read(ROOT / "assets" / "demo" / "stems" / f"{name}.ogg", dtype="float32")
    audio = np.atleast_2d(audio.T).T
    if audio.shape[1] == 1:
        audio = np.repeat(audio, 2, axis=1)
    audio = soxr.resample(audio, rate, SAMPLE_RATE, quality="VHQ").astype(np.float32)
    frames = int(seconds * SAMPLE_RATE)
    reps = -(-frames // audio.shape[0])
    return np.ascontiguousarray(np.tile(audio, (reps, 1))[:frames])


def packages() -> list[Path]:
    return sorted(p.parent for p in (ROOT / "models").glob("*/manifest.json"))


def style_speed(quick: bool) -> list[Row]:
    """Per model: the styled stem made chunk by chunk (as the render-ahead worker makes it),
    x real time on one core, including synthesis; the analysis ahead of it apart."""
    seconds = 30.0 if quick else 60.0
    rows: list[Row] = []
    for folder in packages():
        doc = json.loads((folder / "manifest.json").read_text())
        runs = []
        for _ in range(1 if quick else 3):
            out = subprocess.run(
                [sys.executable, "-c", ONE_CORE, str(ROOT), str(folder),
                 STEM_FOR[doc["family"]], str(seconds)],
                capture_output=True, text=True, check=True, env=dict(os.environ),
            )  # fmt: skip
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        render = float(np.median([seconds / r["render_s"] for r in runs]))
        prepare = float(np.median([seconds / r["prepare_s"] for r in runs]))
        ref = f"{doc['id']}@{doc['model_version']}"
        rows.append((f"{ref}: x real time per stem, one core, incl. synthesis", render, "x",
                     ">= 50", render >= 50))  # fmt: skip
        if doc["runtime"] == "ddsp":
            rows.append((f"{ref}: whole-stem pitch analysis ahead of it", prepare, "x real time",
                         "", None))  # fmt: skip
        rows.append((f"{ref}: model latency (compensated: output aligned with the stem)",
                     runs[0]["latency"] * 1000, "ms", "", None))  # fmt: skip
    return rows or [("style models (none shipped in models/)", 0.0, "", "", None)]


def style_playback(quick: bool) -> list[Row]:
    """Playback of a demo track with two styled stems through PortAudio: CPU share of the
    process, underruns, and a knob change -> heard (render-ahead of the new styled sound)."""
    from app.core.recipe import Recipe, StemMix
    from app.core.style_slot import StyleSlot
    from app.engine.mixer import Mixer
    from app.engine.output import OutputUnavailableError, Player
    from app.styles.package import StylePackage

    found = {p.name: StylePackage.from_dir(p) for p in packages()}
    timbre = next((p for n, p in found.items() if n.startswith("timbre.")), None)
    character = next((p for n, p in found.items() if n.startswith("character.")), None)
    if timbre is None or character is None:
        return [("two styled stems playing (models missing)", 0.0, "", "", None)]
    kinds = ("drums", "bass", "keys", "lead", "pad")
    seconds = 20.0 if quick else 60.0
    stems = {k: demo_stem(f"neon-harbour/{k}", seconds + 10) for k in kinds}
    knob = timbre.manifest.knobs[0]
    slots = {
        "lead": StyleSlot.make(timbre.manifest.id, timbre.manifest.model_version),
        "bass": StyleSlot.make(character.manifest.id, character.manifest.model_version),
    }
    recipe = Recipe("bench", 1, "bench", {k: StemMix(style=slots.get(k)) for k in kinds})
    by_ref = {p.manifest.ref: p for p in found.values()}
    mixer = Mixer(stems, SAMPLE_RATE, recipe, styles=by_ref.__getitem__)
    for source in mixer.stems:  # the analysis runs once, when the style is placed: not timed
        if hasattr(source, "prepare"):
            source.prepare()
    player = Player(mixer)
    switched: list[float] = []
    switch = mixer.switch

    def timed_switch(frame: int) -> int:
        switched.append(time.perf_counter())
        return switch(frame)

    mixer.switch = timed_switch  # type: ignore[method-assign]
    try:
        player.play()
    except OutputUnavailableError:
        return [("two styled stems playing (no audio device here)", 0.0, "", "", None)]
    latencies = []
    try:
        time.sleep(2.0)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu_before, wall_before = usage.ru_utime + usage.ru_stime, time.perf_counter()
        time.sleep(seconds / 2)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (usage.ru_utime + usage.ru_stime - cpu_before) / (time.perf_counter() - wall_before)
        for index in range(4 if quick else 10):
            value = knob.min + (knob.max - knob.min) * (0.2 + 0.6 * (index % 2))
            lead = slots["lead"]
            slot = StyleSlot.make(lead.model, lead.version, {knob.id: value})
            changed = time.perf_counter()
            count = len(switched)
            mixer.set_recipe(mixer.recipe.with_stem("lead", style=slot))
            while len(switched) == count and time.perf_counter() - changed < 5.0:
                time.sleep(0.002)
            if len(switched) > count:
                queued = player._ring.read_available / SAMPLE_RATE
                latencies.append(switched[-1] - changed + queued)
            time.sleep(0.5)
        underruns = player.underruns
    finally:
        player.close()
    heard = float(np.median(latencies)) * 1000 if latencies else float("nan")
    return [
        ("CPU while playing 5 stems, 2 styled (timbre + character), share of one core",
         cpu * 100, "%", "", None),
        (f"{knob.name} knob change -> heard (new styled sound made ahead), median", heard, "ms",
         "<= 250", heard <= 250),
        (f"underruns while playing with 2 styled stems (~{seconds:.0f} s)", float(underruns),
         "count", "0", underruns == 0),
    ]  # fmt: skip
