# SPDX-License-Identifier: GPL-3.0-or-later
"""In-process rate limits (a token bucket per key) for sign-in and licence requests.

One bucket per key (e.g. ``"login|fan|127.0.0.1"``): ``burst`` requests at once, refilled at
``per_minute``. A deployment with several API workers puts the same limits in front of them (a
proxy or a shared store); this keeps a single process honest.
"""

from __future__ import annotations

import threading
import time


class RateLimiter:
    """``allow(key)`` is True while the key's bucket has a token; else the caller answers 429."""

    def __init__(self, per_minute: float, burst: int) -> None:
        self.rate_per_s = per_minute / 60.0
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate_per_s)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > 100_000:  # forget idle keys rather than grow without bound
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 600}
            return True

    def retry_after_s(self) -> int:
        return max(1, int(1.0 / self.rate_per_s)) if self.rate_per_s > 0 else 60
