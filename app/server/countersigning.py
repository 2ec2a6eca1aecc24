# SPDX-License-Identifier: GPL-3.0-or-later
"""The platform's manifest signed into a published remix in a worker process, started while
the re-render runs.

Countersigning a 4-minute remix is about 0.35 s of c2pa's native code, but c2pa reads and
writes the file through Python callbacks, some twenty thousand of them, each needing the
interpreter lock: on a thread beside the re-render it slows the re-render by about two thirds
of its own time, in a process by next to nothing (``benchmarks/README.md``, Trust). So it runs
in a small pool of processes (spawned, never forked from the threaded server), shared by every
platform in this process.

``SignedAhead`` starts the countersigning before the re-render, with the disclosure the fan's
studio measured (``org.fanfare.remix``'s ``levels``), and takes it only when the re-render's
disclosure is the same; otherwise it signs again, so what is published is always the
platform's own measure.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.core.credentials import strip_store
from app.server.ca import Publisher
from app.server.credentials import countersign
from app.server.garden import tagged

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def _workers() -> int:
    """Half the cores this process may use: the rest re-render."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 2
    return max(1, cores // 2)


def _executor(renew: bool = False) -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None or renew:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            _pool = ProcessPoolExecutor(_workers(), mp_context=multiprocessing.get_context("spawn"))
        return _pool


def sign_published(
    private_key: bytes,
    certificate_pem: str,
    upload: bytes,
    doc: dict[str, Any],
    title: str,
    verification: dict[str, Any],
) -> bytes:
    """What listeners get (run in a worker): the upload's audio tagged with ``doc``
    (``garden.tagged``), with the platform's manifest over the fan's. ``private_key``: the
    publisher's raw Ed25519 key."""
    publisher = Publisher(Ed25519PrivateKey.from_private_bytes(private_key), certificate_pem)
    published = tagged(strip_store(upload), doc)
    return countersign(publisher, upload, published, title=title, verification=verification)


def countersign_in_worker(
    publisher: Publisher,
    upload: bytes,
    doc: dict[str, Any],
    *,
    title: str,
    verification: dict[str, Any],
) -> Future[bytes]:
    """``sign_published`` started in the pool; a pool whose worker died is started again."""
    args = (
        publisher.private.private_bytes_raw(),
        publisher.certificate_pem,
        upload,
        doc,
        title,
        verification,
    )
    try:
        return _executor().submit(sign_published, *args)
    except BrokenProcessPool:
        return _executor(renew=True).submit(sign_published, *args)


class SignedAhead:
    """A countersigned file started before it is known to be the one needed.

    ``sign(disclosure)`` starts the signing of the file that tells ``disclosure``;
    ``expected``: the disclosure the fan's studio measured (None: nothing to start).
    """

    def __init__(
        self, sign: Callable[[dict[str, Any]], Future[bytes]], expected: dict[str, Any] | None
    ) -> None:
        self._sign = sign
        self._expected = expected
        self._ahead = sign(expected) if expected is not None else None

    def take(self, disclosure: dict[str, Any]) -> bytes:
        """The file countersigned with ``disclosure``: the one started ahead when it says the
        same, else signed now."""
        if self._ahead is not None:
            if disclosure == self._expected:
                try:
                    return self._ahead.result()
                except BrokenProcessPool:
                    pass  # its worker died: signed again below, in a new one
            else:
                self._ahead.cancel()
        try:
            return self._sign(disclosure).result()
        except BrokenProcessPool:
            _executor(renew=True)
            return self._sign(disclosure).result()

    def cancel(self) -> None:
        """Not needed after all (the upload was refused)."""
        if self._ahead is not None:
            self._ahead.cancel()
