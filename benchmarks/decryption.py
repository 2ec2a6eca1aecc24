# SPDX-License-Identifier: GPL-3.0-or-later
"""Stem decryption against openssl, in the same run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable

from benchmarks.table import Figure, benchmark, median

RUNS = 7  # each a few milliseconds: enough for a median that the first (cold) run cannot sway


def _openssl_gcm_bytes_per_s(seconds: int) -> float | None:
    """What ``openssl speed -evp aes-256-gcm`` reports for 64 KiB blocks, in bytes/s."""
    if shutil.which("openssl") is None:
        return None
    out = subprocess.run(
        ["openssl", "speed", "-evp", "aes-256-gcm", "-bytes", "65536", "-seconds", str(seconds)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    # The table's figure is in thousands of bytes per second ("k"), not KiB.
    match = re.search(r"AES-256-GCM\s+([\d.]+)k", out, re.IGNORECASE)
    return float(match.group(1)) * 1000 if match else None


@benchmark
def decrypt(quick: bool) -> list[Figure]:
    """Stem blob → plaintext codec bytes in memory, against openssl in the same run."""
    from app.core.bundle import (
        StemHeader,
        decrypt_into,
        decrypt_stem,
        encrypt_stem,
        new_content_key,
    )

    size = (16 if quick else 64) * 1024 * 1024
    key = new_content_key()
    blob = encrypt_stem(key, StemHeader("bench", 1, "drums"), os.urandom(size))
    out = bytearray(size)

    def rate(fn: Callable[[], object]) -> float:
        runs = []
        for _ in range(RUNS):
            start = time.perf_counter()
            fn()
            runs.append(size / (time.perf_counter() - start))
        return median(runs)

    # Into a reused buffer, as openssl speed measures; and into a fresh one, as the studio does
    # per stem (the difference is the kernel mapping fresh pages on first touch).
    ours = rate(lambda: decrypt_into(key, blob, out))
    fresh = rate(lambda: decrypt_stem(key, blob))
    peer = _openssl_gcm_bytes_per_s(1 if quick else 3)
    figures = [
        Figure(
            "stem decrypt into a buffer (AES-256-GCM STREAM, 1 core)", ours / 1e9, "GB/s", "", None
        ),
        Figure("stem decrypt into a fresh allocation", fresh / 1e9, "GB/s", "", None),
    ]
    if peer:
        figures.append(
            Figure("openssl speed -evp aes-256-gcm (64 KiB)", peer / 1e9, "GB/s", "", None)
        )
        figures.append(
            Figure("decrypt / openssl", ours / peer, "ratio", ">= 0.5", ours / peer >= 0.5)
        )
    return figures
