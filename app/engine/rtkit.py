# SPDX-License-Identifier: GPL-3.0-or-later
"""Real-time priority through RealtimeKit, for an account the kernel will not promote itself.

A desktop user is rarely allowed real-time priorities (``RLIMIT_RTPRIO`` is 0 unless the
account is in an ``audio`` group with raised limits). Desktop Linux instead runs RealtimeKit
(``rtkit-daemon``, on the system D-Bus), which promotes a thread on request within its own
bounds: at most ``MaxRealtimePriority`` (20 by default), ``SCHED_RR`` with reset-on-fork, and
only for a process that has capped its real-time CPU time (``RLIMIT_RTTIME``) at or below
``RTTimeUSecMax`` (200 ms by default), so that a runaway real-time thread is stopped by the
kernel. PulseAudio and PipeWire get their priorities the same way.

One connection to the system bus is kept for the process and reused; if RealtimeKit cannot
be reached once, it is not asked again (a thread's promotion sits on the way to first audio).
"""

from __future__ import annotations

import os
import resource
import threading
from typing import Any

TIMEOUT_S = 0.5  # a promotion happens while playback starts: never wait long for the bus
RTKIT_NAME = "org.freedesktop.RealtimeKit1"
RTKIT_PATH = "/org/freedesktop/RealtimeKit1"


class _Rtkit:
    """The process's connection to RealtimeKit (opened at the first request)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connection: Any = None
        self._unreachable: str | None = None
        self._max_priority = 0

    def make_realtime(self, thread_id: int, priority: int, *, warned: bool) -> str | None:
        """Ask RealtimeKit to put kernel thread ``thread_id`` of this process in ``SCHED_RR``
        at ``priority`` (lowered to RealtimeKit's maximum).

        Args:
            warned: the process handles ``SIGXCPU``: the soft real-time CPU limit is then set
                at half the hard one, so that a thread running too long is demoted before
                the kernel kills the process at the hard limit.

        Returns:
            None once promoted; else why not, as the end of a sentence ("because …").
        """
        if self._unreachable is not None:  # read without the lock: a hung request holds it
            return self._unreachable
        # jeepney bounds the bus's authentication but not its greeting: a bus that accepts the
        # connection and never answers would hang playback's start. Ask on a helper thread.
        answer: list[str | None] = []

        def ask() -> None:
            try:
                answer.append(self._ask(thread_id, priority, warned))
            except Exception as exc:  # anything from the bus or the reply: never playback's
                answer.append(f"RealtimeKit could not be asked ({exc})")

        helper = threading.Thread(target=ask, name="fanfare-rtkit", daemon=True)
        helper.start()
        helper.join(2 * TIMEOUT_S)
        if not answer:
            self._unreachable = "RealtimeKit did not answer"
            return self._unreachable
        return answer[0]

    def _ask(self, thread_id: int, priority: int, warned: bool) -> str | None:
        """:meth:`make_realtime`'s request, on the helper thread."""
        from jeepney import DBusAddress, new_method_call
        from jeepney.wrappers import DBusErrorResponse, unwrap_msg

        with self._lock:
            if self._unreachable is not None:
                return self._unreachable
            address = DBusAddress(RTKIT_PATH, bus_name=RTKIT_NAME, interface=RTKIT_NAME)
            try:
                connection = self._connect(address, warned)
                call = new_method_call(
                    address,
                    "MakeThreadRealtimeWithPID",
                    "ttu",
                    (os.getpid(), thread_id, min(priority, self._max_priority)),
                )
                unwrap_msg(connection.send_and_get_reply(call, timeout=TIMEOUT_S))
            except DBusErrorResponse as exc:
                if exc.name == "org.freedesktop.DBus.Error.ServiceUnknown":
                    self._forget("RealtimeKit is not installed or not running")
                    return self._unreachable
                return f"RealtimeKit refused it ({exc.name})"
            except TimeoutError:
                self._forget("RealtimeKit did not answer")
                return self._unreachable
            except (OSError, ValueError) as exc:  # no system bus; refused authentication
                detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                self._forget(f"RealtimeKit cannot be reached ({detail})")
                return self._unreachable
        return None

    def _connect(self, address: Any, warned: bool) -> Any:
        """The open connection, its limits read and this process's RTTIME capped to them."""
        if self._connection is not None:
            return self._connection
        from jeepney import Properties
        from jeepney.io.blocking import open_dbus_connection
        from jeepney.wrappers import unwrap_msg

        connection = open_dbus_connection(bus="SYSTEM", auth_timeout=TIMEOUT_S)
        try:
            properties = Properties(address)

            def read(name: str) -> int:
                reply = connection.send_and_get_reply(properties.get(name), timeout=TIMEOUT_S)
                return int(unwrap_msg(reply)[0][1])

            self._max_priority = read("MaxRealtimePriority")
            rttime_max = read("RTTimeUSecMax")
        except BaseException:
            connection.close()
            raise
        # RealtimeKit serves only a process whose real-time CPU time is capped at its bound:
        # a real-time thread that runs that long without sleeping is killed with the process
        # (ours sleep every few milliseconds); at the soft limit it gets SIGXCPU.
        _soft, hard = resource.getrlimit(resource.RLIMIT_RTTIME)
        if hard == resource.RLIM_INFINITY or hard > rttime_max:
            hard = rttime_max
        resource.setrlimit(resource.RLIMIT_RTTIME, (hard // 2 if warned else hard, hard))
        self._connection = connection
        return connection

    def _forget(self, reason: str) -> None:
        self._unreachable = reason
        if self._connection is not None:
            self._connection.close()
            self._connection = None


_RTKIT = _Rtkit()


def make_realtime(thread_id: int, priority: int, *, warned: bool) -> str | None:
    """:meth:`_Rtkit.make_realtime` on the process's connection."""
    return _RTKIT.make_realtime(thread_id, priority, warned=warned)
