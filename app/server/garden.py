# SPDX-License-Identifier: GPL-3.0-or-later
"""The garden: where published remixes are kept, found and streamed.

A remix's audio is kept encrypted like a stem (the same STREAM construction, its own content
key wrapped under the master key), walled or open. Beside it, the remix's watermark variants
(``app.server.segments``): two encrypted versions of every segment, made once at publication.
A listener's stream is their own choice of variants, so a recording of it names them
(``app.server.tracing``); it is played only under a listen licence sealed to one device of one
listener, which holds the chosen variants' keys alone. A remix kept before watermarks streams
as its one blob, under a version 1 licence. Where the artist chose
*open*, a listener may also download the published FLAC, tagged with how it was made. No route
hands out a walled remix's plaintext, except to an admin, and that is audited.

Who hears what: a published remix of a published track, everyone; a remix its maker, the
track's artist and admins may also hear while it waits for review or after it was refused; a
taken-down remix or one of a withdrawn track, only the artist and admins (they look after it).
"""

from __future__ import annotations

import base64
import io
import json
import secrets
from dataclasses import replace
from typing import Any

import numpy as np
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.bundle import StemHeader, decrypt_stem, encrypt_stem, new_content_key
from app.core.codec import decode_audio
from app.core.disclosure import describe
from app.core.errors import PolicyError
from app.core.keys import KemPublicKey
from app.core.listen_licence import ListenLicence, sign_listen_licence, sign_stream_licence
from app.core.policy import Policy
from app.server.blobs import BlobMissingError, BlobStore
from app.server.db import (
    Derivative,
    DerivativeAudio,
    DerivativeListing,
    Device,
    Licence,
    ListenLicenceRow,
    Track,
    User,
    new_id,
    now_s,
)
from app.server.policies import licence_policy
from app.server.reviews import PUBLISHED, TAKEN_DOWN, reason_for
from app.server.segments import (
    StreamPlan,
    Variants,
    VariantsError,
    codeword,
    listener_keys,
    listener_tag,
    make_variants,
    read_variants,
    stream_plan,
    variants_blob_name,
)
from app.server.track_states import state_of
from app.server.vaultkeys import Signer, unwrap, wrap

#: Points in a remix's waveform overview.
OVERVIEW_POINTS = 600


class GardenError(Exception):
    """A refused request; ``status`` is the HTTP status and the message says why."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


def audio_key_purpose(derivative_id: str) -> str:
    return f"fanfare/platform/derivative-key|{derivative_id}"


def audio_blob_name(derivative_id: str, attempt: str = "") -> str:
    """Where a remix's encrypted audio is kept in the blob store (``attempt``: a random part,
    so that two requests encrypting the same older remix at once never write one file)."""
    return f"derivatives/{derivative_id}{'.' + attempt if attempt else ''}.ffstem"


def overview(audio: np.ndarray, points: int = OVERVIEW_POINTS) -> list[int]:
    """The waveform overview of float (frames, channels) audio: the peak of each of ``points``
    equal stretches, 0..255 (255 at full scale)."""
    frames = int(audio.shape[0])
    if frames == 0:
        return []
    points = min(points, frames)
    edges = np.linspace(0, frames, points + 1).astype(np.int64)
    peak = np.max(np.abs(audio), axis=1) if audio.ndim == 2 else np.abs(audio)
    peaks = np.maximum.reduceat(peak, edges[:-1])
    return [int(v) for v in np.clip(np.round(peaks * 255.0), 0, 255)]


def seal_audio(
    blobs: BlobStore,
    master_key: bytes,
    derivative_id: str,
    flac: bytes,
    *,
    downloadable: bool,
    peaks: list[int],
    attempt: str = "",
    watermark: bool = True,
) -> DerivativeAudio:
    """Encrypt a remix's FLAC under a new content key, make its watermark variants, and write
    both, before any row refers to them (so no database lock is held meanwhile); returns its
    row, to add once the derivative's own row is in. Whoever fails to commit calls
    :func:`discard_audio` with the row.

    The variants cost a few seconds a minute of audio (``benchmarks/watermark.py``), once;
    without ``watermark``, or for a FLAC that cannot carry them (not 48 kHz), the remix
    streams as its one blob."""
    key = new_content_key()
    blob_name = audio_blob_name(derivative_id, attempt)
    variants = make_variants(derivative_id, flac, master_key) if watermark else None
    sealed = encrypt_stem(key, StemHeader(derivative_id, 1, "mix"), flac)
    size = blobs.put(blob_name, sealed)
    if variants is not None:
        try:
            blobs.put(variants_blob_name(blob_name), variants)
        except BaseException:
            blobs.delete(blob_name)
            raise
    return DerivativeAudio(
        derivative_id=derivative_id,
        blob_name=blob_name,
        blob_size=size,
        wrapped_key=wrap(master_key, key, audio_key_purpose(derivative_id)),
        downloadable=downloadable,
        peaks=peaks,
    )


def discard_audio(blobs: BlobStore, kept: DerivativeAudio) -> None:
    """Delete what :func:`seal_audio` wrote for ``kept`` (its commit failed)."""
    blobs.delete(kept.blob_name)
    blobs.delete(variants_blob_name(kept.blob_name))


def variants_of(blobs: BlobStore, kept: DerivativeAudio) -> Variants | None:
    """The remix's watermark variants, or None for a remix kept before watermarks.

    Raises:
        VariantsError: the store is damaged.
    """
    try:
        return read_variants(blobs, variants_blob_name(kept.blob_name), kept.derivative_id)
    except BlobMissingError:
        return None


def published_open(session: Session, row: Derivative, track: Track | None) -> bool:
    """Whether the policy a remix was made and published under let listeners download it
    (walled when that cannot be told)."""
    licence = session.get(Licence, row.licence_id)
    if licence is None or track is None:
        return False
    _, policy = licence_policy(session, licence, track)
    try:
        return Policy.from_dict(policy).downloadable
    except PolicyError:
        return False


def audio_of(
    session: Session, blobs: BlobStore, master_key: bytes, row: Derivative
) -> DerivativeAudio:
    """The remix's encrypted audio; a remix published before remixes were kept encrypted is
    encrypted now, walled or open as its policy then said, and its plain file removed (without
    watermark variants: making them takes seconds, too long for the request that finds it)."""
    kept = session.get(DerivativeAudio, row.id)
    if kept is not None:
        return kept
    try:
        flac = blobs.get(row.audio_blob)
    except FileNotFoundError:  # another request has just encrypted it and removed this file
        session.expire_all()
        kept = session.get(DerivativeAudio, row.id)
        if kept is None:
            raise
        return kept
    audio, _ = decode_audio(flac)
    track = session.get(Track, row.track_id)
    kept = seal_audio(
        blobs, master_key, row.id, flac, downloadable=published_open(session, row, track),
        peaks=overview(audio), attempt=secrets.token_hex(4), watermark=False,
    )  # fmt: skip
    plain = row.audio_blob
    session.add(kept)
    row.audio_blob = kept.blob_name  # one commit: never an encrypted row beside a plain name
    try:
        session.commit()
    except IntegrityError:  # another request encrypted it first: use theirs
        session.rollback()
        discard_audio(blobs, kept)
        kept = session.get(DerivativeAudio, row.id)
        assert kept is not None
        return kept
    except BaseException:
        session.rollback()
        discard_audio(blobs, kept)
        raise
    blobs.delete(plain)
    return kept


def plaintext(session: Session, blobs: BlobStore, master_key: bytes, row: Derivative) -> bytes:
    """The published FLAC, decrypted in memory (for a download of an open remix, or an admin)."""
    kept = audio_of(session, blobs, master_key, row)
    key = unwrap(master_key, kept.wrapped_key, audio_key_purpose(row.id))
    return bytes(decrypt_stem(key, blobs.get(kept.blob_name), expect=(row.id, 1, "mix")))


def looks_after(user: User, track: Track | None) -> bool:
    """The track's artist and admins look after its remixes, whatever their status."""
    return user.role == "admin" or (track is not None and track.artist_id == user.id)


def check_listenable(
    session: Session, user: User, row: Derivative | None, derivative_id: str
) -> Track:
    """Raise GardenError unless ``user`` may hear ``row`` now; returns its track."""
    track = session.get(Track, row.track_id) if row is not None else None
    if row is None or track is None:
        raise GardenError(f"There is no remix '{derivative_id}'.", 404)
    if looks_after(user, track):
        return track
    if row.status == TAKEN_DOWN:
        why = reason_for(session, row)
        raise GardenError(
            "The artist took this remix down" + (f": {why}" if why else ".")
            + ("" if why.endswith(".") or not why else "."), 410,
        )  # fmt: skip
    if state_of(session, track) == "withdrawn" or not track.published:
        if row.user_id == user.id or row.status == PUBLISHED:
            raise GardenError(
                f"The artist withdrew “{track.title}”; its remixes are no longer heard.", 410
            )
        raise GardenError(f"There is no remix '{derivative_id}'.", 404)
    if row.status != PUBLISHED and row.user_id != user.id:
        raise GardenError(f"There is no remix '{derivative_id}'.", 404)
    return track


def issue_listen_licence(
    session: Session,
    signer: Signer,
    blobs: BlobStore,
    master_key: bytes,
    user: User,
    device: Device,
    row: Derivative,
    *,
    ttl_s: int,
) -> bytes:
    """Record and sign a licence for ``device`` of ``user`` to stream ``row`` for ``ttl_s``:
    version 2 (this listener's choice of watermark variants, their keys alone) where the remix
    has variants, else version 1 (the remix's one key)."""
    check_listenable(session, user, row, row.id)
    kept = audio_of(session, blobs, master_key, row)
    variants = variants_of(blobs, kept)
    issued = now_s()
    body = ListenLicence(
        licence_id=new_id("lsn"),
        user=user.id,
        device=device.id,
        derivative=row.id,
        issued_at=issued,
        not_before=issued - 300,  # tolerate a client clock a few minutes behind
        expires_at=issued + ttl_s,
        sealed_key=b"",
    )
    kem = KemPublicKey.from_stored(device.kem_public_key)
    if variants is None:
        key = unwrap(master_key, kept.wrapped_key, audio_key_purpose(row.id))
        data = sign_listen_licence(body, signer.private, content_key=key, device_kem=kem)
    else:
        secret = variants.secret(master_key)
        stream = listener_tag(secret, user.id, device.id)
        bits = codeword(secret, stream, variants.segments)
        body = replace(body, stream=stream, segments=variants.segments)
        keys = listener_keys(secret, row.id, bits)
        data = sign_stream_licence(body, signer.private, segment_keys=keys, device_kem=kem)
    session.add(
        ListenLicenceRow(
            id=body.licence_id,
            user_id=user.id,
            device_id=device.id,
            derivative_id=row.id,
            issued_at=issued,
            expires_at=body.expires_at,
        )
    )
    session.commit()
    return data


def listener_stream(
    session: Session,
    blobs: BlobStore,
    master_key: bytes,
    user: User,
    row: Derivative,
    licence_id: str,
) -> StreamPlan:
    """The watermarked stream of listen licence ``licence_id``: this listener's choice of
    variants, copied from the store as they are (see ``app.server.segments``).

    Raises:
        GardenError: the licence is not the caller's, not for this remix, has run out, or the
            remix streams as one blob (ask without ``licence``).
    """
    held = session.get(ListenLicenceRow, licence_id)
    if held is None or held.user_id != user.id or held.derivative_id != row.id:
        raise GardenError("That listen licence is not yours for this remix.", 403)
    if held.expires_at <= now_s():
        raise GardenError("That listen licence has run out; ask for a new one.", 403)
    kept = audio_of(session, blobs, master_key, row)
    try:
        variants = variants_of(blobs, kept)
    except VariantsError as exc:
        raise GardenError(f"This remix's stream is damaged ({exc}).", 500) from None
    if variants is None:
        raise GardenError("This remix streams as one piece; ask for it without a licence.", 409)
    secret = variants.secret(master_key)
    bits = codeword(secret, listener_tag(secret, user.id, held.device_id), variants.segments)
    return stream_plan(blobs, variants_blob_name(kept.blob_name), variants, bits)


def may_download(session: Session, row: Derivative, track: Track) -> bool:
    """Open at publication and still open: an artist who walls a track later stops downloads
    of its remixes too."""
    kept = session.get(DerivativeAudio, row.id)
    was_open = kept.downloadable if kept is not None else published_open(session, row, track)
    return was_open and Policy.from_dict(track.policy).downloadable


def tagged(flac: bytes, doc: dict[str, Any]) -> bytes:
    """The published FLAC with Vorbis comments: title, artist (the fan), the original track and
    its artist, and how it was made (in sentences and as JSON). A remix published with Content
    Credentials was tagged before the platform signed it: it is returned as it is, since any
    change would break the signature's binding."""
    if flac[:3] == b"ID3":
        return flac
    from mutagen.flac import FLAC  # imported here: only downloads need it

    buffer = io.BytesIO(flac)
    tags = FLAC(buffer)
    disclosure = doc.get("disclosure", {})
    source = disclosure.get("source", {})
    tags["TITLE"] = doc["title"]
    tags["ARTIST"] = doc["by"]
    tags["ORIGINAL_TITLE"] = str(source.get("title", doc.get("track_title", "")))
    tags["ORIGINAL_ARTIST"] = str(source.get("artist") or doc.get("artist") or "")
    tags["COMMENT"] = " ".join(describe(disclosure)) if "stems" in disclosure else ""
    tags["FANFARE_DERIVATIVE"] = doc["id"]
    tags["FANFARE_HOW_MADE"] = json.dumps(disclosure, sort_keys=True, separators=(",", ":"))
    tags["FANFARE_AUDIO_SHA256"] = doc["audio_sha256"]
    buffer.seek(0)
    tags.save(buffer)
    return buffer.getvalue()


def plays_of(session: Session, derivative_id: str) -> int:
    kept = session.get(DerivativeListing, derivative_id)
    return kept.plays if kept is not None else 0


def listen_doc(session: Session, row: Derivative, track: Track, user: User) -> dict[str, Any]:
    """What the player shows of a remix beyond its document: walled or open (and whether this
    listener may download it), its plays and its waveform overview."""
    kept = session.get(DerivativeAudio, row.id)
    artist = session.get(User, track.artist_id)
    is_open = may_download(session, row, track)
    listenable = _listenable_now(session, user, row)
    return {
        "walled": not is_open,
        "downloadable": is_open and listenable,
        "plays": plays_of(session, row.id),
        "artist": artist.name if artist is not None else "",
        "artist_name": (artist.display_name or artist.name) if artist is not None else "",
        "overview": base64.b64encode(bytes(kept.peaks)).decode() if kept is not None else "",
        "listenable": listenable,
    }


def _listenable_now(session: Session, user: User, row: Derivative) -> bool:
    try:
        check_listenable(session, user, row, row.id)
    except GardenError:
        return False
    return True
