# SPDX-License-Identifier: GPL-3.0-or-later
"""Verifying an uploaded derivative before it is published.

In order: the FLAC's Content Credentials are intact and signed by one of the uploader's enrolled
devices under the platform's device CA (``server.credentials``), and bind exactly this recipe,
the licensed track version's sealed stems and a licence this user holds for this track; the
recipe parses and fits the track; the artist's policy allows it; and the platform re-renders the
recipe from its own copy of the stems (with its own copy of any style model) and compares it
with the upload, so what is published is what the recipe says, not a raw stem passed off as a
remix. The credentials' AI disclosure must name exactly the style models the recipe uses.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from app.core import recipe as recipe_format
from app.core.bundle import LONGEST_HEAD, decrypt_stem, sealed_head
from app.core.codec import audio_info, decode_audio
from app.core.credentials import sealed_digest
from app.core.errors import AudioFormatError, FanfareError, RecipeError, StyleModelError
from app.core.policy import Policy, evaluate
from app.core.recipe import Recipe, styles_of
from app.core.track import TrackInfo
from app.engine.chunk_store import ChunkStore, chunk_store_budget
from app.engine.company import CompanyMeter, heard_reasons
from app.engine.offline import render_derivative
from app.engine.parts import PlacedPart
from app.engine.timeline import output_frames
from app.server.blobs import BlobStore
from app.server.catalog import track_info
from app.server.config import ServerConfig
from app.server.credentials import (
    CheckedCredentials,
    CredentialsRefused,
    check_disclosure,
    check_upload,
)
from app.server.db import Device, Licence, Track, User, now_s
from app.server.fingerprint_index import (
    FingerprintIndex,
    index_track_version,
    track_fingerprints,
)
from app.server.fingerprints import fingerprint
from app.server.garden import overview
from app.server.ingest import stems_of
from app.server.licensing import EntitlementError, check_entitlement
from app.server.policies import is_preview, licence_policy
from app.server.spam import GateRefusal, check_quota, check_recipe_again, check_sound
from app.server.style_models import PackageCache
from app.server.style_models import offered as style_offered
from app.server.vaultkeys import stem_key_purpose, unwrap

# The upload is FLAC at 24 bits: one step is 2**-23. A re-render that differs by more than a few
# steps anywhere is another mix.
MATCH_TOLERANCE = 8 * 2.0**-23
#: A style model this much in the mix (wet share) makes its stem a new performance.
RESTYLED_MIX = 0.5


class VerificationError(FanfareError):
    """The upload was refused; ``status`` is the HTTP status to answer with, ``reason`` the
    kind of refusal the operator's counts keep."""

    def __init__(
        self, message: str, status: int = 422, reason: str = "verification", costly: bool = False
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        #: Refused after the spam gate, once verification had spent CPU (the quota counts it).
        self.costly = costly


@dataclass(frozen=True)
class Admitted:
    """An upload past every check but the re-render: who sent it, under which licence and
    terms, and what it is (``admit_upload``)."""

    recipe: Recipe
    #: The fan's ``org.fanfare.remix`` assertion (recipe digest, licence, device, AI models).
    record: dict[str, Any]
    credentials: CheckedCredentials
    track: Track
    info: TrackInfo
    licence: Licence
    device: Device
    audible_stems: list[str]
    duration_s: float
    audio_sha256: str
    policy_version: int  # the terms the remix was made, checked and is published under
    policy: Policy
    #: The published audio's fingerprint, as the spam gate measured it.
    fingerprint: np.ndarray
    #: The published audio, float32 (frames, 2).
    audio: np.ndarray
    #: The track version's stems, float32 (frames, 2) by kind, and the fan's recorded parts
    #: placed from their takes (``PlacedPart``), for the re-render.
    stems: dict[str, Any]


@dataclass(frozen=True)
class Verified(Admitted):
    """What a successful verification established: the admitted upload is its recipe's
    render."""

    #: Each stem's level in the platform's re-render, dB under the loudest (-inf: silent).
    levels: dict[str, float]
    #: The waveform overview of the published audio (``garden.overview``).
    peaks: list[int]


class StemAudioCache:
    """Decoded stems of the most recently verified track version (re-renders come in bursts),
    with the digest of their sealed heads (what a remix's credentials name it by), and the
    chunks of every track's stems retimed or transposed for a re-render (``chunks``: fans pick
    the same tempo and key again and again; keyed by track, version, stem, tempo and key)."""

    def __init__(self, chunk_budget_bytes: int | None = None) -> None:
        self.chunks = ChunkStore(
            chunk_store_budget() if chunk_budget_bytes is None else chunk_budget_bytes
        )
        self._lock = threading.Lock()
        self._key: tuple[str, int] | None = None
        self._stems: dict[str, np.ndarray] = {}
        self._digest = ""

    def get(
        self, session: Session, blobs: BlobStore, master_key: bytes, track: Track
    ) -> dict[str, np.ndarray]:
        """The track version's stems, float32 (frames, 2) by kind."""
        return self._load(session, blobs, master_key, track)[0]

    def digest(self, session: Session, blobs: BlobStore, master_key: bytes, track: Track) -> str:
        """``credentials.sealed_digest`` of the track version's stem blobs."""
        return self._load(session, blobs, master_key, track)[1]

    def _load(
        self, session: Session, blobs: BlobStore, master_key: bytes, track: Track
    ) -> tuple[dict[str, np.ndarray], str]:
        with self._lock:
            if self._key == (track.id, track.version):
                return self._stems, self._digest
            stems, heads = {}, {}
            for stem in stems_of(session, track):
                purpose = stem_key_purpose(track.id, track.version, stem.kind)
                key = unwrap(master_key, stem.wrapped_key, purpose)
                blob = blobs.get(stem.blob_name)
                heads[stem.kind] = sealed_head(blob[:LONGEST_HEAD])
                plain = decrypt_stem(key, blob, expect=(track.id, track.version, stem.kind))
                stems[stem.kind], _ = decode_audio(plain)
            self._key, self._stems = (track.id, track.version), stems
            self._digest = sealed_digest(heads)
            return stems, self._digest


@dataclass(frozen=True)
class Checks:
    """What verification checks an upload against, beyond the database: the platform's
    settings, the device CA's certificate, and the fingerprint index."""

    config: ServerConfig
    ca_pem: str
    index: FingerprintIndex


def verify_upload(
    session: Session,
    blobs: BlobStore,
    master_key: bytes,
    cache: StemAudioCache,
    models: PackageCache,
    user: User,
    *,
    audio: bytes,
    recipe_bytes: bytes,
    checks: Checks,
    progress: Callable[[str, float], None] | None = None,
    takes: list[bytes] | None = None,
) -> Verified:
    """Check an upload end to end (``admit_upload``, then ``rerender_upload``); raises
    VerificationError with a readable reason."""
    admitted = admit_upload(
        session, blobs, master_key, cache, user,
        audio=audio, recipe_bytes=recipe_bytes, checks=checks, takes=takes,
    )  # fmt: skip
    return rerender_upload(session, blobs, models, admitted, progress, store=cache.chunks)


def admit_upload(
    session: Session,
    blobs: BlobStore,
    master_key: bytes,
    cache: StemAudioCache,
    user: User,
    *,
    audio: bytes,
    recipe_bytes: bytes,
    checks: Checks,
    takes: list[bytes] | None = None,
) -> Admitted:
    """Check an upload (``audio``: the FLAC with the fan's Content Credentials; ``takes``:
    the FLAC files of its recorded parts) up to its re-render: its credentials, the spam gate,
    the licence, the policy and the audio's form; raises VerificationError with a readable
    reason. What follows spends CPU."""
    try:  # the credentials before anything else: they say who sends this and what it is
        checked = check_upload(session, user, audio, checks.ca_pem)
        check_quota(session, checks.config, user)
    except (CredentialsRefused, GateRefusal) as exc:
        raise VerificationError(str(exc), exc.status, exc.reason) from None
    record, device = checked.remix, checked.device
    try:
        recipe = recipe_format.loads(recipe_bytes)
    except RecipeError as exc:
        raise VerificationError(str(exc)) from None
    track = session.get(Track, recipe.track_id)
    if track is None or not track.published:
        raise VerificationError(f"There is no published track '{recipe.track_id}'.", 404)
    if recipe.track_version != track.version:
        raise VerificationError(
            f"This recipe is for version {recipe.track_version} of '{track.title}'; "
            f"the current version is {track.version}."
        )
    audio_sha256 = hashlib.sha256(audio).hexdigest()
    if record["recipe_sha256"] != recipe.digest():
        raise VerificationError(
            "The Content Credentials name another recipe than the one uploaded.",
            reason="credentials-recipe",
        )
    if (record["track"], record["track_version"]) != (track.id, track.version):
        raise VerificationError(
            "The Content Credentials name another track.", reason="credentials-recipe"
        )
    try:
        check_recipe_again(session, user, recipe)
    except GateRefusal as exc:
        raise VerificationError(str(exc), exc.status, exc.reason) from None
    licence = session.get(Licence, record["licence_id"])
    if (
        licence is None
        or licence.user_id != user.id
        or licence.device_id != device.id
        or (licence.track_id, licence.track_version) != (track.id, track.version)
    ):
        raise VerificationError("You hold no licence for this track on this device.", 403)
    if licence.revoked:
        raise VerificationError("The licence this remix was made under has been revoked.", 403)
    try:
        check_entitlement(user, track)  # the artist may have opted out since the licence
    except EntitlementError as exc:
        raise VerificationError(str(exc), exc.status) from None
    if licence.expires_at <= now_s():
        raise VerificationError(
            "The licence this remix was made under has expired; open the track again to renew it.",
            403,
        )
    if is_preview(session, licence):
        raise VerificationError(
            "This remix was made in an artist's preview of a draft policy; previews are not "
            "published.",
            403,
        )
    # The terms the licence was issued under: a policy saved since applies from renewal on.
    policy_version, policy_doc = licence_policy(session, licence, track)
    policy = Policy.from_dict(policy_doc)
    info = track_info(session, track)
    try:
        recipe.check_fits(info)
    except RecipeError as exc:
        raise VerificationError(str(exc)) from None
    styles = styles_of(recipe)
    try:
        check_disclosure(checked, sorted({slot.ref for slot in styles.values()}))
    except CredentialsRefused as exc:
        raise VerificationError(str(exc), exc.status, exc.reason) from None
    decision = evaluate(
        policy,
        recipe,
        publishing=True,
        track=info,
        models=style_offered(session),
    )
    if not decision.allowed:
        raise VerificationError(
            "The artist's policy does not allow this remix: " + "; ".join(decision.reasons) + ".",
            reason="not-a-remix" if recipe.is_neutral else "policy",
        )

    # The remix's length: repeats, drops and the tempo change it (the policy above capped it).
    expected_frames = output_frames(recipe, info)
    try:
        # The header first: a file claiming hours of audio is refused before it is decoded.
        frames, rate, channels = audio_info(audio)
        if rate != track.sample_rate or frames != expected_frames or channels != 2:
            raise VerificationError(
                f"The audio must be {expected_frames} stereo frames at {track.sample_rate} Hz "
                f"(got {frames} frames, {channels} channel(s) at {rate} Hz)."
            )
        uploaded, rate = decode_audio(audio)
    except AudioFormatError as exc:
        raise VerificationError(str(exc)) from None
    if uploaded.shape[0] != expected_frames:
        raise VerificationError("The uploaded audio is shorter than its header says.")
    stems: dict[str, Any] = {
        **cache.get(session, blobs, master_key, track),
        **placed_parts(recipe, info, takes or []),
    }
    if record["track_digest"] != cache.digest(session, blobs, master_key, track):
        raise VerificationError(
            "The Content Credentials name stems this platform did not seal for this track version.",
            reason="credentials-recipe",
        )
    if not track_fingerprints(session, track.id, track.version):
        # A version ingested before fingerprints were kept: fingerprinted once, now.
        index_track_version(session, track, stems, track.sample_rate)
        session.commit()
    fp = fingerprint(uploaded, rate)
    try:
        restyled = any(
            slot.mix >= RESTYLED_MIX and kind in recipe.audible_stems()
            for kind, slot in styles.items()
        )
        check_sound(
            session, checks.index, fp, track=track, user=user, policy=policy, restyled=restyled
        )
    except GateRefusal as exc:
        raise VerificationError(str(exc), exc.status, exc.reason) from None
    return Admitted(
        recipe=recipe,
        record=record,
        credentials=checked,
        track=track,
        info=info,
        licence=licence,
        device=device,
        audible_stems=recipe.audible_stems(),
        duration_s=expected_frames / track.sample_rate,
        audio_sha256=audio_sha256,
        policy_version=policy_version,
        policy=policy,
        fingerprint=fp,
        audio=uploaded,
        stems=stems,
    )


def placed_parts(recipe: Recipe, info: TrackInfo, takes: list[bytes]) -> dict[str, PlacedPart]:
    """The recipe's recorded parts as sources, from the takes uploaded with it (FLAC files
    named in the recipe by their SHA-256); raises VerificationError for a take missing,
    unreadable or at another rate, or a part longer than its take."""
    by_digest = {hashlib.sha256(data).hexdigest(): data for data in takes}
    placed = {}
    for name, part in recipe.parts.items():
        data = by_digest.get(part.take)
        if data is None:
            raise VerificationError(
                f"The recorded part '{name}' came without its take; publish from the studio "
                "that recorded it.",
                reason="take-missing",
            )
        try:
            frames, rate, channels = audio_info(data)
            if rate != info.sample_rate or channels > 2:
                raise VerificationError(
                    f"The take of '{name}' must be mono or stereo at {info.sample_rate} Hz "
                    f"(it is {channels} channel(s) at {rate} Hz)."
                )
            if part.offset + part.frames > frames:
                raise VerificationError(f"The recorded part '{name}' is longer than its take.")
            audio, _ = decode_audio(data, channels=channels)
        except AudioFormatError as exc:
            raise VerificationError(f"The take of '{name}': {exc}") from None
        placed[name] = PlacedPart(audio, part, info.frames)
    return placed


def rerender_upload(
    session: Session,
    blobs: BlobStore,
    models: PackageCache,
    admitted: Admitted,
    progress: Callable[[str, float], None] | None = None,
    *,
    store: ChunkStore | None = None,
) -> Verified:
    """Re-render the admitted upload's recipe and check it is the upload; raises
    VerificationError (``costly``: the quota counts it) with a readable reason.
    ``progress("re-rendering", fraction)`` is called as the re-render goes."""
    try:
        levels = _rerender(
            session, blobs, models, admitted.stems, admitted.recipe, admitted.info,
            admitted.policy, admitted.audio, progress, store=store,
        )  # fmt: skip
    except VerificationError as exc:
        exc.costly = True
        raise
    fields = {f.name: getattr(admitted, f.name) for f in dataclass_fields(Admitted)}
    return Verified(**fields, levels=levels, peaks=overview(admitted.audio))


def _rerender(
    session: Session,
    blobs: BlobStore,
    models: PackageCache,
    stems: dict[str, Any],
    recipe: Recipe,
    info: TrackInfo,
    policy: Policy,
    uploaded: np.ndarray,
    progress: Callable[[str, float], None] | None = None,
    *,
    store: ChunkStore | None = None,
) -> dict[str, float]:
    """Render ``recipe`` from the platform's stems and models, check who is heard with whom
    and that it is the upload; returns each stem's level (dB under the loudest). ``store``:
    the stems' retimed and transposed chunks made for earlier uploads, shared across fans."""
    levels: dict[str, float] = {}
    company = CompanyMeter()
    try:
        expected, _gain_db = render_derivative(
            stems,
            info.sample_rate,
            recipe,
            progress=None if progress is None else lambda f: progress("re-rendering", f),
            track=info,
            levels=levels,
            styles=lambda ref: models.get(session, blobs, ref),
            company=company,
            store=store,
        )
    except StyleModelError as exc:
        raise VerificationError(str(exc)) from None
    measured = heard_reasons(policy, levels, company, own=recipe.parts)
    if measured:
        raise VerificationError(
            "The artist's policy does not allow this remix as it sounds: "
            + "; ".join(measured)
            + "."
        )
    worst = float(np.max(np.abs(expected - uploaded)))
    if worst > MATCH_TOLERANCE:
        raise VerificationError(
            "The uploaded audio is not the render of its recipe "
            f"(differs by up to {20 * np.log10(worst):.1f} dBFS)."
        )
    return levels
