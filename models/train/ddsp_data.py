# SPDX-License-Identifier: GPL-3.0-or-later
"""Training data for the timbre models: monophonic phrases rendered from a GM SoundFont.

Every phrase is generated here (scales, arpeggios, leaps, repeated notes; legato, detached and
staccato notes; velocity and expression swells; pitch-bend vibrato and slides) and rendered with
tinysoundfont at 16 kHz mono for one General MIDI program. The f0 of every frame is the ground
truth from the notes and bends (no pitch tracker), so training never sees a tracking error.
Same seed and SoundFont, same data.

Run alone to check a render: ``.venv/bin/python models/train/ddsp_data.py 40``.
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tinysoundfont

from app.styles.ddsp_synth import loudness_db

SR = 16_000
HOP = 160
BLOCK = 32  # samples between control updates (pitch bend, expression): 2 ms
BEND_RANGE = 12  # semitones: slides up to an octave; 8192/12 steps per semitone (0.15 cents)
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")


@dataclass(frozen=True)
class Instrument:
    model_id: str
    display_name: str
    program: int  # GM program, 0-based
    low: int  # MIDI note range played in training
    high: int
    vibrato_cents: float  # typical vibrato depth
    description: str


INSTRUMENTS = {
    "violin": Instrument("timbre.violin", "Violin", 40, 55, 93, 25.0,
                         "A bowed violin following the stem's melody."),
    "flute": Instrument("timbre.flute", "Flute", 73, 60, 96, 15.0,
                        "A breathy concert flute following the stem's melody."),
    "trumpet": Instrument("timbre.trumpet", "Trumpet", 56, 52, 82, 12.0,
                          "A bright trumpet following the stem's melody."),
    "synth-lead": Instrument("timbre.synth-lead", "Synth lead", 81, 45, 88, 10.0,
                             "A sawtooth synth lead following the stem's melody."),
}  # fmt: skip

SCALES = ((0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10), (0, 2, 4, 7, 9), (0, 3, 5, 7, 10))


@dataclass
class Note:
    start: float  # seconds from the phrase start
    length: float  # seconds the key is held
    key: int
    velocity: int
    slide_to: int | None = None  # bend towards this key during the last part of the note


def phrase_notes(rng: np.random.Generator, inst: Instrument) -> list[Note]:
    """One phrase of 2-7 s: a melodic figure with an articulation and dynamics."""
    beat = 60.0 / rng.uniform(70, 150)
    scale = SCALES[rng.integers(len(SCALES))]
    tonic = int(rng.integers(inst.low, inst.low + 12))
    degrees = [tonic + 12 * o + s for o in range(-1, 5) for s in scale]
    keys = [k for k in degrees if inst.low <= k <= inst.high]
    centre = int(rng.integers(len(keys)))
    figure = rng.choice(["scale", "arpeggio", "leaps", "repeat", "random"])
    count = int(rng.integers(4, 14))
    idx: list[int] = []
    for i in range(count):
        if figure == "scale":
            step = 1 if rng.random() < 0.5 else -1
            idx.append(centre + step * i)
        elif figure == "arpeggio":
            idx.append(centre + 2 * (i % 4) - (3 if i % 8 >= 4 else 0))
        elif figure == "leaps":
            idx.append(centre + int(rng.integers(-7, 8)))
        elif figure == "repeat":
            idx.append(centre + (i // 3) * int(rng.choice([-1, 1])))
        else:
            centre += int(rng.integers(-3, 4))
            idx.append(centre)
    lengths = rng.choice(
        [0.25, 0.5, 1.0, 1.5, 2.0, 3.0], size=count, p=[0.1, 0.3, 0.3, 0.1, 0.12, 0.08]
    )
    articulation = rng.choice(["legato", "detached", "staccato"], p=[0.45, 0.4, 0.15])
    held = {"legato": (0.98, 1.0), "detached": (0.6, 0.9), "staccato": (0.25, 0.45)}[articulation]
    base_velocity = rng.uniform(45, 120)
    notes: list[Note] = []
    t = 0.0
    for i, (j, beats) in enumerate(zip(idx, lengths, strict=True)):
        key = keys[int(np.clip(j, 0, len(keys) - 1))]
        dur = float(beats) * beat
        velocity = int(np.clip(base_velocity + rng.normal(0, 12) + 15 * np.sin(i / 2), 25, 127))
        notes.append(Note(t, dur * rng.uniform(*held), key, velocity))
        t += dur
    if articulation == "legato":  # some slides between neighbouring notes
        for a, b in itertools.pairwise(notes):
            if a.key != b.key and abs(a.key - b.key) <= BEND_RANGE and rng.random() < 0.25:
                a.slide_to = b.key
    return notes


def render_phrase(
    synth: tinysoundfont.Synth, rng: np.random.Generator, inst: Instrument, notes: list[Note]
) -> tuple[np.ndarray, np.ndarray]:
    """Play ``notes`` (plus a release tail) on channel 0 of ``synth``.

    Returns:
        audio: float32 (N,) mono at 16 kHz; f0: float64 (N,) ground-truth f0 per sample (held
        from the last note through rests).
    """
    tail = rng.uniform(0.3, 0.9)
    total = int((notes[-1].start + notes[-1].length + tail) * SR) // BLOCK * BLOCK
    audio = np.zeros(total, dtype=np.float32)
    f0 = np.zeros(total, dtype=np.float64)
    depth = inst.vibrato_cents * rng.uniform(0.0, 1.6)
    rate = rng.uniform(4.5, 6.5)
    swell_rate = rng.uniform(0.15, 0.8)
    swell_depth = rng.uniform(0.0, 0.5)
    swell_phase = rng.uniform(0, 2 * np.pi)
    events = sorted(
        [(int(n.start * SR) // BLOCK, 1, i) for i, n in enumerate(notes)]
        + [(int((n.start + n.length) * SR) // BLOCK, 0, i) for i, n in enumerate(notes)]
    )
    active: int | None = None
    last_key = notes[0].key
    onset_block = 0
    ev = 0
    for block in range(total // BLOCK):
        while ev < len(events) and events[ev][0] <= block:
            _, is_on, i = events[ev]
            ev += 1
            if is_on:
                if active is not None:
                    synth.noteoff(0, notes[active].key)
                synth.pitchbend(0, 8192)
                synth.noteon(0, notes[i].key, notes[i].velocity)
                active, last_key, onset_block = i, notes[i].key, block
            elif active == i:
                synth.noteoff(0, notes[i].key)
                active = None
        t = block * BLOCK / SR
        since = (block - onset_block) * BLOCK / SR
        cents = 0.0
        if active is not None:
            note = notes[active]
            # Vibrato fades in after the attack, as players do on held notes.
            cents = depth * min(1.0, max(0.0, (since - 0.15) / 0.3)) * np.sin(2 * np.pi * rate * t)
            if note.slide_to is not None:
                slide = min(0.15, note.length * 0.4)
                into = since - (note.length - slide)
                if into > 0:
                    cents += 100.0 * (note.slide_to - note.key) * min(1.0, into / slide)
        bend = int(np.clip(round(8192 + cents / 100.0 / BEND_RANGE * 8192), 0, 16383))
        synth.pitchbend(0, bend)
        expression = 1.0 - swell_depth * (
            0.5 + 0.5 * np.sin(2 * np.pi * swell_rate * t + swell_phase)
        )
        synth.control_change(0, 11, int(np.clip(round(127 * expression), 0, 127)))
        true_cents = 100.0 * (bend - 8192) / 8192 * BEND_RANGE if active is not None else 0.0
        f0[block * BLOCK : (block + 1) * BLOCK] = 440.0 * 2 ** (
            (last_key - 69 + true_cents / 100) / 12
        )
        stereo = np.frombuffer(synth.generate(BLOCK), np.float32).reshape(-1, 2)
        audio[block * BLOCK : (block + 1) * BLOCK] = stereo.mean(axis=1)
    synth.notes_off()
    synth.pitchbend(0, 8192)
    return audio, f0


def make_synth(program: int, soundfont: Path = SOUNDFONT) -> tinysoundfont.Synth:
    synth = tinysoundfont.Synth(samplerate=SR)
    sfid = synth.sfload(str(soundfont))
    synth.program_select(0, sfid, 0, program)
    synth.pitchbend_range(0, BEND_RANGE)
    return synth


def make_dataset(name: str, seconds: float, seed: int) -> dict[str, np.ndarray]:
    """Phrases of instrument ``name`` until ``seconds`` of audio, joined with short rests.

    Returns float32 arrays: ``audio`` (N,), and per frame (N // HOP + 1,) ``f0_hz`` (ground
    truth at the frame centre) and ``loudness_db`` (:func:`app.styles.ddsp_synth.loudness_db`).
    """
    inst = INSTRUMENTS[name]
    rng = np.random.default_rng(seed)
    synth = make_synth(inst.program)
    audio_parts: list[np.ndarray] = []
    f0_parts: list[np.ndarray] = []
    total = 0
    while total < seconds * SR:
        audio, f0 = render_phrase(synth, rng, inst, phrase_notes(rng, inst))
        gap = int(rng.uniform(0.05, 0.6) * SR)
        audio_parts += [audio, np.zeros(gap, np.float32)]
        f0_parts += [f0, np.full(gap, f0[-1])]
        total += len(audio) + gap
    audio = np.concatenate(audio_parts)
    f0 = np.concatenate(f0_parts)
    peak = float(np.abs(audio).max())
    audio = audio / max(peak, 1e-9) * 0.9  # one gain per set: dynamics within it are kept
    frames = len(audio) // HOP + 1
    f0_frames = f0[np.minimum(np.arange(frames) * HOP, len(f0) - 1)]
    return {
        "audio": audio.astype(np.float32),
        "f0_hz": f0_frames.astype(np.float32),
        "loudness_db": loudness_db(audio, SR, HOP),
    }


if __name__ == "__main__":
    import soundfile as sf

    program = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    name = next(k for k, v in INSTRUMENTS.items() if v.program == program)
    data = make_dataset(name, 20.0, seed=1)
    sf.write(f"/tmp/ddsp_{name}.wav", data["audio"], SR)
    print(name, len(data["audio"]) / SR, "s", data["f0_hz"].min(), data["f0_hz"].max())
