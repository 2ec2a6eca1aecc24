# SPDX-License-Identifier: GPL-3.0-or-later
"""A fan's own recorded part (a cover's vocal, an instrument played over the track), as data.

A part names its audio by the SHA-256 of the take's FLAC file (the fan's own recording, kept
in the studio's takes folder and uploaded with a remix that uses it), the piece of the take it
uses (``offset`` and ``frames``, the trim) and where that piece sounds in the track as written
(``at_frame``, in frames of the track's own timeline: the arrangement and tempo move a part as
they move every stem). ``role`` says what it is for the disclosure ("vocal" or "instrument");
``replaces`` names the track stem it stands in for, if any (a cover's lead vocal): the
artist's policy says which stems a part may replace (``own_parts`` in ``app.core.policy``).

Wire form, in a recipe's ``parts`` object by the part's stem name::

    {"role": "vocal", "take": "<64 hex>", "offset": 0, "frames": 480000,
     "at_frame": 96000, "replaces": "lead" | null}
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from app.core.validate import integer, mapping, string

ROLES = ("vocal", "instrument")
#: Most parts one remix may hold: each is a stem to mix, verify and store.
MAX_PARTS = 4
#: A part's stem name: lower case, like a track's stem kinds, and never one of them.
NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class OwnPart:
    """One recorded part of a remix (see the module docstring for the fields; frames at the
    track's sample rate)."""

    role: str
    take: str
    offset: int
    frames: int
    at_frame: int
    replaces: str | None = None

    @property
    def end_frame(self) -> int:
        """The frame of the track as written where the part stops sounding."""
        return self.at_frame + self.frames

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "take": self.take,
            "offset": self.offset,
            "frames": self.frames,
            "at_frame": self.at_frame,
            "replaces": self.replaces,
        }

    @classmethod
    def from_dict(cls, doc: object) -> OwnPart:
        """Parse a part strictly; raises TypeError or ValueError with the reason."""
        doc = mapping(doc)
        unknown = sorted(set(doc) - {"role", "take", "offset", "frames", "at_frame", "replaces"})
        if unknown:
            raise ValueError(f"unknown part field(s) {', '.join(unknown)}")
        replaces = doc.get("replaces")
        part = cls(
            role=string(doc["role"]),
            take=string(doc["take"]),
            offset=integer(doc.get("offset", 0)),
            frames=integer(doc["frames"]),
            at_frame=integer(doc.get("at_frame", 0)),
            replaces=None if replaces is None else string(replaces),
        )
        part.check()
        return part

    def check(self) -> None:
        """Raise ValueError for a part no recipe could hold."""
        if self.role not in ROLES:
            raise ValueError(f"a part's role is one of {', '.join(ROLES)}, got {self.role!r:.40}")
        if not _DIGEST.match(self.take):
            raise ValueError("a part names its take by a SHA-256 in lower-case hex")
        if self.offset < 0 or self.at_frame < 0 or self.frames < 1:
            raise ValueError("a part's offset and place are at least 0 and its length at least 1")


def role_words(role: str) -> str:
    """The disclosure's words for a part of ``role``: "fan-recorded vocal"."""
    return f"fan-recorded {role}"
