# SPDX-License-Identifier: GPL-3.0-or-later
"""A style keeps its stem's level: the wet stem is brought to the dry stem's loudness, as a pro
plugin's output gain compensates what its drive adds, so placing a model or turning its knobs
changes the sound and not how loud it is; the fader, and a model's own ``level`` knob
(``StyleProcessor.output_gain``), stay the fan's to turn it up.

Measured once per styled source (model and knob values), when it is made, for a model whose
output does not already follow the stem's loudness (``StyleProcessor.keeps_level``): the dry
stem is read at ``PROBES`` places spread over it, and those within ``HEARD_DB`` of the loudest
are rendered wet (after a pre-roll that settles a causal model's state) and compared with their
dry selves as BS.1770 integrated loudness (``app.styles.loudness``); a saturating model is
matched over the stem's quiet passages as well as its loud ones. The same windows and the same
arithmetic on the platform's re-render give the same gain, so what is published is what was
heard.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from app.styles.base import StyleProcessor
from app.styles.loudness import LoudnessMeter

#: Places the dry stem is read at, and how far under the loudest one a place is still measured.
PROBES = 8
HEARD_DB = 30.0
WINDOW_S = 1.0
#: Wet rendered before each window and not measured: a causal model's state settles in it.
PREROLL_S = 0.25
#: The most a style's level is corrected by (dB): past this the model is broken, not loud.
MAX_MAKEUP_DB = 24.0

Reader = Callable[[int, int], np.ndarray]


def makeup_gain(processor: StyleProcessor, read: Reader, frames: int, rate: int) -> float:
    """The gain (linear) that brings ``processor``'s wet stem to the dry stem's loudness;
    1.0 for a stem too short or too quiet to measure.

    Args:
        processor: the model with its knob values, prepared.
        read: the dry stem's reader: ``read(start, frames)`` → float32 (frames, 2).
        frames: the stem's length in frames; rate: its sample rate in Hz.
    """
    window = round(WINDOW_S * rate)
    if processor.keeps_level or frames < window:
        return 1.0
    starts = np.linspace(0, frames - window, PROBES).round().astype(int)
    dry = [read(int(start), window) for start in starts]
    energy = np.array([float(np.mean(np.square(d, dtype=np.float64))) for d in dry])
    if not energy.max() > 0.0:
        return 1.0
    heard = np.flatnonzero(energy >= energy.max() * 10.0 ** (-HEARD_DB / 10.0))
    preroll = round(PREROLL_S * rate)
    dry_meter, wet_meter = LoudnessMeter(rate, 2), LoudnessMeter(rate, 2)
    for index in heard:
        start = int(starts[index])
        before = min(preroll, start)
        wet = np.asarray(processor.render(read, start - before, window + before))[before:]
        dry_meter.add(dry[index])
        wet_meter.add(wet)
    dry_lufs, wet_lufs = dry_meter.integrated(), wet_meter.integrated()
    if not (np.isfinite(dry_lufs) and np.isfinite(wet_lufs)):
        return 1.0
    gain_db = float(np.clip(dry_lufs - wet_lufs, -MAX_MAKEUP_DB, MAX_MAKEUP_DB))
    # 0.01 dB steps: the same on any machine; the user's own level knob kept on top.
    return float(10.0 ** (round(gain_db, 2) / 20.0)) * processor.output_gain
