# SPDX-License-Identifier: GPL-3.0-or-later
"""Real-time scheduling of the audio threads: granted where the system allows it, and a
clear reason (with playback unharmed) where it does not."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from app.core.recipe import Recipe, StemMix
from app.engine import realtime
from app.engine.mixer import Mixer
from app.engine.output import Player
from tests.helpers.audio import SAMPLE_RATE, sine
from tests.helpers.playback import PLAYING, device_required, start
from tests.helpers.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux scheduling")


def _may_use_realtime() -> bool:
    return os.geteuid() == 0 or resource.getrlimit(resource.RLIMIT_RTPRIO)[0] >= 2


def _policy(thread_id: int) -> tuple[int, int]:
    """(policy without the reset-on-fork flag, priority) of a thread of this process."""
    policy = os.sched_getscheduler(thread_id) & ~os.SCHED_RESET_ON_FORK
    return policy, os.sched_getparam(thread_id).sched_priority


NO_BUS = "unix:path=/nonexistent/fanfare-test-bus"  # no RealtimeKit to ask either


def _unprivileged(code: str, system_bus: str = NO_BUS) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a Python that may not use real-time priorities: no real-time limit
    and, for root, without the capability that bypasses it; ``system_bus`` is the D-Bus
    system bus it finds (where RealtimeKit would be): by default none."""
    limit = "import resource\nresource.setrlimit(resource.RLIMIT_RTPRIO, (0, 0))\n"
    command = [sys.executable, "-c", limit + code]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("setpriv is needed to drop root's CAP_SYS_NICE")
        command = ["setpriv", "--bounding-set", "-sys_nice", *command]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": system_bus},
        timeout=60,
    )


@pytest.mark.skipif(not _may_use_realtime(), reason="this account may not use real-time")
def test_a_promoted_thread_runs_first_in_first_out_at_its_priority() -> None:
    seen: list[object] = []

    def work() -> None:
        seen.append(realtime.promote_current(realtime.FEEDER_PRIORITY))
        seen.append(_policy(threading.get_native_id()))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [None, (os.SCHED_FIFO, realtime.FEEDER_PRIORITY)]
    # Only that thread: the test's own stays where it was.
    assert _policy(threading.get_native_id())[0] == os.SCHED_OTHER


def test_a_refused_promotion_says_why_and_leaves_the_thread_as_it_was() -> None:
    out = _unprivileged(
        "import os\n"
        "from app.engine import realtime\n"
        "print(realtime.promote_current(realtime.FEEDER_PRIORITY))\n"
        "print(os.sched_getscheduler(0) == os.SCHED_OTHER)\n"
    )
    reason, normal = out.stdout.strip().splitlines()
    assert reason.startswith("Real-time audio scheduling is unavailable, because")
    assert "audio group" in reason
    assert "RealtimeKit cannot be reached" in reason
    assert normal == "True"


def test_a_thread_that_has_ended_needs_no_promotion() -> None:
    # One past the largest id the kernel hands out: no thread has it.
    gone = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1
    assert realtime.promote(gone, realtime.FEEDER_PRIORITY) is None


def test_only_the_threads_the_audio_stack_started_are_taken_for_the_devices() -> None:
    stop = threading.Event()
    before = realtime.native_threads()
    thread = threading.Thread(target=stop.wait)  # Python's own: never the device's
    thread.start()
    try:
        after = realtime.native_threads()
        assert thread.native_id not in after
        assert threading.get_native_id() not in after
        # A thread the audio stack started keeps the process's name (PortAudio's) or is
        # libpulse's; a named one started meanwhile (Qt's pool) is not the device's.
        unnamed = Path("/proc/self/comm").read_text().strip()
        fake = {**after, 10**9: unnamed, 10**9 + 1: "threaded-ml", 10**9 + 2: "Thread (pooled)"}
        assert realtime.device_threads(before, fake) == {10**9, 10**9 + 1}
    finally:
        stop.set()
        thread.join()


def _fifo_threads() -> dict[int, int]:
    """{thread id: priority} of this process's threads in SCHED_FIFO."""
    found = {}
    for task in os.listdir("/proc/self/task"):
        try:
            policy, priority = _policy(int(task))
        except OSError:  # ended while we looked
            continue
        if policy == os.SCHED_FIFO:
            found[int(task)] = priority
    return found


@pytest.mark.device
@pytest.mark.skipif(not _may_use_realtime(), reason="this account may not use real-time")
def test_while_playing_the_feeder_and_the_device_threads_run_real_time() -> None:
    stems = {"keys": np.ascontiguousarray(sine(440.0, 4.0, 0.3))}
    player = start(Player(Mixer(stems, SAMPLE_RATE, Recipe("s", 1, "t", {"keys": StemMix()}))))
    try:
        assert wait_for(lambda: player.position_s > 0.3), "the device did not pull audio"
        fifo = _fifo_threads()
        assert player.realtime is None
        feeders = [tid for tid in fifo if player.is_fed_by(tid)]
        assert len(feeders) == 1
        assert fifo.pop(feeders[0]) == realtime.FEEDER_PRIORITY
        # PortAudio's callback thread (and, on PulseAudio, libpulse's client thread).
        assert fifo and set(fifo.values()) == {realtime.DEVICE_PRIORITY}
        assert player.underruns == 0
    finally:
        player.close()
    assert _fifo_threads() == {}  # the device's threads end with the stream, the feeder's too


PLAY_UNPRIVILEGED = (
    PLAYING
    + """
print(player.realtime)
print(flowed, player.underruns)
player.close()
"""
)


@pytest.mark.device
def test_without_real_time_rights_the_sound_plays_on_and_the_player_says_why() -> None:
    lines = _unprivileged(PLAY_UNPRIVILEGED).stdout.strip().splitlines()
    if lines[-1].startswith("no device"):
        if device_required():
            pytest.fail(lines[-1])
        pytest.skip(lines[-1])
    reason, flowed = lines[-2:]
    assert reason.startswith("Real-time audio scheduling is unavailable, because")
    assert flowed == "True 0"


SILENT_BUS_ASK = """
import time
from app.engine import realtime
start = time.monotonic()
print(realtime.promote_current(realtime.FEEDER_PRIORITY))
print(time.monotonic() - start < 2.0)
start = time.monotonic()
realtime.promote_current(realtime.FEEDER_PRIORITY)
print(time.monotonic() - start < 0.05)  # not asked again
"""


def test_a_system_bus_that_never_answers_does_not_hold_up_playback(tmp_path: Path) -> None:
    """A D-Bus system bus that lets the app sign in and then says nothing more (a wedged
    bus): asking it for real-time priority gives up within a second, says so, and is not
    asked again."""
    import socket

    path = tmp_path / "bus"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen()
    held: list[socket.socket] = []

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                connection, _ = server.accept()
                held.append(connection)
                received = b""
                while b"BEGIN\r\n" not in received:
                    chunk = connection.recv(4096)
                    if not chunk:
                        break
                    received += chunk
                    if b"AUTH" in chunk:  # authenticated: then silence
                        connection.sendall(b"OK 0123456789abcdef0123456789abcdef\r\n")

    threading.Thread(target=serve, daemon=True).start()
    try:
        out = _unprivileged(SILENT_BUS_ASK, system_bus=f"unix:path={path}")
    finally:
        server.close()
        for connection in held:
            connection.close()
    reason, quick, not_again = out.stdout.strip().splitlines()
    assert "RealtimeKit did not answer" in reason
    assert quick == "True"
    assert not_again == "True"
