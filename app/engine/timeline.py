# SPDX-License-Identifier: GPL-3.0-or-later
"""The arranged timeline: output frames mapped onto source frames, click-free.

Where two segments join that are not contiguous in the source (a repeat, a drop, a reorder),
the first keeps playing past its end into the source while the second starts, and the two are
crossfaded with equal power over ``CROSSFADE_S``. A section's stem mutes ramp over the same
time, and the fades at the ends are equal-power too. The identity arrangement reads the stems
directly, sample for sample.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from app.core.arrangement import Arrangement, Segment
from app.core.recipe import Recipe
from app.core.track import Section, TrackInfo
from app.engine.kernel import equal_power

CROSSFADE_S = 0.005


class Timeline:
    """Maps output frames to source frames for one arrangement of one track."""

    def __init__(self, arrangement: Arrangement, track: TrackInfo) -> None:
        self.segments = arrangement.segments(track)
        self.source_frames = track.frames
        self.identity = arrangement.is_default
        self.frames = sum(s.frames for s in self.segments)
        self.crossfade = max(1, round(CROSSFADE_S * track.sample_rate))
        self.fade_in = round(arrangement.fade_in_s * track.sample_rate)
        self.fade_out = round(arrangement.fade_out_s * track.sample_rate)
        # Starting or ending mid-track would cut into a waveform: give it a crossfade's fade.
        if self.segments and self.segments[0].start > 0:
            self.fade_in = max(self.fade_in, self.crossfade)
        if self.segments and self.segments[-1].end < track.frames:
            self.fade_out = max(self.fade_out, self.crossfade)
        starts = [0]
        for segment in self.segments[:-1]:
            starts.append(starts[-1] + segment.frames)
        self.starts = np.asarray(starts, dtype=np.int64)
        self.muting = any(s.mutes for s in self.segments)

    def read(self, stem: np.ndarray, start: int, frames: int) -> np.ndarray:
        """Source audio for output frames ``[start, start + frames)``: float32 (frames, 2)."""
        if self.identity:
            return stem[start : start + frames]
        out = np.zeros((frames, stem.shape[1]), dtype=np.float32)
        for index, segment, lo, hi in self._overlaps(start, frames):
            offset = lo - self.starts[index]
            piece = _slice(stem, segment.start + offset, hi - lo)
            previous = self.segments[index - 1] if index > 0 else None
            if previous is not None and previous.end != segment.start and offset < self.crossfade:
                # Join: fade this segment in while the previous one plays on past its end.
                n = min(hi - lo, self.crossfade - offset)
                ramp = (np.arange(offset, offset + n) + 0.5) / self.crossfade
                fade_in, fade_out = (curve[:, None] for curve in equal_power(ramp))
                tail = _slice(stem, previous.end + offset, n)
                piece = piece.copy()
                piece[:n] = piece[:n] * fade_in + tail * fade_out
            following = self.segments[index + 1] if index + 1 < len(self.segments) else None
            if (
                following is not None
                and following.start != segment.end
                and segment.end + self.crossfade > self.source_frames
            ):
                # No source past this segment to crossfade with: fade it out before the join.
                remaining = segment.frames - (offset + np.arange(hi - lo))
                fade = np.clip((remaining - 0.5) / self.crossfade, 0.0, 1.0)
                if fade.min() < 1.0:
                    piece = piece * equal_power(fade)[0][:, None]
            out[lo - start : hi - start] = piece
        return out

    def stem_gain(self, kind: str, start: int, frames: int) -> np.ndarray | None:
        """Per-frame gain (frames,) for the section mutes of ``kind``; None when all unity."""
        if not self.muting:
            return None
        width = frames + 2 * self.crossfade
        heard = np.ones(width, dtype=np.int32)
        # Hard 0/1 per frame, with a margin either side, then smoothed: mute edges ramp.
        first = start - self.crossfade
        for _, segment, lo, hi in self._overlaps(first, width):
            if kind in segment.mutes:
                heard[lo - first : hi - first] = 0
        if heard.all():
            return None
        # A moving average over one crossfade, from whole-number counts: each frame's gain
        # depends only on its neighbourhood, so any block size gives the same samples.
        counts = np.concatenate(([0], np.cumsum(heard)))
        half = self.crossfade // 2
        lo_edge = np.arange(self.crossfade, self.crossfade + frames) - half
        window = counts[lo_edge + self.crossfade] - counts[lo_edge]
        return (window / self.crossfade).astype(np.float32)

    def master_gain(self, start: int, frames: int) -> np.ndarray | None:
        """The fades in and out (equal power) for output frames; None when all unity."""
        positions = np.arange(start, start + frames)
        gain = np.ones(frames, dtype=np.float32)
        touched = False
        if self.fade_in and start < self.fade_in:
            gain *= equal_power(np.clip((positions + 0.5) / self.fade_in, 0.0, 1.0))[0]
            touched = True
        if self.fade_out and start + frames > self.frames - self.fade_out:
            remaining = np.clip((self.frames - positions - 0.5) / self.fade_out, 0.0, 1.0)
            gain *= equal_power(remaining)[0]
            touched = True
        return gain if touched else None

    def segment_at(self, frame: int) -> tuple[int, int]:
        """Output frames ``[start, end)`` of the segment playing at output ``frame``."""
        index = int(np.searchsorted(self.starts, frame, side="right")) - 1
        index = max(0, min(index, len(self.segments) - 1))
        start = int(self.starts[index])
        return start, start + self.segments[index].frames

    def source_position(self, frame: int) -> int:
        """The source frame heard at output ``frame`` (for showing the playhead on sections)."""
        if self.identity or not self.segments:
            return frame
        index = int(np.searchsorted(self.starts, frame, side="right")) - 1
        index = max(0, min(index, len(self.segments) - 1))
        return self.segments[index].start + (frame - int(self.starts[index]))

    def _overlaps(self, start: int, frames: int) -> list[tuple[int, Segment, int, int]]:
        """(segment index, segment, output lo, output hi) for segments meeting the window."""
        end = start + frames
        found = []
        first = max(0, int(np.searchsorted(self.starts, start, side="right")) - 1)
        for index in range(first, len(self.segments)):
            lo = int(self.starts[index])
            hi = lo + self.segments[index].frames
            if lo >= end:
                break
            if hi > start:
                found.append((index, self.segments[index], max(lo, start), min(hi, end)))
        return found


def _slice(stem: np.ndarray, start: int, frames: int) -> np.ndarray:
    """``frames`` source frames from ``start``, zero-padded past the stem's end."""
    piece = stem[max(0, start) : max(0, start + frames)]
    if piece.shape[0] == frames:
        return piece
    padded = np.zeros((frames, stem.shape[1]), dtype=np.float32)
    padded[: piece.shape[0]] = piece
    return padded


def read(stem: Any, name: str, timeline: Timeline | None, start: int, frames: int) -> np.ndarray:
    """Stem ``name``'s audio (``stem``: its source) for output frames ``[start, start +
    frames)``, arranged by ``timeline`` (None: as written) and with its section mutes, before
    its effects: float32 (n, 2), n ≤ frames (shorter past the stem's end)."""
    if timeline is None:
        piece: np.ndarray = stem[start : start + frames]
        return piece
    piece = timeline.read(stem, start, min(frames, max(0, timeline.frames - start)))
    section_gain = timeline.stem_gain(name, start, piece.shape[0])
    if section_gain is not None:
        piece = piece * section_gain[:, None]
    return piece


def retimed(track: TrackInfo, ratio: float, frames: int) -> TrackInfo:
    """``track``'s sections on the timeline of its stems played at ``ratio`` times the speed
    (``frames`` long)."""
    sections = tuple(Section(s.name, s.start_s / ratio, s.end_s / ratio) for s in track.sections)
    return replace(track, frames=frames, sections=sections)


def output_frames(recipe: Recipe, track: TrackInfo) -> int:
    """The exact length in frames of what a mixer renders for ``recipe`` (stems of
    ``track.frames``): the arranged sections on the timeline retimed by the tempo."""
    if recipe.tempo_ratio == 1.0 and recipe.key_shift == 0:
        timed = track
    else:
        timed = retimed(track, recipe.tempo_ratio, round(track.frames / recipe.tempo_ratio))
    if recipe.arrangement.is_default:
        return timed.frames
    return sum(segment.frames for segment in recipe.arrangement.segments(timed))


def section_at(
    timeline: Timeline | None, track: TrackInfo | None, tempo_ratio: float, frames: int, frame: int
) -> tuple[int, int]:
    """The output frames ``[start, end)`` of the section (or arranged segment) at output
    ``frame``, for a remix ``frames`` long played at ``tempo_ratio``; ``timeline`` None: the
    sections as written; no ``track``: the whole remix."""
    if timeline is not None:
        return timeline.segment_at(frame)
    sections = track.sections if track is not None else ()
    rate = track.sample_rate / tempo_ratio if track is not None else 0.0
    for section in sections:
        start, end = round(section.start_s * rate), round(section.end_s * rate)
        if start <= frame < end:
            return start, min(end, frames)
    return 0, frames


def source_position(timeline: Timeline | None, tempo_ratio: float, frame: int) -> int:
    """The frame of the track as written heard at output ``frame`` (for the sections display)."""
    position = timeline.source_position(frame) if timeline is not None else frame
    return round(position * tempo_ratio)
