# SPDX-License-Identifier: GPL-3.0-or-later
"""Running the stack's programs: a free loopback port, a command whose failure is one sentence
with the end of its log, and waiting for a platform process to answer."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import httpx


class StackError(Exception):
    """A piece of the stack could not be started or stopped (the message says why)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(command: list[str], *, what: str, log: Path | None = None) -> None:
    """Run ``command`` to its end; :class:`StackError` ("Could not <what>: …") if it fails."""
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode == 0:
        return
    tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
    if log is not None and log.exists():
        tail = log.read_text(errors="replace").strip().splitlines()[-3:] or tail
    raise StackError(f"Could not {what}: {' / '.join(tail) or f'exit status {done.returncode}'}")


def wait_for_api(
    url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 90.0
) -> None:
    """Until the platform at ``url`` (served by ``process``, writing ``log``) answers;
    :class:`StackError` with the end of its log if the process stops or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-3:]
            raise StackError(f"The platform stopped at start: {' / '.join(tail)}")
        try:
            if httpx.get(f"{url}/api/v1/platform/keys", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise StackError(f"The platform did not answer at {url} within {timeout_s:g} s.")
