# SPDX-License-Identifier: GPL-3.0-or-later
"""The feeder thread and its run handshake.

The thread lives while the stream plays and runs one feeding run per play or seek: its
real-time priority, asked for once, carries across seeks (RealtimeKit grants a limited number
of requests: 25 in 20 s by default).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

STOP_WAIT_S = 2.0  # how long a stop waits for a feeding run (or the thread) to end


class FeederThread:
    """Runs ``run`` (one feeding run: it returns when :attr:`stop` is set or playback ends)
    on a thread of its own, once per :meth:`start_run`.

    Args:
        run: one feeding run.
        on_start: called first on the new thread (to raise its priority).
    """

    def __init__(self, run: Callable[[], None], on_start: Callable[[], None]) -> None:
        self._run = run
        self._on_start = on_start
        #: Set to end the feeding run in progress.
        self.stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._runs = threading.Condition()
        self._asked = 0  # feeding runs asked for
        self._done = 0  # the last one the thread finished
        self._token: object | None = None  # the running thread's; None: it is to end

    def start_run(self) -> None:
        """Ask for a feeding run, starting the thread if there is none."""
        self.stop.clear()
        with self._runs:
            self._asked += 1
            self._runs.notify_all()
        if self._thread is None:
            token = self._token = object()
            self._thread = threading.Thread(
                target=self._main, args=(token,), name="fanfare-feeder", daemon=True
            )
            self._thread.start()

    def stop_run(self) -> None:
        """End the feeding run in progress and wait for it (at most ``STOP_WAIT_S``); the
        thread waits for the next run."""
        self.stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            with self._runs:
                self._runs.wait_for(
                    lambda: self._done == self._asked or not thread.is_alive(),
                    timeout=STOP_WAIT_S,
                )

    def end(self) -> None:
        """End the thread (its run has stopped): playback is over until the next play."""
        thread, self._thread = self._thread, None
        with self._runs:
            self._token = None
            self._runs.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=STOP_WAIT_S)

    def is_fed_by(self, native_id: int) -> bool:
        """Whether the OS thread ``native_id`` is the feeder thread now."""
        thread = self._thread
        return thread is not None and thread.native_id == native_id

    def _main(self, token: object) -> None:
        self._on_start()
        while True:
            with self._runs:
                self._runs.wait_for(lambda: self._token is not token or self._asked != self._done)
                if self._token is not token:
                    return
                run = self._asked
            try:
                self._run()
            finally:
                with self._runs:
                    if self._token is token:  # else a newer thread counts the runs
                        self._done = run
                    self._runs.notify_all()
