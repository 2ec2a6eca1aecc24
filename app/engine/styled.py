# SPDX-License-Identifier: GPL-3.0-or-later
"""A stem through a style model, made ahead in chunks like any other source.

:class:`StyledSource` is a :class:`~app.engine.sources.ChunkedSource`: the prefetch threads make
its chunks ahead of the playhead (render-ahead), the render thread only copies, and an offline
render reads the same chunks, so what is published is what was heard. A style sits on the stem
as written, before tempo and key (a retimed styled stem is a StretchedSource over it), so a
tempo change never re-runs a model and the model always sees the register it was trained for.

The processor's whole-stem analysis (``prepare``: e.g. the pitch of a melody) runs once, on the
first chunk's thread, and is shared with the processors made for later knob values
(``StyleProcessor.with_knobs``), so turning a knob costs one chunk, not an analysis.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from app.engine.sources import CHANNELS, ChunkedSource, frames_of, window
from app.styles.base import Adjustment, StyleProcessor

STYLE_CHUNK_FRAMES = 24_000  # 0.5 s at 48 kHz: what a knob change waits for at most, made
STYLE_OVERLAP_FRAMES = 512  # crossfade between chunks (~11 ms): any state settling is hidden


class StyledSource(ChunkedSource):
    """``inner`` (a stem, (frames, 2) float32) through ``processor``, ``mix`` wet.

    Args:
        key: what identifies this styling (model, knobs, octave, mix), for reuse.
    """

    #: Seconds one chunk took to make, recently (all styled sources): the benchmarks read it.
    recent_make_s = 0.01

    def __init__(
        self, inner: Any, processor: StyleProcessor, mix: float, key: tuple[Any, ...]
    ) -> None:
        super().__init__(frames_of(inner), STYLE_CHUNK_FRAMES, STYLE_OVERLAP_FRAMES)
        self.inner = inner
        self.processor = processor
        self.mix = mix
        self.key = key
        self._prepared: Adjustment | None = None
        self._preparing = threading.Lock()

    def read_dry(self, start: int, frames: int) -> np.ndarray:
        """The dry stem at ``[start, start + frames)``, zero outside it (the processor's
        reader)."""
        return window(self.inner, start, frames)

    def prepare(self) -> Adjustment:
        """Run the processor's whole-stem analysis once (thread-safe); returns what it
        adjusted."""
        with self._preparing:
            if self._prepared is None:
                self._prepared = self.processor.prepare(self.read_dry, self.frames)
            return self._prepared

    @property
    def adjustment(self) -> Adjustment | None:
        """What the analysis adjusted, once it has run."""
        return self._prepared

    def restyled(self, processor: StyleProcessor, mix: float, key: tuple[Any, ...]) -> StyledSource:
        """The same stem with other knob values: ``processor`` came from
        ``self.processor.with_knobs`` and shares this one's analysis."""
        source = StyledSource(self.inner, processor, mix, key)
        source._prepared = self._prepared
        return source

    def _make(self, index: int) -> np.ndarray:
        self.prepare()
        start, want = index * self.chunk_frames, self.chunk_frames + self.overlap
        started = time.perf_counter()
        wet = np.asarray(self.processor.render(self.read_dry, start, want), dtype=np.float32)
        if wet.shape != (want, CHANNELS):
            raise ValueError(f"a style model returned {wet.shape}, not {(want, CHANNELS)}")
        if self.mix < 1.0:
            wet = wet * np.float32(self.mix) + self.read_dry(start, want) * np.float32(
                1.0 - self.mix
            )
        took = time.perf_counter() - started
        StyledSource.recent_make_s += 0.2 * (took - StyledSource.recent_make_s)
        return np.ascontiguousarray(wet, dtype=np.float32)
