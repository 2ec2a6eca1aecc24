# SPDX-License-Identifier: GPL-3.0-or-later
"""Integrated loudness (ITU-R BS.1770-4, as pyloudnorm measures it), fed piece by piece.

A timbre model measures a whole stem's loudness when it is placed, on a prefetch thread while
the music plays. ``pyloudnorm.Meter.integrated_loudness`` wants the whole signal at once: a
4-minute stereo stem is ~90 MB of float64 copies, and its filters run over the whole array in
one C call that holds the GIL for tens of milliseconds, longer than the 21 ms the feeder can
wait. This meter runs pyloudnorm's own K-weighting filters (coefficients and all) over pieces
with carried filter state and keeps only the power of each 100 ms step, so memory stays small
and no call is long. The gating is BS.1770's, as pyloudnorm implements it.
"""

from __future__ import annotations

import numpy as np

BLOCK_S = 0.4  # gating block
STEP_S = 0.1  # block step (75 % overlap)
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0


class LoudnessMeter:
    """Integrated loudness of audio added in pieces.

    Args:
        rate: sample rate in Hz (a multiple of 10, so that 100 ms is whole samples).
        channels: channels of each piece.
        copies: how many identical channels each stands for (a mono signal played on both
            sides of a stereo pair has ``copies=2``: BS.1770 sums channel powers).
    """

    def __init__(self, rate: int, channels: int, *, copies: int = 1) -> None:
        import pyloudnorm

        self.rate = int(rate)
        self.channels = channels
        self.copies = copies
        self._filters = [
            (f.b, f.a, f.passband_gain) for f in pyloudnorm.Meter(self.rate)._filters.values()
        ]
        self._state = [np.zeros((max(len(a), len(b)) - 1, channels)) for b, a, _ in self._filters]
        self.segment = round(STEP_S * self.rate)
        self._sums: list[np.ndarray] = []  # filtered power of each whole 100 ms step
        self._carry = np.zeros(channels)  # ... and of the step being filled
        self._filled = 0
        self.frames = 0

    def add(self, audio: np.ndarray) -> None:
        """Feed the next ``audio``: float (n, channels)."""
        from scipy.signal import lfilter

        x = np.asarray(audio, dtype=np.float64).reshape(-1, self.channels)
        if not len(x):
            return
        for index, (b, a, gain) in enumerate(self._filters):
            x, self._state[index] = lfilter(b, a, x, axis=0, zi=self._state[index])
            if gain != 1.0:
                x = x * gain
        power = np.square(x)
        self.frames += len(power)
        start = 0
        if self._filled:
            take = min(self.segment - self._filled, len(power))
            self._carry += power[:take].sum(axis=0)
            self._filled += take
            start = take
            if self._filled == self.segment:
                self._sums.append(self._carry)
                self._carry, self._filled = np.zeros(self.channels), 0
        whole = (len(power) - start) // self.segment
        if whole:
            steps = power[start : start + whole * self.segment]
            self._sums.extend(steps.reshape(whole, self.segment, self.channels).sum(axis=1))
            start += whole * self.segment
        if start < len(power):
            self._carry += power[start:].sum(axis=0)
            self._filled += len(power) - start

    def integrated(self) -> float:
        """The gated integrated loudness in LUFS (-inf for silence or under one block)."""
        steps = self._sums + ([self._carry] if self._filled else [])
        blocks = round((self.frames / self.rate - BLOCK_S) / STEP_S) + 1
        if blocks < 1 or not steps:
            return float("-inf")
        per_step = np.array(steps).sum(axis=1) * self.copies  # channel powers summed (G = 1)
        padded = np.concatenate([per_step, np.zeros(4)])
        window = round(BLOCK_S / STEP_S)
        z = np.array([padded[j : j + window].sum() for j in range(blocks)])
        z /= BLOCK_S * self.rate
        with np.errstate(divide="ignore"):
            levels = -0.691 + 10 * np.log10(z)
        kept = levels >= ABSOLUTE_GATE_LUFS
        if not kept.any():
            return float("-inf")
        relative = -0.691 + 10 * np.log10(z[kept].mean()) + RELATIVE_GATE_LU
        kept &= levels > relative
        if not kept.any():
            return float("-inf")
        return float(-0.691 + 10 * np.log10(z[kept].mean()))
