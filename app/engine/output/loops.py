# SPDX-License-Identifier: GPL-3.0-or-later
"""Loop regions of playback, and the fades that keep a loop's jump and a sound switch from
clicking."""

from __future__ import annotations

import numpy as np

from app.engine.kernel import equal_power, fade_positions

LOOP_FADE_FRAMES = 240  # 5 ms at 48 kHz


def shortest_loop(block_frames: int) -> int:
    """The shortest loop, in frames: its fades and one block must fit in it."""
    return 2 * LOOP_FADE_FRAMES + block_frames


def rescale_loop(
    loop: tuple[int, int] | None, scale: float, block_frames: int
) -> tuple[int, int] | None:
    """``loop`` on a timeline ``scale`` times as long (after a tempo switch); None when it is
    now too short to play."""
    if loop is None:
        return None
    lo, hi = (round(edge * scale) for edge in loop)
    return (lo, hi) if hi - lo >= shortest_loop(block_frames) else None


def fade(frames: int, *, rising: bool) -> np.ndarray:
    """An equal-power fade over ``frames``: float32 (frames, 1), rising 0→1 or falling 1→0."""
    rise, fall = equal_power(fade_positions(frames, single=True))
    return (rise if rising else fall)[:, None]


def fade_loop_edges(start: int, block: np.ndarray, loop: tuple[int, int], jumped: bool) -> None:
    """A 5 ms fade out before the jump back and in after it, so a loop does not click."""
    positions = np.arange(start, start + block.shape[0])
    gain = np.ones(block.shape[0], dtype=np.float32)
    if loop[1] - positions[-1] <= LOOP_FADE_FRAMES:  # this block runs into the loop's end
        gain *= np.clip((loop[1] - positions - 0.5) / LOOP_FADE_FRAMES, 0.0, 1.0)
    if jumped:
        gain *= np.clip((positions - loop[0] + 0.5) / LOOP_FADE_FRAMES, 0.0, 1.0)
    if gain.min() < 1.0:
        block *= gain[:, None]
