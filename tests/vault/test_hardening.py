# SPDX-License-Identifier: GPL-3.0-or-later
"""The studio process keeps decoded audio out of core dumps and same-user debuggers."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import resource
from app.vault.hardening import harden_process
print(harden_process())
print(resource.getrlimit(resource.RLIMIT_CORE))
print([l for l in open('/proc/self/status') if l.startswith('TracerPid')][0].strip())
import ctypes, ctypes.util
print(ctypes.CDLL(ctypes.util.find_library('c')).prctl(3, 0, 0, 0, 0))  # PR_GET_DUMPABLE
"""


def test_core_dumps_and_ptrace_are_off_in_the_studio_process() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert "core dumps off" in out[0]
    assert out[1] == "(0, 0)"
    assert out[3] == "0"  # not dumpable: the kernel writes no core and refuses same-user ptrace
