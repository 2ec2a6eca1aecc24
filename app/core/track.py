# SPDX-License-Identifier: GPL-3.0-or-later
"""A track's public metadata: what the catalogue shows and the bundle manifest carries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.core.errors import FanfareError

DELIVERY_SAMPLE_RATE = 48_000
STEM_KINDS = ("drums", "bass", "keys", "chords", "lead", "vocal", "pad", "guitar", "fx", "other")


@dataclass(frozen=True)
class Section:
    """A named arrangement section: ``[start_s, end_s)`` in seconds from the track's start."""

    name: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class StemInfo:
    """One stem of a track: its kind and the size of its encrypted blob in bytes."""

    kind: str
    blob_size: int = 0


@dataclass(frozen=True)
class TrackInfo:
    """Public metadata of one track version.

    Attributes:
        frames: length of every stem in frames at ``sample_rate``.
        policy: the artist's policy document (see ``app.core.policy``).
    """

    id: str
    version: int
    title: str
    artist: str
    bpm: float
    key: str
    time_signature: str
    sample_rate: int
    frames: int
    sections: tuple[Section, ...] = ()
    stems: tuple[StemInfo, ...] = ()
    policy: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate

    @property
    def stem_kinds(self) -> tuple[str, ...]:
        return tuple(s.kind for s in self.stems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "title": self.title,
            "artist": self.artist,
            "bpm": self.bpm,
            "key": self.key,
            "time_signature": self.time_signature,
            "sample_rate": self.sample_rate,
            "frames": self.frames,
            "duration_s": round(self.duration_s, 3),
            "sections": [
                {"name": s.name, "start_s": s.start_s, "end_s": s.end_s} for s in self.sections
            ],
            "stems": [{"kind": s.kind, "blob_size": s.blob_size} for s in self.stems],
            "policy": self.policy,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrackInfo:
        """Build from the platform's JSON; raises FanfareError on a malformed document."""
        try:
            return cls(
                id=str(data["id"]),
                version=int(data["version"]),
                title=str(data["title"]),
                artist=str(data["artist"]),
                bpm=float(data["bpm"]),
                key=str(data["key"]),
                time_signature=str(data["time_signature"]),
                sample_rate=int(data["sample_rate"]),
                frames=int(data["frames"]),
                sections=tuple(
                    Section(str(s["name"]), float(s["start_s"]), float(s["end_s"]))
                    for s in data.get("sections", [])
                ),
                stems=tuple(
                    StemInfo(str(s["kind"]), int(s.get("blob_size", 0))) for s in data["stems"]
                ),
                policy=dict(data.get("policy") or {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise FanfareError(f"The platform sent malformed track metadata ({exc}).") from None
