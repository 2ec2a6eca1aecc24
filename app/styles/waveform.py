# SPDX-License-Identifier: GPL-3.0-or-later
"""The runtime of waveform ("character") models: a stateless causal net run on the stem itself.

The ONNX graph (see ``models/train/character_train.py``) takes ``audio`` float32
[B, 1, T] and one conditioning input per knob the manifest's ``conditioning`` names (e.g.
``drive`` [B, 1]), and returns ``wet`` [B, 1, T - look_behind] where output ``i`` is the
effect at input sample ``i + look_behind``. Because the net is stateless with a finite
receptive field, a chunk rendered from its own look-behind equals the same frames cut from a
longer render: no state is carried between calls, which is what makes renders deterministic.

Both stereo channels run as a batch of two in one session call per piece. A ``level`` knob
(dB), when the manifest has one, is a plain gain applied here rather than in the net.

When the engine's rate differs from the model's (the platform's stems are 48 kHz like the
models, so normally it does not), the chunk is resampled with soxr there and back with margins
around it, always cut on one absolute grid (multiples of the two rates' common period), so a
chunk still matches the same frames of a longer render to soxr's precision (~1e-5), though not
bit for bit. On that path ``render`` also reads a few hundred frames past the chunk's end.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from app.core.errors import StyleModelError
from app.styles.base import ModelFiles, Reader, StyleProcessor

#: Longest piece (model-rate frames) per session call. The net's layers are cheap
#: element-wise passes over (2, channels, frames) tensors, so its speed is memory's: pieces whose
#: tensors stay in the core's cache run faster, though each carries its own look-behind.
#: Measured for the tape model on one core (x real time, net of look-behind), by frames per
#: piece: 4096: 51, 8192: 56, 16384: 46, 24000: 44, 65536: 37.
MAX_PIECE_FRAMES = 1 << 13
#: Model-rate frames of context around a resampled chunk, each way (soxr HQ's filter is
#: shorter, so a chunk's edges never reach the frames it returns).
RESAMPLE_MARGIN = 1024
LEVEL_KNOB = "level"


class WaveformProcessor(StyleProcessor):
    """A character model with fixed knob values on one stereo stem at ``sample_rate``.

    Args:
        model: the verified model (its session is shared between processors).
        knob_values: every knob's value (``StyleManifest.knob_values``); conditioning knobs are
            fed to the net, ``level`` (dB) is applied as a gain.
        sample_rate: the engine's rate (Hz).
    """

    def __init__(
        self, model: ModelFiles, knob_values: Mapping[str, float], sample_rate: int
    ) -> None:
        manifest = model.manifest
        self._session = model.session()
        self._rate = int(sample_rate)
        self._model_rate = manifest.sample_rate
        self._model_look_behind = manifest.look_behind_samples
        inputs = [str(t["name"]) for t in manifest.io["inputs"]]
        if not inputs or inputs[0] != "audio":
            raise StyleModelError(f"The model {manifest.ref} has no audio input.")
        self._feeds: dict[str, np.ndarray] = {}
        for name in inputs[1:]:
            if name not in knob_values:
                raise StyleModelError(f"The model {manifest.ref} has no control for '{name}'.")
            # One value per batch row (the two stereo channels).
            self._feeds[name] = np.full((2, 1), knob_values[name], dtype=np.float32)
        self._output = str(manifest.io["outputs"][0]["name"])
        self._gain = np.float32(10.0 ** (knob_values.get(LEVEL_KNOB, 0.0) / 20.0))
        self.output_gain = float(self._gain)
        self._resample = self._rate != self._model_rate
        if self._resample:
            # Resampled chunks are cut on one absolute grid: a chunk's model-rate samples are
            # then the same samples a longer render computes (up to soxr's edge effects, which
            # the margins keep far away), whatever the chunk's start.
            common = math.gcd(self._rate, self._model_rate)
            self._period = self._rate // common  # engine frames per grid step
            self._model_period = self._model_rate // common  # model frames per grid step
            span = self._model_look_behind + 3 * RESAMPLE_MARGIN + 2 * self._model_period
            self.look_behind_frames = math.ceil(span * self._rate / self._model_rate)
        else:
            self.look_behind_frames = self._model_look_behind
        self.latency_frames = 0  # causal, trained without delay: aligned with its input

    def render(self, read: Reader, start: int, frames: int) -> np.ndarray:
        """The wet stem at frames ``[start, start + frames)``: float32 (frames, 2).

        Reads ``[start - look_behind_frames, start + frames)`` (when resampling, up to
        ``look_behind_frames`` before and a few hundred frames after) and returns output
        aligned with the dry stem.
        """
        if frames <= 0:
            return np.zeros((0, 2), np.float32)
        if self._resample:
            wet = self._render_resampled(read, start, frames)
        else:
            lead = self.look_behind_frames
            wet = self._run(_exactly(read(start - lead, lead + frames), lead + frames), frames)
        return np.ascontiguousarray(wet * self._gain, dtype=np.float32)

    def _render_resampled(self, read: Reader, start: int, frames: int) -> np.ndarray:
        """``render`` when the engine's rate is not the model's: (frames, 2)."""
        import soxr  # only on this (uncommon) path

        rate, model_rate = self._rate, self._model_rate
        pe, pm = self._period, self._model_period
        margin = RESAMPLE_MARGIN
        back_margin = math.ceil(margin * rate / model_rate)  # engine frames
        # Model-rate wet samples [w0, w1) cover the chunk plus a margin for the way back, and
        # model-rate dry samples [d0, d1) cover those plus the net's look-behind and a margin
        # for the way there; all four lie on the grid (absolute model-rate sample numbers).
        w0 = _floor(math.floor((start - back_margin) * model_rate / rate), pm)
        w1 = _ceil(math.ceil((start + frames + back_margin) * model_rate / rate), pm)
        d0 = _floor(w0 - self._model_look_behind - margin, pm)
        d1 = _ceil(w1 + margin, pm)
        e0, e1 = d0 // pm * pe, d1 // pm * pe  # the same span in engine frames
        dry = _exactly(read(e0, e1 - e0), e1 - e0)
        model_dry = _exactly(soxr.resample(dry, rate, model_rate, quality="HQ"), d1 - d0)
        lo = w0 - self._model_look_behind - d0
        model_wet = self._run(model_dry[lo : w1 - d0], w1 - w0)
        back = soxr.resample(np.ascontiguousarray(model_wet), model_rate, rate, quality="HQ")
        at = start - w0 // pm * pe  # ``back`` starts at engine frame w0 / pm * pe
        return _exactly(back[at:], frames)

    def _run(self, dry: np.ndarray, frames: int) -> np.ndarray:
        """The net on ``dry`` (look_behind + frames, 2) at the model's rate -> (frames, 2)."""
        lb = self._model_look_behind
        channels = np.ascontiguousarray(dry.T, dtype=np.float32)  # (2, n): one row per channel
        out = np.empty((2, frames), np.float32)
        for at in range(0, frames, MAX_PIECE_FRAMES):
            n = min(MAX_PIECE_FRAMES, frames - at)
            # Each piece carries its own look-behind, so pieces join exactly.
            feeds: dict[str, Any] = {"audio": channels[:, None, at : at + lb + n], **self._feeds}
            (wet,) = self._session.run([self._output], feeds)
            out[:, at : at + n] = wet[:, 0, :]
        return out.T


def _floor(value: int, step: int) -> int:
    return value // step * step


def _ceil(value: int, step: int) -> int:
    return -(-value // step) * step


def _exactly(audio: np.ndarray, frames: int) -> np.ndarray:
    """``audio`` (n, 2) cut or zero-padded at the end to ``frames`` rows (readers may return
    fewer frames than asked near the stem's end)."""
    audio = np.asarray(audio, dtype=np.float32)
    if len(audio) >= frames:
        return audio[:frames]
    return np.concatenate([audio, np.zeros((frames - len(audio), audio.shape[1]), np.float32)])
