# SPDX-License-Identifier: GPL-3.0-or-later
"""Every style runtime, registered in one table: a manifest's ``runtime`` → its processor.

A new runtime is a processor module (built from :class:`~app.styles.base.ModelFiles`, never
the package) plus one row here; ``StylePackage.processor`` looks the row up. The names match
``app.core.style_manifest.RUNTIMES``, which a manifest is checked against when it is read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from app.styles.base import ModelFiles, StyleProcessor
from app.styles.ddsp import DdspProcessor
from app.styles.waveform import WaveformProcessor

#: Builds a processor from a verified model, every knob's value (``StyleManifest.knob_values``),
#: the engine's sample rate (Hz) and an octave shift (timbre models only; None: chosen from the
#: stem's pitch).
ProcessorFactory = Callable[[ModelFiles, dict[str, float], int, int | None], StyleProcessor]


def _timbre(
    model: ModelFiles, knobs: dict[str, float], sample_rate: int, octave_shift: int | None
) -> StyleProcessor:
    return DdspProcessor(model, knobs, sample_rate, octave_shift=octave_shift)


def _character(
    model: ModelFiles, knobs: dict[str, float], sample_rate: int, octave_shift: int | None
) -> StyleProcessor:
    # A waveform net plays the stem's own sound: there is no melody to move.
    return WaveformProcessor(model, knobs, sample_rate)


RUNTIMES: Mapping[str, ProcessorFactory] = MappingProxyType(
    {"ddsp": _timbre, "waveform": _character}
)
