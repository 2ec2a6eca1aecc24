# SPDX-License-Identifier: GPL-3.0-or-later
"""Offline render: the mixer's arithmetic over the whole remix at once, into memory.

Playback renders 512-frame blocks one at a time; a render gives the same samples far faster by
running each effect chain over long chunks (pedalboard's plugins are block-size invariant:
checked sample for sample in the tests) and doing the faders, master gain, fades and the
block-wise limiter as whole-array NumPy operations that repeat, element for element, the
per-block float32 arithmetic of :class:`~app.engine.mixer.Mixer`. Automation splits the work at
its moves, where playback ramps from the old mix to the new one over one block. The work goes
chunk by chunk through the remix: the two stem groups, then the reverb rooms' left and right
reverbs, each pair on two threads (pedalboard, Rubber Band and NumPy release the GIL); the
master's element-wise steps are split in halves across the same two threads.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core.recipe import Recipe
from app.core.track import TrackInfo
from app.engine.effects import PROCESS_FRAMES
from app.engine.loudness import normalise
from app.engine.mixer import CHANNELS, Mixer, db_to_gain, strip_gains
from app.engine.rooms import Room
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
    out = np.zeros((frames, CHANNELS), dtype=np.float32)
    silent = [False] * len(mixer.names)
    # The energy each stem puts into the mix (after its effects and fader, its send
    # included): what the platform uses to tell which stems a listener really hears.
    energy = np.zeros(len(mixer.names), dtype=np.float64)
    previous: tuple[np.ndarray, np.ndarray] | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fanfare-render") as pool:
        for lo, hi, index in _spans(mixer, frames):
            stems_mix = mixer.states[index][1]
            dry, send, sizes = strip_gains(stems_mix, mixer.names)
            mix = _Mix(dry, send, mixer.rooms.assign(sizes, lo), list(mixer.rooms.live))
            for name, chain in zip(mixer.names, mixer.chains, strict=True):
                chain.update(stems_mix[name].fx)
            for pos, n, ramped in _pieces(lo, hi, previous is not None, mixer.block_frames):
                before = previous if ramped and previous is not None else (dry, send)
                pieces = [
                    _Piece(mixer, group, (pos, n, ramped), mix, before, (silent, energy))
                    for group in (0, 1)
                ]
                second = pool.submit(pieces[1].run)
                pieces[0].run()
                second.result()
                target = out[pos : pos + n]
                np.add(pieces[0].out, pieces[1].out, out=target)
                if mix.rooms:
                    _add_rooms(pool, mix.rooms, pieces[0].sends + pieces[1].sends, target)
                if progress is not None:
                    progress(0.9 * (pos + n) / max(1, frames))
            previous = (dry, send)
        _render_master(mixer, out, _spans(mixer, frames), pool)
    if progress is not None:
        progress(1.0)
    if levels is not None:
        loudest = float(energy.max()) if energy.size else 0.0
        for name, stem in zip(mixer.names, energy, strict=True):
            ratio = stem / loudest if loudest > 0 else 0.0
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


@dataclass
class _Mix:
    """One stretch of the mix: dry and send gains (stems, 2), each stem's room, the rooms."""

    dry: np.ndarray
    send: np.ndarray
    room_of: list[int]
    rooms: list[Room]


class _Piece:
    """One stem group over one piece of the remix: its stems summed into ``out`` and their
    reverb sends into ``sends``, with the float32 steps of Mixer.render_group, stem by stem
    (long chunks: the per-call cost that playback saves by doing all stems at once is small
    here)."""

    def __init__(
        self,
        mixer: Mixer,
        group: int,
        where: tuple[int, int, bool],
        mix: _Mix,
        before: tuple[np.ndarray, np.ndarray],
        stems: tuple[list[bool], np.ndarray],
    ) -> None:
        self.mixer, self.group = mixer, group
        self.pos, self.frames, self.ramped = where  # start, frames, ramped from ``before``
        self.mix, self.before = mix, before
        self.silent, self.energy = stems  # per stem: silent so far; energy (updated here)
        self.out = np.zeros((self.frames, CHANNELS), dtype=np.float32)
        self.sends = np.zeros((len(mix.rooms), self.frames, CHANNELS), dtype=np.float32)

    def run(self) -> None:
        mixer, mix, pos = self.mixer, self.mix, self.pos
        ramped = self.ramped
        ramp = _ramp(mixer, self.frames) if ramped else None
        for i in mixer.members[self.group]:
            gain, g0 = mix.dry[i], self.before[0][i]
            send, s0 = mix.send[i], self.before[1][i]
            if not (g0.any() or gain.any() or s0.any() or send.any()):
                if not self.silent[i]:
                    mixer.chains[i].reset()  # as playback does when a stem falls silent
                    self.silent[i] = True
                continue
            self.silent[i] = False
            piece = mixer.read(i, pos, self.frames, mixer.timeline)
            m = piece.shape[0]
            if not m:
                continue
            if mixer.chains[i].active:
                piece = mixer.chains[i].process_view(piece)
            # The same float32 operations, in the same order, as Mixer.render_group (on a
            # transposed view they give the same values: each is one element's).
            scaled = piece * ((gain - g0) * ramp[:m] + g0) if ramp is not None else piece * gain
            self.energy[i] += stem_energy(piece, gain + send)
            self.out[:m] += scaled
            room = mix.room_of[i]
            if room >= 0:
                mono = (piece[:, 0] + piece[:, 1])[:, None]
                self.sends[room, :m] += (
                    mono * ((send - s0) * ramp[:m] + s0) if ramp is not None else mono * send
                )


def stem_energy(piece: np.ndarray, gains: np.ndarray) -> float:
    """The energy ``piece`` (float32 (frames, 2), after the strip's effects) puts into the mix
    at (left, right) channel ``gains``: its direct sound and its reverb send together, so a
    stem heard only through its room counts as heard."""
    # Per channel, a float32 dot product (BLAS: several partial sums, no float64 copy of the
    # piece), which is ample for comparing stems' energies.
    per_channel = np.array([np.dot(piece[:, c], piece[:, c]) for c in range(piece.shape[1])])
    return float(np.dot(per_channel.astype(np.float64), np.square(gains, dtype=np.float64)))


def _add_rooms(pool: Executor, rooms: list[Room], send: np.ndarray, out: np.ndarray) -> None:
    """Add the rooms' sound for ``send`` (float32 (rooms, frames, 2)) to ``out``, as
    Mixer.render does: the left reverbs on this thread, the right ones on the pool's."""

    def right_side() -> list[np.ndarray]:
        return [room.process_right(s[:, 1]) for room, s in zip(rooms, send, strict=True)]

    rights = pool.submit(right_side)
    lefts = [room.process_left(s[:, 0]) for room, s in zip(rooms, send, strict=True)]
    for left, right in zip(lefts, rights.result(), strict=True):
        out += np.stack([left, right], axis=1)


def _ramp(mixer: Mixer, frames: int) -> np.ndarray:
    """The mixer's per-block ramp for a block of ``frames`` (float32, (frames, 1))."""
    if frames == mixer.block_frames:
        return mixer.ramp
    return np.linspace(0.0, 1.0, frames, endpoint=False, dtype=np.float32)[:, None]


def _render_master(
    mixer: Mixer, out: np.ndarray, spans: list[tuple[int, int, int]], pool: Executor
) -> None:
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
    peaks = np.empty(ceilings.shape[0], dtype=np.float64)

    def gain_and_peaks(first: int, last: int) -> None:
        """Gain and fades on chunks [first, last) and the peak of each block in them."""
        for pos in range(first * CHUNK_FRAMES, min(frames, last * CHUNK_FRAMES), CHUNK_FRAMES):
            n = min(CHUNK_FRAMES, frames - pos)
            gain_piece = master_gain[pos : pos + n]
            if timeline is not None:
                fades = timeline.master_gain(pos, n)
                if fades is not None:
                    gain_piece = gain_piece * fades
            piece = out[pos : pos + n]
            piece *= gain_piece[:, None]
            whole = n // block
            b = pos // block
            if whole:
                peaks[b : b + whole] = np.abs(piece[: whole * block].reshape(whole, -1)).max(1)
            if n % block:
                peaks[b + whole] = float(np.abs(piece[whole * block :]).max())

    # Element-wise work on two threads, half the remix each (chunks start on blocks).
    _halves(pool, gain_and_peaks, -(-frames // CHUNK_FRAMES))
    _limit(mixer, out, ceilings, peaks, pool)


def _halves(pool: Executor, work: Callable[[int, int], None], count: int) -> None:
    """``work(first, last)`` over ``[0, count)`` split in two: one half on the pool's thread."""
    middle = count // 2
    other = pool.submit(work, middle, count)
    work(0, middle)
    other.result()


def _limit(
    mixer: Mixer, out: np.ndarray, ceilings: np.ndarray, peaks: np.ndarray, pool: Executor
) -> None:
    """The mixer's block-wise peak limiter (Mixer._limit) over every block at once, given
    each block's peak."""
    block = mixer.block_frames
    release = mixer.limiter_release
    peak_list, ceiling_list = peaks.tolist(), ceilings.tolist()
    # Blocks over their ceiling; between them, once the gain is back at unity, nothing to do.
    over = np.flatnonzero(peaks > ceilings).tolist()
    current, b, count = 1.0, 0, len(peak_list)
    while b < count:
        if current == 1.0:  # skip to the next block over its ceiling
            k = bisect.bisect_left(over, b)
            if k == len(over):
                break
            b = over[k]
        peak, ceiling = peak_list[b], ceiling_list[b]
        needed = min(1.0, ceiling / peak) if peak > 0.0 else 1.0
        target = needed if needed < current else min(needed, current + (1.0 - current) * release)
        if current != 1.0 or target != 1.0:
            piece = out[b * block : (b + 1) * block]
            piece *= current + (target - current) * _ramp(mixer, piece.shape[0])
        current = target
        b += 1
    runs = []  # (first block, end block, ceiling) of each stretch of one ceiling
    start = 0
    for b in range(1, ceilings.shape[0] + 1):
        if b == ceilings.shape[0] or ceilings[b] != ceilings[start]:
            runs.append((start, b, float(ceilings[start])))
            start = b

    def clip(first: int, last: int) -> None:
        for lo, hi, ceiling in runs:
            lo, hi = max(lo, first), min(hi, last)
            if lo < hi:
                piece = out[lo * block : hi * block]
                np.clip(piece, -ceiling, ceiling, out=piece)

    _halves(pool, clip, ceilings.shape[0])


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
