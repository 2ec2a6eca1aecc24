# SPDX-License-Identifier: GPL-3.0-or-later
"""Publishing a track: check source stems, resample, encode, encrypt and register them.

Either the whole track is registered or nothing is: blobs written before a failure are removed.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.bundle import StemHeader, encrypt_stem, new_content_key
from app.core.codec import encode_flac
from app.core.errors import FanfareError
from app.core.policy import Policy
from app.core.track import DELIVERY_SAMPLE_RATE
from app.server import overviews
from app.server.blobs import BlobStore
from app.server.db import Stem, Track, User
from app.server.fingerprint_index import index_track_version
from app.server.vaultkeys import stem_key_purpose, wrap

_STEM_KIND = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
MIN_DURATION_S = 1.0
MAX_DURATION_S = 20 * 60.0
# A stem of another length than its siblings by at most this is padded rather than refused:
# encoders add a few frames of priming; anything longer is a real mismatch.
LENGTH_TOLERANCE_S = 0.05


class IngestError(FanfareError):
    """A track could not be published (the message says which stem and why)."""


@dataclass(frozen=True)
class SourceStem:
    """A stem to ingest: its kind, and its file (read from ``path``, or ``data`` when the
    bytes are at hand already: ``path`` then only names it)."""

    kind: str
    path: Path
    data: bytes | None = None


SILENT_PEAK = 1e-4  # -80 dBFS: nothing a listener would hear
CLIPPED_LEVEL = 0.9999  # a sample at full scale (float or 16/24-bit integer)
CLIPPED_SHARE = 0.001  # a stem with more of its samples there was clipped on export


def _slug(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return slug[:48] or "track"


def _read(stem: SourceStem) -> tuple[np.ndarray, int]:
    if not _STEM_KIND.match(stem.kind):
        raise IngestError(f"'{stem.kind}' is not a valid stem name (lower-case letters, digits).")
    try:
        data = stem.data if stem.data is not None else stem.path.read_bytes()
    except OSError as exc:
        raise IngestError(
            f"Stem '{stem.kind}': cannot read {stem.path} ({exc.strerror})."
        ) from None
    try:
        audio, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
        raise IngestError(
            f"Stem '{stem.kind}': {stem.path.name} is not audio Fanfare can read "
            "(use WAV, FLAC, OGG or AIFF)."
        ) from None
    if audio.shape[1] > 2:
        raise IngestError(f"Stem '{stem.kind}' has {audio.shape[1]} channels; use mono or stereo.")
    if audio.shape[1] == 1:
        audio = np.repeat(audio, 2, axis=1)
    if not np.isfinite(audio).all():
        raise IngestError(f"Stem '{stem.kind}' contains invalid samples (NaN or infinity).")
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak < SILENT_PEAK:
        raise IngestError(
            f"Stem '{stem.kind}' ({stem.path.name}) is silent; leave it out or export it again."
        )
    clipped = float(np.mean(np.abs(audio) >= CLIPPED_LEVEL))
    if clipped > CLIPPED_SHARE:
        raise IngestError(
            f"Stem '{stem.kind}' ({stem.path.name}) clips: {clipped:.1%} of its samples are at "
            "full scale. Export it with some headroom (its peaks a few dB under 0 dBFS)."
        )
    return audio, int(rate)


def load_stems(sources: list[SourceStem]) -> tuple[dict[str, np.ndarray], int]:
    """Read and check every stem, then resample to the delivery rate with soxr.

    Returns:
        stem kind → float32 (frames, 2) at ``DELIVERY_SAMPLE_RATE``, all equally long; and frames.
    """
    if not sources:
        raise IngestError("A track needs at least one stem.")
    kinds = [s.kind for s in sources]
    if len(set(kinds)) != len(kinds):
        raise IngestError("Each stem name may appear only once.")
    loaded = {s.kind: _read(s) for s in sources}
    rates = {rate for _, rate in loaded.values()}
    if len(rates) > 1:
        listing = ", ".join(f"{k}: {r} Hz" for k, (_, r) in loaded.items())
        raise IngestError(f"The stems have different sample rates ({listing}); export them alike.")
    rate = rates.pop()
    lengths = {k: a.shape[0] for k, (a, _) in loaded.items()}
    longest = max(lengths.values())
    if longest - min(lengths.values()) > LENGTH_TOLERANCE_S * rate:
        listing = ", ".join(f"{k}: {n / rate:.2f} s" for k, n in lengths.items())
        raise IngestError(f"The stems have different lengths ({listing}); they must line up.")
    if not MIN_DURATION_S <= longest / rate <= MAX_DURATION_S:
        raise IngestError(
            f"A track must last {MIN_DURATION_S:g} s to {MAX_DURATION_S / 60:g} min; "
            f"these stems last {longest / rate:.1f} s."
        )
    stems = {}
    for kind, (audio, _) in loaded.items():
        padded = np.zeros((longest, 2), dtype=np.float32)
        padded[: audio.shape[0]] = audio
        if rate != DELIVERY_SAMPLE_RATE:
            padded = soxr.resample(padded, rate, DELIVERY_SAMPLE_RATE, quality="VHQ")
        stems[kind] = np.ascontiguousarray(padded, dtype=np.float32)
    frames = min(a.shape[0] for a in stems.values())
    return {k: a[:frames] for k, a in stems.items()}, frames


def publish_track(
    session: Session,
    blobs: BlobStore,
    master_key: bytes,
    *,
    artist: User,
    title: str,
    sources: list[SourceStem],
    bpm: float,
    key: str,
    time_signature: str = "4/4",
    sections: list[dict[str, Any]] | None = None,
    policy: dict[str, Any] | None = None,
    track_id: str | None = None,
    published: bool = True,
) -> Track:
    """Ingest stems as a new track, or as a new version when ``track_id`` names one of the
    artist's tracks. A new version keeps the track's policy and publication unless ``policy``
    is given: re-mastering must not silently reset the artist's rules. ``published``: whether
    a new track is in the catalogue at once (an artist's upload starts as a draft).
    """
    if artist.role not in ("artist", "admin"):
        raise IngestError(f"'{artist.name}' is not an artist account; only artists publish.")
    if not 0 < len(title) <= 200:
        raise IngestError("A title must be 1 to 200 characters long.")
    if not 20 <= bpm <= 300:
        raise IngestError(f"A tempo of {bpm:g} BPM is outside 20..300.")
    policy_doc = Policy.from_dict(policy).to_dict() if policy is not None else None
    stems, frames = load_stems(sources)
    if track_id is None:
        # A new track: its id comes from the title, and must not collide with an existing one.
        track_id = _slug(title)
        if session.get(Track, track_id) is not None:
            raise IngestError(
                f"A track with the id '{track_id}' exists already; pass --track-id "
                f"{track_id} to publish a new version of it, or choose another title."
            )
    existing = session.get(Track, track_id)
    if existing is not None and existing.artist_id != artist.id:
        raise IngestError(f"The track id '{track_id}' belongs to another artist.")
    if policy_doc is None:
        policy_doc = dict(existing.policy) if existing else Policy.from_dict({}).to_dict()
    version = existing.version + 1 if existing is not None else 1
    written: list[str] = []
    rows: list[Stem] = []
    try:
        for position, (kind, audio) in enumerate(stems.items()):
            content_key = new_content_key()
            header = StemHeader(track_id=track_id, track_version=version, stem=kind)
            blob = encrypt_stem(content_key, header, encode_flac(audio, DELIVERY_SAMPLE_RATE))
            name = f"stems/{track_id}/{version}/{kind}.ffstem"
            blobs.put(name, blob)
            written.append(name)
            purpose = stem_key_purpose(track_id, version, kind)
            rows.append(
                Stem(
                    track_id=track_id,
                    version=version,
                    kind=kind,
                    position=position,
                    blob_name=name,
                    blob_size=len(blob),
                    wrapped_key=wrap(master_key, content_key, purpose),
                )
            )
        # The studio's timeline draws these at once instead of decoding every stem again.
        written.append(overviews.keep(blobs, track_id, version, stems))
        values = dict(
            version=version,
            title=title,
            artist_id=artist.id,
            bpm=float(bpm),
            key=key,
            time_signature=time_signature,
            sample_rate=DELIVERY_SAMPLE_RATE,
            frames=frames,
            sections=_check_sections(sections or [], frames / DELIVERY_SAMPLE_RATE),
            policy=policy_doc,
            published=existing.published if existing is not None else published,
        )
        if existing is None:
            track = Track(id=track_id, **values)
            session.add(track)
        else:
            track = existing
            for name, value in values.items():
                setattr(track, name, value)
        session.flush()  # the track's row before the rows that name it (its stems, prints)
        # Its mix and stems, fingerprinted from the audio at hand, in the same commit.
        index_track_version(session, track, stems, DELIVERY_SAMPLE_RATE)
        session.add_all(rows)
        session.commit()
    except BaseException:
        session.rollback()
        for name in written:
            blobs.delete(name)
        raise
    return track


def _check_sections(sections: list[dict[str, Any]], duration_s: float) -> list[dict[str, Any]]:
    checked = []
    for s in sections:
        try:
            start, end, name = float(s["start_s"]), float(s["end_s"]), str(s["name"])
        except (KeyError, TypeError, ValueError):
            raise IngestError("Each section needs a name, start_s and end_s.") from None
        if not 0 <= start < end <= duration_s + 1e-3:
            raise IngestError(f"Section '{name}' ({start:g}..{end:g} s) is outside the track.")
        checked.append({"name": name, "start_s": start, "end_s": min(end, duration_s)})
    return checked


def stems_of(session: Session, track: Track) -> list[Stem]:
    """The current version's stems in their publishing order."""
    query = (
        select(Stem)
        .where(Stem.track_id == track.id, Stem.version == track.version)
        .order_by(Stem.position)
    )
    return list(session.scalars(query))
