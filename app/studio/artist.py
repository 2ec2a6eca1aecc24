# SPDX-License-Identifier: GPL-3.0-or-later
"""The artist's side of the studio: their own tracks and where each stands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.core.errors import FanfareError
from app.core.track import TrackInfo


@dataclass(frozen=True)
class OwnTrack:
    """One of the signed-in artist's tracks, with its catalogue flags."""

    info: TrackInfo
    published: bool
    remix_opt_in: bool
    required_tier: str

    @property
    def state(self) -> str:
        """Where it stands, in words: what fans can do with it now."""
        if not self.published:
            return "not published"
        if not self.remix_opt_in:
            return "published, closed to remixes"
        return "open to remixes" + (" (superfans)" if self.required_tier == "superfan" else "")

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> OwnTrack:
        """From the platform's track document; raises FanfareError when it is malformed."""
        try:
            return cls(
                info=TrackInfo.from_dict(doc),
                published=bool(doc["published"]),
                remix_opt_in=bool(doc["remix_opt_in"]),
                required_tier=str(doc.get("required_tier", "free")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise FanfareError(f"The platform sent a malformed track ({exc}).") from None
