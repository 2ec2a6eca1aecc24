# SPDX-License-Identifier: GPL-3.0-or-later
"""The contract between the engine and a style model's runtime.

A :class:`StyleProcessor` is one model with one set of knob values, applied to one stem at the
engine's sample rate. The engine (``app.engine.styled.StyledSource``) asks it for fixed chunks
of the styled stem, ahead of the playhead, on prefetch threads; an offline render asks for the
same chunks. So that a render equals what was heard, a chunk must depend only on the stem, the
knobs and the chunk's frame range, never on what was asked before.

Audio is float32 of shape (frames, 2) at the engine's rate (48 kHz for the platform's stems).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from app.core.style_manifest import StyleManifest

#: Reads frames ``[start, start + frames)`` of the dry stem: float32 (n, 2), n ≤ frames,
#: zero-padded by the caller where the range lies outside the stem.
Reader = Callable[[int, int], np.ndarray]


class InferenceSession(Protocol):
    """The part of an ``onnxruntime.InferenceSession`` a processor calls (thread-safe)."""

    def run(
        self, output_names: list[str], input_feed: Mapping[str, np.ndarray]
    ) -> list[np.ndarray]:
        """The named output tensors for the input tensors ``input_feed`` (by graph name)."""
        ...


class ModelFiles(Protocol):
    """What a processor needs of a verified model: its manifest and its ONNX session.

    ``app.styles.package.StylePackage`` is one; processors depend on this, not on the package,
    so the package can build them without an import cycle.
    """

    @property
    def manifest(self) -> StyleManifest: ...

    def session(self) -> InferenceSession:
        """The model's session, made on first use and shared by every processor of it."""
        ...


@dataclass(frozen=True)
class Adjustment:
    """Something the runtime changed so that the stem suits the model, told to the user."""

    octave_shift: int = 0  # octaves the stem's melody was moved to reach the model's range
    message: str = ""  # one sentence for the user, empty if nothing was changed


class StyleProcessor(ABC):
    """One model with fixed knob values on one stem.

    Attributes:
        look_behind_frames: input frames (engine rate) before a chunk that ``render`` reads to
            settle its state; the engine passes a reader that serves them.
        latency_frames: what the model would delay its output by; ``render`` already returns
            output aligned with its input (latency compensated), this is for reporting.
        keeps_level: see below.
    """

    look_behind_frames: int = 0
    latency_frames: int = 0
    #: Whether ``render`` already gives the dry stem's loudness (measured over the whole stem
    #: in ``prepare``); the engine measures and matches it otherwise (``engine.style_level``).
    keeps_level: bool = False
    #: The output gain (linear) the user set on the model (a ``level`` knob): the level match
    #: brings the wet stem to the dry stem's loudness and then keeps this on top of it.
    output_gain: float = 1.0

    def prepare(self, read: Reader, frames: int) -> Adjustment:
        """Analyse the whole dry stem (``frames`` long) once, before any ``render``: e.g. its
        pitch. May take seconds; runs on a worker thread. Returns what was adjusted."""
        return Adjustment()

    def with_knobs(self, knobs: dict[str, float]) -> StyleProcessor | None:
        """This processor with other knob values (checked by the caller), sharing what
        ``prepare`` analysed, so a knob change costs no new analysis; None if it cannot."""
        return None

    @abstractmethod
    def render(self, read: Reader, start: int, frames: int) -> np.ndarray:
        """The styled (wet) stem at frames ``[start, start + frames)``: float32 (frames, 2),
        aligned with the dry stem. Deterministic in (stem, knobs, start, frames)."""
