# SPDX-License-Identifier: GPL-3.0-or-later
"""Stretching a track at a fan's tempo and key before the fan uploads (see :class:`Warmer`).

Re-rendering a retimed remix is mostly Rubber Band: minutes of CPU for a 4-minute 8-stem
remix, where the studio's own publish render mixes chunks its playback already stretched. The
studio therefore says, once a fan has stayed at a tempo and key a while, what it is working on
(``POST /tracks/{id}/warm``); the platform stretches those stems into its chunk store
(``verify.StemAudioCache.chunks``, shared by every fan's re-render) on one thread, pacing
itself, so that the verification of the upload that follows mixes what is stored.

It is a hint, never a promise: a fan holding a licence for the track version may send it, the
recipe must be one the artist's policy allows, the newest request of a fan replaces their
older one, each fan has a daily number (``ServerConfig.warms_per_day``), and one job runs at a
time per platform process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from app.core.recipe import Recipe
from app.engine.offline import prestretch
from app.server.blobs import BlobStore
from app.server.catalog import track_info
from app.server.db import Track
from app.server.style_models import PackageCache
from app.server.verify import StemAudioCache

log = logging.getLogger("fanfare.platform")
DAY_S = 86_400


class WarmRefused(Exception):
    """A warm request the platform will not take; the message says why (429: the day's are
    used)."""

    def __init__(self, message: str, status: int = 429) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class _Job:
    user_id: str
    track_id: str
    track_version: int
    recipe: Recipe


class Warmer:
    """One thread that stretches fans' recipes into the platform's chunk store, one job at a
    time, newest request per fan only, resting as long as half of each chunk took."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        blobs: BlobStore,
        master_key: bytes,
        stems: StemAudioCache,
        models: PackageCache,
        per_day: int,
    ) -> None:
        self._sessions = sessions
        self._blobs = blobs
        self._master_key = master_key
        self._stems = stems
        self._models = models
        self.per_day = per_day
        self._queue: OrderedDict[str, _Job] = OrderedDict()  # by fan: their newest request
        self._counts: dict[tuple[str, int], int] = {}  # (fan, UTC day) -> requests taken
        self._running: _Job | None = None
        self._cancelled: _Job | None = None
        self._wake = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None
        #: Chunks made by finished jobs (for the operator's metrics and the tests).
        self.made = 0
        self.jobs_done = 0

    def request(self, user_id: str, track: Track, recipe: Recipe) -> bool:
        """Queue ``recipe`` of ``track`` for ``user_id`` (checked by the caller: licence and
        policy); False when there is nothing to stretch (the written tempo and key).

        Raises:
            WarmRefused: the fan's requests for today are used.
        """
        if recipe.tempo_ratio == 1.0 and recipe.key_shift == 0:
            return False
        day = int(time.time()) // DAY_S
        with self._wake:
            taken = self._counts.get((user_id, day), 0)
            if taken >= self.per_day:
                raise WarmRefused(
                    f"The platform prepares at most {self.per_day} tempo or key changes a day "
                    "per fan; publishing still works, only its check takes longer."
                )
            self._counts = {k: v for k, v in self._counts.items() if k[1] == day}
            self._counts[(user_id, day)] = taken + 1
            self._queue.pop(user_id, None)
            self._queue[user_id] = _Job(user_id, track.id, track.version, recipe)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="fanfare-warmer", daemon=True
                )
                self._thread.start()
            self._wake.notify_all()
        return True

    def cancel(self, user_id: str) -> None:
        """Drop ``user_id``'s queued request and stop theirs if it runs (their upload came: its
        verification stretches what is left on every core, and the two would only repeat each
        other's chunks)."""
        with self._wake:
            self._queue.pop(user_id, None)
            if self._running is not None and self._running.user_id == user_id:
                self._cancelled = self._running

    def idle(self) -> bool:
        """Whether no job is queued or running."""
        with self._wake:
            return not self._queue and self._running is None

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._queue.clear()
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10.0)

    def _superseded(self, job: _Job) -> bool:
        with self._wake:
            return self._closed or job.user_id in self._queue or self._cancelled is job

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._queue and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                _, job = self._queue.popitem(last=False)
                self._running = job
            try:
                self._warm(job)
            except Exception:  # a hint: the upload's verification makes whatever is missing
                log.exception("warming %s for %s failed", job.track_id, job.user_id)
            finally:
                with self._wake:
                    self._running = None
                    self.jobs_done += 1
                    self._wake.notify_all()

    def _warm(self, job: _Job) -> None:
        with self._sessions() as session:
            track = session.get(Track, job.track_id)
            if track is None or track.version != job.track_version:
                return  # a new version since: the fan's studio asks again for it
            info = track_info(session, track)
            stems = self._stems.get(session, self._blobs, self._master_key, track)
            self.made += prestretch(
                stems, info.sample_rate, job.recipe, self._stems.chunks, track=info,
                styles=lambda ref: self._models.get(session, self._blobs, ref),
                stop=lambda: self._superseded(job),
            )  # fmt: skip
