# SPDX-License-Identifier: GPL-3.0-or-later
"""The platform's tables (SQLAlchemy 2). SQLite by default; any SQLAlchemy URL works."""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

ROLES = ("fan", "artist", "admin")
TIERS = ("free", "superfan")  # a fan's subscription; a track may require "superfan"
#: A time in Unix seconds: 64 bits on PostgreSQL, whose INTEGER ends in January 2038 (SQLite's
#: INTEGER is 64 bits already, and stays spelled as the databases made before it spell it).
UnixTime = BigInteger().with_variant(Integer(), "sqlite")


def new_id(prefix: str) -> str:
    """A random, unguessable id with a readable prefix, e.g. ``drv_3f2a…``."""
    return f"{prefix}_{uuid.uuid4().hex}"


def now_s() -> int:
    return int(time.time())


class Base(DeclarativeBase):
    """Declarative base of the platform tables."""


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(16))
    tier: Mapped[str] = mapped_column(String(16), default="free")
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[int] = mapped_column(UnixTime, default=now_s)


class Token(Base):
    """A bearer token, stored only as its SHA-256."""

    __tablename__ = "tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    expires_at: Mapped[int] = mapped_column(UnixTime)
    created_at: Mapped[int] = mapped_column(UnixTime, default=now_s)


class TokenDevice(Base):
    """The device a bearer token is bound to: the one enrolled (or re-enrolled) with it. A
    table of its own, so that a database made before it gains it without a migration."""

    __tablename__ = "token_devices"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(40), index=True)


class Device(Base):
    __tablename__ = "devices"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    signing_public_key: Mapped[str] = mapped_column(String(64))
    kem_public_key: Mapped[str] = mapped_column(String(2000))
    certificate_pem: Mapped[str] = mapped_column(String(4000), default="")
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[int] = mapped_column(UnixTime, default=now_s)


class DeviceSecurity(Base):
    """The security level a device stated when it was first enrolled
    (``app.core.security_level``). A table of its own, so that a database made before it gains
    it without a migration; a device without a row is of the weakest level."""

    __tablename__ = "device_security"
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    level: Mapped[int] = mapped_column(Integer)


class PlatformKey(Base):
    """A platform key (licence signing, or the device CA); the private half is wrapped under
    the master key."""

    __tablename__ = "platform_keys"
    kid: Mapped[str] = mapped_column(String(40), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16), default="licence")
    certificate_pem: Mapped[str] = mapped_column(String(4000), default="")
    public_key: Mapped[str] = mapped_column(String(64))
    wrapped_private: Mapped[bytes] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[int] = mapped_column(UnixTime, default=now_s)


class Track(Base):
    __tablename__ = "tracks"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    artist_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    bpm: Mapped[float] = mapped_column(Float)
    key: Mapped[str] = mapped_column(String(32))
    time_signature: Mapped[str] = mapped_column(String(8))
    sample_rate: Mapped[int] = mapped_column(Integer)
    frames: Mapped[int] = mapped_column(Integer)
    sections: Mapped[list[Any]] = mapped_column(JSON)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    # The artist's opt-in: fans may license the track for remixing only while this is on.
    remix_opt_in: Mapped[bool] = mapped_column(Boolean, default=True)
    required_tier: Mapped[str] = mapped_column(String(16), default="free")
    created_at: Mapped[int] = mapped_column(UnixTime, default=now_s)


class TrackState(Base):
    """Where a track stands (``app.server.track_states``): draft, live, paused or withdrawn.
    A table of its own, so that a database made before it gains it without a migration; a
    track without a row reads its state from its published and opt-in flags."""

    __tablename__ = "track_states"
    track_id: Mapped[str] = mapped_column(ForeignKey("tracks.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))


class TrackAudit(Base):
    """One change to a track by its artist or an admin: who, when, what, from and to."""

    __tablename__ = "track_audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    track_id: Mapped[str] = mapped_column(ForeignKey("tracks.id"), index=True)
    actor_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    at: Mapped[int] = mapped_column(UnixTime, default=now_s)
    field: Mapped[str] = mapped_column(String(80))  # "policy", "derivative drv_…", …
    old: Mapped[Any] = mapped_column(JSON)
    new: Mapped[Any] = mapped_column(JSON)


class PolicyVersion(Base):
    """One version of a track's policy, as its artist saved it. Licences name the version
    they were issued under (``LicenceTerms``), and a remix is checked against that one."""

    __tablename__ = "policy_versions"
    track_id: Mapped[str] = mapped_column(ForeignKey("tracks.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[int] = mapped_column(UnixTime, default=now_s)
    actor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class LicenceTerms(Base):
    """The policy a licence was issued under: its version, or an artist's draft (a table of its
    own, so that a database made before it gains it without a migration; a licence without a
    row is under the track's first version)."""

    __tablename__ = "licence_terms"
    licence_id: Mapped[str] = mapped_column(ForeignKey("licences.id"), primary_key=True)
    policy_version: Mapped[int] = mapped_column(Integer)
    #: An artist's preview: the draft policy it was issued under (nothing made under it is
    #: published; a renewal previews the same draft). None for a fan's licence.
    preview_policy: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class Stem(Base):
    """One encrypted stem blob; its content key is wrapped under the master key."""

    __tablename__ = "stems"
    track_id: Mapped[str] = mapped_column(ForeignKey("tracks.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    blob_name: Mapped[str] = mapped_column(String(200))
    blob_size: Mapped[int] = mapped_column(Integer)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)


class Licence(Base):
    __tablename__ = "licences"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    track_id: Mapped[str] = mapped_column(ForeignKey("tracks.id"))
    track_version: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[int] = mapped_column(UnixTime)
    expires_at: Mapped[int] = mapped_column(UnixTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_at: Mapped[int] = mapped_column(UnixTime, default=0)


class Derivative(Base):
    __tablename__ = "derivatives"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    track_id: Mapped[str] = mapped_column(ForeignKey("tracks.id"), index=True)
    track_version: Mapped[int] = mapped_column(Integer)
    licence_id: Mapped[str] = mapped_column(ForeignKey("licences.id"))
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    recipe: Mapped[dict[str, Any]] = mapped_column(JSON)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON)
    disclosure: Mapped[dict[str, Any]] = mapped_column(JSON)
    attribution: Mapped[dict[str, Any]] = mapped_column(JSON)
    audio_blob: Mapped[str] = mapped_column(String(200))
    audio_sha256: Mapped[str] = mapped_column(String(64))
    duration_s: Mapped[float] = mapped_column(Float)
    created_at: Mapped[int] = mapped_column(UnixTime, default=now_s)
    #: ``Recipe.digest()``: an account publishes a recipe of a track version once, however
    #: many job workers verify its uploads at the same moment (None: rows from before 0004
    #: that repeated an earlier one).
    recipe_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (
        UniqueConstraint(
            "user_id", "track_id", "track_version", "recipe_sha256", name="one_remix_a_recipe"
        ),
    )


class DerivativeDecision(Base):
    """The artist's (or an admin's) last word on a derivative: approved, refused or taken
    down, with the reason its maker sees. A table of its own, so that a database made before
    it gains it without a migration."""

    __tablename__ = "derivative_decisions"
    derivative_id: Mapped[str] = mapped_column(ForeignKey("derivatives.id"), primary_key=True)
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(500), default="")
    by_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    at: Mapped[int] = mapped_column(UnixTime, default=now_s)


class DerivativeAudio(Base):
    """A published derivative's audio as the platform keeps it: encrypted like a stem, under
    its own content key (wrapped under the master key), whether or not it may be downloaded;
    and its waveform overview. A table of its own, so that a database made before it gains it
    without a migration (``app.server.garden`` encrypts an older remix's plain file)."""

    __tablename__ = "derivative_audio"
    derivative_id: Mapped[str] = mapped_column(ForeignKey("derivatives.id"), primary_key=True)
    blob_name: Mapped[str] = mapped_column(String(200))
    blob_size: Mapped[int] = mapped_column(Integer)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    #: The track's policy when it was published: open (downloadable) or walled.
    downloadable: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The waveform overview: peak levels 0..255 over equal stretches of the remix.
    peaks: Mapped[list[int]] = mapped_column(JSON, default=list)


class DerivativeListing(Base):
    """A remix as the feed finds it: its plays, when it was published, and the words it is
    searched by (its title, its track's and its maker's, lower-cased). One narrow row per
    remix, so that a page, "most played" and a search read these and not the remixes'
    documents; written at publication, counted up with each play."""

    __tablename__ = "derivative_listing"
    __table_args__ = (
        # With the words in it, a search walks this index alone (no table row per remix).
        Index("listing_newest", "created_at", "derivative_id", "words"),
        Index("listing_most_played", "plays", "created_at", "derivative_id"),
    )
    derivative_id: Mapped[str] = mapped_column(ForeignKey("derivatives.id"), primary_key=True)
    plays: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[int] = mapped_column(UnixTime)
    words: Mapped[str] = mapped_column(String(600), default="")


class ListenLicenceRow(Base):
    """A listen licence the platform issued (``app.core.listen_licence``)."""

    __tablename__ = "listen_licences"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    derivative_id: Mapped[str] = mapped_column(ForeignKey("derivatives.id"))
    issued_at: Mapped[int] = mapped_column(UnixTime)
    expires_at: Mapped[int] = mapped_column(UnixTime)


class Play(Base):
    """One counted play: one listener, one derivative, at most one an hour."""

    __tablename__ = "plays"
    __table_args__ = (
        UniqueConstraint("user_id", "derivative_id", "hour", name="one_play_an_hour"),
        UniqueConstraint("listen_licence_id", name="one_play_a_listen_licence"),
        Index("plays_by_device_day", "device_id", "day"),
    )
    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # "ply_…", made before insert
    derivative_id: Mapped[str] = mapped_column(ForeignKey("derivatives.id"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    listen_licence_id: Mapped[str] = mapped_column(String(40))
    hour: Mapped[int] = mapped_column(Integer)  # Unix time // 3600 when it was counted
    day: Mapped[int] = mapped_column(Integer)  # Unix time // 86400
    listened_s: Mapped[float] = mapped_column(Float)
    at: Mapped[int] = mapped_column(UnixTime, default=now_s)


class LedgerEntry(Base):
    """One line of the double-entry royalty ledger, in millionths of the currency: each
    counted play debits the listening pool by the play's value and credits each party of the
    licence's revenue split its share, so every play's lines add up to zero."""

    __tablename__ = "ledger_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    play_id: Mapped[str] = mapped_column(ForeignKey("plays.id"), index=True)
    derivative_id: Mapped[str] = mapped_column(ForeignKey("derivatives.id"), index=True)
    #: "user:<id>" for an artist or a fan, "platform", "party:<name>" for another name in a
    #: split (a model's owner), "pool:listening" for the debit.
    account: Mapped[str] = mapped_column(String(80), index=True)
    party: Mapped[str] = mapped_column(String(40))  # the split's name: artist, fan, platform…
    amount_micro: Mapped[int] = mapped_column(Integer)
    month: Mapped[str] = mapped_column(String(7))  # "2026-12", UTC
    at: Mapped[int] = mapped_column(UnixTime, default=now_s)


class UploadAttempt(Base):
    """One upload that reached the spam gate: what became of it (``outcome`` is "published"
    or the refusal's reason) and whether verification spent CPU on it (what the quota
    counts). The operator's counts come from here."""

    __tablename__ = "upload_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    at: Mapped[int] = mapped_column(UnixTime, index=True)
    outcome: Mapped[str] = mapped_column(String(40))
    costly: Mapped[bool] = mapped_column(Boolean, default=False)


class PublishProgress(Base):
    """How far the platform is with verifying one upload (``app.server.publishing``): its step
    and the fraction of it done, under the uploader and the random id their studio sent with
    it. A few dozen bytes a row; rows an hour old are deleted when the next upload starts."""

    __tablename__ = "publish_progress"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    publish_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    step: Mapped[str] = mapped_column(String(16))
    fraction: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[float] = mapped_column(Float, index=True)  # Unix seconds


class PublishJob(Base):
    """One remix upload on its way through verification (``app.server.intake``): what
    came (its blobs are under ``incoming/<id>/``), where it stands, and how it ended. Jobs run
    on the job workers (or, on one machine, in the API process); the studio follows one by its
    id. The derivative's id is chosen here, so that a job run twice publishes it once."""

    __tablename__ = "publish_jobs"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # "job_…"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    derivative_id: Mapped[str] = mapped_column(String(40), unique=True)
    #: The studio's progress id (``publishing``), when it sent one.
    publish_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    title: Mapped[str] = mapped_column(String(200))
    project_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    takes: Mapped[int] = mapped_column(Integer, default=0)
    #: queued, running, then done, refused (the fan's upload) or failed (the platform's error).
    state: Mapped[str] = mapped_column(String(16), default="queued")
    #: The HTTP status the outcome answers with (201, 4xx, 5xx); 0 until it ends.
    status_code: Mapped[int] = mapped_column(Integer, default=0)
    #: The sentence of a refusal or failure.
    detail: Mapped[str] = mapped_column(String(1000), default="")
    #: The published derivative's document, once done.
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[int] = mapped_column(UnixTime, default=now_s)
    updated_at: Mapped[int] = mapped_column(UnixTime, default=now_s, index=True)

    #: An upload sent again under the same id (its answer was lost) is the same job.
    __table_args__ = (UniqueConstraint("user_id", "publish_id", name="one_job_a_publish_id"),)


class Report(Base):
    """A listener's report of a published remix, for the moderators."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("derivative_id", "user_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    derivative_id: Mapped[str] = mapped_column(ForeignKey("derivatives.id"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(500))
    at: Mapped[int] = mapped_column(UnixTime, default=now_s)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)


class Upload(Base):
    """A track an artist is uploading stem by stem: what they said of it, and, once finished,
    the track it became. The bytes so far are parts in the blob folder (``uploads/<id>/``)."""

    __tablename__ = "uploads"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    artist_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON)
    track_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[int] = mapped_column(UnixTime, default=now_s)


class Draft(Base):
    """A fan's remix project kept on the platform (``app.core.project``: a recipe and the
    window's place, no audio), so it opens on another machine of the same account."""

    __tablename__ = "drafts"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # the project's id
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    track_id: Mapped[str] = mapped_column(String(64))
    track_version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[int] = mapped_column(UnixTime, default=now_s, index=True)


class DraftRemix(Base):
    """A published remix and the project its studio made it from (what *My remixes* lists
    under each draft)."""

    __tablename__ = "draft_remixes"
    derivative_id: Mapped[str] = mapped_column(ForeignKey("derivatives.id"), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(40), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)


class StyleModel(Base):
    """A style-model package the platform offers: its manifest (as signed) and file blobs."""

    __tablename__ = "style_models"
    ref: Mapped[str] = mapped_column(String(80), primary_key=True)  # "id@version"
    model_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    family: Mapped[str] = mapped_column(String(32))
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON)
    signed_manifest: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[int] = mapped_column(UnixTime, default=now_s)


class Fingerprint(Base):
    """The Chromaprint fingerprint of a track version's mix or stem, or of a derivative."""

    __tablename__ = "fingerprints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(16))  # mix, stem or derivative
    track_id: Mapped[str] = mapped_column(ForeignKey("tracks.id"), index=True)
    track_version: Mapped[int] = mapped_column(Integer)
    stem: Mapped[str | None] = mapped_column(String(32), nullable=True)  # a stem's kind
    # Not a foreign key: the upload path may fingerprint a derivative before its row exists.
    derivative_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    #: Whose recording: the artist for a track's mix and stems, the fan for a derivative.
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    duration_s: Mapped[float] = mapped_column()
    #: The raw fingerprint: uint32 little-endian, one every ``fingerprints.ITEM_S`` seconds.
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[int] = mapped_column(UnixTime, default=now_s)


def ours(name: str | None, kind: str, _: object) -> bool:
    """Whether a database object is one of these tables' (Alembic's ``include_name``): the job
    queue keeps its own tables beside them (``procrastinate_*``), which our migrations make
    once and never compare."""
    return not (kind == "table" and (name or "").startswith("procrastinate_"))


#: Connections an engine keeps, and more it may open at a busy moment (together: the request
#: threads of one API process). A deployment's PostgreSQL needs ``max_connections`` of at
#: least their sum times the processes (API and job workers) that share it.
POOL_SIZE, POOL_OVERFLOW = 10, 30


def make_engine(url: str) -> Engine:
    """An engine for ``url``, tables or not (``app.server.schema.connect`` makes them ready);
    SQLite gets settings that suit a threaded web server, and ``postgresql://`` means
    psycopg 3 (SQLAlchemy's default driver for it is psycopg2, which we do not install)."""
    url = normalise_url(url)
    kwargs: dict[str, Any] = {}
    sqlite = url.startswith("sqlite")
    # As many connections as the API process has threads for requests (anyio's 40): a burst of
    # slow requests (sign-ins hashing passwords) otherwise holds the pool and the rest wait.
    kwargs |= {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW}
    if sqlite:
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        # A pooled connection may have died with a database restart: test it before use
        # (one round trip), so that the first request after a restart is not a 503.
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if sqlite:
        # WAL lets readers run beside the writer, and NORMAL sync keeps every commit durable
        # against a crash of the process (not of the machine) without an fsync per licence.
        @event.listens_for(engine, "connect")
        def _pragmas(connection: Any, _: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # SQLite checks foreign keys only when asked: ask, so the embedded default refuses
            # what PostgreSQL refuses (a stem before its track, a row naming one that is gone).
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    return engine


def normalise_url(url: str) -> str:
    """``url`` with PostgreSQL's plain schemes (``postgresql://``, ``postgres://``, as
    libpq and operators write them) read as psycopg 3's."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


def make_sessions(engine: Engine) -> sessionmaker[Any]:
    return sessionmaker(engine, expire_on_commit=False)
