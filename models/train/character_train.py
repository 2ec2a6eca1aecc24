# SPDX-License-Identifier: GPL-3.0-or-later
"""Train, export and package Fanfare's character models (small causal neural effects).

Each model is a NAM-class WaveNet (non-gated, tanh, kernel 3, dilations 1..512, one layer
array) that learns a deterministic ``pedalboard`` teacher chain (``character_data.py``) over the
range of its ``drive`` knob, which reaches every layer as a learnt bias (exactly what a constant
input channel mixed into each layer would do, without feeding a constant signal through the
convolutions).

ONNX convention (opset 17, dynamic batch and length)::

    audio: float32 [B, 1, T]      the dry signal, T ≥ receptive_field
    drive: float32 [B, 1]         the knob, 0..1
    wet:   float32 [B, 1, T - receptive_field + 1]
                                  wet[..., i] is the output at input sample i + receptive_field - 1

so a caller feeds ``receptive_field - 1`` samples of look-behind before the frames it wants.

Regenerate (CPU, ~10 min per model on one core)::

    .venv/bin/python -m models.train.character_train train --model character.tape
    .venv/bin/python -m models.train.character_train train --model character.tube
    .venv/bin/python -m models.train.character_train package --model character.tape
    .venv/bin/python -m models.train.character_train package --model character.tube

``train`` writes ``build/character/<id>.pt`` and ``<id>.json`` (held-out ESR); ``package``
exports to ONNX, checks torch-vs-onnxruntime parity, measures speed and alignment through the
studio's own ``WaveformProcessor`` and writes ``models/<id>/``.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import math
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from app.engine.sources import window
from models.train import character_data as data

BUILD = data.ROOT / "build" / "character"
SR = data.SR
CHANNELS = 6
DILATIONS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
KERNEL = 3
SEGMENT = 8192  # output samples per training segment
WARM = 4096  # teacher samples before the net's receptive field, so its IIR state has settled
BATCH = 8
PRE_EMPHASIS = 0.85  # NAM's pre-emphasis coefficient
LICENCE = "GPL-3.0-or-later; trained on Fanfare's demo stems (CC0) and FluidR3_GM renders (MIT)"
STEM_KINDS = ["drums", "bass", "keys", "lead", "pad", "guitar", "vocal"]
EVAL_DRIVES = (0.0, 0.5, 1.0)
META = {
    "character.tape": {
        "display_name": "Tape",
        "description": (
            "Warm tape saturation: soft clipping that rounds peaks, a low-end head bump, gentle "
            "high-frequency loss and light compression. Drive pushes the tape harder."
        ),
    },
    "character.tube": {
        "display_name": "Tube drive",
        "description": (
            "A tube preamp pushed into asymmetric soft clipping, with a mid push before it and "
            "a darker top after it. Drive goes from warm thickening to gritty overdrive."
        ),
    },
}


class CharacterNet(nn.Module):
    """Causal dilated conv net: ``audio`` (B, 1, T) and ``drive`` (B, 1) -> (B, 1, T - rf + 1).

    Each layer: ``z = tanh(dilated_conv(h) + mixin·audio + bias(drive))``; ``h += 1x1(z)``; the
    head is a 1x1 conv of the sum of every layer's ``z`` (NAM's skip path).
    """

    def __init__(
        self,
        channels: int = CHANNELS,
        dilations: tuple[int, ...] = DILATIONS,
        kernel: int = KERNEL,
    ) -> None:
        super().__init__()
        self.channels = channels
        self.rechannel = nn.Conv1d(1, channels, 1)
        self.convs = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel, dilation=d) for d in dilations
        )
        self.mixins = nn.ModuleList(nn.Conv1d(1, channels, 1, bias=False) for _ in dilations)
        self.outs = nn.ModuleList(nn.Conv1d(channels, channels, 1) for _ in dilations)
        self.condition = nn.Linear(1, channels * len(dilations))
        self.head = nn.Conv1d(channels, 1, 1)
        self.receptive_field = 1 + (kernel - 1) * sum(dilations)

    def forward(self, audio: torch.Tensor, drive: torch.Tensor) -> torch.Tensor:
        h = self.rechannel(audio)
        biases = self.condition(drive).unsqueeze(-1)  # (B, C·L, 1)
        c = self.channels
        skip: torch.Tensor | None = None
        for i, (conv, mixin, out) in enumerate(
            zip(self.convs, self.mixins, self.outs, strict=True)
        ):
            z = conv(h)
            n = z.shape[-1]
            z = torch.tanh(z + mixin(audio[..., -n:]) + biases[:, i * c : (i + 1) * c])
            skip = z if skip is None else skip[..., -n:] + z
            h = h[..., -n:] + out(z)
        assert skip is not None
        return self.head(skip)


# --- training --------------------------------------------------------------------------------


def esr(pred: torch.Tensor, target: torch.Tensor, pre: float = 0.0) -> torch.Tensor:
    """Error-to-signal ratio over the whole batch (optionally of pre-emphasised signals)."""
    if pre:
        pred = pred[..., 1:] - pre * pred[..., :-1]
        target = target[..., 1:] - pre * target[..., :-1]
    return ((pred - target) ** 2).sum() / ((target**2).sum() + 1e-8)


class Sampler:
    """Random training segments: dry (B, 1, rf - 1 + SEGMENT), drive (B, 1) and target
    (B, 1, SEGMENT)."""

    def __init__(self, signals: list[np.ndarray], teacher: Any, rf: int, seed: int) -> None:
        self.signals = [s for s in signals if len(s) > WARM + rf + SEGMENT]
        self.teacher = teacher
        self.rf = rf
        self.rng = np.random.default_rng(seed)
        # Stems are most of the data; make sure renders and synthetic signals are seen often.
        weights = np.array([len(s) for s in self.signals], float) ** 0.5
        self.p = weights / weights.sum()

    def batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        span = WARM + self.rf - 1 + SEGMENT
        dry, drives, wet = [], [], []
        while len(dry) < BATCH:
            sig = self.signals[self.rng.choice(len(self.signals), p=self.p)]
            at = int(self.rng.integers(0, len(sig) - span))
            seg = sig[at : at + span]
            if float(np.sqrt(np.mean(seg[-SEGMENT:] ** 2))) < 3e-4:
                continue  # silence teaches nothing
            gain = 10 ** (self.rng.uniform(-24.0, 8.0) / 20)
            seg = (seg * gain * self.rng.choice([-1.0, 1.0])).astype(np.float32)
            u = self.rng.random()
            drive = 0.0 if u < 0.08 else 1.0 if u < 0.16 else float(self.rng.random())
            out = self.teacher(seg, drive)
            dry.append(seg[WARM:])
            wet.append(out[-SEGMENT:])
            drives.append(drive)
        return (
            torch.from_numpy(np.stack(dry)[:, None]),
            torch.tensor(drives, dtype=torch.float32)[:, None],
            torch.from_numpy(np.stack(wet)[:, None].astype(np.float32)),
        )


def evaluate(
    model: CharacterNet, held: list[np.ndarray], teacher: Any, seconds: float = 4.0
) -> dict[str, Any]:
    """Held-out ESR per drive: each held-out signal's loudest ``seconds`` at its own level and
    12 dB down, model and teacher both starting from silence. ESR = Σerr² / Σtarget² over all
    clips (plain and with pre-emphasis 0.85)."""
    n = int(seconds * SR)
    clips = []
    for sig in held:
        if len(sig) < n:
            continue
        hop = n // 2
        starts = range(0, len(sig) - n + 1, hop)
        best = max(starts, key=lambda s: float(np.mean(sig[s : s + n] ** 2)))
        clip = sig[best : best + n]
        if float(np.sqrt(np.mean(clip**2))) > 1e-3:
            clips += [clip, (clip * 10 ** (-12 / 20)).astype(np.float32)]
    result: dict[str, Any] = {"clips": len(clips), "seconds": round(len(clips) * seconds, 1)}
    model.eval()
    with torch.no_grad():
        for drive in EVAL_DRIVES:
            err = err_p = energy = energy_p = 0.0
            for clip in clips:
                target = torch.from_numpy(teacher(clip, drive).astype(np.float32))[None, None]
                x = torch.from_numpy(
                    np.concatenate([np.zeros(model.receptive_field - 1, np.float32), clip])
                )
                pred = model(x[None, None], torch.tensor([[drive]]))
                err += float(((pred - target) ** 2).sum())
                energy += float((target**2).sum())
                pp = pred[..., 1:] - PRE_EMPHASIS * pred[..., :-1]
                tp = target[..., 1:] - PRE_EMPHASIS * target[..., :-1]
                err_p += float(((pp - tp) ** 2).sum())
                energy_p += float((tp**2).sum())
            result[f"drive={drive:g}"] = {
                "esr": round(err / energy, 5),
                "esr_pre_emphasis": round(err_p / energy_p, 5),
            }
    model.train()
    return result


def train(model_id: str, steps: int, seed: int = 0) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    teacher = data.TEACHERS[model_id].process
    train_sigs, held = data.material(seed)
    model = CharacterNet()
    sampler = Sampler(train_sigs, teacher, model.receptive_field, seed)
    opt = torch.optim.Adam(model.parameters(), lr=4e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=4e-3, total_steps=steps, pct_start=0.05)
    BUILD.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    running = 0.0
    for step in range(1, steps + 1):
        dry, drive, target = sampler.batch()
        pred = model(dry, drive)
        loss = 0.5 * esr(pred, target, PRE_EMPHASIS) + 0.5 * esr(pred, target)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        value = loss.item()
        running = 0.98 * running + 0.02 * value if step > 1 else value
        if step % 100 == 0:
            print(
                f"{model_id} step {step} loss {running:.4f} ({time.perf_counter() - began:.0f} s)",
                flush=True,
            )
    minutes = (time.perf_counter() - began) / 60
    metrics = evaluate(model, held, teacher)
    print(json.dumps(metrics, indent=1), flush=True)
    torch.save(model.state_dict(), BUILD / f"{model_id}.pt")
    report = {
        "steps": steps,
        "batch": BATCH,
        "segment_samples": SEGMENT,
        "train_minutes_one_core": round(minutes, 1),
        "held_out": metrics,
        "seed": seed,
    }
    (BUILD / f"{model_id}.json").write_text(json.dumps(report, indent=1) + "\n")


# --- export and packaging --------------------------------------------------------------------


def export_onnx(model: CharacterNet) -> bytes:
    """ONNX bytes (opset 17, dynamic batch and length), checked against torch at several
    lengths and batch sizes. Raises AssertionError on any deviation above 1e-4."""
    import onnxruntime as ort

    model.eval()
    rf = model.receptive_field
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            model,
            (torch.zeros(2, 1, rf + 999), torch.zeros(2, 1)),
            buffer,
            input_names=["audio", "drive"],
            output_names=["wet"],
            dynamic_axes={
                "audio": {0: "batch", 2: "T"},
                "drive": {0: "batch"},
                "wet": {0: "batch", 2: "T_out"},
            },
            opset_version=17,
            dynamo=False,
        )
    onnx_bytes = buffer.getvalue()
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(7)
    for batch, length in ((1, 1), (2, 100), (2, 4096), (1, 48_000), (3, 777)):
        x = (rng.standard_normal((batch, 1, rf - 1 + length)) * 0.3).astype(np.float32)
        d = rng.random((batch, 1)).astype(np.float32)
        with torch.no_grad():
            expected = model(torch.from_numpy(x), torch.from_numpy(d)).numpy()
        (got,) = session.run(["wet"], {"audio": x, "drive": d})
        worst = float(np.max(np.abs(got - expected)))
        assert got.shape == expected.shape == (batch, 1, length), (got.shape, expected.shape)
        assert worst <= 1e-4, f"torch vs onnxruntime differ by {worst:.2e} at length {length}"
        print(f"parity batch {batch} length {length}: max abs diff {worst:.2e}")
    return onnx_bytes


def fields(model_id: str, model: CharacterNet, report: dict[str, Any]) -> dict[str, Any]:
    rf = model.receptive_field
    params = sum(p.numel() for p in model.parameters())
    return {
        "model_version": 1,
        "family": "character",
        "runtime": "waveform",
        **META[model_id],
        "licence": LICENCE,
        "stem_kinds": STEM_KINDS,
        "io": {
            "inputs": [
                {"name": "audio", "dtype": "float32", "shape": ["B", 1, "T"]},
                {"name": "drive", "dtype": "float32", "shape": ["B", 1]},
            ],
            "outputs": [{"name": "wet", "dtype": "float32", "shape": ["B", 1, f"T-{rf - 1}"]}],
            "state": [],
        },
        "audio": {
            "sample_rate": SR,
            "hop": 1,
            "latency_samples": 0,
            "look_ahead_samples": 0,
            "look_behind_samples": rf - 1,
        },
        "conditioning": {"drive": [0.0, 1.0]},
        "knobs": [
            {"id": "drive", "name": "Drive", "min": 0.0, "max": 1.0, "default": 0.5, "unit": ""},
            {
                "id": "level",
                "name": "Output",
                "min": -12.0,
                "max": 6.0,
                "default": 0.0,
                "unit": "dB",
            },
        ],
        "synth": {
            "architecture": "wavenet-nam-1array",
            "channels": model.channels,
            "kernel": KERNEL,
            "dilations": list(DILATIONS),
            "activation": "tanh",
            "receptive_field": rf,
            "parameters": params,
            "drive_input": "drive",
            "level_knob": "level",
        },
        "training": {
            "teacher": data.TEACHERS[model_id].chain,
            "data": (
                "demo stems (14, both channels, first 80% of each), FluidR3_GM renders of "
                f"GM programs {list(data.GM_PROGRAMS)}, noise bursts and log sweeps; random "
                "gain −24..+8 dB and polarity per segment; 48 kHz"
            ),
            "loss": "0.5·ESR + 0.5·ESR(pre-emphasis 0.85), Adam one-cycle lr 4e-3, grad clip 1",
            **report,
        },
        "golden_atol": 1e-4,
    }


def golden(model: CharacterNet) -> dict[str, np.ndarray]:
    """A batch of two held-out music excerpts at two drives; outputs are torch's."""
    _, held, _ = data.demo_stems()
    rf = model.receptive_field
    length = rf - 1 + 4096
    x = np.stack([held[0][SR : SR + length], held[9][SR : SR + length] * 2.0])[:, None]
    x = x.astype(np.float32)
    d = np.array([[0.25], [0.9]], np.float32)
    with torch.no_grad():
        y = model(torch.from_numpy(x), torch.from_numpy(d)).numpy()
    return {"in.audio": x, "in.drive": d, "out.wet": y}


def measure(folder: Path) -> dict[str, Any]:
    """Speed and alignment through the studio's WaveformProcessor.

    Speed: × real time for one stereo stem (60 s of a demo stem, 0.5 s chunks, one core, best
    of three passes). Alignment: the lag (samples) of the cross-correlation peak of the wet
    signal at drive 0 against the dry signal (includes the teacher's own filter phase) and
    against the teacher's output (the model's own misalignment).
    """
    import soundfile as sf

    from app.styles.package import StylePackage

    package = StylePackage.from_dir(folder)
    proc = package.processor({"drive": 0.5}, SR)
    audio, rate = sf.read(data.STEMS / "copper-wire" / "keys.ogg", dtype="float32", always_2d=True)
    audio = data._to_48k(audio, rate)[: 60 * SR]

    read = functools.partial(window, audio)

    chunk = 24_000
    proc.render(read, 0, chunk)  # warm-up
    elapsed = cpu = math.inf
    for _ in range(3):  # best of three: the build machine's cores are shared
        began, began_cpu = time.perf_counter(), time.process_time()
        wet = np.concatenate([proc.render(read, s, chunk) for s in range(0, len(audio), chunk)])
        elapsed = min(elapsed, time.perf_counter() - began)
        # CPU time of this (single-threaded) process: what the render costs one core, even
        # while other jobs share the machine.
        cpu = min(cpu, time.process_time() - began_cpu)
    clean = package.processor({"drive": 0.0}, SR)
    seg = slice(10 * SR, 20 * SR)
    y = clean.render(read, seg.start, seg.stop - seg.start)[:, 0]
    x = audio[seg, 0]
    teacher = data.TEACHERS[package.manifest.id].process
    reference = teacher(audio[seg.start - SR : seg.stop, 0], 0.0)[SR:]

    def lag(a: np.ndarray, b: np.ndarray, most: int = 240) -> int:
        corr = [
            float(np.dot(a[most:-most], b[most + k : len(b) - most + k]))
            for k in range(-most, most + 1)
        ]
        return int(np.argmax(corr)) - most

    return {
        "speed_x_realtime_one_core_cpu_time": round(60.0 / cpu, 1),
        "speed_x_realtime_wall_clock_shared_machine": round(60.0 / elapsed, 1),
        "speed_chunk_frames": chunk,
        "alignment_vs_dry_lag_samples": lag(x, y),
        "alignment_vs_teacher_lag_samples": lag(reference, y),
        "peak_out": round(float(np.abs(wet).max()), 3),
    }


def package(model_id: str) -> None:
    from models.train.packaging import write_package

    torch.set_num_threads(1)
    model = CharacterNet()
    model.load_state_dict(torch.load(BUILD / f"{model_id}.pt", weights_only=True))
    model.eval()
    report = json.loads((BUILD / f"{model_id}.json").read_text())
    onnx_bytes = export_onnx(model)
    gold = golden(model)
    folder = write_package(model_id, fields(model_id, model, report), onnx_bytes, gold)
    report["runtime"] = measure(folder)
    print(json.dumps(report["runtime"]))
    write_package(model_id, fields(model_id, model, report), onnx_bytes, gold)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["train", "package"])
    parser.add_argument("--model", choices=sorted(data.TEACHERS), required=True)
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args()
    if args.action == "train":
        train(args.model, args.steps)
    else:
        package(args.model)


if __name__ == "__main__":
    main()
