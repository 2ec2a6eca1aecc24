# SPDX-License-Identifier: GPL-3.0-or-later
"""Training material and teacher chains for the character models (``character_train.py``).

Dry material (mono, float32, 48 kHz, the engine's rate, so the models never resample):

* every demo stem (CC0 compositions rendered from FluidR3_GM), each channel as its own signal;
  the last :data:`HOLDOUT_FRACTION` of every stem is held out for evaluation;
* FluidR3_GM (MIT) renders of random phrases on instruments the demo stems lack (distorted
  guitar, choir, brass, strings, slap bass, synth lead); one render per instrument with another
  seed is held out;
* noise bursts with random envelopes and tilts, and logarithmic sine sweeps at several levels,
  so every level and the whole spectrum are covered.

Teachers are deterministic ``pedalboard`` chains (plus one numpy waveshaper for the tube's
asymmetry); the ``drive`` knob (0..1) sets their gains. They are built fresh per call, so a
call's output depends only on its input.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
from pedalboard import (
    Compressor,
    Distortion,
    Gain,
    HighpassFilter,
    HighShelfFilter,
    LowpassFilter,
    PeakFilter,
    Pedalboard,
)

SR = 48_000
ROOT = Path(__file__).resolve().parents[2]
STEMS = ROOT / "assets" / "demo" / "stems"
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
HOLDOUT_FRACTION = 0.2
# GM programs the demo stems do not cover: overdriven/distorted guitar, choir aahs, brass
# section, string ensemble, slap bass, saw lead, and a nylon guitar.
GM_PROGRAMS = (29, 30, 52, 61, 48, 36, 81, 24)


# --- teachers --------------------------------------------------------------------------------


def tape_drive_db(drive: float) -> float:
    """Drive knob (0..1) -> the tape's saturation gain in dB."""
    return 2.0 + 16.0 * drive


def tube_drive_db(drive: float) -> float:
    """Drive knob (0..1) -> the tube stage's gain in dB."""
    return 4.0 + 20.0 * drive


TUBE_BIAS = 0.35  # operating-point offset: makes the clipping asymmetric (even harmonics)


def tape(x: np.ndarray, drive: float) -> np.ndarray:
    """The "Tape" teacher on mono float32 ``x`` (n,) at 48 kHz -> (n,).

    Soft tanh saturation, a head bump at 90 Hz, a gentle high-frequency loss that deepens with
    drive, a mild fast compressor, and make-up gain so that the drive changes colour more than
    loudness.
    """
    drive_db = tape_drive_db(drive)
    board = Pedalboard(
        [
            Distortion(drive_db=drive_db),
            PeakFilter(cutoff_frequency_hz=90.0, gain_db=2.5, q=0.9),
            HighShelfFilter(cutoff_frequency_hz=7000.0, gain_db=-2.0 - 4.0 * drive, q=0.7),
            Compressor(threshold_db=-12.0, ratio=1.8, attack_ms=3.0, release_ms=40.0),
            Gain(gain_db=-0.55 * drive_db),
        ]
    )
    return board(x[None, :].astype(np.float32), SR)[0]


def tube(x: np.ndarray, drive: float) -> np.ndarray:
    """The "Tube drive" teacher on mono float32 ``x`` (n,) at 48 kHz -> (n,).

    A mid push before the tube stage, a biased (asymmetric) tanh stage, a DC blocker, and a
    darkening low-pass and high shelf after it, with make-up gain.
    """
    drive_db = tube_drive_db(drive)
    pre = Pedalboard(
        [
            HighpassFilter(cutoff_frequency_hz=40.0),
            PeakFilter(cutoff_frequency_hz=900.0, gain_db=4.0, q=0.7),
        ]
    )
    post = Pedalboard(
        [
            HighpassFilter(cutoff_frequency_hz=25.0),  # removes the bias's level-dependent DC
            LowpassFilter(cutoff_frequency_hz=9000.0),
            HighShelfFilter(cutoff_frequency_hz=4000.0, gain_db=-3.0, q=0.7),
            Gain(gain_db=-0.6 * drive_db),
        ]
    )
    pushed = pre(x[None, :].astype(np.float32), SR)
    gain = np.float32(10.0 ** (drive_db / 20.0))
    shaped = np.tanh(gain * pushed + TUBE_BIAS) - np.tanh(np.float32(TUBE_BIAS))
    return post(shaped.astype(np.float32), SR)[0]


@dataclass(frozen=True)
class Teacher:
    model_id: str
    process: object  # Callable[[np.ndarray, float], np.ndarray]
    chain: str  # one line for the manifest and README


TEACHERS = {
    "character.tape": Teacher(
        "character.tape",
        tape,
        "Distortion(tanh, drive_db = 2 + 16·drive) → PeakFilter(90 Hz, +2.5 dB, Q 0.9) → "
        "HighShelf(7 kHz, −2 − 4·drive dB) → Compressor(−12 dB, 1.8:1, 3 ms / 40 ms) → "
        "Gain(−0.55·drive_db)",
    ),
    "character.tube": Teacher(
        "character.tube",
        tube,
        "HighpassFilter(40 Hz) → PeakFilter(900 Hz, +4 dB, Q 0.7) → tanh(g·x + 0.35) − tanh(0.35) "
        "with g = 4 + 20·drive dB → HighpassFilter(25 Hz) → LowpassFilter(9 kHz, 6 dB/oct) → "
        "HighShelf(4 kHz, −3 dB) → Gain(−0.6·(4 + 20·drive) dB)",
    ),
}


# --- dry material ----------------------------------------------------------------------------


def _to_48k(audio: np.ndarray, rate: int) -> np.ndarray:
    if rate == SR:
        return audio.astype(np.float32)
    return soxr.resample(audio, rate, SR, quality="HQ").astype(np.float32)


def demo_stems() -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    """(train, held-out, names): each stem channel as a mono signal; the held-out part is the
    last :data:`HOLDOUT_FRACTION` of every stem."""
    train, held, names = [], [], []
    for path in sorted(STEMS.glob("*/*.ogg")):
        audio, rate = sf.read(path, dtype="float32", always_2d=True)
        audio = _to_48k(audio, rate)
        cut = int(len(audio) * (1.0 - HOLDOUT_FRACTION))
        for ch in range(audio.shape[1]):
            train.append(np.ascontiguousarray(audio[:cut, ch]))
            held.append(np.ascontiguousarray(audio[cut:, ch]))
            names.append(f"{path.parent.name}/{path.stem}[{ch}]")
    return train, held, names


def fluid_renders(seed: int, seconds: float = 8.0) -> list[np.ndarray]:
    """One mono render per program in :data:`GM_PROGRAMS`: random phrases (notes, chords,
    velocities 30..127) rendered with tinysoundfont at 48 kHz."""
    import tinysoundfont  # training-only dependency

    rng = np.random.default_rng(seed)
    blob = SOUNDFONT.read_bytes()
    out = []
    for program in GM_PROGRAMS:
        synth = tinysoundfont.Synth(samplerate=SR)
        sfid = synth.sfload(blob)
        synth.program_select(0, sfid, 0, program)
        frames = int(seconds * SR)
        audio = np.zeros((frames, 2), np.float32)
        pos = 0
        low = 28 if program in (36,) else 48
        while pos < frames:
            length = int(rng.uniform(0.08, 0.8) * SR)
            keys = [int(rng.integers(low, low + 30))]
            if rng.random() < 0.3:
                keys += [keys[0] + 4, keys[0] + 7]
            velocity = int(rng.integers(30, 128))
            for key in keys:
                synth.noteon(0, key, velocity)
            n = min(length, frames - pos)
            audio[pos : pos + n] = np.frombuffer(synth.generate(n), np.float32).reshape(-1, 2)
            pos += n
            for key in keys:
                synth.noteoff(0, key)
        peak = float(np.abs(audio).max()) or 1.0
        out.append((audio[:, 0] * (0.7 / peak)).astype(np.float32))
    return out


def synthetic(seed: int, seconds: float = 6.0) -> list[np.ndarray]:
    """Noise bursts (random envelopes and spectral tilts) and log sine sweeps (20 Hz..20 kHz)
    at levels from −40 to −1 dBFS, each ``seconds`` long."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    noise = np.zeros(n, np.float32)
    pos = 0
    while pos < n:
        length = int(rng.uniform(0.02, 0.5) * SR)
        gap = int(rng.uniform(0.0, 0.2) * SR)
        seg = rng.standard_normal(length).astype(np.float32)
        tilt = rng.uniform(0.0, 0.98)  # one-pole low-pass: from white to dark
        seg = np.asarray(
            Pedalboard([LowpassFilter(cutoff_frequency_hz=float(200 + 18000 * (1 - tilt)))])(
                seg[None, :], SR
            )[0]
        )
        env = np.exp(-np.arange(length) / (rng.uniform(0.01, 0.3) * SR)).astype(np.float32)
        level = 10 ** (rng.uniform(-40, -1) / 20)
        seg = seg * env
        seg *= level / max(float(np.abs(seg).max()), 1e-9)
        m = min(length, n - pos)
        noise[pos : pos + m] = seg[:m]
        pos += length + gap
    t = np.arange(n) / SR
    f0, f1 = 20.0, 20_000.0
    k = np.log(f1 / f0)
    phase = 2 * np.pi * f0 * seconds / k * (np.exp(t / seconds * k) - 1)
    sweeps = []
    for level_db in (-30.0, -12.0, -3.0):
        sweeps.append((10 ** (level_db / 20) * np.sin(phase)).astype(np.float32))
    return [noise, *sweeps]


def material(seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(train, held-out) lists of mono float32 signals at 48 kHz."""
    stem_train, stem_held, _ = demo_stems()
    train = stem_train + fluid_renders(seed) + synthetic(seed)
    held = stem_held + fluid_renders(seed + 1000, seconds=4.0) + synthetic(seed + 1000, 3.0)
    return train, held
