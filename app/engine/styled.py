# SPDX-License-Identifier: GPL-3.0-or-later
"""A stem through a style model, made ahead in chunks like any other source.

:class:`StyledSource` is a :class:`~app.engine.sources.ChunkedSource`: the prefetch threads make
its chunks ahead of the playhead (render-ahead), the render thread only copies, and an offline
render reads the same chunks, so what is published is what was heard. A style sits on the stem
as written, before tempo and key (a retimed styled stem is a StretchedSource over it), so a
tempo change never re-runs a model and the model always sees the register it was trained for.

The processor's whole-stem analysis (``prepare``: e.g. the pitch of a melody) runs once, on the
first chunk's thread, and is shared with the sources made for later knob values (their
``base``; ``StyleProcessor.with_knobs``), so turning a knob costs one chunk, not an analysis,
even while the first analysis is still running.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from app.core.errors import StyleModelError
from app.core.style_slot import StyleSlot
from app.engine.kernel import CHANNELS
from app.engine.sources import ChunkedSource, frames_of, window
from app.engine.style_level import makeup_gain
from app.styles.base import Adjustment, StyleProcessor
from app.styles.package import StylePackage

STYLE_CHUNK_FRAMES = 24_000  # 0.5 s at 48 kHz: what a knob change waits for at most, made
STYLE_OVERLAP_FRAMES = 512  # crossfade between chunks (~11 ms): any state settling is hidden


class StyleCancelled(RuntimeError):
    """A styled source was cancelled while it was being made (its track is closing)."""


class StyledSource(ChunkedSource):
    """``inner`` (a stem, (frames, 2) float32) through ``processor``, ``mix`` wet.

    Args:
        key: what identifies this styling (model, knobs, octave, mix), for reuse.
        base: a source of the same stem, model and octave whose analysis this one shares:
            its processor becomes ``base.processor.with_knobs(knobs)`` once that has run.
    """

    #: Seconds one chunk took to make, recently (all styled sources): the benchmarks read it.
    recent_make_s = 0.01

    def __init__(
        self,
        inner: Any,
        processor: StyleProcessor,
        mix: float,
        key: tuple[Any, ...],
        *,
        base: StyledSource | None = None,
        knobs: dict[str, float] | None = None,
        sample_rate: int = 48_000,
    ) -> None:
        super().__init__(frames_of(inner), STYLE_CHUNK_FRAMES, STYLE_OVERLAP_FRAMES)
        self.inner = inner
        self.processor = processor
        self.mix = mix
        self.key = key
        self.base = base
        self._knobs = knobs or {}
        self._prepared: Adjustment | None = None
        self.sample_rate = sample_rate
        #: The gain on the wet stem that keeps the stem's loudness (``style_level``).
        self.makeup = 1.0
        self._preparing = threading.Lock()
        self._cancelled = False

    def read_dry(self, start: int, frames: int) -> np.ndarray:
        """The dry stem at ``[start, start + frames)``, zero outside it (the processor's
        reader). Raises StyleCancelled once the source is cancelled, so an analysis in
        progress stops instead of reading a stem that is being closed."""
        if self._cancelled:
            raise StyleCancelled("this styled stem was closed")
        return window(self.inner, start, frames)

    def cancel(self) -> None:
        """Stop any analysis or chunk in progress at its next read (the track is closing)."""
        self._cancelled = True

    def prepare(self) -> Adjustment:
        """Run the whole-stem analysis once (thread-safe), or take the base's, and measure the
        gain that keeps the stem's level; returns what the analysis adjusted."""
        with self._preparing:
            if self._prepared is None:
                adjustment: Adjustment | None = None
                if self.base is not None:
                    adjustment = self.base.prepare()
                    derived = self.base.processor.with_knobs(self._knobs)
                    if derived is not None:
                        self.processor = derived
                    else:
                        adjustment = None
                if adjustment is None:
                    adjustment = self.processor.prepare(self.read_dry, self.frames)
                self.makeup = makeup_gain(
                    self.processor, self.read_dry, self.frames, self.sample_rate
                )
                self._prepared = adjustment
            return self._prepared

    @property
    def adjustment(self) -> Adjustment | None:
        """What the analysis adjusted, once it has run."""
        return self._prepared

    def _make_chunk(self, index: int) -> np.ndarray:
        self.prepare()
        start, want = index * self.chunk_frames, self.chunk_frames + self.overlap
        started = time.perf_counter()
        wet = np.asarray(self.processor.render(self.read_dry, start, want), dtype=np.float32)
        if wet.shape != (want, CHANNELS):
            raise ValueError(f"a style model returned {wet.shape}, not {(want, CHANNELS)}")
        if self.makeup != 1.0:
            wet = wet * np.float32(self.makeup)
        if self.mix < 1.0:
            dry = self.read_dry(start, want)
            wet = (wet * np.float32(self.mix) + dry * np.float32(1.0 - self.mix)).astype(
                np.float32, copy=False
            )
        took = time.perf_counter() - started
        StyledSource.recent_make_s += 0.2 * (took - StyledSource.recent_make_s)
        return np.ascontiguousarray(wet, dtype=np.float32)


class StyledSources:
    """The one home of a track's styled sources: the latest made for each stem, kept so that a
    recipe change that keeps a stem's style reuses its source, and a knob change shares its
    analysis.

    Args:
        styles: the verified style-model package for a model ``id@version`` (raises
            StyleModelError when it has none); None for a track played without style models.
        sample_rate: the stems' rate, in Hz.
    """

    def __init__(self, styles: Callable[[str], StylePackage] | None, sample_rate: int) -> None:
        self._styles = styles
        self._sample_rate = sample_rate
        self._latest: dict[str, StyledSource] = {}

    def __bool__(self) -> bool:
        """Whether any stem has been styled."""
        return bool(self._latest)

    def source(self, name: str, raw: Any, slot: StyleSlot) -> StyledSource:
        """Stem ``name`` (``raw``: its (frames, 2) float32 source) through ``slot``'s style: the
        source already made for these settings, or one sharing the analysis of the last one
        made with this model and octave, or a new one."""
        key = (slot.ref, slot.knobs, slot.mix, slot.octave)
        old = self._latest.get(name)
        if old is not None and old.key == key:
            return old
        if self._styles is None:
            raise StyleModelError("This mixer was made without style models.")
        package = self._styles(slot.ref)
        knobs = package.manifest.knob_values(slot.knob_values)
        processor = package.processor(knobs, self._sample_rate, octave_shift=slot.octave)
        base = None
        if old is not None and old.key[0] == slot.ref and old.key[3] == slot.octave:
            base = old.base or old  # the source that runs (or ran) the analysis
        source = StyledSource(
            raw, processor, slot.mix, key, base=base, knobs=knobs, sample_rate=self._sample_rate
        )
        self._latest[name] = source
        return source

    def adjustments(self) -> dict[str, str]:
        """What the style runtime adjusted on each styled stem (e.g. moved it an octave), in a
        sentence, for the stems whose analysis has run."""
        found = {}
        for name, source in self._latest.items():
            adjustment = source.adjustment
            if adjustment is not None and adjustment.message:
                found[name] = adjustment.message
        return found

    def cancel(self) -> None:
        """Cancel every analysis in progress (the track is closing)."""
        for source in self._latest.values():
            source.cancel()
            if source.base is not None:
                source.base.cancel()
