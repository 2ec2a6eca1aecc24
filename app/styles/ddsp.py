# SPDX-License-Identifier: GPL-3.0-or-later
"""The DDSP timbre processor: a stem's melody played by a trained instrument model.

``prepare`` analyses the whole dry stem once: mono at the model rate (16 kHz), pitch and voicing
from swift-f0, the loudness feature the model was trained on, an octave shift into the model's
range, a voicing gate, the oscillator phase at every frame centre, and a make-up gain that
gives the styled stem the dry stem's integrated loudness. ``render`` then needs no
audio at all: it decodes the controls of the frames it covers with the model's ONNX decoder,
synthesises harmonics plus filtered noise (:mod:`app.styles.ddsp_synth`) and resamples to the
engine rate.

Determinism without carrying state between calls: the GRU decoder runs on a fixed grid. Run
``j`` starts from a zero state at frame ``j·B`` and lasts ``3·B`` frames (``B`` =
``synth.block_frames``); the controls of block ``b`` cross-fade from run ``b-2`` to run ``b-1``,
so every frame's controls come from runs that have settled for at least ``B`` frames, are the
same whichever chunk asks, and move continuously across block edges.
"""

from __future__ import annotations

import copy
import itertools
import math
import threading
from collections import OrderedDict

import numpy as np

from app.core.errors import StyleModelError
from app.styles import ddsp_synth as ds
from app.styles.base import Adjustment, ModelFiles, Reader, StyleProcessor
from app.styles.loudness import LoudnessMeter

READ_SECONDS = 1.0  # prepare reads the dry stem in pieces of this length
TRACK_SECONDS = 10  # the pitch tracker's pieces (bounded memory in onnxruntime)
VOICED = 0.5  # swift-f0 confidence above which a frame has a pitch
SILENT_DB = -70.0  # frames quieter than this are rests, whatever the tracker says
GAP_FRAMES = 6  # unvoiced gaps shorter than this (60 ms at hop 160) keep the note sounding
BLIP_FRAMES = 3  # voiced islands shorter than this (30 ms) are tracker blips, not notes
GATE_SMOOTH = 5  # frames of the moving average that turns the gate into ramps
# The tracker calls a note voiced only tens of ms after a hard attack: sound this close to a
# voiced frame (and not far below the stem's level) belongs to the note, so the gate opens
# with the attack, not with the tracker.
REACH_FRAMES = 8
SOUNDING_DB = 45.0  # below the stem's loud notes (90th percentile) it is a tail or bleed
PAD = 320  # model-rate samples synthesised beyond each side of a chunk for the resampler
MAX_SHIFT = 3  # octaves
CACHE_RUNS = 64  # decoder runs kept (each is 3·B frames of controls)
_WORDS = {1: "one octave", 2: "two octaves", 3: "three octaves"}


class DdspProcessor(StyleProcessor):
    keeps_level = True  # the synthesis follows the stem's whole integrated loudness

    """One timbre model with fixed knobs on one stem at the engine's ``sample_rate``."""

    look_behind_frames = 0  # render reads no audio: prepare kept everything it needs
    latency_frames = 0

    def __init__(
        self,
        model: ModelFiles,
        knobs: dict[str, float],
        sample_rate: int,
        octave_shift: int | None = None,
    ) -> None:
        manifest = model.manifest
        self.model = model
        self.name = manifest.display_name
        self.rate = int(sample_rate)
        self.sr = manifest.sample_rate
        self.hop = manifest.hop
        synth = manifest.synth
        self.block = int(synth.get("block_frames", 50))
        self.hidden = int(synth["hidden"])
        self.loudness_ref_db = float(synth["loudness_ref_db"])
        self.output_gain_db = float(synth.get("output_gain_db", 0.0))
        self.f0_range = manifest.conditioning.get("f0_hz", (20.0, self.sr / 2))
        self.breath = float(knobs.get("breath", 1.0))
        self.brightness = float(knobs.get("brightness", 0.0))
        self.requested_shift = octave_shift
        self.octave_shift = 0
        self._features: dict[str, np.ndarray] | None = None
        self._gain = 1.0
        self._runs: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        # Import what the analysis needs here, on the caller's thread: a first import on a
        # prefetch thread holds the GIL long enough to starve the feeder while music plays.
        import pyloudnorm  # noqa: F401
        import scipy.signal  # noqa: F401
        import soxr  # noqa: F401
        import swift_f0  # noqa: F401

        # Model samples per group that maps to a whole number of engine samples.
        self._group = self.sr // math.gcd(self.sr, self.rate)
        self._align = self._group * self.hop // math.gcd(self._group, self.hop)

    # --- analysis -----------------------------------------------------------------------------

    def prepare(self, read: Reader, frames: int) -> Adjustment:
        """Analyse the whole stem (``frames`` at the engine rate). Returns the octave move, or
        a message when the stem has no melody (the model then plays silence)."""
        mono16, dry_lufs = self._read_stem(read, frames)
        count = len(mono16) // self.hop + 1
        loud = ds.loudness_db(mono16, self.sr, self.hop)
        times = np.arange(count) * self.hop / self.sr
        pitch, confidence = _track(mono16, self.sr)
        voiced_track = confidence >= VOICED
        voiced = np.interp(times, np.arange(len(pitch)) * 0.016, voiced_track.astype(np.float64))
        voiced = _clean((voiced >= 0.5) & (loud > SILENT_DB))
        if not voiced.any():
            self._features = None
            self.octave_shift = 0
            return Adjustment(
                0,
                f"No melody was found in this stem (nothing with a clear pitch), so the "
                f"{self.name} stays silent on it.",
            )
        held = _hold(pitch, voiced_track)
        f0 = np.exp2(np.interp(times, np.arange(len(held)) * 0.016, np.log2(held)))
        median = float(np.median(f0[voiced]))
        shift = self._choose_shift(median)
        self.octave_shift = shift
        f0 = np.clip(f0 * 2.0**shift, 20.0, self.sr / 2 - 1)
        # Move the stem's loudness to where the model was trained, and back at the output.
        gain_in = float(np.clip(self.loudness_ref_db - np.percentile(loud[voiced], 90), -40, 40))
        self._gain = 10 ** ((self.output_gain_db - gain_in) / 20)
        lds = np.clip(loud + gain_in, ds.LOUDNESS_FLOOR_DB, 0.0)
        gate = _gate(voiced, loud)
        self._features = {
            "f0": f0,
            "f0s": ds.scale_f0(f0),
            "lds": ds.scale_loudness(lds),
            "gate": gate.astype(np.float32),
            "phase": ds.frame_phase(f0, self.sr, self.hop),
        }
        with self._lock:
            self._runs.clear()
        self._gain = self._make_up(dry_lufs, count)
        if shift == 0:
            return Adjustment(0, "")
        direction = "up" if shift > 0 else "down"
        return Adjustment(
            shift,
            f"The melody was moved {direction} {_WORDS[abs(shift)]} to suit the {self.name}.",
        )

    def _read_stem(self, read: Reader, frames: int) -> tuple[np.ndarray, float]:
        """The dry stem in mono at the model rate, and its integrated loudness (LUFS).

        Read, measured and resampled a second at a time: the whole stem is never held at the
        engine rate (a 4-minute stem would be ~90 MB more), and no single call holds the GIL
        long enough to starve the feeder while the music plays.
        """
        import soxr

        step = max(1, int(READ_SECONDS * self.rate))
        meter = LoudnessMeter(self.rate, 2)
        stream = soxr.ResampleStream(self.rate, self.sr, 1, dtype="float32", quality="HQ")
        pieces = []
        for start in range(0, frames, step):
            piece = np.asarray(read(start, min(step, frames - start)), np.float32)
            meter.add(piece)
            # Adding the two columns is far faster than a reduction along a length-2 axis.
            mono = (piece[:, 0] + piece[:, 1]) * np.float32(0.5)
            pieces.append(stream.resample_chunk(mono, last=start + step >= frames))
        mono16 = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
        return mono16, meter.integrated() if frames >= self.rate else float("-inf")

    def _make_up(self, dry_lufs: float, count: int) -> float:
        """The output gain that gives the styled stem (at the default knobs) the dry stem's
        integrated loudness (ITU-R BS.1770), measured once over the whole stem, synthesised a
        second at a time; the trained calibration when either cannot be measured (too short,
        or silent)."""
        fallback = self._gain
        if not np.isfinite(dry_lufs) or count < 2:
            return fallback
        block = 100  # frames synthesised at a time: bounded memory on long stems
        meter = LoudnessMeter(self.sr, 1, copies=2)  # mono, played on both sides
        for first in range(0, count - 1, block):
            meter.add(self._synthesise(first, min(first + block, count - 1), 1.0, 0.0))
        wet_lufs = meter.integrated()
        if not np.isfinite(wet_lufs):
            return fallback
        return float(10 ** (np.clip(dry_lufs - wet_lufs, -40.0, 40.0) / 20))

    def with_knobs(self, knobs: dict[str, float]) -> DdspProcessor:
        """This processor with other knob values, sharing the analysis and the decoded
        controls (knobs act after the decoder, so its runs stay valid)."""
        other = copy.copy(self)  # shallow: the features, run cache and its lock are shared
        other.breath = float(knobs.get("breath", 1.0))
        other.brightness = float(knobs.get("brightness", 0.0))
        return other

    def _choose_shift(self, median_hz: float) -> int:
        """The requested shift, or the smallest one that brings the median pitch into the
        model's range (the nearest to it when none does)."""
        if self.requested_shift is not None:
            return int(self.requested_shift)
        lo, hi = self.f0_range

        def miss(n: int) -> float:
            hz = median_hz * 2.0**n
            return max(0.0, math.log2(lo / hz), math.log2(hz / hi))

        return min(range(-MAX_SHIFT, MAX_SHIFT + 1), key=lambda n: (miss(n), abs(n), n))

    # --- rendering ----------------------------------------------------------------------------

    def render(self, read: Reader, start: int, frames: int) -> np.ndarray:
        """The styled stem at engine frames ``[start, start + frames)``: float32 (frames, 2)."""
        out = np.zeros((frames, 2), np.float32)
        if self._features is None or frames <= 0:
            return out
        import soxr

        # Model samples [lo, hi): frame-aligned, on a whole engine sample, padded for soxr.
        lo = (math.floor(start * self.sr / self.rate) - PAD) // self._align * self._align
        hi = -(-(math.ceil((start + frames) * self.sr / self.rate) + PAD) // self.hop) * self.hop
        first, last = lo // self.hop, hi // self.hop
        signal = self._synthesise(first, last, self.breath, self.brightness)
        wet = soxr.resample(signal, self.sr, self.rate, quality="HQ")
        offset = start - lo * self.rate // self.sr
        mono = wet[offset : offset + frames] * np.float32(self._gain)
        out[: len(mono), 0] = mono
        out[:, 1] = out[:, 0]
        return out

    def _synthesise(self, first: int, last: int, breath: float, brightness: float) -> np.ndarray:
        """Model-rate audio from frame ``first``'s centre to frame ``last``'s: float32
        ((last - first) * hop,), before the output gain."""
        features = self._features
        assert features is not None
        count = len(features["f0"])
        index = np.arange(first, last + 1)
        inside = (index >= 0) & (index < count)
        clipped = np.clip(index, 0, count - 1)
        f0 = features["f0"][clipped]
        gate = np.where(inside, features["gate"][clipped], 0.0).astype(np.float32)
        phase = features["phase"][clipped]
        if not gate.any():
            return np.zeros((last - first) * self.hop, np.float32)
        controls = self._controls(first, last + 1)
        k = int(self.model.manifest.synth["n_harmonics"])
        amp, harmonics, noise = controls[:, :1], controls[:, 1 : 1 + k], controls[:, 1 + k :]
        partials = ds.harmonic_amplitudes(amp * gate[:, None], harmonics, f0, self.sr,
                                          brightness)  # fmt: skip
        signal = ds.harmonic_signal(partials, f0, phase, self.sr, self.hop)
        if breath > 0:
            mags = noise * (gate * np.float32(breath))[:, None]
            signal = signal + ds.noise_signal(mags, index, self.hop, brightness)
        return signal

    def _controls(self, first: int, stop: int) -> np.ndarray:
        """Decoder controls (amp | harmonics | noise) for frames ``[first, stop)``: (n, C)."""
        b = self.block
        rows = []
        for block in range(first // b, (stop - 1) // b + 1):
            lo, hi = max(first, block * b), min(stop, (block + 1) * b)
            early, late = self._run(block - 2), self._run(block - 1)
            n = np.arange(lo, hi)
            w = ((n - block * b) / b).astype(np.float32)[:, None]
            a = early[n - (block - 2) * b]
            c = late[n - (block - 1) * b]
            rows.append(a + w * (c - a))
        return np.concatenate(rows)

    def _run(self, j: int) -> np.ndarray:
        """Run ``j``: the decoder from a zero state over frames ``[j·B, (j+3)·B)``; (3B, C)."""
        with self._lock:
            cached = self._runs.get(j)
            if cached is not None:
                self._runs.move_to_end(j)
                return cached
        features = self._features
        assert features is not None
        index = np.arange(j * self.block, (j + 3) * self.block)
        clipped = np.clip(index, 0, len(features["f0"]) - 1)
        outside = (index < 0) | (index >= len(features["f0"]))
        lds = np.where(outside, np.float32(0.0), features["lds"][clipped])  # silence outside
        feeds = {
            "f0_scaled": features["f0s"][clipped][None, :, None],
            "loudness_scaled": lds.astype(np.float32)[None, :, None],
            "h_in": np.zeros((1, 1, self.hidden), np.float32),
        }
        try:
            amp, harmonics, noise = self.model.session().run(["amp", "harmonics", "noise"], feeds)
        except Exception as exc:  # onnxruntime's own error types
            raise StyleModelError(f"The {self.name} model failed while playing ({exc}).") from None
        run = np.concatenate([amp[0], harmonics[0], noise[0]], axis=1).astype(np.float32)
        with self._lock:
            self._runs[j] = run
            while len(self._runs) > CACHE_RUNS:
                self._runs.popitem(last=False)
        return run


def _track(mono16: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """swift-f0 pitch (Hz) and confidence per 16 ms frame of ``mono16``.

    Pushed through swift-f0's stream TRACK_SECONDS at a time, which gives its batch result
    frame for frame: one call over a whole 4-minute stem made onnxruntime's arena grow by
    ~350 MB (kept for the life of the process)."""
    if len(mono16) < 2 * 256:
        return np.full(1, 440.0), np.zeros(1)
    try:
        from swift_f0 import SwiftF0
    except ImportError as exc:  # pragma: no cover - a broken install
        raise StyleModelError(f"Timbre models need the swift-f0 pitch tracker ({exc}).") from None
    stream = SwiftF0(threads=1, spin=False).stream()
    step = TRACK_SECONDS * sr
    results = [stream.push(mono16[lo : lo + step], sr) for lo in range(0, len(mono16), step)]
    results.append(stream.flush())
    pitch = np.concatenate([r.pitch_hz for r in results])
    confidence = np.concatenate([r.confidence for r in results])
    return pitch, confidence


def _hold(pitch: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    """Pitch through unvoiced frames taken from the nearest voiced frame: a note's release
    keeps its pitch and the next note's onset already has its own, so the oscillator never
    slides or blips across a rest."""
    if not voiced.any():
        return np.full(len(pitch), 440.0)
    n = len(pitch)
    where = np.arange(n)
    before = np.where(voiced, where, -n)
    np.maximum.accumulate(before, out=before)
    after = np.where(voiced, where, 2 * n)
    after = np.minimum.accumulate(after[::-1])[::-1]
    nearest = np.where(where - before <= after - where, before, after)
    held: np.ndarray = np.maximum(pitch[np.clip(nearest, 0, n - 1)], 20.0)
    return held


def _gate(voiced: np.ndarray, loud: np.ndarray) -> np.ndarray:
    """The gain (per frame, 0..1) that lets the notes through and keeps rests silent: frames
    that sound (see SOUNDING_DB) within REACH_FRAMES of a voiced one, with short ramps."""
    reach = np.convolve(voiced.astype(np.float64), np.ones(2 * REACH_FRAMES + 1), "same") > 0
    level = np.percentile(loud[voiced], 90) if voiced.any() else 0.0
    mask = reach & (loud > max(SILENT_DB, level - SOUNDING_DB)) | voiced
    return np.convolve(mask.astype(np.float64), np.ones(GATE_SMOOTH) / GATE_SMOOTH, "same")


def _clean(mask: np.ndarray) -> np.ndarray:
    """Close short unvoiced gaps inside notes, then drop voiced blips."""
    out = mask.copy()
    for value, shortest in ((False, GAP_FRAMES), (True, BLIP_FRAMES)):
        edges = np.flatnonzero(np.diff(np.concatenate(([-1], out.astype(np.int8), [-1]))) != 0)
        for a, b in itertools.pairwise(edges):
            inner = a > 0 and b < len(out)  # gaps at the ends are rests, not gaps
            if out[a] == value and b - a < shortest and (value or inner):
                out[a:b] = not value
    return out
