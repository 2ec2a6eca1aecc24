# SPDX-License-Identifier: GPL-3.0-or-later
"""In-process rate limits (a token bucket per key) for sign-in and licence requests.

One bucket per key (e.g. ``"failed|user|fan"``): ``burst`` requests at once, refilled at
``per_minute``. ``allow`` takes a token per request; sign-in instead asks ``available`` first
and ``spend``s only on a failure, so right passwords never use a bucket up.

A deployment with several API workers puts the same limits in front of them (a proxy or a
shared store); this keeps a single process honest.
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

    def allow(self, key: str) -> bool:
        """Take a token from ``key``'s bucket; False (and nothing taken) when it is empty."""
        with self._lock:
            if not self._available(key):
                return False
            self._spend(key)
            return True

    def available(self, key: str) -> bool:
        """Whether ``key``'s bucket has a token (nothing is taken)."""
        with self._lock:
            return self._available(key)

    def spend(self, key: str) -> None:
        """Take a token from ``key``'s bucket if it has one."""
        with self._lock:
            self._spend(key)

    def _tokens(self, key: str, now: float) -> float:
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - last) * self.rate_per_s)

    def _available(self, key: str) -> bool:
        return self._tokens(key, time.monotonic()) >= 1.0

    def _spend(self, key: str) -> None:
        now = time.monotonic()
        self._buckets[key] = (max(0.0, self._tokens(key, now) - 1.0), now)
        if len(self._buckets) > 100_000:  # forget idle keys rather than grow without bound
            self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 600}

    def retry_after_s(self) -> int:
        return max(1, int(1.0 / self.rate_per_s)) if self.rate_per_s > 0 else 60
