# SPDX-License-Identifier: GPL-3.0-or-later
"""Offline render: the whole remix at once, into memory, with the mixer's arithmetic.

Playback renders 512-frame blocks one at a time; a render gives the same samples far faster by
running each effect chain over long chunks (pedalboard's plugins are block-size invariant:
checked sample for sample in the tests) and calling the same kernel functions
(:mod:`app.engine.kernel`) over those chunks: each step is element-wise along the frames, so a
chunk computes each frame as a block does. Automation splits the work at its moves, where
playback ramps from the old mix to the new one over one block. The work goes chunk by chunk
through the remix: the two stem groups, then the reverb rooms' left and right reverbs, each
pair on two threads (pedalboard, Rubber Band and NumPy release the GIL); the master's
element-wise steps are split in halves across the same two threads.
"""

from __future__ import annotations

import bisect
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core.recipe import Recipe
from app.core.track import TrackInfo
from app.engine import kernel
from app.engine import timeline as timelines
from app.engine.chunk_store import ChunkStore
from app.engine.company import CompanyMeter
from app.engine.effects import PROCESS_FRAMES, Chain
from app.engine.gains import db_to_gain, strip_gains
from app.engine.kernel import CHANNELS, StripWork
from app.engine.loudness import normalise
from app.engine.mixer import BLOCK_FRAMES, stem_rows
from app.engine.rooms import Room, Rooms
from app.engine.stretched import StretchedSource
from app.engine.styled import StyledSources
from app.engine.switching import Sound, Sounds
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
    company: CompanyMeter | None = None,
    store: ChunkStore | None = None,
) -> np.ndarray:
    """Render the whole remix; returns float32 (frames, 2) in memory (never a file).

    Args:
        stems: stem kind → its source as written (float32 (frames, 2) or a chunked source).
        progress: called with the fraction done (0..1) now and then.
        track: the track's metadata; needed when the recipe rearranges or retimes it.
        levels: if given, filled with each stem's level in the mix, in dB relative to the
            loudest stem (0 for the loudest, -inf for a silent one).
        styles: the style-model package for a model ``id@version``, for recipes with styles.
        company: if given, started and fed with every stem's sound as it enters the master,
            to judge afterwards whether a protected stem is ever alone (``app.engine.company``).
        store: where retimed and transposed chunks are read from when made before (by
            playback, or by another render of the same track at this tempo and key), and kept.
    """
    names = list(recipe.stems)
    missing = [n for n in names if n not in stems]
    if missing:
        raise ValueError(f"no audio for stems {missing}")
    raw = [stems[n] for n in names]
    styled = StyledSources(styles, sample_rate)
    sound = Sounds(
        names, raw, sample_rate, BLOCK_FRAMES, track, styled, recipe, store=store
    ).current
    share = _stretch_ahead(sound, store, progress)  # of the work, as the progress counts it
    strips = _Strips(names, sound, [Chain(recipe.stems[n].fx, sample_rate) for n in names])
    rooms = Rooms(sample_rate)
    frames = sound.frames
    out = np.zeros((frames, CHANNELS), dtype=np.float32)
    spans = _spans(sound, frames)
    previous: tuple[np.ndarray, np.ndarray] | None = None
    groups = [_Group(strips, members) for members in kernel.stem_groups(len(names))]
    if company is not None:
        ratio = recipe.tempo_ratio
        company.start(
            names,
            raw,
            frames,
            sample_rate,
            lambda frame: timelines.source_position(sound.timeline, ratio, frame),
        )
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fanfare-render") as pool:
        for lo, hi, index in spans:
            stems_mix = sound.states[index][1]
            dry, send, sizes = strip_gains(stems_mix, names)
            mix = _Mix(dry, send, rooms.assign(sizes, lo), list(rooms.live))
            for name, chain in zip(names, strips.chains, strict=True):
                chain.update(stems_mix[name].fx)
            if company is not None:
                company.master(sound.states[index][2].fx)
            for pos, n, ramped in _pieces(lo, hi, previous is not None):
                before = previous if ramped and previous is not None else (dry, send)
                where = (pos, n, ramped)
                second = pool.submit(groups[1].run, where, mix, before)
                groups[0].run(where, mix, before)
                second.result()
                if company is not None:
                    company.add(pos, n, [part for g in groups for part in g.parts(mix)])
                target = out[pos : pos + n]
                np.add(groups[0].out[:n], groups[1].out[:n], out=target)
                if mix.rooms:
                    send_sum = groups[0].sends[:, :n] + groups[1].sends[:, :n]
                    _add_rooms(pool, mix.rooms, send_sum, target)
                if progress is not None:
                    progress(share + (0.9 - share) * (pos + n) / max(1, frames))
            previous = (dry, send)
        master_chain = Chain(recipe.master.fx, sample_rate)
        _render_master(sound, master_chain, out, spans, pool)
    if progress is not None:
        progress(1.0)
    if levels is not None:
        energy = strips.energy
        loudest = float(energy.max()) if energy.size else 0.0
        for name, stem in zip(names, energy, strict=True):
            ratio = stem / loudest if loudest > 0 else 0.0
            levels[name] = 10 * float(np.log10(ratio)) if ratio > 0 else float("-inf")
    return out


def _stretch_ahead(
    sound: Sound, store: ChunkStore | None, progress: Callable[[float], None] | None
) -> float:
    """Stretch what the render of ``sound`` will read into ``store`` first, every core making
    chunks at once (the mix, which follows, then reads them back), when it all fits in the
    store's free room; returns the share of the render's progress this took (0 when nothing
    was done here)."""
    sources = [s for s in sound.stems if isinstance(s, StretchedSource)]
    if store is None or not sources:
        return 0.0
    jobs = {s: [i for i in s.heard if not s.stored(i)] for s in sources}
    total = sum(len(indices) for indices in jobs.values())
    if not total or not store.has_room(sum(s.chunk_bytes() * len(i) for s, i in jobs.items())):
        return 0.0
    share = 0.8  # Rubber Band is ~95 % of a retimed render's time (benchmarks/README.md)
    done = [0]
    lock = threading.Lock()

    def stretch(source: StretchedSource) -> None:
        # One thread per source: its input (a FLAC decoder, a style model) reads on in order.
        for index in jobs[source]:
            source.finish(index)
            with lock:
                done[0] += 1
                if progress is not None and done[0] % 8 == 0:
                    progress(share * done[0] / total)

    with ThreadPoolExecutor(_cores(), thread_name_prefix="fanfare-stretch") as pool:
        list(pool.map(stretch, jobs))
    return share


def _cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _spans(sound: Sound, frames: int) -> list[tuple[int, int, int]]:
    """(start, end, automation state index) for each stretch of one mix, in order."""
    starts = [f for f, _, _ in sound.states if f < frames] or [0]
    ends = [*starts[1:], frames]
    return [(lo, hi, i) for i, (lo, hi) in enumerate(zip(starts, ends, strict=True)) if hi > lo]


def _pieces(lo: int, hi: int, ramped: bool) -> list[tuple[int, int, bool]]:
    """(start, frames, ramped) pieces of a span: its first block alone when the mix changes
    there (playback ramps over that block), then long chunks."""
    pieces = []
    pos = lo
    if ramped:
        n = min(BLOCK_FRAMES, hi - lo)
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


@dataclass
class _Strips:
    """The stems' strips over the whole render: their effects, whether each is silent so far,
    and the energy each has put into the mix (after its effects and fader, its send included:
    what the platform uses to tell which stems a listener really hears)."""

    names: list[str]
    sound: Sound
    chains: list[Chain]

    def __post_init__(self) -> None:
        self.silent = [False] * len(self.names)
        self.energy = np.zeros(len(self.names), dtype=np.float64)


class _Group:
    """One stem group's sum and sends, piece by piece, through the kernel (as
    ``Mixer.render_group`` does block by block)."""

    def __init__(self, strips: _Strips, members: range) -> None:
        self.strips, self.members = strips, members
        self.work = StripWork(len(members), CHUNK_FRAMES)
        self.out = np.empty((CHUNK_FRAMES, CHANNELS), dtype=np.float32)
        self.sends = np.zeros((0, CHUNK_FRAMES, CHANNELS), dtype=np.float32)
        self.heard: list[int] = []  # the stems in ``work.pieces``' rows, after ``run``

    def parts(self, mix: _Mix) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """What the last ``run`` put into the mix, stem by stem: (stem index, its strip's
        output channel-major (2, frames), its (dry, send) gains (2, 2))."""
        return [
            (i, self.work.pieces[row], np.stack([mix.dry[i], mix.send[i]]))
            for row, i in enumerate(self.heard)
        ]

    def run(
        self,
        where: tuple[int, int, bool],
        mix: _Mix,
        before: tuple[np.ndarray, np.ndarray],
    ) -> None:
        """Sum the group's stems over ``where`` (start, frames, ramped from ``before``: the
        previous mix's dry and send gains) into ``out[:frames]`` and their sends into
        ``sends[:, :frames]``."""
        pos, frames, ramped = where
        strips, work = self.strips, self.work
        if self.sends.shape[0] != len(mix.rooms):
            self.sends = np.zeros((len(mix.rooms), CHUNK_FRAMES, CHANNELS), dtype=np.float32)
        sends = self.sends[:, :frames]
        sends.fill(0.0)
        heard: list[int] = []
        for i in self.members:
            gains = (before[0][i], mix.dry[i], before[1][i], mix.send[i])
            if not any(g.any() for g in gains):
                if not strips.silent[i]:
                    strips.chains[i].reset()  # as playback does when a stem falls silent
                    strips.silent[i] = True
                continue
            strips.silent[i] = False
            stem = strips.sound.stems[i]
            piece = timelines.read(stem, strips.names[i], strips.sound.timeline, pos, frames)
            m = piece.shape[0]
            if not m:
                continue
            slot = work.pieces[len(heard), :, :frames]
            strips.chains[i].strip_into(piece, slot)
            strips.energy[i] += stem_energy(slot[:, :m], mix.dry[i] + mix.send[i])
            heard.append(i)
        self.heard = heard
        out = self.out[:frames]
        if not heard:
            out.fill(0.0)
            return
        count, rows = len(heard), stem_rows(heard)
        ramp = kernel.ramp(frames) if ramped else None
        kernel.mix_strips(work, count, frames, before[0][rows], mix.dry[rows], ramp, out)
        room_of = [mix.room_of[i] for i in heard]
        if max(room_of) >= 0:
            kernel.mix_sends(
                work, count, frames, before[1][rows], mix.send[rows], ramp, room_of, sends
            )


def stem_energy(piece: np.ndarray, gains: np.ndarray) -> float:
    """The energy ``piece`` (float32, channel-major (2, frames), after the strip's effects)
    puts into the mix at (left, right) channel ``gains``: its direct sound and its reverb send
    together, so a stem heard only through its room counts as heard."""
    # Per channel, a float32 dot product (BLAS: several partial sums, no float64 copy of the
    # piece), which is ample for comparing stems' energies.
    per_channel = np.array([np.dot(channel, channel) for channel in piece])
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


def _render_master(
    sound: Sound,
    chain: Chain,
    out: np.ndarray,
    spans: list[tuple[int, int, int]],
    pool: Executor,
) -> None:
    """Master effects, gain, fades and the limiter over the summed ``out`` (in place)."""
    frames = out.shape[0]
    block = BLOCK_FRAMES
    ceilings = np.empty(-(-frames // block), dtype=np.float64)
    master_gain = np.empty(frames, dtype=np.float32)
    previous: float | None = None
    for lo, hi, index in spans:
        master = sound.states[index][2]
        chain.update(master.fx)
        if chain.active:
            for pos in range(lo, hi, CHUNK_FRAMES):
                end = min(hi, pos + CHUNK_FRAMES)
                out[pos:end] = chain.process(out[pos:end])
        gain = db_to_gain(master.gain_db)
        for pos, n, ramped in _pieces(lo, hi, previous is not None):
            g0 = previous if ramped and previous is not None else gain
            ramp = kernel.ramp(n) if ramped else None
            master_gain[pos : pos + n] = kernel.master_gain(g0, gain, ramp, None)
        ceilings[lo // block : -(-hi // block)] = kernel.ceiling_gain(master.limiter_ceiling_db)
        previous = gain
    peaks = np.empty(ceilings.shape[0], dtype=np.float64)
    timeline = sound.timeline

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
            kernel.apply_gain(piece, gain_piece)
            whole = n // block
            b = pos // block
            if whole:
                peaks[b : b + whole] = np.abs(piece[: whole * block].reshape(whole, -1)).max(1)
            if n % block:
                peaks[b + whole] = float(np.abs(piece[whole * block :]).max())

    # Element-wise work on two threads, half the remix each (chunks start on blocks).
    _halves(pool, gain_and_peaks, -(-frames // CHUNK_FRAMES))
    _limit(out, ceilings, peaks, kernel.limiter_release(block, chain.sample_rate), pool)


def _halves(pool: Executor, work: Callable[[int, int], None], count: int) -> None:
    """``work(first, last)`` over ``[0, count)`` split in two: one half on the pool's thread."""
    middle = count // 2
    other = pool.submit(work, middle, count)
    work(0, middle)
    other.result()


def _limit(
    out: np.ndarray, ceilings: np.ndarray, peaks: np.ndarray, release: float, pool: Executor
) -> None:
    """The block-wise peak limiter (``kernel.limiter_target``, ``kernel.limit``) over every
    block at once, given each block's peak and ceiling; blocks at unity gain are skipped."""
    block = BLOCK_FRAMES
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
        target = kernel.limiter_target(peak_list[b], ceiling_list[b], current, release)
        piece = out[b * block : (b + 1) * block]
        kernel.limit(piece, current, target, kernel.ramp(piece.shape[0]))
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
                kernel.clip(out[lo * block : hi * block], ceiling)

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
    company: CompanyMeter | None = None,
    store: ChunkStore | None = None,
) -> tuple[np.ndarray, float]:
    """The published form of a remix: the render as heard, loudness-normalised.

    Returns (float32 (frames, 2), normalisation gain in dB). The studio uploads this and the
    platform recomputes it to verify the upload.
    """
    audio = render(
        stems,
        sample_rate,
        recipe,
        progress=progress,
        track=track,
        levels=levels,
        styles=styles,
        company=company,
        store=store,
    )
    return normalise(audio, sample_rate)


def prestretch(
    stems: dict[str, Any],
    sample_rate: int,
    recipe: Recipe,
    store: ChunkStore,
    *,
    track: TrackInfo,
    styles: Callable[[str], StylePackage] | None = None,
    stop: Callable[[], bool] = lambda: False,
    rest: float = 0.5,
) -> int:
    """Make ``recipe``'s retimed and transposed chunks into ``store`` ahead of a render, chunk by
    chunk through the remix (every stem's chunk k before any chunk k + 1), resting ``rest``
    times as long as each chunk took, until done, the store is full or ``stop()`` says so.

    The render that follows (the platform's re-render of this fan's upload) then mixes what is
    stored. Returns the chunks made; 0 for a recipe at the written tempo and key.
    """
    if recipe.tempo_ratio == 1.0 and recipe.key_shift == 0:
        return 0
    names = list(recipe.stems)
    styled = StyledSources(styles, sample_rate)
    sound = Sounds(
        names, [stems[n] for n in names], sample_rate, BLOCK_FRAMES, track, styled, recipe,
        store=store,
    ).current  # fmt: skip
    sources = [s for s in sound.stems if isinstance(s, StretchedSource)]
    made = 0
    for index in sources[0].heard if sources else ():
        for source in sources:
            if stop():
                return made
            if index >= source.chunks or source.stored(index):
                continue
            if not store.has_room(source.chunk_bytes()):
                return made
            started = time.perf_counter()
            source.finish(index)
            made += 1
            if rest > 0:
                time.sleep(rest * (time.perf_counter() - started))
    return made
