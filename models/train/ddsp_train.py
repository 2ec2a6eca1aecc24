# SPDX-License-Identifier: GPL-3.0-or-later
"""Train a DDSP-style timbre decoder on SoundFont renders, export it to ONNX, package it.

Per frame (hop 160 at 16 kHz), ``(f0_scaled, loudness_scaled)`` → MLP → GRU → MLP → amplitude,
harmonic distribution and noise band magnitudes; a harmonic oscillator bank plus filtered noise
(the formulas of :mod:`app.styles.ddsp_synth`, written again here in torch so they can be
differentiated) makes audio; the loss is a multi-scale spectral L1 on linear and log magnitudes.
Only the decoder is exported (the legacy TorchScript exporter, whose ONNX ``GRU`` keeps
PyTorch's ``linear_before_reset=1``); a torch-vs-onnxruntime parity test on several lengths with
carried state must pass before anything is written.

Run: ``.venv/bin/python models/train/ddsp_train.py violin --minutes 8`` (one core).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.styles import ddsp_synth as ds  # noqa: E402
from models.train.ddsp_data import HOP, INSTRUMENTS, SR, make_dataset  # noqa: E402
from models.train.packaging import write_package  # noqa: E402

HIDDEN = 96
N_HARMONICS = 60
N_NOISE = 40
CROP_FRAMES = 101  # 1 s of audio between the first and last frame centre
BATCH = 12
SCALES = (2048, 1024, 512, 256, 128, 64)
TRAIN_SECONDS = 480.0
HELD_OUT_SECONDS = 45.0
CACHE = Path("/tmp/fanfare-ddsp")


def exp_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """DDSP's positive output nonlinearity: 2·sigmoid(x)^ln(10) + 1e-7."""
    return 2.0 * torch.sigmoid(x) ** math.log(10.0) + 1e-7


class Decoder(nn.Module):
    """(f0_scaled, loudness_scaled) per frame → (amp, harmonics, noise), GRU state explicit.

    Shapes: f0/loudness [B, T, 1], h_in [1, B, H] → amp [B, T, 1], harmonics [B, T, K],
    noise [B, T, N], h_out [1, B, H].
    """

    def __init__(self, hidden: int = HIDDEN) -> None:
        super().__init__()

        def mlp(n_in: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Linear(n_in, hidden), nn.LayerNorm(hidden), nn.LeakyReLU(),
                nn.Linear(hidden, hidden), nn.LayerNorm(hidden), nn.LeakyReLU(),
            )  # fmt: skip

        self.inp = mlp(2)
        self.gru = nn.GRU(hidden, hidden, batch_first=True)
        self.out = mlp(hidden + 2)
        self.head = nn.Linear(hidden, 1 + N_HARMONICS + N_NOISE)

    def forward(
        self, f0: torch.Tensor, loudness: torch.Tensor, h_in: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        x = torch.cat([f0, loudness], dim=-1)
        y, h_out = self.gru(self.inp(x), h_in)
        z = self.head(self.out(torch.cat([y, x], dim=-1)))
        amp = exp_sigmoid(z[..., :1])
        harmonics = exp_sigmoid(z[..., 1 : 1 + N_HARMONICS])
        noise = exp_sigmoid(z[..., 1 + N_HARMONICS :] - 5.0)  # start quiet, as DDSP does
        return amp, harmonics, noise, h_out


# --- the synthesis of app.styles.ddsp_synth, in torch ----------------------------------------


def synth(
    amp: torch.Tensor, harmonics: torch.Tensor, noise_mags: torch.Tensor, f0_hz: torch.Tensor
) -> torch.Tensor:
    """Audio between the first and last frame centre: [B, (T-1)*HOP] (float32).

    Same formulas as ``ddsp_synth.harmonic_amplitudes/harmonic_signal/noise_signal``, with a
    random start phase and torch's noise instead of the hashed noise.
    """
    batch, frames = f0_hz.shape
    f0 = f0_hz.double()
    k = torch.arange(1, N_HARMONICS + 1, dtype=torch.float32)
    dist = torch.where(f0_hz[..., None] * k < SR / 2, harmonics, torch.zeros_like(harmonics))
    dist = dist / dist.sum(-1, keepdim=True).clamp_min(1e-7)
    partials = dist * amp  # [B, T, K]
    step = 2 * math.pi / SR * (HOP * f0[:, :-1] + (f0[:, 1:] - f0[:, :-1]) * (HOP - 1) / 2)
    start = torch.rand(batch, 1, dtype=torch.float64) * 2 * math.pi
    phase = torch.remainder(torch.cat([start, start + torch.cumsum(step, 1)], 1), 2 * math.pi)
    j = torch.arange(HOP, dtype=torch.float64)
    slope = (f0[:, 1:] - f0[:, :-1])[..., None]
    inner = 2 * math.pi / SR * (j * f0[:, :-1, None] + slope * (j * (j - 1) / (2 * HOP)))
    phi = torch.remainder(phase[:, :-1, None] + inner, 2 * math.pi).float()  # [B, T-1, HOP]
    sines = torch.sin(phi[..., None] * k)  # [B, T-1, HOP, K]
    first = partials[:, :-1, :, None]
    delta = partials[:, 1:, :, None] - first
    ramp = (j / HOP).float()
    harmonic = (sines @ first)[..., 0] + ramp * (sines @ delta)[..., 0]
    bands = torch.from_numpy(ds.band_matrix(N_NOISE, HOP))
    response = noise_mags @ bands.T  # [B, T, HOP+1]
    white = torch.rand(batch, frames, 2 * HOP) * 2 - 1
    filtered = torch.fft.irfft(torch.fft.rfft(white) * response, n=2 * HOP)
    segments = filtered * torch.from_numpy(ds.noise_window(HOP))
    noise = segments[:, :-1, HOP:] + segments[:, 1:, :HOP]
    return (harmonic + noise).reshape(batch, -1)


def spectral_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Multi-scale spectral L1 on linear and log magnitudes (75 % overlap)."""
    loss = torch.zeros(())
    for n_fft in SCALES:
        window = torch.hann_window(n_fft)

        def mag(x: torch.Tensor, n_fft: int = n_fft, window: torch.Tensor = window) -> torch.Tensor:
            spec = torch.stft(x, n_fft, n_fft // 4, window=window, return_complex=True)
            return spec.abs()

        p, t = mag(pred), mag(target)
        loss = (
            loss + (p - t).abs().mean() + (torch.log(p + 1e-7) - torch.log(t + 1e-7)).abs().mean()
        )
    return loss


# --- data ------------------------------------------------------------------------------------


def dataset(name: str, seconds: float, seed: int) -> dict[str, np.ndarray]:
    """A cached render (the same seed always renders the same set)."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"{name}-{seed}-{seconds:g}.npz"
    if not path.exists():
        np.savez(path, **make_dataset(name, seconds, seed))
    with np.load(path) as npz:
        return {k: npz[k] for k in npz.files}


def batch_of(data: dict[str, np.ndarray], rng: np.random.Generator, starts: np.ndarray) -> tuple:
    """Random 1 s crops; crops that are mostly silence are drawn less."""
    picks = rng.choice(starts, size=BATCH)
    f0 = np.stack([data["f0_hz"][s : s + CROP_FRAMES] for s in picks])
    ld = np.stack([data["loudness_db"][s : s + CROP_FRAMES] for s in picks])
    audio = np.stack([data["audio"][s * HOP : (s + CROP_FRAMES - 1) * HOP] for s in picks])
    return (
        torch.from_numpy(ds.scale_f0(f0))[..., None],
        torch.from_numpy(ds.scale_loudness(ld))[..., None],
        torch.from_numpy(f0.astype(np.float32)),
        torch.from_numpy(audio),
    )


def crop_starts(data: dict[str, np.ndarray]) -> np.ndarray:
    frames = len(data["f0_hz"]) - CROP_FRAMES
    loud = np.convolve(data["loudness_db"] > -60, np.ones(CROP_FRAMES) / CROP_FRAMES, "valid")
    starts = np.arange(frames)
    return starts[loud[:frames] > 0.3]


# --- evaluation, export, packaging -----------------------------------------------------------


def decode_numpy_synth(model: Decoder, data: dict[str, np.ndarray]) -> np.ndarray:
    """The held-out set through the torch decoder and the *numpy* synth (the shipped path)."""
    with torch.no_grad():
        amp, harm, noise, _ = model(
            torch.from_numpy(ds.scale_f0(data["f0_hz"]))[None, :, None],
            torch.from_numpy(ds.scale_loudness(data["loudness_db"]))[None, :, None],
            torch.zeros(1, 1, HIDDEN),
        )
    f0 = data["f0_hz"].astype(np.float64)
    partials = ds.harmonic_amplitudes(amp[0].numpy(), harm[0].numpy(), f0, SR)
    out = ds.harmonic_signal(partials, f0, ds.frame_phase(f0, SR, HOP), SR, HOP)
    return out + ds.noise_signal(noise[0].numpy(), np.arange(len(f0)), HOP)


def export(model: Decoder) -> bytes:
    """ONNX bytes of the decoder (dynamic T), after a torch-vs-ORT parity test."""
    model.eval()
    buffer = io.BytesIO()
    example = (torch.zeros(1, 8, 1), torch.zeros(1, 8, 1), torch.zeros(1, 1, HIDDEN))
    with warnings.catch_warnings():
        # The legacy exporter is chosen on purpose (see the module docstring), and its GRU
        # batch-size warning does not apply: the state is an explicit input.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message="Exporting a model to ONNX with a batch_size")
        _export_onnx(model, example, buffer)
    onnx_bytes = buffer.getvalue()
    _parity(model, onnx_bytes)
    return onnx_bytes


DYNAMIC = ("f0_scaled", "loudness_scaled", "amp", "harmonics", "noise")  # [1, T, ...] tensors


def _export_onnx(model: Decoder, example: tuple, buffer: io.BytesIO) -> None:
    torch.onnx.export(
        model, example, buffer, dynamo=False, opset_version=17,
        input_names=["f0_scaled", "loudness_scaled", "h_in"],
        output_names=["amp", "harmonics", "noise", "h_out"],
        dynamic_axes={n: {1: "T"} for n in DYNAMIC},
    )  # fmt: skip


def _parity(model: Decoder, onnx_bytes: bytes) -> None:
    import onnxruntime as ort

    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    h_t = torch.zeros(1, 1, HIDDEN)
    h_o = np.zeros((1, 1, HIDDEN), np.float32)
    worst = 0.0
    for length in (1, 7, 64, 333):  # state carried from one call to the next
        f0 = torch.from_numpy(rng.uniform(0.3, 0.8, (1, length, 1)).astype(np.float32))
        ld = torch.from_numpy(rng.uniform(0.0, 1.0, (1, length, 1)).astype(np.float32))
        with torch.no_grad():
            expected = model(f0, ld, h_t)
        got = session.run(
            None, {"f0_scaled": f0.numpy(), "loudness_scaled": ld.numpy(), "h_in": h_o}
        )
        for e, g in zip(expected, got, strict=True):
            worst = max(worst, float(np.abs(e.numpy() - g).max()))
        h_t, h_o = expected[3], got[3]
    if not worst <= 1e-4:
        raise SystemExit(f"ONNX parity FAILED: max abs diff {worst:.3g} > 1e-4")
    print(f"ONNX parity ok: max abs diff {worst:.2e} over T = 1, 7, 64, 333 with carried state")


def golden(model: Decoder, data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A real 0.5 s stretch of the held-out set and a non-zero state: torch's outputs."""
    start = int(np.argmax(data["loudness_db"] > -30))
    f0 = ds.scale_f0(data["f0_hz"][start : start + 50])[None, :, None]
    ld = ds.scale_loudness(data["loudness_db"][start : start + 50])[None, :, None]
    h = np.random.default_rng(1).uniform(-0.5, 0.5, (1, 1, HIDDEN)).astype(np.float32)
    with torch.no_grad():
        outs = model(torch.from_numpy(f0), torch.from_numpy(ld), torch.from_numpy(h))
    tensors = {"in.f0_scaled": f0, "in.loudness_scaled": ld, "in.h_in": h}
    for name, value in zip(("amp", "harmonics", "noise", "h_out"), outs, strict=True):
        tensors[f"out.{name}"] = value.numpy()
    return tensors


def manifest_fields(name: str, train: dict, held: dict, training: dict[str, Any]) -> dict:
    inst = INSTRUMENTS[name]
    voiced = train["loudness_db"] > -60
    hz = 440.0 * 2 ** ((np.array([inst.low + 2, inst.high - 4]) - 69) / 12)
    tensor = [1, "T", 1]
    return {
        "model_version": 1,
        "family": "timbre",
        "runtime": "ddsp",
        "display_name": inst.display_name,
        "description": inst.description,
        "licence": "GPL-3.0-or-later; trained on renders of the FluidR3_GM SoundFont (MIT)",
        "stem_kinds": ["lead", "vocal", "guitar", "keys"],
        "io": {
            "inputs": [
                {"name": "f0_scaled", "dtype": "float32", "shape": tensor},
                {"name": "loudness_scaled", "dtype": "float32", "shape": tensor},
                {"name": "h_in", "dtype": "float32", "shape": [1, 1, HIDDEN]},
            ],
            "outputs": [
                {"name": "amp", "dtype": "float32", "shape": tensor},
                {"name": "harmonics", "dtype": "float32", "shape": [1, "T", N_HARMONICS]},
                {"name": "noise", "dtype": "float32", "shape": [1, "T", N_NOISE]},
                {"name": "h_out", "dtype": "float32", "shape": [1, 1, HIDDEN]},
            ],
            "state": [{"input": "h_in", "output": "h_out", "shape": [1, 1, HIDDEN]}],
        },
        "audio": {
            "sample_rate": SR,
            "hop": HOP,
            "latency_samples": 0,
            "look_ahead_samples": 0,
            "look_behind_samples": 2 * 50 * HOP,
        },
        "conditioning": {
            "f0_hz": [round(float(hz[0]), 2), round(float(hz[1]), 2)],
            "loudness_db": [round(float(np.percentile(train["loudness_db"][voiced], 2)), 2), 0.0],
        },
        "knobs": [
            {"id": "breath", "name": "Breath", "min": 0.0, "max": 2.0, "default": 1.0, "unit": "×"},
            {
                "id": "brightness",
                "name": "Brightness",
                "min": -1.0,
                "max": 1.0,
                "default": 0.0,
                "unit": "",
            },
        ],
        "synth": {
            "n_harmonics": N_HARMONICS,
            "n_noise_bands": N_NOISE,
            "hidden": HIDDEN,
            "f0_scaling": "midi/127",
            "loudness_scaling": "(dB - floor) / -floor",
            "loudness_floor_db": ds.LOUDNESS_FLOOR_DB,
            "loudness_n_fft": ds.LOUDNESS_N_FFT,
            # The 90th percentile of the loudness of sounding frames in training: the stem's
            # loudness is moved to it for conditioning (and moved back at the output).
            "loudness_ref_db": round(float(np.percentile(train["loudness_db"][voiced], 90)), 2),
            "output_gain_db": training.pop("output_gain_db"),
            "block_frames": 50,
        },
        "golden_atol": 1e-4,
        "training": training,
    }


def train(name: str, minutes: float, seed: int, resume: bool = False) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    data = dataset(name, TRAIN_SECONDS, seed=100 + INSTRUMENTS[name].program)
    held = dataset(name, HELD_OUT_SECONDS, seed=900 + INSTRUMENTS[name].program)
    print(f"{name}: data {len(data['audio']) / SR:.0f} s + held-out {len(held['audio']) / SR:.0f} s"
          f" in {time.perf_counter() - t0:.1f} s", flush=True)  # fmt: skip
    starts = crop_starts(data)
    model = Decoder()
    lr = 1e-3
    if resume:  # more steps on the last run's weights, at a lower learning rate
        model.load_state_dict(torch.load(CACHE / f"{name}.pt"))
        lr = 3e-4
    params = sum(p.numel() for p in model.parameters())
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    budget = minutes * 60
    t0 = time.perf_counter()
    step, losses = 0, []
    while time.perf_counter() - t0 < budget:
        frac = (time.perf_counter() - t0) / budget
        for group in optimiser.param_groups:
            group["lr"] = lr * (0.1**frac)  # exponential decay to a tenth over the budget
        f0s, lds, f0, audio = batch_of(data, rng, starts)
        amp, harm, noise, _ = model(f0s, lds, torch.zeros(1, BATCH, HIDDEN))
        loss = spectral_loss(synth(amp, harm, noise, f0), audio)
        optimiser.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        losses.append(float(loss.detach()))
        step += 1
        if step % 100 == 0:
            print(f"{name} step {step} loss {np.mean(losses[-100:]):.3f} "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)  # fmt: skip
    seconds = time.perf_counter() - t0
    model.eval()
    out = decode_numpy_synth(model, held)
    target = held["audio"][: len(out)]
    with torch.no_grad():
        held_loss = float(
            spectral_loss(torch.from_numpy(out)[None], torch.from_numpy(target)[None])
        )
    import pyloudnorm

    meter = pyloudnorm.Meter(SR)
    gain = float(meter.integrated_loudness(target) - meter.integrated_loudness(out))
    print(f"{name}: {step} steps in {seconds:.0f} s, train loss {np.mean(losses[-100:]):.3f}, "
          f"held-out loss {held_loss:.3f}, output gain {gain:+.2f} dB", flush=True)  # fmt: skip
    onnx_bytes = export(model)
    earlier = {"steps": 0, "train_seconds": 0}
    if resume:  # the totals include the run these weights came from
        manifest = ROOT / "models" / INSTRUMENTS[name].model_id / "manifest.json"
        earlier = json.loads(manifest.read_text())["training"]
    training = {
        "data": f"{len(data['audio']) / SR:.0f} s of generated monophonic phrases, GM program "
        f"{INSTRUMENTS[name].program} of FluidR3_GM (MIT) rendered with tinysoundfont at 16 kHz; "
        f"ground-truth f0 from the notes and bends; {len(held['audio']) / SR:.0f} s held out",
        "steps": step + int(earlier["steps"]),
        "batch": f"{BATCH} x 1 s crops",
        "train_seconds": round(seconds) + int(earlier["train_seconds"]),
        "optimiser": "Adam, lr 1e-3 decaying to 1e-4, grad clip 1"
        + (f"; then {step} steps at lr {lr:g} decaying to {lr / 10:g}" if resume else ""),
        "loss": f"multi-scale spectral L1 (lin + log), FFT {list(SCALES)}",
        "final_train_loss": round(float(np.mean(losses[-100:])), 4),
        "held_out_loss": round(held_loss, 4),
        "params": params,
        "output_gain_db": round(gain, 2),
        "metrics": {},
    }
    folder = write_package(
        INSTRUMENTS[name].model_id,
        manifest_fields(name, data, held, training),
        onnx_bytes,
        golden(model, held),
    )
    torch.save(model.state_dict(), CACHE / f"{name}.pt")
    print(f"{name}: wrote {folder} ({len(onnx_bytes)} bytes ONNX, {params} params)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instrument", choices=sorted(INSTRUMENTS))
    parser.add_argument("--minutes", type=float, default=8.0, help="training wall time")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true", help="continue from the last weights")
    args = parser.parse_args()
    train(args.instrument, args.minutes, args.seed, args.resume)


if __name__ == "__main__":
    main()
