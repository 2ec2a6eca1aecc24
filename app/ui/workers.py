# SPDX-License-Identifier: GPL-3.0-or-later
"""The one background-task helper: run a slow call on a worker thread, deliver on the GUI thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from app.core.errors import FanfareError


class _Relay(QObject):
    """Lives on the GUI thread; its signals are queued there from the worker."""

    done = Signal(object)
    failed = Signal(object)
    progress = Signal(str, float)


class _Task(QRunnable):
    def __init__(self, fn: Callable[..., Any], relay: _Relay, with_progress: bool) -> None:
        super().__init__()
        self.fn, self.relay, self.with_progress = fn, relay, with_progress

    def run(self) -> None:
        try:
            if self.with_progress:
                result = self.fn(lambda text, fraction: self.relay.progress.emit(text, fraction))
            else:
                result = self.fn()
        except Exception as exc:  # every failure reaches the window as a message
            self.relay.failed.emit(exc)
        else:
            self.relay.done.emit(result)


_live: set[_Relay] = set()


def run_task(
    fn: Callable[..., Any],
    on_done: Callable[[Any], None],
    on_error: Callable[[BaseException], None],
    on_progress: Callable[[str, float], None] | None = None,
) -> None:
    """Run ``fn`` on the shared pool; callbacks run on the GUI thread.

    With ``on_progress``, ``fn`` is called with one argument: a ``progress(text, fraction)``
    function it may call from the worker.
    """
    relay = _Relay()
    _live.add(relay)  # keep the relay alive until the task reports

    def finish(callback: Callable[[Any], None]) -> Callable[[Any], None]:
        def deliver(value: Any) -> None:
            _live.discard(relay)
            callback(value)

        return deliver

    relay.done.connect(finish(on_done))
    relay.failed.connect(finish(on_error))
    if on_progress is not None:
        relay.progress.connect(on_progress)
    QThreadPool.globalInstance().start(_Task(fn, relay, on_progress is not None))


def describe(error: BaseException, *, sentences: tuple[type[BaseException], ...] = ()) -> str:
    """The sentence to show for a task's failure: our errors carry one (and so do the error
    types in ``sentences``, e.g. the ValueError of a value check); anything else is named."""
    if isinstance(error, (FanfareError, *sentences)):
        return str(error)
    return f"Something unexpected went wrong ({type(error).__name__}: {error})."
