# SPDX-License-Identifier: GPL-3.0-or-later
"""Offline render: the same mixer, driven as fast as the CPU allows, into memory."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from app.core.recipe import Recipe
from app.core.track import TrackInfo
from app.engine.loudness import normalise
from app.engine.mixer import BLOCK_FRAMES, CHANNELS, Mixer


def render(
    stems: dict[str, np.ndarray],
    sample_rate: int,
    recipe: Recipe,
    *,
    block_frames: int = BLOCK_FRAMES,
    progress: Callable[[float], None] | None = None,
    track: TrackInfo | None = None,
    levels: dict[str, float] | None = None,
) -> np.ndarray:
    """Render the whole remix; returns float32 (frames, 2) in memory (never a file).

    Args:
        progress: called with the fraction done (0..1) about every second of audio.
        track: the track's metadata; needed when the recipe rearranges its sections.
        levels: if given, filled with each stem's level in the mix, in dB relative to the
            loudest stem (0 for the loudest, -inf for a silent one).
    """
    mixer = Mixer(stems, sample_rate, recipe, block_frames=block_frames, track=track)
    out = np.zeros((mixer.frames, CHANNELS), dtype=np.float32)
    starts = range(0, mixer.frames, block_frames)
    # The settings are fixed for an offline render: one snapshot serves every block.
    block = mixer.take_block()
    # The two stem groups run on two threads (pedalboard and numpy release the GIL), each
    # through every block in order, exactly as playback runs them; then the master pass.
    other = np.zeros_like(out)

    def run_group(group: int, target: np.ndarray) -> None:
        for start in starts:
            mixer.render_group(group, start, target[start : start + block_frames], block)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fanfare-render") as pool:
        second = pool.submit(run_group, 1, other)
        run_group(0, out)
        second.result()
    report_every = max(1, sample_rate // block_frames)
    for index, start in enumerate(starts):
        piece = out[start : start + block_frames]
        np.add(piece, other[start : start + block_frames], out=piece)
        mixer.render_master(start, piece, block)
        if progress is not None and index % report_every == 0:
            progress(start / mixer.frames)
    if progress is not None:
        progress(1.0)
    if levels is not None:
        loudest = float(mixer.energy.max()) if mixer.energy.size else 0.0
        for name, energy in zip(mixer.names, mixer.energy, strict=True):
            ratio = energy / loudest if loudest > 0 else 0.0
            levels[name] = 10 * float(np.log10(ratio)) if ratio > 0 else float("-inf")
    return out


def render_derivative(
    stems: dict[str, np.ndarray],
    sample_rate: int,
    recipe: Recipe,
    *,
    progress: Callable[[float], None] | None = None,
    track: TrackInfo | None = None,
    levels: dict[str, float] | None = None,
) -> tuple[np.ndarray, float]:
    """The published form of a remix: the render as heard, loudness-normalised.

    Returns (float32 (frames, 2), normalisation gain in dB). The studio uploads this and the
    platform recomputes it to verify the upload.
    """
    audio = render(stems, sample_rate, recipe, progress=progress, track=track, levels=levels)
    return normalise(audio, sample_rate)
