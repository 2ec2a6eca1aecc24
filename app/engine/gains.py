# SPDX-License-Identifier: GPL-3.0-or-later
"""A mix's settings as gains: what each strip sends to the master and to its reverb room.

Gains are linear; per stem they are (left, right), shape (stems, 2), float32, in the order of
the names given.
"""

from __future__ import annotations

import numpy as np

from app.core.recipe import GAIN_DB_MIN, StemMix
from app.engine.kernel import CHANNELS


def db_to_gain(gain_db: float) -> float:
    """Linear gain of ``gain_db`` decibels; the fader floor (-60 dB) is silence."""
    return 0.0 if gain_db <= GAIN_DB_MIN else float(10.0 ** (gain_db / 20.0))


def pan_gains(pan: float) -> tuple[float, float]:
    """Constant-power stereo balance: centre is unity on both sides, hard right silences left."""
    left = float(np.cos(max(pan, 0.0) * np.pi / 2))
    right = float(np.cos(max(-pan, 0.0) * np.pi / 2))
    return left, right


def channel_gains(stems: dict[str, StemMix], names: list[str]) -> np.ndarray:
    """Per-stem (left, right) linear gains of one mix (fader, pan, mute, solo): (stems, 2)."""
    any_solo = any(stems[n].solo for n in names)
    gains = np.zeros((len(names), CHANNELS), dtype=np.float32)
    for i, name in enumerate(names):
        mix = stems[name]
        if mix.mute or (any_solo and not mix.solo):
            continue
        gains[i] = np.asarray(pan_gains(mix.pan), dtype=np.float32) * db_to_gain(mix.gain_db)
    return gains


def strip_gains(
    stems: dict[str, StemMix], names: list[str]
) -> tuple[np.ndarray, np.ndarray, tuple[float | None, ...]]:
    """What each strip sends where in one mix: (dry gains, reverb send gains, room sizes).

    The gains are (stems, 2): the fader and pan times ``1 - mix`` for the stem itself and
    times ``mix`` for its send to the room of its reverb's size (see ``app.engine.rooms``). A
    room size is None for a stem without reverb.
    """
    gains = channel_gains(stems, names)
    mixes = np.array([stems[n].fx.reverb.mix for n in names], dtype=np.float32)[:, None]
    sizes = tuple(
        stems[n].fx.reverb.room_size if stems[n].fx.reverb.active else None for n in names
    )
    return gains * (np.float32(1.0) - mixes), gains * mixes, sizes
