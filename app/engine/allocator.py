# SPDX-License-Identifier: GPL-3.0-or-later
"""Keep the C allocator from multiplying memory across the engine's threads.

glibc gives each thread that allocates its own malloc arena (up to 8 per core), and memory
freed into one arena is not reused by another. The engine's prefetch and render threads allocate
chunk buffers and Rubber Band's work space, so with the default a tempo change alone grew the
studio by ~120 MB (benchmarks/README.md, Findings).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import sys

M_ARENA_MAX = -8  # from glibc's malloc.h
ARENAS = 2  # one per core on the machines we target; more only fragments


def limit_malloc_arenas() -> bool:
    """Cap glibc's malloc arenas for this process (before the threads start); False where
    there is no glibc (macOS, Windows, musl) or it refused."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    with contextlib.suppress(OSError, AttributeError):
        return bool(ctypes.CDLL(name).mallopt(M_ARENA_MAX, ARENAS))
    return False
