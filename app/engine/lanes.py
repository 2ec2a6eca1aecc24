# SPDX-License-Identifier: GPL-3.0-or-later
"""The timeline's lanes: each stem's peak envelope laid out as the remix plays it (arranged, at
its tempo), with the gain the mix gives it there, and the mix's outline from them.

Everything is per display column (``columns`` equal stretches of output time), computed from the
stems' envelopes (``app.engine.peaks``) and the recipe alone: nothing is decoded here, so a
lane costs a few milliseconds whatever the zoom.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.core import automation
from app.core.recipe import Recipe
from app.core.track import TrackInfo
from app.engine.gains import db_to_gain
from app.engine.peaks import FULL_SCALE, StemPeaks
from app.engine.timeline import Timeline, output_frames, retimed


@dataclass(frozen=True)
class Lane:
    """One stem over the view: float32 (columns,) each.

    ``peaks``: the stem as written, 0..1 of full scale (the envelope's bins under each column).
    ``gain``: the linear gain the mix gives it there (fader, mute, solo, the arrangement's
    section mutes, recorded moves); 0 where it is silent. ``known``: bool, whether the envelope
    under the column is measured yet.
    """

    kind: str
    peaks: np.ndarray
    gain: np.ndarray
    known: np.ndarray


@dataclass(frozen=True)
class Lanes:
    """The view ``[start_s, end_s)`` of the remix's output in ``columns`` columns."""

    start_s: float
    end_s: float
    lanes: tuple[Lane, ...]
    #: The mix's outline: each lane's peaks times its gain, summed, times the master gain,
    #: clipped at full scale as the limiter holds it: float32 (columns,), 0..1.
    mix: np.ndarray
    #: Output seconds of each recorded move in the view, with the strip it moves.
    moves: tuple[tuple[float, str], ...]


def _timeline(recipe: Recipe, track: TrackInfo) -> Timeline | None:
    """The arrangement on the stems at the remix's tempo (as the mixer plays it), or None."""
    if recipe.arrangement.is_default:
        return None
    ratio = recipe.tempo_ratio
    timed = retimed(track, ratio, round(track.frames / ratio)) if ratio != 1.0 else track
    return Timeline(recipe.arrangement, timed)


def _segment_index(timeline: Timeline, frames: np.ndarray) -> np.ndarray:
    """The arranged segment playing at each output frame: int64, the shape of ``frames``."""
    found = np.searchsorted(timeline.starts, frames, side="right") - 1
    index: np.ndarray = np.clip(found, 0, len(timeline.segments) - 1)
    return index


def source_frames(recipe: Recipe, timeline: Timeline | None, frames: np.ndarray) -> np.ndarray:
    """The frame of the track as written heard at each output frame of ``recipe``'s remix
    (``timeline``: its arrangement, from ``_timeline``): int64, the shape of ``frames`` (the
    arrangement's order, then the tempo)."""
    out = np.asarray(frames, dtype=np.int64)
    if timeline is not None:
        index = _segment_index(timeline, out)
        firsts = np.asarray([s.start for s in timeline.segments], dtype=np.int64)
        out = firsts[index] + (out - timeline.starts[index])
    heard: np.ndarray = np.rint(out * recipe.tempo_ratio).astype(np.int64)
    return heard


def _range_max(values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """max(values[lo:hi]) for every pair (hi > lo), by a sparse table: O(n log n) once, then
    two lookups per column."""
    levels = [values]
    width = 1
    while width * 2 <= len(values):
        previous = levels[-1]
        levels.append(np.maximum(previous[:-width], previous[width:]))
        width *= 2
    span = np.maximum(hi - lo, 1)
    level = np.floor(np.log2(span)).astype(np.int64)
    out = np.zeros(len(lo), dtype=values.dtype)
    for k in np.unique(level):
        picked = level == k
        table = levels[int(k)]
        a = np.clip(lo[picked], 0, len(table) - 1)
        b = np.clip(hi[picked] - (1 << int(k)), 0, len(table) - 1)
        out[picked] = np.maximum(table[a], table[b])
    return out


def _stem_gains(
    recipe: Recipe, track: TrackInfo, frames: np.ndarray
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Each stem's linear gain at each output frame (fader, mute, solo, moves), and the
    master's: float32 (len(frames),) each."""
    kinds = list(recipe.stems)
    gains = {kind: np.zeros(len(frames), dtype=np.float32) for kind in kinds}
    master = np.zeros(len(frames), dtype=np.float32)
    states = list(automation.states(recipe.stems, recipe.master, recipe.automation))
    begins = np.asarray([frame for frame, _, _ in states], dtype=np.int64)
    which = np.clip(np.searchsorted(begins, frames, side="right") - 1, 0, len(states) - 1)
    for index in np.unique(which):
        _, stems, master_mix = states[int(index)]
        at = which == index
        soloed = any(stems[k].solo for k in kinds)
        for kind in kinds:
            mix = stems[kind]
            silent = mix.mute or (soloed and not mix.solo)
            gains[kind][at] = 0.0 if silent else db_to_gain(mix.gain_db)
        master[at] = db_to_gain(master_mix.gain_db)
    return gains, master


def _section_heard(timeline: Timeline | None, kind: str, frames: np.ndarray) -> np.ndarray:
    """1 where the arrangement lets ``kind`` play at each output frame, 0 in a section that
    mutes it: float32 (len(frames),)."""
    heard = np.ones(len(frames), dtype=np.float32)
    if timeline is None or not timeline.muting:
        return heard
    index = _segment_index(timeline, frames)
    for number, segment in enumerate(timeline.segments):
        if kind in segment.mutes:
            heard[index == number] = 0.0
    return heard


def lanes(
    recipe: Recipe,
    track: TrackInfo,
    peaks: dict[str, StemPeaks],
    start_s: float,
    end_s: float,
    columns: int,
) -> Lanes:
    """The lanes of ``recipe``'s remix from ``start_s`` to ``end_s`` seconds of its output, in
    ``columns`` columns (``columns`` ≥ 1, ``end_s`` > ``start_s``): the track's stems, then
    the fan's recorded parts (their envelopes in ``peaks`` too)."""
    rate = track.sample_rate
    total = output_frames(recipe, track)
    edges = np.linspace(start_s * rate, end_s * rate, columns + 1)
    begins = np.clip(np.floor(edges[:-1]).astype(np.int64), 0, max(total - 1, 0))
    ends = np.clip(np.ceil(edges[1:]).astype(np.int64), 0, total)
    inside = edges[:-1] < total
    middles = (begins + np.maximum(ends, begins + 1)) // 2
    # Each column reads the source from where it starts for as long as it lasts, at the tempo.
    timeline = _timeline(recipe, track)
    sources = source_frames(recipe, timeline, begins)
    spans = np.maximum(((ends - begins) * recipe.tempo_ratio).astype(np.int64), 1)
    stem_gains, master = _stem_gains(recipe, track, middles)
    out: list[Lane] = []
    mix = np.zeros(columns, dtype=np.float32)
    for kind in (*track.stem_kinds, *recipe.parts):
        envelope = peaks[kind]
        lo = sources // envelope.bin_frames
        hi = np.maximum(-(-(sources + spans) // envelope.bin_frames), lo + 1)
        values = _range_max(envelope.values, lo, hi).astype(np.float32) / FULL_SCALE
        known = (hi <= envelope.done) & inside
        values[~inside] = 0.0
        gain = stem_gains[kind] * _section_heard(timeline, kind, middles)
        gain[~inside] = 0.0
        out.append(Lane(kind, values, gain, known))
        mix += values * gain
    mix = np.minimum(mix * master, 1.0).astype(np.float32)
    first, last = start_s * rate, end_s * rate
    moves = tuple(
        (move.frame / rate, move.target) for move in recipe.automation if first <= move.frame < last
    )
    return Lanes(start_s, end_s, tuple(out), mix, moves)
