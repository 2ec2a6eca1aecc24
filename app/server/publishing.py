# SPDX-License-Identifier: GPL-3.0-or-later
"""How far the platform is with an upload it is verifying, for the uploader's studio to show.

The studio sends a random publish id with its upload (the ``X-Fanfare-Publish`` header).
Verification records its step under that id and the uploader in a small table, so that any of
the platform's worker processes can answer ``GET /derivatives/publishing/{id}`` while another
one verifies; only the uploader reads it back. The steps, in order:

- ``checking``: the credentials, the spam gate, the licence and the policy;
- ``re-rendering``: the recipe rendered again from the platform's stems (with its fraction);
- ``publishing``: countersigning, the watermark variants, sealing and storing;
- then ``done``, or ``refused`` (the upload's answer says why) or ``failed`` (the platform's
  own error).

Each write is its own short transaction, apart from the upload's session, and a failed write
is logged and forgotten: progress is never a reason for a publish to fail.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy import delete
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.server.db import PublishProgress

#: What a publish id looks like: 16 to 64 URL-safe characters (``secrets.token_urlsafe``).
PUBLISH_ID_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"
STEPS = ("checking", "re-rendering", "publishing", "done", "refused", "failed")
#: Rows are deleted this long after their last update (when the next upload starts).
KEEP_S = 3600.0
#: A step's fraction is written at most this often (its start and its end always are).
WRITE_INTERVAL_S = 0.25

log = logging.getLogger("fanfare.platform")


class ProgressRecorder:
    """``recorder(step, fraction)`` keeps one upload's progress for its uploader to read.

    Without a publish id (an older studio sent none) it keeps nothing. Called from the thread
    that verifies; a step's updates are thinned to one per ``WRITE_INTERVAL_S``.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        user_id: str,
        publish_id: str | None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sessions = sessions
        self._user_id = user_id
        self._publish_id = publish_id
        self._clock = clock
        self._step = ""
        self._written_at = float("-inf")

    def __call__(self, step: str, fraction: float = 0.0) -> None:
        if self._publish_id is None:
            return
        now = self._clock()
        same_step = step == self._step
        if same_step and fraction < 1.0 and now - self._written_at < WRITE_INTERVAL_S:
            return
        first = not self._step
        self._step, self._written_at = step, now
        try:
            with self._sessions() as session:
                if first:  # the old rows go as a new upload starts: the table stays small
                    session.execute(
                        delete(PublishProgress).where(PublishProgress.updated_at < now - KEEP_S)
                    )
                row = session.get(PublishProgress, (self._user_id, self._publish_id))
                if row is None:
                    row = PublishProgress(user_id=self._user_id, publish_id=self._publish_id)
                    session.add(row)
                row.step = step
                row.fraction = min(1.0, max(0.0, float(fraction)))
                row.updated_at = now
                session.commit()
        except SQLAlchemyError as exc:
            log.warning("publish progress not recorded (%s): %s", step, exc)


def progress_of(session: Session, user_id: str, publish_id: str) -> PublishProgress | None:
    """``user_id``'s upload ``publish_id`` as last recorded; None if unknown, another
    user's, or expired."""
    row = session.get(PublishProgress, (user_id, publish_id))
    if row is None or row.updated_at < time.time() - KEEP_S:
        return None
    return row
