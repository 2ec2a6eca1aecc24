# SPDX-License-Identifier: GPL-3.0-or-later
"""Process hardening for the studio: no core dumps, no same-user debugger attach.

Decoded stems live in this process's memory. A crash (or a deliberate ``kill -ABRT``) would
otherwise write all of it to a core file, and any program of the same user could read it with
ptrace. Both are switched off at start-up. This is friction, not a guarantee: root, or a user
who starts Fanfare under a debugger, still sees everything (see docs/security.md).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import resource
import sys

_PR_SET_DUMPABLE = 4


def harden_process() -> list[str]:
    """Apply what this platform supports; returns what was done, for the log."""
    done = []
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        done.append("core dumps off")
    except (ValueError, OSError):
        pass
    if sys.platform.startswith("linux"):
        libc_name = ctypes.util.find_library("c")
        if libc_name:
            libc = ctypes.CDLL(libc_name, use_errno=True)
            if libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) == 0:
                done.append("not dumpable (no core, no same-user ptrace)")
    return done
