# SPDX-License-Identifier: GPL-3.0-or-later
"""Effect settings as data: a channel strip's chain and the master's, with their ranges.

Every effect has a neutral setting (no EQ gain, filters wide open, ratio 1, no drive, mix 0)
and an effect at its neutral setting is *inactive*: the engine leaves it out of the chain, and
the policy does not count it as used. Units are in the names: ``_db``, ``_hz``, ``_s``; mixes
and feedback are fractions 0..1.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

# (low, high) of every parameter; a value outside is refused, never clamped silently.
RANGES: dict[str, tuple[float, float]] = {
    "low_db": (-24.0, 12.0),
    "mid_db": (-24.0, 12.0),
    "mid_hz": (100.0, 8000.0),
    "high_db": (-24.0, 12.0),
    "highpass_hz": (20.0, 2000.0),
    "lowpass_hz": (500.0, 20000.0),
    "threshold_db": (-60.0, 0.0),
    "ratio": (1.0, 20.0),
    "drive_db": (0.0, 40.0),
    "time_s": (0.01, 2.0),
    "feedback": (0.0, 0.95),
    "mix": (0.0, 1.0),
    "room_size": (0.0, 1.0),
    "rate_hz": (0.1, 10.0),
    "depth": (0.0, 1.0),
}
EFFECT_NAMES = ("eq", "filter", "compressor", "drive", "delay", "reverb", "chorus")
LOW_SHELF_HZ = 120.0
HIGH_SHELF_HZ = 8000.0


@dataclass(frozen=True)
class Eq:
    """Three bands: a low shelf at 120 Hz, a peak at ``mid_hz``, a high shelf at 8 kHz."""

    low_db: float = 0.0
    mid_db: float = 0.0
    mid_hz: float = 1000.0
    high_db: float = 0.0

    @property
    def active(self) -> bool:
        return any((self.low_db, self.mid_db, self.high_db))


@dataclass(frozen=True)
class Filter:
    """A high-pass and a low-pass; wide open (20 Hz, 20 kHz) is inactive."""

    highpass_hz: float = 20.0
    lowpass_hz: float = 20000.0

    @property
    def active(self) -> bool:
        return self.highpass_hz > 20.0 or self.lowpass_hz < 20000.0


@dataclass(frozen=True)
class Compressor:
    threshold_db: float = 0.0
    ratio: float = 1.0

    @property
    def active(self) -> bool:
        return self.ratio > 1.0 and self.threshold_db < 0.0


@dataclass(frozen=True)
class Delay:
    time_s: float = 0.25
    feedback: float = 0.3
    mix: float = 0.0

    @property
    def active(self) -> bool:
        return self.mix > 0.0


@dataclass(frozen=True)
class Reverb:
    """A send to a shared room (app.engine.rooms): ``mix`` of the stem goes to the room of
    ``room_size`` (0..1), and the stem itself goes on at ``1 - mix``."""

    room_size: float = 0.5
    mix: float = 0.0

    @property
    def active(self) -> bool:
        return self.mix > 0.0


@dataclass(frozen=True)
class Chorus:
    rate_hz: float = 1.0
    depth: float = 0.25
    mix: float = 0.0

    @property
    def active(self) -> bool:
        return self.mix > 0.0


@dataclass(frozen=True)
class StemFx:
    """A channel strip's chain, in signal order: EQ, filter, compressor, drive, chorus, delay,
    reverb (after the fader and pan, as a send)."""

    eq: Eq = Eq()
    filter: Filter = Filter()
    compressor: Compressor = Compressor()
    drive_db: float = 0.0
    chorus: Chorus = Chorus()
    delay: Delay = Delay()
    reverb: Reverb = Reverb()

    def active_effects(self) -> list[str]:
        """Names (from EFFECT_NAMES) of the effects that change the sound."""
        active = [
            name
            for name in ("eq", "filter", "compressor", "chorus", "delay", "reverb")
            if getattr(self, name).active
        ]
        if self.drive_db > 0.0:
            active.append("drive")
        return sorted(active, key=EFFECT_NAMES.index)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: Any) -> StemFx:
        """Parse and range-check; raises ValueError or TypeError with the field's name."""
        doc = _object(doc, "fx")
        unknown = set(doc) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown effect(s) {', '.join(sorted(unknown))}")
        return cls(
            eq=_section(Eq, doc.get("eq", {}), "eq"),
            filter=_section(Filter, doc.get("filter", {}), "filter"),
            compressor=_section(Compressor, doc.get("compressor", {}), "compressor"),
            drive_db=_value("drive_db", doc.get("drive_db", 0.0), "drive_db"),
            chorus=_section(Chorus, doc.get("chorus", {}), "chorus"),
            delay=_section(Delay, doc.get("delay", {}), "delay"),
            reverb=_section(Reverb, doc.get("reverb", {}), "reverb"),
        )


@dataclass(frozen=True)
class MasterFx:
    """The master bus before the limiter: EQ and a glue compressor."""

    eq: Eq = Eq()
    compressor: Compressor = Compressor()

    def active_effects(self) -> list[str]:
        return [name for name in ("eq", "compressor") if getattr(self, name).active]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: Any) -> MasterFx:
        doc = _object(doc, "master fx")
        unknown = set(doc) - {"eq", "compressor"}
        if unknown:
            raise ValueError(f"unknown master effect(s) {', '.join(sorted(unknown))}")
        return cls(
            eq=_section(Eq, doc.get("eq", {}), "master eq"),
            compressor=_section(Compressor, doc.get("compressor", {}), "master compressor"),
        )


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"{where} must be an object")
    return value


def _section(kind: type, doc: Any, where: str) -> Any:
    doc = _object(doc, where)
    names = {f.name for f in fields(kind)}
    unknown = set(doc) - names
    if unknown:
        raise ValueError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}")
    defaults = kind()
    return kind(**{n: _value(n, doc.get(n, getattr(defaults, n)), f"{where}.{n}") for n in names})


def _value(name: str, value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{where} must be a number")
    try:
        number = float(value)
    except OverflowError:
        raise ValueError(f"{where} must be finite") from None
    low, high = RANGES[name]
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError(f"{where} = {value!r:.20} is outside {low:g}..{high:g}")
    return number
