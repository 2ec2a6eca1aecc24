# SPDX-License-Identifier: GPL-3.0-or-later
"""Style-model benchmarks: each model's speed on one core, what it adds in latency, and the CPU
playback takes with two styled stems."""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path

import numpy as np

from benchmarks import hooks
from benchmarks.table import ROOT, Figure, benchmark, median, run_probe

SAMPLE_RATE = 48_000
SPEED_RUNS = 3  # fresh processes per model

# Which demo stem each family is measured on: a melody for timbre, a bass line for character.
STEM_FOR = {"timbre": "neon-harbour/lead", "character": "neon-harbour/bass"}


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


@benchmark
def style_speed(quick: bool) -> list[Figure]:
    """Per model: the styled stem made chunk by chunk (as the render-ahead worker makes it),
    x real time on one core, including synthesis; the analysis ahead of it apart."""
    seconds = 30.0 if quick else 60.0
    figures: list[Figure] = []
    for folder in packages():
        doc = json.loads((folder / "manifest.json").read_text())
        stem = STEM_FOR[doc["family"]]
        runs = [
            json.loads(run_probe("style_one_core", folder, stem, seconds))
            for _ in range(SPEED_RUNS)
        ]
        render = median(seconds / r["render_s"] for r in runs)
        prepare = median(seconds / r["prepare_s"] for r in runs)
        ref = f"{doc['id']}@{doc['model_version']}"
        figures.append(Figure(f"{ref}: x real time per stem, one core, incl. synthesis", render,
                              "x", ">= 50", render >= 50))  # fmt: skip
        if doc["runtime"] == "ddsp":
            figures.append(Figure(f"{ref}: whole-stem pitch analysis ahead of it", prepare,
                                  "x real time", "", None))  # fmt: skip
        figures.append(Figure(f"{ref}: model latency as its manifest declares it (compensated: "
                              "output aligned with the stem)", runs[0]["latency"] * 1000, "ms",
                              "", None))  # fmt: skip
    return figures or [Figure("style models (none shipped in models/)", 0.0, "", "", None)]


@benchmark
def style_playback(quick: bool) -> list[Figure]:
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
        return [Figure("two styled stems playing (models missing)", 0.0, "", "", None)]
    kinds = ("drums", "bass", "keys", "lead", "pad")
    cpu_s, changes = (10.0, 6) if quick else (30.0, 10)
    playing_s = 2.0 + cpu_s + changes * 1.0  # a change takes ~0.5 s to be heard, then 0.5 s
    stems = {k: demo_stem(f"neon-harbour/{k}", playing_s + 10) for k in kinds}
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
    clock = hooks.ChangeClock(player, mixer)
    try:
        player.play()
    except OutputUnavailableError:
        return [Figure("two styled stems playing (no audio device here)", 0.0, "", "", None)]
    began = time.monotonic()
    try:
        time.sleep(2.0)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu_before, wall_before = usage.ru_utime + usage.ru_stime, time.perf_counter()
        time.sleep(cpu_s)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (usage.ru_utime + usage.ru_stime - cpu_before) / (time.perf_counter() - wall_before)
        for index in range(changes):
            value = knob.min + (knob.max - knob.min) * (0.2 + 0.6 * (index % 2))
            lead = slots["lead"]
            slot = StyleSlot.make(lead.model, lead.version, {knob.id: value})
            changed = mixer.recipe.with_stem("lead", style=slot)
            clock.change(lambda r=changed: mixer.set_recipe(r), needs_switch=True)
            time.sleep(0.5)
        underruns = player.underruns
        ran_s = time.monotonic() - began
    finally:
        player.close()
    heard = median(clock.heard) * 1000
    return [
        Figure(f"CPU while playing 5 stems, 2 styled (timbre + character), share of one core "
               f"({cpu_s:.0f} s)", cpu * 100, "%", "", None),
        Figure(f"{knob.name} knob change -> heard (new styled sound made ahead), median of "
               f"{len(clock.heard)}", heard, "ms", "<= 250", heard <= 250),
        Figure(f"underruns while playing with 2 styled stems ({ran_s:.0f} s)", float(underruns),
               "count", "0", underruns == 0),
    ]  # fmt: skip
