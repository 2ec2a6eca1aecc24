# SPDX-License-Identifier: GPL-3.0-or-later
"""Offline render: the mixer's arithmetic over the whole remix at once, into memory.

Playback renders 512-frame blocks one at a time; a render gives the same samples far faster by
running each effect chain over long chunks (pedalboard's plugins are block-size invariant:
checked sample for sample in the tests) and doing the faders, master gain, fades and the
block-wise limiter as whole-array NumPy operations that repeat, element for element, the
per-block float32 arithmetic of :class:`~app.engine.mixer.Mixer`. Automation splits the work at
its moves, where playback ramps from the old mix to the new one over one block. The two stem
groups run on two threads (pedalboard, Rubber Band and NumPy release the GIL).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from app.core.recipe import Recipe
from app.core.track import TrackInfo
from app.engine.effects import PROCESS_FRAMES
from app.engine.loudness import normalise
from app.engine.mixer import CHANNELS, Mixer, channel_gains, db_to_gain
from app.styles.package import StylePackage

CHUNK_FRAMES = 64 * PROCESS_FRAMES  # frames per call into the effects (pieces of 512 inside)


def render(
    stems: dict[str, Any],
    sample_rate: int,
    recipe: Recipe,
    *,
    progress: Callable[[float], None] | None = None,
    track: TrackInfo | None = None,
    levels: dict[str, float] | None = None,
    styles: Callable[[str], StylePackage] | None = None,
) -> np.ndarray:
    """Render the whole remix; returns float32 (frames, 2) in memory (never a file).

    Args:
        progress: called with the fraction done (0..1) now and then.
        track: the track's metadata; needed when the recipe rearranges or retimes it.
        levels: if given, filled with each stem's level in the mix, in dB relative to the
            loudest stem (0 for the loudest, -inf for a silent one).
        styles: the style-model package for a model ``id@version``, for recipes with styles.
    """
    mixer = Mixer(stems, sample_rate, recipe, track=track, styles=styles)
    frames = mixer.frames
    spans = _spans(mixer, frames)
    outs = [np.zeros((frames, CHANNELS), dtype=np.float32) for _ in mixer.groups]
    done = [0, 0]
    total = max(1, len(mixer.names) * frames)

    def tick(group: int, count: int) -> None:
        done[group] += count
        if progress is not None and group == 0:
            # Group 0 holds at least half the stems: its share stands for both.
            progress(0.9 * min(1.0, 2 * done[0] / total))

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fanfare-render") as pool:
        second = pool.submit(_render_group, mixer, 1, outs[1], spans, tick)
        _render_group(mixer, 0, outs[0], spans, tick)
        second.result()
    out = outs[0]
    np.add(out, outs[1], out=out)
    del outs
    _render_master(mixer, out, spans)
    if progress is not None:
        progress(1.0)
    if levels is not None:
        loudest = float(mixer.energy.max()) if mixer.energy.size else 0.0
        for name, energy in zip(mixer.names, mixer.energy, strict=True):
            ratio = energy / loudest if loudest > 0 else 0.0
            levels[name] = 10 * float(np.log10(ratio)) if ratio > 0 else float("-inf")
    return out


def _spans(mixer: Mixer, frames: int) -> list[tuple[int, int, int]]:
    """(start, end, automation state index) for each stretch of one mix, in order."""
    starts = [f for f, _, _ in mixer.states if f < frames] or [0]
    ends = [*starts[1:], frames]
    return [(lo, hi, i) for i, (lo, hi) in enumerate(zip(starts, ends, strict=True)) if hi > lo]


def _pieces(lo: int, hi: int, ramped: bool, block: int) -> list[tuple[int, int, bool]]:
    """(start, frames, ramped) pieces of a span: its first block alone when the mix changes
    there (playback ramps over that block), then long chunks."""
    pieces = []
    pos = lo
    if ramped:
        n = min(block, hi - lo)
        pieces.append((pos, n, True))
        pos += n
    while pos < hi:
        n = min(CHUNK_FRAMES, hi - pos)
        pieces.append((pos, n, False))
        pos += n
    return pieces


def _render_group(
    mixer: Mixer,
    group: int,
    out: np.ndarray,
    spans: list[tuple[int, int, int]],
    tick: Callable[[int, int], None],
) -> None:
    """Sum the stems of ``group`` into ``out`` over the whole remix (see Mixer.render_group)."""
    states, timeline = mixer.states, mixer.timeline
    for i in mixer.members[group]:
        name, chain = mixer.names[i], mixer.chains[i]
        silent = False
        previous: np.ndarray | None = None
        for lo, hi, index in spans:
            stems = states[index][1]
            gain = channel_gains(stems, mixer.names)[i]
            chain.update(stems[name].fx)
            for pos, n, ramped in _pieces(lo, hi, previous is not None, mixer.block_frames):
                g0 = previous if ramped and previous is not None else gain
                if not (g0.any() or gain.any()):
                    if not silent:
                        chain.reset()  # as playback does when a stem falls silent
                        silent = True
                    continue
                silent = False
                piece = mixer.read(i, pos, n, timeline)
                m = piece.shape[0]
                if not m:
                    continue
                if chain.active:
                    piece = chain.process(piece)
                # The same float32 operations, in the same order, as Mixer.render_group.
                scaled = piece * ((gain - g0) * _ramp(mixer, m) + g0) if ramped else piece * gain
                flat = scaled.ravel()
                mixer.energy[i] += float(np.dot(flat, flat))
                out[pos : pos + m] += scaled
            previous = gain
        tick(group, mixer.frames)


def _ramp(mixer: Mixer, frames: int) -> np.ndarray:
    """The mixer's per-block ramp for a block of ``frames`` (float32, (frames, 1))."""
    if frames == mixer.block_frames:
        return mixer.ramp
    return np.linspace(0.0, 1.0, frames, endpoint=False, dtype=np.float32)[:, None]


def _render_master(mixer: Mixer, out: np.ndarray, spans: list[tuple[int, int, int]]) -> None:
    """Master effects, gain, fades and the limiter over the summed ``out`` (in place)."""
    frames = out.shape[0]
    block = mixer.block_frames
    states, timeline, chain = mixer.states, mixer.timeline, mixer.master_chain
    ceilings = np.empty(-(-frames // block), dtype=np.float64)
    master_gain = np.empty(frames, dtype=np.float32)
    previous: float | None = None
    for lo, hi, index in spans:
        master = states[index][2]
        chain.update(master.fx)
        if chain.active:
            for pos in range(lo, hi, CHUNK_FRAMES):
                end = min(hi, pos + CHUNK_FRAMES)
                out[pos:end] = chain.process(out[pos:end])
        gain = db_to_gain(master.gain_db)
        for pos, n, ramped in _pieces(lo, hi, previous is not None, block):
            g0 = previous if ramped and previous is not None else gain
            # As Mixer.render_master: current + (target - current) * ramp, in float32.
            master_gain[pos : pos + n] = (
                g0 + (gain - g0) * _ramp(mixer, n)[:, 0] if ramped else gain
            )
        ceilings[lo // block : -(-hi // block)] = 10.0 ** (master.limiter_ceiling_db / 20.0)
        previous = gain
    for pos in range(0, frames, CHUNK_FRAMES):
        n = min(CHUNK_FRAMES, frames - pos)
        gain_piece = master_gain[pos : pos + n]
        if timeline is not None:
            fades = timeline.master_gain(pos, n)
            if fades is not None:
                gain_piece = gain_piece * fades
        out[pos : pos + n] *= gain_piece[:, None]
    del master_gain
    _limit(mixer, out, ceilings)


def _limit(mixer: Mixer, out: np.ndarray, ceilings: np.ndarray) -> None:
    """The mixer's block-wise peak limiter (Mixer._limit) over every block at once."""
    frames, block = out.shape[0], mixer.block_frames
    whole = frames // block
    peaks = np.empty(ceilings.shape[0], dtype=np.float64)
    if whole:
        peaks[:whole] = np.abs(out[: whole * block].reshape(whole, -1)).max(axis=1)
    if frames % block:
        peaks[whole] = float(np.abs(out[whole * block :]).max())
    release = mixer.limiter_release
    current = 1.0
    for b, (peak, ceiling) in enumerate(zip(peaks.tolist(), ceilings.tolist(), strict=True)):
        needed = min(1.0, ceiling / peak) if peak > 0.0 else 1.0
        target = needed if needed < current else min(needed, current + (1.0 - current) * release)
        if current != 1.0 or target != 1.0:
            piece = out[b * block : (b + 1) * block]
            piece *= current + (target - current) * _ramp(mixer, piece.shape[0])
        current = target
    start = 0
    for b in range(1, ceilings.shape[0] + 1):
        if b == ceilings.shape[0] or ceilings[b] != ceilings[start]:
            ceiling = float(ceilings[start])
            piece = out[start * block : b * block]
            np.clip(piece, -ceiling, ceiling, out=piece)
            start = b


def render_derivative(
    stems: dict[str, Any],
    sample_rate: int,
    recipe: Recipe,
    *,
    progress: Callable[[float], None] | None = None,
    track: TrackInfo | None = None,
    levels: dict[str, float] | None = None,
    styles: Callable[[str], StylePackage] | None = None,
) -> tuple[np.ndarray, float]:
    """The published form of a remix: the render as heard, loudness-normalised.

    Returns (float32 (frames, 2), normalisation gain in dB). The studio uploads this and the
    platform recomputes it to verify the upload.
    """
    audio = render(
        stems, sample_rate, recipe, progress=progress, track=track, levels=levels, styles=styles
    )
    return normalise(audio, sample_rate)
