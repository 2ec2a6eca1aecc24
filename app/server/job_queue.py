# SPDX-License-Identifier: GPL-3.0-or-later
"""Where heavy jobs run (a remix upload's verification): on the job workers of a deployment,
through procrastinate's queue in the platform's PostgreSQL; or, on one machine (SQLite), on a
thread of the API process.

procrastinate, because the queue then lives in the database every piece already shares (no
broker to run and back up), a job is deferred in the same transaction as the row it works on
(a job is never queued for an upload that was not kept, nor an upload kept without its job),
and a job whose worker died is found by the workers' heartbeats and run again.

A queue runs ``runner(job_id)``, which the platform gives it; a job may run more than once
(a worker killed mid-job), so the runner must be idempotent (``intake.run_job`` is).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

log = logging.getLogger("fanfare.platform")
Runner = Callable[[str], None]

#: The queue the verification jobs go to.
QUEUE = "verify"
#: How often a worker says it is alive, and how long without it before its job counts as
#: stalled and runs again elsewhere, in seconds. A re-render takes tens of seconds; a worker
#: that died is noticed within about ``STALLED_S`` plus one ``RECOVER_EVERY_S``.
HEARTBEAT_S = 2.0
STALLED_S = 10
RECOVER_EVERY_S = 5
#: How often an idle worker looks for jobs besides being told (LISTEN/NOTIFY), in seconds.
POLL_S = 1.0


class QueueUnavailableError(Exception):
    """The queue's database did not take a job (it is away for a moment)."""


class JobQueue(ABC):
    """Runs jobs by id, each at least once."""

    @abstractmethod
    def submit(self, session: Session, job_id: str) -> None:
        """Queue ``job_id`` as part of ``session``'s transaction (it runs once that commits).

        Raises:
            QueueUnavailableError: the queue's database did not take it.
        """

    @abstractmethod
    def close(self) -> None:
        """Stop taking jobs (those under way finish)."""


class ThreadQueue(JobQueue):
    """One machine's queue: jobs run one at a time on a thread of this process (a re-render
    uses every core already), after the transaction that queued them commits."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fanfare-job")

    def submit(self, session: Session, job_id: str) -> None:
        from sqlalchemy import event  # the session's commit starts it

        @event.listens_for(session, "after_commit", once=True)
        def _start(_: Session) -> None:
            self.run_soon(job_id)

    def run_soon(self, job_id: str) -> None:
        self._pool.submit(self._run, job_id)  # the executor takes submissions from any thread

    def _run(self, job_id: str) -> None:
        try:
            self._runner(job_id)
        except Exception:  # the job's row says what became of it; a thread must go on
            log.exception("job %s", job_id)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)


def libpq_url(database_url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as libpq (and so procrastinate) reads it."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class ProcrastinateQueue(JobQueue):
    """A deployment's queue: jobs deferred into PostgreSQL, run by ``fanfare-platform worker``
    processes on any machine (``runner`` is only needed where jobs run)."""

    def __init__(self, database_url: str, runner: Runner | None = None) -> None:
        import procrastinate  # loaded only by a platform on PostgreSQL

        self.app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(conninfo=libpq_url(database_url))
        )
        self._runner = runner

        @self.app.task(name="verify_upload", queue=QUEUE, pass_context=False)
        def verify_upload(job_id: str) -> None:
            if self._runner is None:
                raise RuntimeError("this process queues jobs; it does not run them")
            self._runner(job_id)

        @self.app.periodic(cron=f"* * * * * */{RECOVER_EVERY_S}")
        @self.app.task(
            name="retry_stalled", queue=QUEUE, queueing_lock="retry_stalled", pass_context=True
        )
        async def retry_stalled(context: Any, timestamp: int) -> None:
            # A job whose worker stopped saying it is alive (killed, its machine gone) runs
            # again on a live one: procrastinate finds them, it does not retry them itself.
            manager = context.app.job_manager
            for job in await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_S):
                log.warning("job %s stalled on a dead worker: running it again", job.id)
                await manager.retry_job(job)

        self._task = verify_upload

    def submit(self, session: Session, job_id: str) -> None:
        # The job's row goes in with the caller's transaction, on the same connection.
        from procrastinate.exceptions import ConnectorException

        raw = session.connection().connection.driver_connection
        try:
            self._task.configure(connection=raw, lock=job_id).defer(job_id=job_id)
        except ConnectorException as exc:
            raise QueueUnavailableError(str(exc)) from exc

    def close(self) -> None:
        pass  # deferring opens no pool of its own: it uses the caller's connection

    def run_worker(self, concurrency: int = 1) -> bool:
        """Run jobs until stopped by SIGINT or SIGTERM (the job under way finishes first):
        True; or until the worker lost its database (procrastinate stops a worker whose
        heartbeat or listener fails): False, for the caller to start it again."""
        return asyncio.run(self._work(concurrency))

    async def _work(self, concurrency: int) -> bool:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with self.app.open_async():
            work = asyncio.create_task(
                self.app.run_worker_async(
                    queues=[QUEUE],
                    concurrency=concurrency,
                    update_heartbeat_interval=HEARTBEAT_S,
                    stalled_worker_timeout=STALLED_S,
                    fetch_job_polling_interval=POLL_S,
                    # Ours, above: procrastinate's would make a stop and a lost database
                    # look alike (both end the worker).
                    install_signal_handlers=False,
                )
            )
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({work, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if stop.is_set():
                work.cancel()  # procrastinate's graceful stop: the job under way finishes
                with contextlib.suppress(asyncio.CancelledError):
                    await work
                return True
            stopping.cancel()
            work.result()  # its error, where it raised one
            return False
