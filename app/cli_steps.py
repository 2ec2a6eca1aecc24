# SPDX-License-Identifier: GPL-3.0-or-later
"""Publishing's steps as `fanfare render --publish` prints them.

On a terminal each step is one line, redrawn in place (``\\r``) as its fraction grows and
ended with how long it took: ``Rendering… done (12.3 s)``. Anywhere else (a pipe, a log) each
step's line is begun when the step starts and ended when it ends: two writes a step, not a
flood of fractions.
"""

from __future__ import annotations

import threading
import time
from typing import TextIO

from app.studio.publishing import RENDERING, UPLOADING, VERIFYING

LABELS = {
    RENDERING: "Rendering…",
    UPLOADING: "Uploading…",
    VERIFYING: "Verifying on the platform…",
}


class StepPrinter:
    """``printer(step, fraction)`` is a ``progress`` for ``OpenTrack.publish``: steps in
    order, each from 0 to 1. Call :meth:`fail` when publishing raised, to end the line of the
    step it stopped at."""

    def __init__(self, out: TextIO, *, tty: bool | None = None) -> None:
        self._out = out
        self._tty = out.isatty() if tty is None else tty
        self._lock = threading.Lock()  # the platform's progress arrives on another thread
        self._step: str | None = None  # the step under way
        self._ended: set[str] = set()
        self._started = 0.0
        self._shown = ""  # what the current line holds (on a terminal)
        self._percent = -1

    def __call__(self, step: str, fraction: float) -> None:
        with self._lock:
            if step in self._ended:
                return
            if step != self._step:
                self._end("done")  # steps come in order: the one before is done
                self._step, self._started, self._percent = step, time.monotonic(), -1
                self._show(self._label(step))
            if fraction >= 1.0:
                self._end("done")
                return
            percent = int(fraction * 100)
            if self._tty and percent != self._percent:
                self._percent = percent
                self._show(f"{self._label(step)} {percent} %")

    def fail(self) -> None:
        """Publishing stopped at the step under way: its line ends "failed"."""
        with self._lock:
            self._end("failed")

    def _end(self, how: str) -> None:
        step = self._step
        if step is None:
            return
        took = time.monotonic() - self._started
        word = f"{how} ({took:.1f} s)" if took >= 0.1 else how
        if self._tty:
            self._show(f"{self._label(step)} {word}")
        else:
            self._out.write(f" {word}")
        self._out.write("\n")
        self._out.flush()
        self._ended.add(step)
        self._step, self._shown = None, ""

    @staticmethod
    def _label(step: str) -> str:
        return LABELS.get(step, f"{step}…")

    def _show(self, text: str) -> None:
        """On a terminal, ``text`` over the current line; elsewhere, the step's beginning."""
        if self._tty:
            self._out.write("\r" + text + " " * max(0, len(self._shown) - len(text)))
            self._shown = text
        else:
            self._out.write(text)
        self._out.flush()
