# SPDX-License-Identifier: GPL-3.0-or-later
"""Real-time priority through RealtimeKit, as on a desktop where the account itself may not
use real-time priorities: the real ``rtkit-daemon`` and ``polkitd`` on a private system bus
(a real ``dbus-daemon``), asked by a process of an ordinary account (``nobody``)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.playback import PLAYING, device_required

ROOT = Path(__file__).resolve().parents[2]
USER = "nobody"  # the ordinary account that asks; polkit authorises it
OTHER_USER = "daemon"  # an ordinary account that polkit does not authorise

RTKIT_DAEMON = Path("/usr/libexec/rtkit-daemon")
POLKITD = Path("/usr/lib/polkit-1/polkitd")
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="starting system daemons needs root")

# A bus of the system kind (EXTERNAL authentication by uid), open to every user and name:
# the daemons' own policy files are not under test, RealtimeKit's and polkit's rules are.
BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"""


def _owned(address: str, name: str) -> bool:
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection
    from jeepney.wrappers import unwrap_msg

    bus = DBusAddress("/org/freedesktop/DBus", "org.freedesktop.DBus", "org.freedesktop.DBus")
    with open_dbus_connection(address) as connection:
        call = new_method_call(bus, "NameHasOwner", "s", (name,))
        return bool(unwrap_msg(connection.send_and_get_reply(call, timeout=2))[0])


# RealtimeKit grants only what polkit authorises, and its actions' defaults allow only a user
# in a local login session (logind's), which a test machine has none of. An administrator of
# such a machine (an audio workstation with no graphical login) writes a rule like this one.
POLKIT_RULE = """polkit.addRule(function(action, subject) {{
    if (action.id.indexOf("org.freedesktop.RealtimeKit1.") == 0 && subject.user == "{user}")
        return polkit.Result.YES;
}});
"""
POLKIT_RULES = Path("/etc/polkit-1/rules.d")


@pytest.fixture(scope="module")
def rtkit_bus() -> Iterator[str]:
    """The address of a system bus with polkit and RealtimeKit serving on it, RealtimeKit's
    actions authorised for :data:`USER`."""
    missing = [str(p) for p in (RTKIT_DAEMON, POLKITD) if not p.exists()]
    missing += [tool for tool in ("dbus-daemon", "setpriv") if not shutil.which(tool)]
    if missing:
        message = f"not installed: {', '.join(missing)} (scripts/test installs them as root)"
        if device_required():
            pytest.fail(message)
        pytest.skip(message)
    # Readable by the daemons' own users (rtkit, polkitd), which they switch to, and by USER.
    folder = Path(tempfile.mkdtemp(prefix="fanfare-bus-"))
    folder.chmod(0o755)
    config = folder / "bus.conf"
    config.write_text(BUS_CONFIG.format(socket=folder / "system_bus_socket"))
    address = f"unix:path={folder / 'system_bus_socket'}"
    rule = POLKIT_RULES / f"49-fanfare-test-{os.getpid()}.rules"
    rule.write_text(POLKIT_RULE.format(user=USER))
    env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": address}
    daemons = [subprocess.Popen(["dbus-daemon", "--nofork", f"--config-file={config}"], env=env)]
    try:
        deadline = time.monotonic() + 10
        while not (folder / "system_bus_socket").exists():
            assert time.monotonic() < deadline, "dbus-daemon did not start"
            time.sleep(0.05)
        daemons.append(subprocess.Popen([str(POLKITD), "--no-debug"], env=env))
        daemons.append(subprocess.Popen([str(RTKIT_DAEMON)], env=env))
        for name in ("org.freedesktop.PolicyKit1", "org.freedesktop.RealtimeKit1"):
            while not _owned(address, name):
                if any(d.poll() is not None for d in daemons) or time.monotonic() > deadline:
                    pytest.fail(f"{name} did not come up on the test bus")
                time.sleep(0.05)
        yield address
    finally:
        for daemon in reversed(daemons):
            daemon.terminate()
            try:
                daemon.wait(timeout=5)
            except subprocess.TimeoutExpired:
                daemon.kill()
        shutil.rmtree(folder, ignore_errors=True)
        rule.unlink(missing_ok=True)


def _as_user(user: str, code: str, system_bus: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in this Python as ``user`` (no capabilities, no supplementary groups),
    with ``system_bus`` as its D-Bus system bus."""
    account = pwd.getpwnam(user)
    env = {
        **os.environ,
        "DBUS_SYSTEM_BUS_ADDRESS": system_bus,
        "HOME": "/nonexistent",  # the test's home is root's; nothing here needs one
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    command = [
        "setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--clear-groups",
        "--inh-caps=-all", sys.executable, "-c", code,
    ]  # fmt: skip
    return subprocess.run(
        command, capture_output=True, text=True, check=True, cwd=ROOT, env=env, timeout=60
    )


PROMOTE = """
import os, resource, threading
from app.engine import realtime
seen = []
def work():
    seen.append(realtime.promote_current(realtime.FEEDER_PRIORITY))
    policy = os.sched_getscheduler(0) & ~os.SCHED_RESET_ON_FORK
    seen.append((policy, os.sched_getparam(0).sched_priority))
thread = threading.Thread(target=work)
thread.start()
thread.join()
print(seen[0])
print(seen[1] == (os.SCHED_RR, realtime.FEEDER_PRIORITY))
print(os.sched_getscheduler(0) == os.SCHED_OTHER)  # only the thread that asked
print(resource.getrlimit(resource.RLIMIT_RTTIME))
"""


def test_rtkit_promotes_a_thread_the_kernel_would_not(rtkit_bus: str) -> None:
    lines = _as_user(USER, PROMOTE, rtkit_bus).stdout.strip().splitlines()
    reason, promoted, others_left, rttime = lines
    assert reason == "None"
    assert promoted == "True"  # round-robin at the feeder's priority, as RealtimeKit grants
    assert others_left == "True"
    # RealtimeKit serves only a process whose real-time CPU time is capped at its bound.
    assert rttime == "(200000, 200000)"


PLAY = (
    PLAYING
    + """
for i in range(30):  # a listener clicking about the timeline: more seeks than RealtimeKit's
    player.seek(int((i % 3) * SAMPLE_RATE))  # 25 requests in 20 s would grant
    time.sleep(0.02)
flowed = flowed and wait_for(lambda: player.position_s > 0.2)
rr = set()
for task in os.listdir("/proc/self/task"):
    if os.sched_getscheduler(int(task)) & ~os.SCHED_RESET_ON_FORK == os.SCHED_RR:
        rr.add(os.sched_getparam(int(task)).sched_priority)
print(player.realtime)
print(sorted(rr))
print(flowed, player.underruns)
player.close()
"""
)


@pytest.mark.device
def test_a_player_without_real_time_rights_gets_them_from_rtkit(rtkit_bus: str) -> None:
    """Its feeder and device threads, asked for once per play: 30 seeks later, all still run
    real-time."""
    from app.engine import realtime

    lines = _as_user(USER, PLAY, rtkit_bus).stdout.strip().splitlines()
    if lines[-1].startswith("no device"):
        if device_required():
            pytest.fail(lines[-1])
        pytest.skip(lines[-1])
    reason, priorities, flowed = lines[-3:]
    assert reason == "None"  # nothing to tell the user: the sound has its priority
    # The feeder and the device's threads (PortAudio's callback, libpulse's client thread).
    assert priorities == str([realtime.FEEDER_PRIORITY, realtime.DEVICE_PRIORITY])
    assert flowed.split()[0] == "True"  # it played (dropouts are the soak's to count)


def test_when_polkit_refuses_the_reason_says_so_and_the_thread_is_unchanged(
    rtkit_bus: str,
) -> None:
    lines = _as_user(OTHER_USER, PROMOTE, rtkit_bus).stdout.strip().splitlines()
    reason, promoted, others_left, _rttime = lines
    assert reason.startswith("Real-time audio scheduling is unavailable, because")
    assert "RealtimeKit refused it" in reason
    assert promoted == "False"
    assert others_left == "True"


RUN_TOO_LONG = """
import hashlib, os, resource, threading, time
from app.engine import realtime
go = threading.Event()
seen = {}
data = bytes(1 << 30)
def spin():  # an audio thread gone wrong: one long call into C (the GIL let go), no pause
    go.wait()
    seen["promoted"] = os.sched_getscheduler(0) & ~os.SCHED_RESET_ON_FORK == os.SCHED_RR
    start = time.thread_time()
    hashlib.sha256(data).digest()
    seen["cpu"] = time.thread_time() - start
    seen["after"] = os.sched_getscheduler(0) & ~os.SCHED_RESET_ON_FORK == os.SCHED_OTHER
realtime.guard_cpu_time()  # as `fanfare` does at start, on the main thread
thread = threading.Thread(target=spin)
thread.start()
print(realtime.promote(thread.native_id, realtime.FEEDER_PRIORITY))  # as play() does
print(resource.getrlimit(resource.RLIMIT_RTTIME))
go.set()
while thread.is_alive():  # the main thread wakes now and then, as the window's timers do
    time.sleep(0.02)
print(seen["promoted"], seen["after"], seen["cpu"] > 0.2)
print(realtime.demoted() == realtime.RAN_TOO_LONG)
print(realtime.promote_current(realtime.FEEDER_PRIORITY) == realtime.RAN_TOO_LONG)
"""


def test_a_thread_that_runs_too_long_is_demoted_and_the_process_lives(rtkit_bus: str) -> None:
    result = _as_user(USER, RUN_TOO_LONG, rtkit_bus)
    reason, rttime, states, said, refused_after = result.stdout.strip().splitlines()
    assert reason == "None"
    # SIGXCPU at half RealtimeKit's bound; the kernel would kill the process at the bound.
    assert rttime == "(100000, 200000)"
    # Promoted, then back to normal priority, and still running past the hard limit.
    assert states == "True True True"
    assert said == "True"  # what the dropout counter's tooltip will say
    assert refused_after == "True"  # not promoted again in this run
