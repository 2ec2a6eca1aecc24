# SPDX-License-Identifier: GPL-3.0-or-later
"""Waiting for a condition, with a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(condition: Callable[[], bool], timeout_s: float = 8.0) -> bool:
    """Whether ``condition`` comes true within ``timeout_s`` (polled every 20 ms): what the
    device tests and the prefetch tests wait with (a null sink can take seconds to start)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
