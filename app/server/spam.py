# SPDX-License-Identifier: GPL-3.0-or-later
"""The spam gate: what an upload must pass before verification spends CPU re-rendering it.

- **A quota by tier**: remixes an account may send through verification per UTC day
  (``ServerConfig.uploads_per_day_*``); what the gate refuses first does not count.
- **Not the same remix twice**: the same account's recipe for the same track version again.
- **Not the original in disguise, not a copy**: the upload's Chromaprint fingerprint must
  differ from the licensed track's own mix and from each of its stems by at least the policy's
  ``min_difference`` (the share of fingerprint bits that differ, 0.5 for unrelated audio), and
  must not match the account's own remixes, other fans' remixes or another catalogue track.

Every upload that reaches the gate is counted with its outcome (``UploadAttempt``): the
operator's metrics.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from hashlib import sha256

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.encoding import canonical_json
from app.core.policy import Policy
from app.core.recipe import Recipe
from app.server.config import ServerConfig
from app.server.db import Derivative, Track, UploadAttempt, User, now_s
from app.server.fingerprint_index import FingerprintIndex, track_fingerprints
from app.server.fingerprints import difference
from app.server.reviews import REFUSED, TAKEN_DOWN

#: Two remixes whose fingerprints differ in fewer bits than this are the same sound: a
#: duplicate (a re-encode of one file measures ~0.03; two honest remixes of a track >0.27).
DUPLICATE_BER = 0.10


class GateRefusal(Exception):
    """Refused at the gate: ``reason`` is what the metrics count, the message the fan's
    sentence, ``status`` the HTTP status."""

    def __init__(self, reason: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status


def day_start(now: int) -> int:
    """The start of the UTC day holding ``now`` (Unix seconds)."""
    return now - now % 86_400


def check_quota(session: Session, config: ServerConfig, user: User, now: int | None = None) -> None:
    """Refuse when the account has used its verifications for today.

    Raises:
        GateRefusal: ``quota``, 429, saying when the quota resets.
    """
    now = now_s() if now is None else now
    limit = (
        config.uploads_per_day_superfan if user.tier == "superfan" else config.uploads_per_day_free
    )
    used = session.scalar(
        select(func.count())
        .select_from(UploadAttempt)
        .where(UploadAttempt.user_id == user.id, UploadAttempt.costly.is_(True))
        .where(UploadAttempt.at >= day_start(now))
    )
    if int(used or 0) >= limit:
        resets = day_start(now) + 86_400
        hours, minutes = divmod((resets - now + 59) // 60, 60)
        raise GateRefusal(
            "quota",
            f"You have sent {limit} remixes for verification today, the {user.tier} tier's "
            f"quota; it resets at 00:00 UTC, in {hours} h {minutes:02d} min.",
            429,
        )


def check_recipe_again(session: Session, user: User, recipe: Recipe) -> None:
    """Refuse the account's own recipe for the same track version a second time (a remix
    refused or taken down may be sent again only changed).

    Raises:
        GateRefusal: ``duplicate``, 409.
    """
    digest = recipe.digest()
    for row in session.scalars(
        select(Derivative).where(
            Derivative.user_id == user.id,
            Derivative.track_id == recipe.track_id,
            Derivative.track_version == recipe.track_version,
        )
    ):
        if sha256(canonical_json(row.recipe)).hexdigest() == digest:
            when = "was refused" if row.status in (REFUSED, TAKEN_DOWN) else "is already there"
            raise GateRefusal(
                "duplicate",
                f"You have sent this exact remix before ('{row.title}', {row.id}) and it {when}: "
                "change something to make a new one.",
                409,
            )


@dataclass(frozen=True)
class SoundCheck:
    """What the gate measured of an upload's sound (for the record and the tests)."""

    fingerprint: np.ndarray
    #: Least difference to the licensed track's own mix and to each of its stems.
    difference_from_original: float
    closest_original: str  # "mix" or the stem's kind


def check_sound(
    session: Session,
    index: FingerprintIndex,
    fp: np.ndarray,
    *,
    track: Track,
    user: User,
    policy: Policy,
    restyled: bool = False,
) -> SoundCheck:
    """Refuse an upload whose fingerprint ``fp`` is the licensed track's mix or one of its
    stems in disguise, one of the account's own remixes again, another fan's remix or another
    catalogue track. ``restyled``: a style model plays one of its audible stems (a new
    performance of that part, which the re-render proves), so keeping the song's notes is not
    being the original mix: the mix check is left out, the others stay.

    Raises:
        GateRefusal: ``original``, ``stem``, ``duplicate``, ``copy`` or ``other-track``.
    """
    closest, least = "mix", 0.5
    for name, original in track_fingerprints(session, track.id, track.version).items():
        ber = difference(fp, original).ber
        if ber < least:
            closest, least = name, ber
    for hit in index.lookup(fp, limit=8):
        entry = hit.entry
        if entry.track_id == track.id and entry.subject in ("mix", "stem"):
            continue  # measured above, exactly
        if entry.subject == "derivative" and hit.ber < DUPLICATE_BER:
            row = session.get(Derivative, entry.derivative_id)
            if row is None or row.status == REFUSED:
                continue
            if row.user_id == user.id:
                raise GateRefusal(
                    "duplicate",
                    f"This sounds the same as your remix '{row.title}' ({row.id}): publish "
                    "something new rather than the same remix again.",
                    409,
                )
            raise GateRefusal(
                "copy",
                f"This sounds the same as another fan's remix ('{row.title}'): only your "
                "own remixes can be published.",
            )
        if (
            entry.subject in ("mix", "stem")
            and entry.track_id != track.id
            and hit.ber < policy.min_difference
        ):
            other = session.get(Track, entry.track_id)
            raise GateRefusal(
                "other-track",
                "This sounds like another track in the catalogue"
                + (f" ('{other.title}')" if other else "")
                + f", not a remix of '{track.title}'.",
            )
    if least < policy.min_difference and not (restyled and closest == "mix"):
        if closest == "mix":
            raise GateRefusal(
                "original",
                f"This is too close to the original mix of '{track.title}' to be a remix "
                f"({least:.0%} of its fingerprint differs; the artist asks for at least "
                f"{policy.min_difference:.0%}): change more than that.",
            )
        raise GateRefusal(
            "stem",
            f"This is too close to the {closest} stem of '{track.title}' on its own "
            f"({least:.0%} of its fingerprint differs; the artist asks for at least "
            f"{policy.min_difference:.0%}): a remix is more than one stem with effects.",
        )
    return SoundCheck(fp, least, closest)


def count(session: Session, user: User, outcome: str, *, costly: bool) -> None:
    """Keep one upload's outcome for the metrics (and, when ``costly``, the quota)."""
    session.add(UploadAttempt(user_id=user.id, at=now_s(), outcome=outcome, costly=costly))
    session.commit()


def metrics(session: Session, since: int = 0) -> dict[str, int]:
    """Uploads by outcome since ``since`` (Unix seconds): "published" and each refusal."""
    rows = session.execute(
        select(UploadAttempt.outcome, func.count())
        .where(UploadAttempt.at >= since)
        .group_by(UploadAttempt.outcome)
    )
    return dict(Counter({str(outcome): int(n) for outcome, n in rows}))
