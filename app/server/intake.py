# SPDX-License-Identifier: GPL-3.0-or-later
"""A remix upload's way from arrival to publication, as a job (``PublishJob``).

``submit`` keeps what came (its blobs under ``incoming/<job>/``) and queues the job in the same
transaction; ``run_job`` (on a job worker, or a thread of the API process on one machine)
verifies it (credentials, spam gate, policy, re-render: ``verify``) and publishes it, ending
the job in the transaction that publishes the remix. A job may run twice (its worker killed
mid-job): the second run finds the remix published, or starts over with blobs of its own
(``attempt``), and the remix is published once.
"""

from __future__ import annotations

import contextlib
import time
from concurrent.futures import Future
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from app.core.disclosure import disclose, levels_claimed
from app.core.recipe import styles_of
from app.server.blobs import BlobMissingError, BlobStoreError
from app.server.ca import Publisher
from app.server.catalog import track_info
from app.server.countersigning import SignedAhead, countersign_in_worker
from app.server.db import (
    Derivative,
    DraftRemix,
    PublishJob,
    Track,
    UploadAttempt,
    User,
    new_id,
    now_s,
)
from app.server.deps import Platform
from app.server.feed import list_remix
from app.server.fingerprint_index import index_derivative
from app.server.garden import discard_audio, seal_audio
from app.server.publishing import ProgressRecorder
from app.server.reviews import AWAITING, PUBLISHED, reason_for
from app.server.spam import GateRefusal, check_recipe_again, count
from app.server.verify import (
    Admitted,
    Checks,
    VerificationError,
    admit_upload,
    rerender_upload,
)

#: Where a job stands: waiting, being verified, then one of the three ends.
QUEUED, RUNNING, DONE, REFUSED, FAILED = "queued", "running", "done", "refused", "failed"
ENDS = (DONE, REFUSED, FAILED)
#: A job another process started this long ago, and never finished, was cut off (one
#: machine, several API processes: one stopped mid-job), in seconds.
ABANDONED_S = 600
INTERNAL = "The platform hit an internal error verifying this upload; nothing was published."


class PublishRefused(Exception):
    """The upload is not published: ``status`` is the HTTP answer, the message the sentence."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _incoming(job_id: str, what: str) -> str:
    return f"incoming/{job_id}/{what}"


def submit(
    session: Session,
    platform: Platform,
    user: User,
    *,
    audio: bytes,
    recipe: bytes,
    title: str,
    takes: list[bytes],
    publish_id: str | None,
    project_id: str | None,
) -> PublishJob:
    """Keep an upload and queue its verification; committed when this returns. An upload
    sent again under a ``publish_id`` the account used already (a studio that did not hear
    the answer: a restart, a lost connection) is the job kept then, even when two API
    processes take both at once.

    Raises:
        BlobStoreError: the store did not take the upload.
        OperationalError, QueueUnavailableError: the database is away.
        In each case nothing was queued and nothing of the upload is kept.
    """
    if publish_id is not None and (kept := _kept(session, user.id, publish_id)) is not None:
        return kept
    job = PublishJob(
        id=new_id("job"),
        user_id=user.id,
        derivative_id=new_id("drv"),
        publish_id=publish_id,
        title=title,
        project_id=project_id,
        takes=len(takes),
        state=QUEUED,
    )
    blobs = {_incoming(job.id, "audio.flac"): audio, _incoming(job.id, "recipe.json"): recipe}
    blobs |= {_incoming(job.id, f"take-{i}.flac"): take for i, take in enumerate(takes)}
    written = []  # what to forget if this fails (a store that is down took nothing)
    try:
        for name, data in blobs.items():
            platform.blobs.put(name, data)
            written.append(name)
        session.add(job)
        session.flush()
        platform.jobs.submit(session, job.id)
        session.commit()
    except BaseException as exc:
        with contextlib.suppress(SQLAlchemyError):
            session.rollback()
        _forget(platform, written)
        if isinstance(exc, IntegrityError) and publish_id is not None:
            kept = _kept(session, user.id, publish_id)
            if kept is not None:  # the same upload, kept by another process a moment ago
                return kept
        raise
    return job


def _kept(session: Session, user_id: str, publish_id: str) -> PublishJob | None:
    return session.scalar(
        select(PublishJob).where(PublishJob.user_id == user_id, PublishJob.publish_id == publish_id)
    )


def _forget(platform: Platform, names: list[str]) -> None:
    """Delete these blobs if the store lets us (nothing refers to them; a later sweep of
    ``incoming/`` finds what it did not)."""
    for name in names:
        with contextlib.suppress(BlobStoreError):
            platform.blobs.delete(name)


def job_doc(job: PublishJob) -> dict[str, Any]:
    """A job as its uploader reads it (``GET /derivatives/jobs/{id}``)."""
    return {
        "job_id": job.id,
        "state": job.state,
        "status_code": job.status_code,
        "detail": job.detail,
        "derivative": job.result,
        "publish_id": job.publish_id,
        "attempts": job.attempts,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
    }


def _end(job: PublishJob, state: str, status: int, detail: str, result: Any = None) -> None:
    job.state, job.status_code, job.detail, job.result = state, status, detail, result
    job.updated_at = now_s()


def _claim(session: Session, job_id: str, *, stalled_ok: bool, alive_since: int) -> bool:
    """Take the job for this run (one run at a time): a queued job, or one that is running
    where its runner is known to be gone: the queue found its worker dead (``stalled_ok``),
    it was started before this process was (``alive_since``, Unix seconds: on one machine
    its runner was a process before this one), or ``ABANDONED_S`` ago."""
    now = now_s()
    running = PublishJob.state == RUNNING
    if not stalled_ok:
        running = running & (PublishJob.updated_at < max(alive_since, now - ABANDONED_S))
    taken = session.execute(
        update(PublishJob)
        .where(PublishJob.id == job_id, (PublishJob.state == QUEUED) | running)
        .values(state=RUNNING, attempts=PublishJob.attempts + 1, updated_at=now)
    )
    session.commit()
    return bool(getattr(taken, "rowcount", 0))


def run_job(
    platform: Platform, job_id: str, *, stalled_ok: bool = True, alive_since: int = 0
) -> None:
    """Verify and publish the upload of job ``job_id``, or record why not; idempotent.
    ``stalled_ok`` and ``alive_since``: when a running job may be taken over (``_claim``).

    Raises:
        BlobStoreError, OperationalError: the store or the database failed for a moment: the
            job is left queued, for the queue to run again.
    """
    with platform.sessions() as session:
        if not _claim(session, job_id, stalled_ok=stalled_ok, alive_since=alive_since):
            return  # ended already, or another run has it
        job = session.get(PublishJob, job_id)
        user = session.get(User, job.user_id) if job is not None else None
        assert job is not None and user is not None
        progress = ProgressRecorder(platform.sessions, user.id, job.publish_id)
        progress("checking", 0.0)
        try:
            audio = platform.blobs.get(_incoming(job.id, "audio.flac"))
            recipe = platform.blobs.get(_incoming(job.id, "recipe.json"))
            takes = [
                platform.blobs.get(_incoming(job.id, f"take-{i}.flac")) for i in range(job.takes)
            ]
            _publish(session, platform, user, audio, recipe, job.title, progress, job, takes)
        except PublishRefused as exc:
            _close(session, job_id, REFUSED if exc.status < 500 else FAILED, exc.status, str(exc))
            progress("refused" if exc.status < 500 else "failed", 1.0)
        except BlobMissingError:
            _close(
                session,
                job_id,
                FAILED,
                500,
                "The upload was lost on the platform; publish it again.",
            )
            progress("failed", 1.0)
        except (BlobStoreError, OperationalError):
            session.rollback()
            _requeue(platform, job_id)
            raise
        except Exception:
            _close(session, job_id, FAILED, 500, INTERNAL)
            progress("failed", 1.0)
            raise
        else:
            progress("done", 1.0)
    _forget_upload(platform, job_id)


def _close(session: Session, job_id: str, state: str, status: int, detail: str) -> None:
    session.rollback()
    job = session.get(PublishJob, job_id)
    if job is not None and job.state not in ENDS:
        _end(job, state, status, detail)
        session.commit()


def _requeue(platform: Platform, job_id: str) -> None:
    try:
        with platform.sessions() as session:
            session.execute(
                update(PublishJob)
                .where(PublishJob.id == job_id, PublishJob.state == RUNNING)
                .values(state=QUEUED)
            )
            session.commit()
    except OperationalError:
        pass  # the database is away: the job stays running until its run is found stalled


def _forget_upload(platform: Platform, job_id: str) -> None:
    """The upload's blobs, once its job has ended (the published remix is kept apart)."""
    with contextlib.suppress(BlobStoreError):  # else left for a later sweep
        _forget(platform, list(platform.blobs.sizes(f"incoming/{job_id}/")))


def wait(platform: Platform, job_id: str, deadline_s: float) -> PublishJob | None:
    """The job once it has ended, or None at ``deadline_s`` (``time.monotonic``)."""
    pause = 0.05
    while True:
        with platform.sessions() as session:
            job = session.get(PublishJob, job_id)
            if job is not None and job.state in ENDS:
                return job
        if time.monotonic() >= deadline_s:
            return None
        time.sleep(pause)
        pause = min(0.1, pause * 1.5)


def derivative_doc(row: Derivative, session: Any) -> dict[str, Any]:
    owner = session.get(User, row.user_id)
    track = session.get(Track, row.track_id)
    return {
        "id": row.id,
        "track_id": row.track_id,
        "track_version": row.track_version,
        "track_title": track.title if track else row.track_id,
        "title": row.title,
        "status": row.status,
        # Why it was refused or taken down: its maker (and the artist) read this.
        "reason": reason_for(session, row),
        "by": owner.name if owner else "unknown",
        "duration_s": row.duration_s,
        "created_at": row.created_at,
        "audio_sha256": row.audio_sha256,
        "disclosure": row.disclosure,
        "attribution": row.attribution,
    }


def _publish(
    session: Session,
    platform: Platform,
    user: User,
    audio_bytes: bytes,
    recipe_bytes: bytes,
    title: str,
    progress: ProgressRecorder,
    job: PublishJob,
    takes: list[bytes],
) -> dict[str, Any]:
    platform.warmer.cancel(user.id)  # the re-render stretches the rest, on every core
    derivative_id = job.derivative_id
    ahead: SignedAhead | None = None
    try:
        admitted = admit_upload(
            session,
            platform.blobs,
            platform.config.master_key,
            platform.stem_cache,
            user,
            audio=audio_bytes,
            recipe_bytes=recipe_bytes,
            checks=Checks(platform.config, platform.ca.pem, platform.fingerprints),
            takes=takes,
        )
        artist = session.get(User, admitted.track.artist_id)
        artist_name = artist.display_name or artist.name if artist else ""
        info = track_info(session, admitted.track)
        publisher = platform.ca.publisher(session, platform.config.master_key)

        def published(disclosure: dict[str, Any]) -> Future[bytes]:
            return _published_file(
                publisher, audio_bytes, admitted, derivative_id, title, user, disclosure
            )

        claimed = levels_claimed(admitted.record.get("levels"))
        ahead = SignedAhead(
            published,
            None if claimed is None else _disclosure(admitted, info, artist_name, claimed),
        )
        verified = rerender_upload(
            session, platform.blobs, platform.style_cache, admitted, progress,
            store=platform.stem_cache.chunks,
        )  # fmt: skip
    except VerificationError as exc:
        if ahead is not None:
            ahead.cancel()
        session.rollback()
        count(session, user, exc.reason, costly=exc.costly)
        raise PublishRefused(exc.status, str(exc)) from None
    progress("publishing", 0.0)
    policy = verified.policy
    disclosure = _disclosure(verified, info, artist_name, verified.levels)
    published_bytes = ahead.take(disclosure)
    progress("publishing", 0.2)
    audio_row = seal_audio(
        platform.blobs, platform.config.master_key, derivative_id, published_bytes,
        downloadable=policy.downloadable, peaks=verified.peaks, attempt=str(job.attempts),
    )  # fmt: skip
    progress("publishing", 0.8)  # the watermark variants made and sealed: the rows remain
    blob_name = audio_row.blob_name
    try:
        row = Derivative(
            id=derivative_id,
            user_id=user.id,
            track_id=verified.track.id,
            track_version=verified.track.version,
            licence_id=verified.licence.id,
            device_id=verified.device.id,
            title=title,
            status=AWAITING if policy.review == "artist" else PUBLISHED,
            recipe=verified.recipe.to_dict(),
            provenance={
                "remix": verified.record,
                "signed_by_device": verified.device.id,
                "credentials": "c2pa",
            },
            disclosure=disclosure,
            attribution={
                "split": policy.revenue_split,
                "artist": artist.name if artist else None,
                "fan": user.name,
            },
            audio_blob=blob_name,
            audio_sha256=verified.audio_sha256,
            duration_s=verified.duration_s,
            recipe_sha256=verified.recipe.digest(),
        )
        session.add(row)
        session.flush()  # the derivative before its audio's row refers to it
        session.add(audio_row)
        if job.project_id is not None:
            session.add(
                DraftRemix(derivative_id=derivative_id, project_id=job.project_id, user_id=user.id)
            )
        list_remix(session, row, verified.track.title, user.name)
        index_derivative(
            session, derivative_id, verified.track, user.id, verified.audio,
            verified.track.sample_rate, fp=verified.fingerprint,
        )  # fmt: skip
        session.add(UploadAttempt(user_id=user.id, at=now_s(), outcome="published", costly=True))
        session.flush()
        result = derivative_doc(row, session)
        # The job ends in the transaction that publishes: a job run again finds it done.
        _end(job, "done", 201, "", result)
        session.commit()
    except IntegrityError:
        session.rollback()
        discard_audio(platform.blobs, audio_row)
        try:  # the same recipe, published by another worker while this one verified it
            check_recipe_again(session, user, verified.recipe)
        except GateRefusal as exc:
            count(session, user, exc.reason, costly=False)
            raise PublishRefused(exc.status, str(exc)) from None
        raise
    except BaseException:
        session.rollback()
        discard_audio(platform.blobs, audio_row)
        raise
    return result


def _disclosure(
    admitted: Admitted, info: Any, artist: str, levels: dict[str, float]
) -> dict[str, Any]:
    """How the remix was made, as listeners are told, with each stem heard at ``levels``."""
    disclosure = disclose(admitted.recipe, info, artist, levels)
    heard = [s["stem"] for s in disclosure["stems"] if s["heard"] != "not heard"]
    # The first disclosure's fields, which older studios read.
    return disclosure | {
        "ai_used": bool(admitted.record.get("ai", {}).get("used", False)),
        "ai_models": list(admitted.record.get("ai", {}).get("models", [])),
        "styled_stems": {kind: slot.ref for kind, slot in styles_of(admitted.recipe).items()},
        "stems_used": heard,
        "policy_version": admitted.policy_version,
    }


def _published_file(
    publisher: Publisher,
    upload: bytes,
    admitted: Admitted,
    derivative_id: str,
    title: str,
    user: User,
    disclosure: dict[str, Any],
) -> Future[bytes]:
    """What listeners get, started in a worker: the upload's audio, tagged with its credits
    and how it was made, with the platform's manifest (publisher, verified by re-render) over
    the fan's."""
    doc = {
        "id": derivative_id,
        "title": title,
        "by": user.name,
        "track_title": admitted.track.title,
        "disclosure": disclosure,
        "audio_sha256": admitted.audio_sha256,
    }
    return countersign_in_worker(
        publisher,
        upload,
        doc,
        title=title,
        verification={
            "derivative": derivative_id,
            "method": "re-render",
            "track": admitted.track.id,
            "track_version": admitted.track.version,
            "policy_version": admitted.policy_version,
            "fan": user.name,
            "audio_sha256": admitted.audio_sha256,
        },
    )
