# SPDX-License-Identifier: GPL-3.0-or-later
"""Real-time scheduling for the threads that carry sound to the device (Linux).

rtmixer's callback never waits for Python, but it, the sound server's client thread and the
feeder are ordinary threads: with the window painting, style models rendering ahead and
another program busy on the other core, they wait their turn for the one free core, and the
device's buffer is 10.7 ms. Audio software asks the kernel for a fixed-priority class
(``SCHED_FIFO``) for such threads, as JACK clients and PipeWire do; the kernel grants it to a
user allowed real-time priorities (``RLIMIT_RTPRIO``, e.g. the ``audio`` group's limits) or
holding ``CAP_SYS_NICE``; for anyone else RealtimeKit grants it where the desktop runs it
(``engine/rtkit``). It cannot help when the machine itself pauses (benchmarks/README.md,
"device floor").

The priorities stay below PulseAudio's own (5 by default), which must run first to ask for
the sound, and every promoted thread is reset on fork, so nothing the app starts inherits it.
A thread that may not be promoted runs on at normal priority, and the reason is reported.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

DEVICE_PRIORITY = 3  # the threads opening the device started: PortAudio's, the sound server's
FEEDER_PRIORITY = 2  # below the device's threads: the feeder has a 10 ms ring to spare
SOUND_SERVER_THREADS = frozenset({"threaded-ml"})  # libpulse's client thread
RAN_TOO_LONG = (
    "Real-time audio scheduling was turned off for this run, because an audio thread used "
    "the processor too long without a pause; dropouts are likelier while other programs keep "
    "the processor busy."
)

_demoted: str | None = None  # once set, nothing is promoted again in this process


def demoted() -> str | None:
    """Why the audio threads were put back to normal priority in this run, if they were."""
    return _demoted


def promote(thread_id: int, priority: int) -> str | None:
    """Put the thread with kernel id ``thread_id`` of this process in ``SCHED_FIFO`` at
    ``priority`` (1-99, higher runs first).

    Returns:
        None once promoted; else why not, as a sentence for the user.
    """
    if not sys.platform.startswith("linux"):
        return "Real-time audio scheduling is unavailable, because it is only used on Linux."
    if _demoted is not None:
        return _demoted
    policy = os.SCHED_FIFO | os.SCHED_RESET_ON_FORK
    try:
        os.sched_setscheduler(thread_id, policy, os.sched_param(priority))
    except ProcessLookupError:  # the thread has ended: nothing to promote
        return None
    except PermissionError:
        # Not for this account: ask RealtimeKit, as desktop audio software does.
        from app.engine import rtkit

        warned = signal.getsignal(signal.SIGXCPU) is _ran_too_long
        refused = rtkit.make_realtime(thread_id, priority, warned=warned)
        if refused is None:
            return None
        return (
            "Real-time audio scheduling is unavailable, because this account may not use "
            f"real-time priorities and {refused} (on most systems, membership of the audio "
            "group allows it); dropouts are likelier while other programs keep the processor "
            "busy."
        )
    except OSError as exc:  # e.g. the system's real-time budget is all given out
        return f"Real-time audio scheduling is unavailable, because the kernel refused it ({exc})."
    return None


def promote_current(priority: int) -> str | None:
    """:func:`promote` the calling thread."""
    return promote(threading.get_native_id(), priority)


def native_threads() -> dict[int, str]:
    """{kernel id: name} of this process's threads that Python did not start (empty without
    /proc)."""
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:  # not Linux, or no /proc
        return {}
    python = {thread.native_id for thread in threading.enumerate()}
    found = {}
    for task in tasks:
        if int(task) in python:
            continue
        try:
            with open(f"/proc/self/task/{task}/comm", encoding="utf-8") as comm:
                found[int(task)] = comm.read().strip()
        except OSError:  # the thread ended while we looked
            continue
    return found


def device_threads(before: dict[int, str], after: dict[int, str]) -> set[int]:
    """The threads the audio stack started between two :func:`native_threads` snapshots
    taken around opening and starting the device: PortAudio's callback thread, which keeps
    the process's name, and libpulse's client thread (ALSA's ``pulse`` device), which carries
    the sound to the server. Named threads started meanwhile, such as Qt's pool threads, are
    not the device's: at a real-time priority a busy one would take a core from everything.
    """
    try:
        with open("/proc/self/comm", encoding="utf-8") as comm:
            unnamed = comm.read().strip()
    except OSError:
        return set()
    names = SOUND_SERVER_THREADS | {unnamed}
    return {tid for tid, name in after.items() if tid not in before and name in names}


def promote_all(thread_ids: set[int], priority: int) -> str | None:
    """:func:`promote` each of ``thread_ids``.

    Returns:
        None when all were promoted (or none were given); else the first reason one was not.
    """
    reasons = [promote(tid, priority) for tid in sorted(thread_ids)]
    return next((reason for reason in reasons if reason is not None), None)


def guard_cpu_time() -> None:
    """Catch ``SIGXCPU``, which the kernel sends a real-time thread that runs past the soft
    ``RLIMIT_RTTIME`` without sleeping (RealtimeKit's threads have one; at the hard limit
    the kernel kills the process), and demote every audio thread then: a dropout-prone
    studio is better than a killed one. Only the main thread may install a handler, so
    ``fanfare`` calls this at start (tracks open on workers); elsewhere it does nothing, and
    RealtimeKit's promotions then get no early warning (soft limit = hard limit, as
    PulseAudio's do).
    """
    if sys.platform.startswith("linux") and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGXCPU, _ran_too_long)


def _ran_too_long(_signum: int, _frame: object) -> None:
    global _demoted
    _demoted = RAN_TOO_LONG
    for task in os.listdir("/proc/self/task"):
        try:
            if os.sched_getscheduler(int(task)) & ~os.SCHED_RESET_ON_FORK != os.SCHED_OTHER:
                # Keeping reset-on-fork: only a privileged thread may clear it.
                normal = os.SCHED_OTHER | os.SCHED_RESET_ON_FORK
                os.sched_setscheduler(int(task), normal, os.sched_param(0))
        except OSError:  # ended meanwhile
            continue
