# SPDX-License-Identifier: GPL-3.0-or-later
"""Measure the shipped timbre packages through the studio's own processor, and record it.

For every ``models/timbre.*`` package, on its held-out phrases (ground-truth f0) and on the demo
lead stems (a square lead and an alto sax, f0 tracked with swift-f0):

* pitch: median |cents| between the output's swift-f0 track and the input f0 moved by the
  chosen octaves, on frames voiced in both;
* loudness: output minus source integrated loudness (pyloudnorm, LU);
* timbre: RMS distance (dB) between level-normalised mean log-mel spectra of sounding frames:
  output vs the target instrument's SoundFont render, and output vs the source;
* alignment: median lag (ms) of the output's note onsets against the source's;
* speed: render (0.5 s chunks) and prepare of a 60 s stem on one thread, × real time.

The figures go into each manifest's ``training.metrics`` (the package is rewritten through
``packaging.write_package``, so its self-test runs again) and are printed as a Markdown table.

Run: ``.venv/bin/python models/train/ddsp_eval.py [instrument ...]`` (after ``ddsp_train.py``).
"""

from __future__ import annotations

import functools
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyloudnorm
import soundfile as sf
import soxr

from app.engine.sources import window

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.styles.package import StylePackage  # noqa: E402
from models.train.ddsp_data import INSTRUMENTS, SR, make_dataset  # noqa: E402
from models.train.packaging import MODELS, write_package  # noqa: E402

RATE = 48_000  # the engine rate
CHUNK = RATE // 2
DEMO = {
    "square-lead": ROOT / "assets/demo/stems/neon-harbour/lead.ogg",
    "alto-sax": ROOT / "assets/demo/stems/paper-moons/lead.ogg",
}
HELD_OUT_SECONDS = 45.0


def reader_for(stereo: np.ndarray) -> Any:
    """What the engine passes a processor: the stem by frame range, zero outside it."""
    return functools.partial(window, stereo)


def style(package: StylePackage, stereo: np.ndarray) -> tuple[np.ndarray, Any, float]:
    """The whole stem through the processor in 0.5 s chunks; (wet, adjustment, seconds)."""
    processor = package.processor({}, RATE)
    read = reader_for(stereo)
    t0 = time.perf_counter()
    adjustment = processor.prepare(read, len(stereo))
    chunks = [processor.render(read, s, min(CHUNK, len(stereo) - s))
              for s in range(0, len(stereo), CHUNK)]  # fmt: skip
    return np.concatenate(chunks), adjustment, time.perf_counter() - t0


def track(audio: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from swift_f0 import SwiftF0

    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    result = SwiftF0(threads=1, spin=False).detect(mono.astype(np.float32), rate)
    return result.timestamps, result.pitch_hz, result.confidence >= 0.5


def cents_error(wet: np.ndarray, times: np.ndarray, f0: np.ndarray, voiced: np.ndarray) -> float:
    """Median |cents| of the wet output's pitch against ``f0`` (Hz at ``times``)."""
    t_out, p_out, v_out = track(wet, RATE)
    ref = np.interp(t_out, times, f0)
    ok = v_out & (np.interp(t_out, times, voiced.astype(float)) > 0.99)
    if not ok.any():
        return float("nan")
    return float(np.median(np.abs(1200 * np.log2(p_out[ok] / ref[ok]))))


def loudness(audio: np.ndarray, rate: int) -> float:
    return float(pyloudnorm.Meter(rate).integrated_loudness(audio.astype(np.float64)))


def mel_envelope(audio: np.ndarray, rate: int) -> np.ndarray:
    """Mean log-mel spectrum (dB, 40 bands to 8 kHz) of sounding frames, level removed."""
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    x = soxr.resample(mono, rate, 16_000) if rate != 16_000 else mono
    n_fft, hop = 1024, 256
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop]
    power = np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=1)) ** 2
    mel = mel_matrix(40, n_fft, 16_000) @ power.T
    level = 10 * np.log10(power.sum(axis=1) + 1e-12)
    loud = level > level.max() - 40
    env = 10 * np.log10(mel[:, loud] + 1e-10).mean(axis=1)
    return env - env.mean()


def mel_matrix(bands: int, n_fft: int, sr: int) -> np.ndarray:
    def to_mel(hz: np.ndarray) -> np.ndarray:
        return 2595 * np.log10(1 + hz / 700)

    edges = 700 * (10 ** (np.linspace(to_mel(np.array(30.0)), to_mel(np.array(sr / 2)),
                                      bands + 2) / 2595) - 1)  # fmt: skip
    freqs = np.fft.rfftfreq(n_fft, 1 / sr)
    rows = []
    for lo, mid, hi in zip(edges[:-2], edges[1:-1], edges[2:], strict=True):
        rows.append(np.clip(np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)), 0, 1))
    return np.array(rows)


def distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


def alignment_ms(dry: np.ndarray, wet: np.ndarray) -> tuple[float, int]:
    """Median lag (ms, positive = late) of the wet note onsets against the dry ones, and how
    many onsets it is over.

    Onsets are where the dry stem's 2.5 ms RMS envelope rises by 12 dB within 20 ms (at most
    one per 100 ms, loud ones only). For each, each signal's onset time is where its own
    envelope first crosses half-way (in dB) from its floor in the 50 ms before to its peak in
    the 100 ms after; wet notes that rise less than 6 dB there are left out.
    """
    hop = RATE // 4000  # 0.25 ms steps

    def envelope(x: np.ndarray) -> np.ndarray:
        mono = x.mean(axis=1) if x.ndim == 2 else x
        power = np.convolve(mono.astype(np.float64) ** 2, np.ones(120) / 120, "same")[::hop]
        return 10 * np.log10(power + 1e-12)

    ed, ew = envelope(dry), envelope(wet)
    n = min(len(ed), len(ew))
    loud = np.percentile(ed, 95)
    rise, early, window = 80, 200, 400  # 20 ms, 50 ms, 100 ms in 0.25 ms steps

    def crossing(seg: np.ndarray) -> tuple[int, float]:
        low = int(np.argmin(seg[:early]))
        height = seg[early:].max() - seg[low]
        threshold = seg[low] + height / 2
        return low + int(np.argmax(seg[low:] >= threshold)), float(height)

    lags, last = [], -window
    for i in range(early, n - window):
        if i - last < window or ed[i] < loud - 25 or ed[i] - ed[i - rise : i].min() < 12:
            continue
        last = i
        td, _ = crossing(ed[i - early : i + window])
        tw, height = crossing(ew[i - early : i + window])
        if height >= 6:
            lags.append((tw - td) * hop / RATE * 1000)
    return (float(np.median(lags)) if lags else float("nan")), len(lags)


def to_engine(mono16: np.ndarray) -> np.ndarray:
    x = soxr.resample(mono16.astype(np.float64), SR, RATE).astype(np.float32)
    return np.stack([x, x], axis=1)


def evaluate(name: str, package: StylePackage, stems: dict[str, np.ndarray]) -> dict[str, Any]:
    inst = INSTRUMENTS[name]
    held = make_dataset(name, HELD_OUT_SECONDS, seed=900 + inst.program)
    dry = to_engine(held["audio"])
    wet, adjustment, _ = style(package, dry)
    shifted = held["f0_hz"] * 2.0**adjustment.octave_shift
    times = np.arange(len(held["f0_hz"])) * 160 / SR
    voiced = held["loudness_db"] > -45
    target_env = mel_envelope(held["audio"], SR)
    metrics: dict[str, Any] = {
        "held_out": {
            "seconds": round(len(held["audio"]) / SR, 1),
            "octave_shift": adjustment.octave_shift,
            "f0_median_cents": round(cents_error(wet, times, shifted, voiced), 2),
            "loudness_diff_lu": round(loudness(wet, RATE) - loudness(dry, RATE), 2),
            "mel_distance_to_target_db": round(distance(mel_envelope(wet, RATE), target_env), 2),
            "onset_lag_ms": alignment_ms(dry, wet)[0],
            "onsets": alignment_ms(dry, wet)[1],
        },
    }  # fmt: skip
    for stem, audio in stems.items():
        wet, adjustment, _ = style(package, audio)
        t_in, p_in, v_in = track(audio, RATE)
        shifted = p_in * 2.0**adjustment.octave_shift
        src_env, wet_env = mel_envelope(audio, RATE), mel_envelope(wet, RATE)
        metrics[stem] = {
            "seconds": round(len(audio) / RATE, 1),
            "octave_shift": adjustment.octave_shift,
            "f0_median_cents": round(cents_error(wet, t_in, shifted, v_in), 2),
            "loudness_diff_lu": round(loudness(wet, RATE) - loudness(audio, RATE), 2),
            "mel_distance_to_target_db": round(distance(wet_env, target_env), 2),
            "mel_distance_to_source_db": round(distance(wet_env, src_env), 2),
            "source_to_target_db": round(distance(src_env, target_env), 2),
            "onset_lag_ms": alignment_ms(audio, wet)[0],
            "onsets": alignment_ms(audio, wet)[1],
        }
    return metrics


def speed(package: StylePackage, stereo: np.ndarray) -> dict[str, float]:
    """× real time on 60 s of ``stereo`` at 48 kHz, one thread (CPU time of this process, so a
    busy machine does not skew it; best of two): ``render`` (every 0.5 s chunk, synthesis and
    resampling included) and ``prepare`` (the whole-stem analysis ahead of it)."""
    clip = stereo[: 60 * RATE]
    read = reader_for(clip)
    best = {"prepare": np.inf, "render": np.inf}
    for _ in range(2):
        processor = package.processor({}, RATE)
        t0 = time.process_time()
        processor.prepare(read, len(clip))
        t1 = time.process_time()
        for s in range(0, len(clip), CHUNK):
            processor.render(read, s, CHUNK + 512)  # what the engine asks: a chunk + overlap
        t2 = time.process_time()
        best = {"prepare": min(best["prepare"], t1 - t0), "render": min(best["render"], t2 - t1)}
    seconds = len(clip) / RATE
    return {
        "render_x_realtime": round(seconds / best["render"], 1),
        "prepare_x_realtime": round(seconds / best["prepare"], 1),
        "total_x_realtime": round(seconds / (best["render"] + best["prepare"]), 1),
    }


def rewrite(folder: Path, metrics: dict[str, Any]) -> None:
    """Put ``metrics`` into the manifest and write the package again (self-test included)."""
    doc = json.loads((folder / "manifest.json").read_text())
    doc["training"]["metrics"] = metrics
    fields = {
        k: v for k, v in doc.items() if k not in ("schema", "version", "id", "files", "golden")
    }
    fields["golden_atol"] = doc["golden"]["atol"]
    with np.load(io.BytesIO((folder / "golden.npz").read_bytes())) as npz:
        golden = {k: npz[k] for k in npz.files}
    write_package(doc["id"], fields, (folder / "model.onnx").read_bytes(), golden)


def main() -> None:
    stems = {}
    for stem, path in DEMO.items():
        audio, rate = sf.read(path, dtype="float32", always_2d=True)
        stems[stem] = soxr.resample(audio, rate, RATE).astype(np.float32)
    table = []
    names = sys.argv[1:] or list(INSTRUMENTS)
    for name in names:
        inst = INSTRUMENTS[name]
        folder = MODELS / inst.model_id
        if not (folder / "manifest.json").exists():
            print(f"{inst.model_id}: not trained, skipped")
            continue
        package = StylePackage.from_dir(folder)
        metrics = evaluate(name, package, stems)
        metrics["speed_60s_one_core"] = speed(package, stems["alto-sax"])
        rewrite(folder, metrics)
        print(json.dumps({inst.model_id: metrics}, indent=1), flush=True)
        for part in ("held_out", *stems):
            m = metrics[part]
            table.append(
                f"| {inst.display_name} | {part} | {m['octave_shift']:+d} | {m['f0_median_cents']} "
                f"| {m['loudness_diff_lu']:+.2f} | {m['mel_distance_to_target_db']} "
                f"| {m.get('mel_distance_to_source_db', '–')} "
                f"| {m.get('source_to_target_db', '–')} "
                f"| {m['onset_lag_ms']:+.2f} ({m['onsets']}) |"
            )
    print(
        "| model | input | octaves | f0 error (cents, median) | loudness (LU) "
        "| mel dist. to target (dB) | to source | source to target | onset lag, ms (onsets) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(table))


if __name__ == "__main__":
    main()
