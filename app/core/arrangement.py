# SPDX-License-Identifier: GPL-3.0-or-later
"""The arrangement: which of the track's sections play, in what order, with which stems muted,
and the fades at the ends. Sections come from the track's markers, so every edit falls on the
beat grid.

``sections`` of None means the track as written. Otherwise it is a playlist of section indices:
repeat one by listing it twice, drop one by leaving it out, reorder by order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from app.core.track import Section, TrackInfo

MAX_PLAYLIST = 256
MAX_FADE_S = 30.0


@dataclass(frozen=True)
class SectionPlay:
    """One entry of the playlist: a section of the track, with stems muted for its length."""

    section: int
    mutes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Segment:
    """A stretch of source frames ``[start, end)`` in the output, with its muted stems."""

    start: int
    end: int
    mutes: frozenset[str] = frozenset()

    @property
    def frames(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Arrangement:
    sections: tuple[SectionPlay, ...] | None = None
    fade_in_s: float = 0.0
    fade_out_s: float = 0.0

    @property
    def is_default(self) -> bool:
        return self.sections is None and self.fade_in_s == 0.0 and self.fade_out_s == 0.0

    def segments(self, track: TrackInfo) -> list[Segment]:
        """The output as source segments (adjacent sections merge into one segment)."""
        if self.sections is None or not track.sections:
            return [Segment(0, track.frames)]
        bounds = [_frames(track, s.start_s, s.end_s) for s in track.sections]
        bounds[-1] = (bounds[-1][0], track.frames)  # the last section keeps the tail
        segments: list[Segment] = []
        for play in self.sections:
            start, end = bounds[play.section]
            mutes = frozenset(play.mutes)
            last = segments[-1] if segments else None
            if last is not None and last.end == start and last.mutes == mutes:
                segments[-1] = Segment(last.start, end, mutes)
            else:
                segments.append(Segment(start, end, mutes))
        return segments

    def timeline(self, track: TrackInfo) -> list[Section]:
        """The sections as the remix plays them, in seconds of its output before any tempo
        change: a repeated section twice, a dropped one not at all (the last section keeps
        the track's tail, as in ``segments``)."""
        if not track.sections:
            return []
        rate = track.sample_rate
        bounds = [_frames(track, s.start_s, s.end_s) for s in track.sections]
        bounds[-1] = (bounds[-1][0], track.frames)
        if self.sections is None:
            return [
                Section(s.name, start / rate, end / rate)
                for s, (start, end) in zip(track.sections, bounds, strict=True)
            ]
        played, at = [], 0
        for play in self.sections:
            start, end = bounds[play.section]
            played.append(
                Section(track.sections[play.section].name, at / rate, (at + end - start) / rate)
            )
            at += end - start
        return played

    def duration_s(self, track: TrackInfo) -> float:
        return sum(s.frames for s in self.segments(track)) / track.sample_rate

    def check_fits(self, track: TrackInfo) -> None:
        """Raise ValueError for sections the track lacks or stems it does not have."""
        if self.sections is None:
            return
        if not self.sections:
            raise ValueError("an arrangement needs at least one section")
        for play in self.sections:
            if not 0 <= play.section < max(1, len(track.sections)):
                raise ValueError(f"the track has no section {play.section}")
            unknown = set(play.mutes) - set(track.stem_kinds)
            if unknown:
                raise ValueError(f"section {play.section} mutes unknown stems {sorted(unknown)}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "sections": None
            if self.sections is None
            else [{"section": p.section, "mutes": list(p.mutes)} for p in self.sections],
            "fade_in_s": self.fade_in_s,
            "fade_out_s": self.fade_out_s,
        }

    @classmethod
    def from_dict(cls, doc: Any) -> Arrangement:
        """Parse; raises ValueError or TypeError naming the field."""
        if not isinstance(doc, dict):
            raise TypeError("arrangement must be an object")
        unknown = set(doc) - {"sections", "fade_in_s", "fade_out_s"}
        if unknown:
            raise ValueError(f"arrangement: unknown field(s) {', '.join(sorted(unknown))}")
        raw = doc.get("sections")
        sections = None
        if raw is not None:
            if not isinstance(raw, list) or len(raw) > MAX_PLAYLIST:
                raise ValueError(f"arrangement.sections must be a list of at most {MAX_PLAYLIST}")
            sections = tuple(_section_play(item) for item in raw)
        return cls(
            sections=sections,
            fade_in_s=_seconds(doc.get("fade_in_s", 0.0), "fade_in_s"),
            fade_out_s=_seconds(doc.get("fade_out_s", 0.0), "fade_out_s"),
        )


def _frames(track: TrackInfo, start_s: float, end_s: float) -> tuple[int, int]:
    rate = track.sample_rate
    return min(round(start_s * rate), track.frames), min(round(end_s * rate), track.frames)


def _section_play(item: Any) -> SectionPlay:
    if not isinstance(item, dict) or set(item) - {"section", "mutes"}:
        raise ValueError("each arrangement entry is {section, mutes}")
    index, mutes = item.get("section"), item.get("mutes", [])
    if isinstance(index, bool) or not isinstance(index, int):
        raise TypeError("arrangement section must be an integer")
    if not isinstance(mutes, list) or not all(isinstance(m, str) for m in mutes):
        raise TypeError("arrangement mutes must be a list of stem names")
    return SectionPlay(index, tuple(sorted(set(mutes))))


def _seconds(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"arrangement.{name} must be a number")
    try:
        number = float(value)
    except OverflowError:
        raise ValueError(f"arrangement.{name} must be finite") from None
    if not math.isfinite(number) or not 0.0 <= number <= MAX_FADE_S:
        raise ValueError(f"arrangement.{name} must be within 0..{MAX_FADE_S:g} s")
    return number
