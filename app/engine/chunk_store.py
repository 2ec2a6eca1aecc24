# SPDX-License-Identifier: GPL-3.0-or-later
"""Stretched chunks kept once made, compressed, in memory: see :class:`ChunkStore`.

Rubber Band makes a retimed or transposed stem at 10-15x real time per core, so an 8-stem remix
takes minutes to stretch on two cores. What playback has stretched is kept here, so that the
publish render (and a seek back, or a loop) reads it instead of making it again; in the
platform, a track's stems stretched for one fan's tempo serve the next fan's at the same tempo.

Chunks are kept as 24-bit FLAC in memory (about a third of their float32 size, encoded at
~900x and decoded at ~1,100x real time per stem), never on disk. To keep them losslessly every
stretched chunk is first rounded to a grid of ``2**-QUANTUM_BITS`` (about -120 dBFS, under the
platform's match tolerance), whether or not a store keeps it: what is read back from the store
is then the very chunk that was made, and a render from the store equals one without it.
"""

from __future__ import annotations

import io
import os
import threading
from collections import OrderedDict
from collections.abc import Hashable

import numpy as np
import soundfile as sf

QUANTUM_BITS = 20  # a step of 2**-20 (~ -120 dBFS): finer than the platform's match tolerance
# 24-bit FLAC holds +-2**23 steps: +-8.0 (+18 dBFS), far over any stem stretched from audio.
_LIMIT = 2**23 - 1
DEFAULT_BUDGET_BYTES = 512 * 2**20
BUDGET_ENV = "FANFARE_CHUNK_STORE_MB"


def chunk_store_budget() -> int:
    """Bytes a chunk store may hold: ``$FANFARE_CHUNK_STORE_MB`` MiB, else 512 MiB (an 8-stem
    4-minute remix at one tempo takes about 250 MiB)."""
    try:
        return max(0, int(os.environ.get(BUDGET_ENV, ""))) * 2**20
    except ValueError:
        return DEFAULT_BUDGET_BYTES


def quantize(chunk: np.ndarray) -> np.ndarray:
    """``chunk`` rounded to the store's grid (clipped at +-8.0): float32, same shape."""
    steps = np.clip(np.rint(chunk * float(2**QUANTUM_BITS)), -_LIMIT, _LIMIT)
    out: np.ndarray = (steps * (1.0 / 2**QUANTUM_BITS)).astype(np.float32)
    return out


class ChunkStore:
    """Quantized chunks by key, compressed, least recently used dropped past ``budget_bytes``.

    Thread-safe: prefetch threads, the render and a platform's request threads share one.
    Keys say everything a chunk depends on (the stem, tempo, key and engine settings, the grid
    and the chunk's index); a chunk is a float32 (frames, channels) array from
    :func:`quantize`.
    """

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES, sample_rate: int = 48_000) -> None:
        self.budget_bytes = budget_bytes
        self.sample_rate = sample_rate  # written in the FLAC header only; any rate reads back
        self._chunks: OrderedDict[Hashable, bytes] = OrderedDict()
        self._used = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def used_bytes(self) -> int:
        """Bytes the compressed chunks take now."""
        return self._used

    def has_room(self, chunk_bytes: int) -> bool:
        """Whether ``chunk_bytes`` more fit without dropping anything."""
        return self._used + chunk_bytes <= self.budget_bytes

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._chunks

    def __len__(self) -> int:
        return len(self._chunks)

    def get(self, key: Hashable) -> np.ndarray | None:
        """The chunk kept under ``key`` (float32, as it was put), or None."""
        with self._lock:
            data = self._chunks.get(key)
            if data is None:
                self.misses += 1
                return None
            self._chunks.move_to_end(key)
            self.hits += 1
        steps, _ = sf.read(io.BytesIO(data), dtype="int32", always_2d=True)
        out: np.ndarray = ((steps >> 8) * (1.0 / 2**QUANTUM_BITS)).astype(np.float32)
        return out

    def put(self, key: Hashable, chunk: np.ndarray) -> None:
        """Keep ``chunk`` (from :func:`quantize`) under ``key``."""
        steps = np.rint(chunk * float(2**QUANTUM_BITS)).astype(np.int32) << 8
        buffer = io.BytesIO()
        sf.write(buffer, steps, self.sample_rate, format="FLAC", subtype="PCM_24",
                 compression_level=0.0)  # fmt: skip
        data = buffer.getvalue()
        with self._lock:
            old = self._chunks.pop(key, None)
            if old is not None:
                self._used -= len(old)
            self._chunks[key] = data
            self._used += len(data)
            while self._used > self.budget_bytes and len(self._chunks) > 1:
                _, dropped = self._chunks.popitem(last=False)
                self._used -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._chunks.clear()
            self._used = 0
