# SPDX-License-Identifier: GPL-3.0-or-later
"""An artist's track, uploaded from the app stem by stem, resumable, then ingested as a draft.

The artist says first what is coming (title, tempo, key, sections, policy, and each stem's
kind, size and SHA-256); the stems then arrive in pieces at known offsets, so that a dropped
connection or a closed app resumes where the platform's part ends. Finishing checks every
stem's bytes against its hash and runs the same ingest as every track (checks, soxr to the
delivery rate, FLAC, a key per stem, registered at once or not at all). The track starts as a
draft that only its artist sees.

Each piece is a blob of its own (``uploads/<id>/<kind>/<offset>``), whole or absent after a
crash, in a folder or an object store alike (S3 objects cannot be appended to).
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path
from typing import Any

import soundfile as sf
from sqlalchemy.orm import Session

from app.core.errors import PolicyError
from app.core.policy import Policy
from app.server.blobs import BlobStore
from app.server.db import Track, TrackState, Upload, User, new_id
from app.server.ingest import IngestError, SourceStem, publish_track

MAX_STEMS = 16
MAX_STEM_BYTES = 1024 * 1024 * 1024  # a 10-minute 96 kHz 32-bit WAV is about 460 MB
CHUNK_BYTES = 8 * 1024 * 1024  # the most one request carries
_KIND = re.compile(r"^[a-z][a-z0-9]{0,31}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class UploadError(Exception):
    """A refused upload step; ``status`` is the HTTP answer and the message says why."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def start(session: Session, artist: User, meta: dict[str, Any]) -> Upload:
    """Open an upload for ``meta`` (checked here, before a byte arrives)."""
    if artist.role not in ("artist", "admin"):
        raise UploadError("Only artists upload tracks.", 403)
    stems = meta.get("stems")
    if not isinstance(stems, list) or not 1 <= len(stems) <= MAX_STEMS:
        raise UploadError(f"A track has 1 to {MAX_STEMS} stems.")
    kinds = []
    for stem in stems:
        kind = stem.get("kind") if isinstance(stem, dict) else None
        if not isinstance(kind, str) or not _KIND.match(kind):
            raise UploadError(
                f"'{kind}' is not a stem name: lower-case letters and digits, from a letter."
            )
        size, digest = stem.get("size"), stem.get("sha256")
        if not isinstance(size, int) or not 0 < size <= MAX_STEM_BYTES:
            raise UploadError(f"Stem '{kind}': its size must be 1 byte to 1 GiB.")
        if not isinstance(digest, str) or not _SHA256.match(digest):
            raise UploadError(f"Stem '{kind}': its SHA-256 must be 64 hex digits.")
        kinds.append(kind)
    if len(set(kinds)) != len(kinds):
        raise UploadError("Each stem name may appear only once.")
    title = meta.get("title")
    if not isinstance(title, str) or not 0 < len(title.strip()) <= 200:
        raise UploadError("A title must be 1 to 200 characters long.")
    bpm = meta.get("bpm")
    if not isinstance(bpm, int | float) or not 20 <= bpm <= 300:
        raise UploadError("A tempo must be 20 to 300 BPM.")
    if meta.get("policy") is not None:
        try:
            Policy.from_dict(meta["policy"])
        except PolicyError as exc:
            raise UploadError(str(exc)) from None
    row = Upload(id=new_id("upl"), artist_id=artist.id, meta=dict(meta))
    session.add(row)
    session.commit()
    return row


def _pieces(blobs: BlobStore, upload: Upload, kind: str) -> list[tuple[str, int]]:
    """The pieces of ``kind`` held, in order, as (blob name, size), up to the first gap (a
    piece past a gap was sent ahead of one that never arrived: it is sent again)."""
    folder = f"uploads/{upload.id}/{kind}/"
    found = {
        int(name.rsplit("/", 1)[1]): (name, size)
        for name, size in blobs.sizes(folder).items()
        if name.rsplit("/", 1)[1].isdigit()
    }
    pieces, held = [], 0
    while held in found and found[held][1] > 0:
        pieces.append(found[held])
        held += found[held][1]
    return pieces


def _held(blobs: BlobStore, upload: Upload, kind: str) -> int:
    return sum(size for _, size in _pieces(blobs, upload, kind))


def _assembled(blobs: BlobStore, upload: Upload, kind: str) -> bytes:
    return b"".join(blobs.get(name) for name, _ in _pieces(blobs, upload, kind))


def _drop(blobs: BlobStore, upload: Upload, kind: str) -> None:
    for name in blobs.sizes(f"uploads/{upload.id}/{kind}/"):
        blobs.delete(name)


def _declared(upload: Upload, kind: str) -> dict[str, Any]:
    for stem in upload.meta["stems"]:
        if stem["kind"] == kind:
            return dict(stem)
    raise UploadError(f"This upload has no stem '{kind}'.", 404)


def received(blobs: BlobStore, upload: Upload) -> dict[str, int]:
    """Bytes the platform holds of each stem: where each one resumes."""
    return {stem["kind"]: _held(blobs, upload, stem["kind"]) for stem in upload.meta["stems"]}


def append(blobs: BlobStore, upload: Upload, kind: str, offset: int, data: bytes) -> int:
    """Add ``data`` to ``kind``'s part at ``offset`` (which must be where it ends); returns
    the bytes held. Written whole and durably before the answer, so a crash keeps what was
    answered; the same piece sent twice (a retry whose answer was lost) is held once."""
    if upload.track_id is not None:
        raise UploadError("This upload is finished.", 409)
    declared = _declared(upload, kind)
    held = _held(blobs, upload, kind)
    if offset != held:
        raise UploadError(
            f"Stem '{kind}': the platform holds {held} bytes; resume from there.", 409
        )
    if held + len(data) > declared["size"]:
        raise UploadError(f"Stem '{kind}' is longer than the {declared['size']} bytes declared.")
    if data:
        blobs.put(f"uploads/{upload.id}/{kind}/{offset:012d}", data)
    return held + len(data)


def finish(session: Session, blobs: BlobStore, master_key: bytes, upload: Upload) -> Track:
    """Check every stem against its hash and ingest the track as a draft.

    Raises:
        UploadError: a stem incomplete or damaged (its part is dropped, to be sent again), or
            the ingest's sentence (different lengths or rates, silence, clipping...).
    """
    if upload.track_id is not None:
        track = session.get(Track, upload.track_id)
        if track is not None:
            return track  # finished already: the same answer again
    meta = upload.meta
    held = received(blobs, upload)
    missing = [f"{k} ({held[k]} of {s['size']} bytes)"
               for s in meta["stems"] if held[(k := s["kind"])] != s["size"]]  # fmt: skip
    if missing:
        raise UploadError("Some stems are not all here yet: " + ", ".join(missing) + ".", 409)
    parts = {stem["kind"]: _assembled(blobs, upload, stem["kind"]) for stem in meta["stems"]}
    for stem in meta["stems"]:
        if hashlib.sha256(parts[stem["kind"]]).hexdigest() != stem["sha256"]:
            _drop(blobs, upload, stem["kind"])
            raise UploadError(
                f"Stem '{stem['kind']}' arrived damaged (its SHA-256 differs); send it again."
            )
    artist = session.get(User, upload.artist_id)
    assert artist is not None
    try:
        track = publish_track(
            session,
            blobs,
            master_key,
            artist=artist,
            title=str(meta["title"]).strip(),
            sources=[SourceStem(k, Path(k), parts[k]) for k in parts],
            bpm=float(meta["bpm"]),
            key=str(meta.get("key") or "unknown"),
            time_signature=str(meta.get("time_signature") or "4/4"),
            sections=meta.get("sections") or [],
            policy=meta.get("policy"),
            published=False,
        )
    except IngestError as exc:
        raise UploadError(str(exc)) from None
    notes = notes_for(parts)
    session.add(TrackState(track_id=track.id, state="draft"))
    track.remix_opt_in = False
    upload.track_id = track.id
    upload.meta = dict(upload.meta) | {"notes": notes}
    session.commit()
    for kind in parts:
        _drop(blobs, upload, kind)
    return track


def notes_for(parts: dict[str, bytes]) -> list[str]:
    """What the artist should know of stems (their files' bytes, by kind) that were taken as
    they are: a mono stem among stereo ones sits in the centre of every mix."""
    channels = {}
    for kind, data in parts.items():
        try:
            channels[kind] = sf.info(io.BytesIO(data)).channels
        except (sf.LibsndfileError, RuntimeError, OSError, TypeError):
            continue
    if len(set(channels.values())) < 2:
        return []
    return [
        f"Stem '{kind}' is mono while others are stereo: it sits in the centre of the mix. "
        "Upload it again in stereo if it should be wide."
        for kind, count in channels.items()
        if count == 1
    ]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as part:
        for block in iter(lambda: part.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def upload_doc(blobs: BlobStore, upload: Upload) -> dict[str, Any]:
    return {
        "upload_id": upload.id,
        "title": upload.meta.get("title"),
        "stems": [{"kind": s["kind"], "size": s["size"]} for s in upload.meta["stems"]],
        "received": received(blobs, upload),
        "track_id": upload.track_id,
        "chunk_bytes": CHUNK_BYTES,
        "notes": list(upload.meta.get("notes", [])),
    }


def upload_files(
    session: Session,
    blobs: BlobStore,
    master_key: bytes,
    artist: User,
    meta: dict[str, Any],
    files: dict[str, Path],
) -> Track:
    """The whole upload path for stem files on this machine (the demo's seed): declared,
    sent in pieces, checked and ingested, as the app's upload does over the API."""
    stems = [
        {"kind": kind, "size": path.stat().st_size, "sha256": _sha256(path)}
        for kind, path in files.items()
    ]
    upload = start(session, artist, dict(meta) | {"stems": stems})
    for kind, path in files.items():
        offset = 0
        with path.open("rb") as source:
            for piece in iter(lambda: source.read(CHUNK_BYTES), b""):
                offset = append(blobs, upload, kind, offset, piece)
    return finish(session, blobs, master_key, upload)
