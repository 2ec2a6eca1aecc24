# SPDX-License-Identifier: GPL-3.0-or-later
"""The platform's HTTP API (FastAPI): ``create_app(config)`` builds one instance.

Every error answers JSON ``{"detail": "<one readable sentence>"}`` with a 4xx or 5xx status.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app import __version__
from app.server import intake
from app.server.blobs import BlobStoreError, open_blobs
from app.server.ca import DeviceCA
from app.server.config import MAX_UPLOAD_BYTES, ConfigError, ServerConfig
from app.server.db import PublishJob, make_sessions, now_s
from app.server.deps import Platform, bearer_token, current_user
from app.server.feed import ensure_listings
from app.server.fingerprint_index import FingerprintIndex
from app.server.job_queue import (
    JobQueue,
    ProcrastinateQueue,
    QueueUnavailableError,
    Runner,
    ThreadQueue,
)
from app.server.ratelimit import RateLimiter
from app.server.routes import api_router
from app.server.schema import connect
from app.server.style_models import PackageCache
from app.server.uploads import CHUNK_BYTES
from app.server.vaultkeys import Signer
from app.server.verify import StemAudioCache
from app.server.warming import Warmer

log = logging.getLogger("fanfare.platform")
MAX_JSON_BYTES = 64 * 1024
#: The routes that take large bodies, matched exactly: a derivative's upload...
UPLOAD = ("POST", "/api/v1/derivatives")
# A piece of an artist's stem upload: the other large body, matched as exactly.
STEM_PIECE = re.compile(r"^/api/v1/uploads/[A-Za-z0-9_]{1,40}/stems/[a-z][a-z0-9]{0,31}$")


def create_app(config: ServerConfig) -> FastAPI:
    """Build the platform app over ``config`` (creates tables and a signing key if needed)."""
    platform, engine = build_platform(config)
    if isinstance(platform.jobs, ThreadQueue):
        _resume_jobs(platform, platform.jobs)
    return _platform_app(config, platform, engine)


def build_platform(config: ServerConfig, *, runs_jobs: bool = False) -> tuple[Platform, Engine]:
    """Everything requests and jobs need, over ``config``, and its database engine.

    ``runs_jobs``: this process is a job worker (``fanfare-platform worker``; PostgreSQL only).
    """
    started = now_s()
    engine = connect(config.database_url)
    sessions = make_sessions(engine)
    with sessions() as session:
        signer = Signer.load_or_create(session, config.master_key)
        ca = DeviceCA.load_or_create(session, config.master_key)
        try:
            ensure_listings(session)  # remixes published before the feed existed
        except IntegrityError:  # another worker starting at once listed them
            session.rollback()
    blobs = open_blobs(config)
    stem_cache, style_cache = StemAudioCache(), PackageCache()
    platform = Platform(
        config=config,
        sessions=sessions,
        blobs=blobs,
        signer=signer,
        ca=ca,
        stem_cache=stem_cache,
        style_cache=style_cache,
        fingerprints=FingerprintIndex(sessions),
        login_limiter=RateLimiter(config.login_per_minute, burst=10),
        licence_limiter=RateLimiter(config.licence_per_minute, burst=30),
        # Each upload costs a full re-render: a few at once, then a steady trickle.
        upload_limiter=RateLimiter(config.upload_per_minute, burst=5),
        warmer=Warmer(
            sessions, blobs, config.master_key, stem_cache, style_cache, config.warms_per_day
        ),
        jobs=_job_queue(config, engine, runs_jobs, lambda job_id: run(job_id)),
    )

    def run(job_id: str) -> None:
        # A worker's queue runs a job again only once its first worker is known dead; on one
        # machine, a job left running by a process before this one is taken over.
        intake.run_job(platform, job_id, stalled_ok=runs_jobs, alive_since=started)

    return platform, engine


def _platform_app(config: ServerConfig, platform: Platform, engine: Engine) -> FastAPI:
    docs = config.api_docs

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        platform.jobs.close()  # the job under way finishes first
        engine.dispose()  # the database's connections close with the server, not at exit

    app = FastAPI(
        lifespan=lifespan,
        title="Fanfare platform",
        version=__version__,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.platform = platform

    @app.middleware("http")
    async def limit_body_size(request: Request, call_next: Any) -> Any:
        # Refuse a body before reading it: from its declared length, and for the upload (the
        # one large body) from its token too, so that nobody signed out can make it read.
        length = request.headers.get("content-length")
        upload = (request.method, request.url.path) == UPLOAD
        piece = request.method == "PUT" and STEM_PIECE.match(request.url.path) is not None
        limit = MAX_UPLOAD_BYTES if upload else CHUNK_BYTES if piece else MAX_JSON_BYTES
        upload = upload or piece
        if upload:
            refused = await run_in_threadpool(_refuse_signed_out, platform, request)
            if refused is not None:
                return refused
        if request.method in ("POST", "PUT", "PATCH"):
            if length is None:
                return _error(411, "Requests with a body must declare its length.")
            if not (length.isascii() and length.isdigit()) or int(length) > limit:
                return _error(413, f"The request body is larger than {limit // 1024} KiB.")
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def readable_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        # Field names only: list positions and the "body" root say nothing to a reader.
        where = ".".join(str(p) for p in first.get("loc", ()) if isinstance(p, str) and p != "body")
        return _error(422, f"Invalid request: {where or 'body'}: {first.get('msg', 'invalid')}.")

    @app.exception_handler(BlobStoreError)
    async def store_down(_: Request, exc: BlobStoreError) -> JSONResponse:
        log.error("blob store: %s", exc)
        return _error(
            503, "The platform's storage is not answering; nothing was lost, try again shortly."
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(QueueUnavailableError)
    async def database_down(_: Request, exc: Exception) -> JSONResponse:
        log.error("database: %s", exc)
        return _error(503, DATABASE_DOWN)

    @app.exception_handler(PoolTimeout)
    async def busy(_: Request, exc: Exception) -> JSONResponse:
        log.error("database pool: %s", exc)
        return _error(503, "The platform is busy; try again in a moment.")

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return _error(500, "The platform hit an internal error; nothing was changed.")

    app.include_router(api_router, prefix="/api/v1")
    return app


def _job_queue(config: ServerConfig, engine: Engine, runs_jobs: bool, runner: Runner) -> JobQueue:
    """The job workers' queue on PostgreSQL (an API process only queues; a worker runs);
    on SQLite (one machine), a thread of this process that runs them."""
    if engine.dialect.name == "postgresql":
        return ProcrastinateQueue(config.database_url, runner if runs_jobs else None)
    if runs_jobs:
        raise ConfigError(
            "Job workers need PostgreSQL: a platform on SQLite verifies uploads in its own "
            "process (give --database-url)."
        )
    return ThreadQueue(runner)


def _resume_jobs(platform: Platform, queue: ThreadQueue) -> None:
    """Queue again what a stopped process of this platform left unfinished."""
    with platform.sessions() as session:
        pending = session.scalars(
            select(PublishJob.id).where(PublishJob.state.in_((intake.QUEUED, intake.RUNNING)))
        ).all()
    for job_id in pending:
        queue.run_soon(job_id)


def _refuse_signed_out(platform: Platform, request: Request) -> JSONResponse | None:
    """The 401 the route itself would give a request without a live session, or None."""
    try:
        token = bearer_token(request)
        with platform.sessions() as session:
            current_user(token, session)
    except HTTPException as exc:
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )
    except (OperationalError, InterfaceError):
        return _error(503, DATABASE_DOWN)
    return None


#: What a request hears while the database is away (restarting, or its machine lost).
DATABASE_DOWN = "The platform's database is not answering; nothing was lost, try again shortly."


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status)
