# SPDX-License-Identifier: GPL-3.0-or-later
"""The artist's side of the studio: their own tracks and where each stands.

A track is a draft (only its artist sees it), live (fans may remix it), paused (no new
licences; published remixes stay) or withdrawn (gone, its remixes hidden, fans' licences
revoked). The platform keeps the rules (``app.server.track_states``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.core.errors import FanfareError
from app.core.track import TrackInfo

STATES = ("draft", "live", "paused", "withdrawn")
STATE_WORDS = {
    "draft": "draft: only you see it",
    "live": "live: open to remixes",
    "paused": "paused: no new remixes",
    "withdrawn": "withdrawn: remixes hidden",
}


@dataclass(frozen=True)
class OwnTrack:
    """One of the signed-in artist's tracks, with its catalogue flags."""

    info: TrackInfo
    state: str  # draft, live, paused or withdrawn
    required_tier: str
    policy_version: int = 1
    #: After an upload: what the artist should know of stems taken as they are.
    notes: tuple[str, ...] = ()

    @property
    def state_words(self) -> str:
        """Where it stands, in words: what fans can do with it now."""
        words = STATE_WORDS.get(self.state, self.state)
        if self.state == "live" and self.required_tier == "superfan":
            words += " (superfans)"
        return words

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> OwnTrack:
        """From the platform's track document; raises FanfareError when it is malformed."""
        try:
            return cls(
                info=TrackInfo.from_dict(doc),
                state=str(doc["state"]),
                required_tier=str(doc.get("required_tier", "free")),
                policy_version=int(doc.get("policy_version", 1)),
                notes=tuple(str(n) for n in doc.get("notes", ())),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise FanfareError(f"The platform sent a malformed track ({exc}).") from None
