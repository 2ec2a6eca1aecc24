# SPDX-License-Identifier: GPL-3.0-or-later
"""The mix's per-block arithmetic, once: pure functions over NumPy arrays that both the
real-time feeder (one block at a time, :class:`~app.engine.mixer.Mixer`) and the offline render
(long chunks, :mod:`app.engine.offline`) call, with the frame count as a parameter.

Everything is float32 and element-wise along the frames, so a render of the whole remix gives
the samples playback gives block by block: a step over 32,768 frames computes each frame as the
same step over 512 does. Where a gain changes it is ramped linearly across one block (the
``ramp`` argument); elsewhere the ramp is None and the gain is constant.

Shapes: a strip's audio is channel-major, (stems, 2, frames) (NumPy's inner loops run along the
frames); the mix is (frames, 2); gains are per stem (left, right), (stems, 2).
"""

from __future__ import annotations

import numpy as np

CHANNELS = 2
#: The limiter's release toward unity gain, a time constant in seconds.
LIMITER_RELEASE_S = 0.1

_ramps: dict[int, np.ndarray] = {}


def ramp(frames: int) -> np.ndarray:
    """0 → 1 over a block of ``frames`` (endpoint excluded): float32 (frames,), read-only.

    How a gain change is ramped in; cached, since playback asks for the same size every block.
    """
    cached = _ramps.get(frames)
    if cached is None:
        cached = np.linspace(0.0, 1.0, frames, endpoint=False, dtype=np.float32)
        cached.flags.writeable = False
        if len(_ramps) < 64:  # a seek's short blocks come in many sizes: keep the common ones
            _ramps[frames] = cached
    return cached


def stem_groups(stems: int) -> tuple[range, range]:
    """The two groups the stems are summed in (first half, second half): the offline render
    runs them on two threads, and playback sums the same groups, so both add in one order."""
    half = (stems + 1) // 2
    return range(0, half), range(half, stems)


class StripWork:
    """Work buffers for summing up to ``stems`` strips over up to ``frames`` frames, float32,
    made once: the strips' audio after their effects, their gains and the scaled strips, each
    (stems, 2, frames), and their mono sums (stems, 1, frames). The callers fill ``pieces``."""

    def __init__(self, stems: int, frames: int) -> None:
        self.pieces = np.zeros((stems, CHANNELS, frames), dtype=np.float32)
        self.gains = np.empty_like(self.pieces)
        self.scaled = np.empty_like(self.pieces)
        self.mono = np.empty((stems, 1, frames), dtype=np.float32)


def ramped_gain(
    x: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    ramp: np.ndarray | None,
    gains: np.ndarray,
    out: np.ndarray,
) -> None:
    """``out = x × (lo + (hi − lo) × ramp)`` for several strips at once.

    Args:
        x: channel-major audio, (stems, 1 or 2, frames).
        lo, hi: each strip's (left, right) gains at the block's start and end, (stems, 2).
        ramp: 0 → 1 over the block, (frames,); None when no gain moves (``lo + 0 × ramp`` is
            ``lo`` exactly, so the constant gain gives the same samples).
        gains, out: (stems, 2, frames) work buffers; ``gains`` is overwritten.
    """
    lo, hi = lo[:, :, None], hi[:, :, None]
    if ramp is None:
        np.multiply(x, hi, out=out)
        return
    np.multiply(hi - lo, ramp, out=gains)
    np.add(gains, lo, out=gains)
    np.multiply(x, gains, out=out)


def mix_strips(
    work: StripWork,
    count: int,
    frames: int,
    lo: np.ndarray,
    hi: np.ndarray,
    ramp: np.ndarray | None,
    out: np.ndarray,
) -> None:
    """Sum the first ``count`` strips of ``work.pieces`` at their faders into ``out``.

    The strips are added in order (a reduction over the first axis adds one after another), so
    any caller summing the same strips gets the same samples. The scaled strips stay in
    ``work.scaled`` for :func:`strip_peaks`.

    Args:
        lo, hi: the strips' fader-and-pan gains, (count, 2): see :func:`ramped_gain`.
        out: the sum, float32 (frames, 2) (written, not added to).
    """
    pieces = work.pieces[:count, :, :frames]
    scaled, gains = work.scaled[:count, :, :frames], work.gains[:count, :, :frames]
    ramped_gain(pieces, lo, hi, ramp, gains, scaled)
    np.add.reduce(scaled, axis=0, out=out.T)


def strip_peaks(work: StripWork, count: int, frames: int) -> np.ndarray:
    """Each strip's peak level after its fader, from the last :func:`mix_strips`: float32
    (count,), linear (for the meters)."""
    scaled, gains = work.scaled[:count, :, :frames], work.gains[:count, :, :frames]
    np.abs(scaled, out=gains)
    peaks: np.ndarray = gains.max(axis=(1, 2))
    return peaks


def mix_sends(
    work: StripWork,
    count: int,
    frames: int,
    lo: np.ndarray,
    hi: np.ndarray,
    ramp: np.ndarray | None,
    room_of: list[int],
    sends: np.ndarray,
) -> None:
    """Add the first ``count`` strips' reverb sends to their rooms' inputs, in strip order.

    Each strip is summed to mono (Freeverb's input), scaled by its send gains (ramped as its
    fader is) and added to ``sends[room_of[j]]``; a strip with room -1 sends nothing.

    Args:
        lo, hi: the send gains, (count, 2).
        sends: the rooms' inputs, float32 (rooms, frames, 2), added to.
    """
    pieces = work.pieces[:count, :, :frames]
    mono = work.mono[:count, :, :frames]
    scaled, gains = work.scaled[:count, :, :frames], work.gains[:count, :, :frames]
    np.add(pieces[:, :1], pieces[:, 1:], out=mono)
    ramped_gain(mono, lo, hi, ramp, gains, scaled)
    for j, room in enumerate(room_of):
        if room >= 0:
            sends[room] += scaled[j].T


def master_gain(
    current: float, target: float, ramp: np.ndarray | None, fades: np.ndarray | None
) -> np.ndarray | np.float32:
    """The master fader over a block, with the arrangement's fades: float32 (frames,), or one
    float32 when it is constant.

    Args:
        current, target: the linear gain at the block's start and end.
        ramp: 0 → 1 over the block; None when the gain does not move.
        fades: per-frame fade gains (frames,), or None.
    """
    gain: np.ndarray | np.float32
    if ramp is None or current == target:  # current + 0 × ramp is current, exactly
        gain = np.float32(target)
    else:
        gain = current + (target - current) * ramp
    if fades is not None:
        gain = gain * fades
    return gain


def apply_gain(out: np.ndarray, gain: np.ndarray | np.float32) -> None:
    """``out`` (frames, 2) times a per-frame (frames,) or constant gain, in place."""
    if isinstance(gain, np.ndarray) and gain.ndim:
        out *= gain[:, None]
    else:
        out *= gain


def ceiling_gain(ceiling_db: float) -> float:
    """The limiter's ceiling as a linear peak level."""
    return float(10.0 ** (ceiling_db / 20.0))


def limiter_release(block_frames: int, sample_rate: int) -> float:
    """The limiter's per-block step back toward unity (a fraction of the distance): a
    ``LIMITER_RELEASE_S`` time constant."""
    return 1.0 - float(np.exp(-block_frames / (LIMITER_RELEASE_S * sample_rate)))


def limiter_target(peak: float, ceiling: float, current: float, release: float) -> float:
    """The block-wise peak limiter's gain at the end of a block whose peak is ``peak``.

    Unity below the ceiling, so an ordinary mix is untouched. The gain comes down to what the
    block's peak needs within the block (attack) and recovers toward unity by ``release`` of
    the distance per block.
    """
    needed = min(1.0, ceiling / peak) if peak > 0.0 else 1.0
    return needed if needed < current else min(needed, current + (1.0 - current) * release)


def limit(out: np.ndarray, current: float, target: float, ramp: np.ndarray) -> None:
    """Ramp ``out`` (frames, 2) from the limiter gain ``current`` to ``target``, in place
    (nothing to do at unity). Clip afterwards (:func:`clip`): the ramp lags an attack."""
    if current != 1.0 or target != 1.0:
        out *= (current + (target - current) * ramp)[:, None]


def clip(out: np.ndarray, ceiling: float) -> None:
    """Hard-clip ``out`` at ``± ceiling`` in place: catches the part of an attack block
    before the limiter's ramp has come down."""
    np.clip(out, -ceiling, ceiling, out=out)


def equal_power(position: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Equal-power fade gains at ``position`` (0 → 1 through the fade): (rising, falling),
    float32, of ``position``'s shape. The one curve of every fade and crossfade."""
    angle = position * (np.pi / 2)
    return np.sin(angle).astype(np.float32), np.cos(angle).astype(np.float32)


def fade_positions(frames: int, *, single: bool = False) -> np.ndarray:
    """Where each frame of a ``frames``-long fade sits in it, (i + 0.5) / frames: (frames,),
    float64, or float32 with ``single`` (cheaper, for a fade made on the feeder thread)."""
    positions: np.ndarray = np.arange(frames, dtype=np.float32 if single else np.float64)
    positions += 0.5
    positions /= max(frames, 1)
    return positions
