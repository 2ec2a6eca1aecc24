# SPDX-License-Identifier: GPL-3.0-or-later
"""Playing a mixer: block by block as the player does, and through a real PortAudio device (the
PulseAudio null sink that scripts/test starts)."""

from __future__ import annotations

import os
from typing import Any, TypeVar

import numpy as np
import pytest

from app.core.recipe import Recipe, StemMix
from app.engine.mixer import Mixer
from app.engine.output import OutputUnavailableError, Player
from tests.helpers.audio import SAMPLE_RATE, sine


def play_blocks(mixer: object, start: int, end: int, out: np.ndarray) -> None:
    """Render ``[start, end)`` of ``mixer`` into ``out`` as the player does: blocks on the
    grid (the first may be short), in order."""
    block = mixer.block_frames  # type: ignore[attr-defined]
    pos = start
    while pos < end:
        count = min(block - pos % block, end - pos)
        mixer.render(pos, out[pos : pos + count])  # type: ignore[attr-defined]
        pos += count


P = TypeVar("P", bound=Any)


def device_required() -> bool:
    """scripts/test sets this after starting PulseAudio: then a missing device is a failure."""
    return os.environ.get("FANFARE_REQUIRE_DEVICE") == "1"


def start(player: P) -> P:
    """``player`` (a Player, or a remix's Listening) playing: skips the test without a device,
    unless one is required."""
    try:
        player.play()
    except OutputUnavailableError as exc:
        if device_required():
            raise
        pytest.skip(f"no audio device here: {exc}")
    return player


def playing(seconds: float) -> Player:
    """A player of a ``seconds``-long 440 Hz tone, playing."""
    stems = {"keys": np.ascontiguousarray(sine(440.0, seconds, 0.3))}
    return start(Player(Mixer(stems, SAMPLE_RATE, Recipe("s", 1, "t", {"keys": StemMix()}))))


# A child process's opening: a 4 s tone playing ("no device ..." and exit where there is none).
PLAYING = """
import numpy as np, os, time
from app.core.recipe import Recipe, StemMix
from app.engine.mixer import Mixer
from app.engine.output import OutputUnavailableError, Player
from tests.helpers.audio import SAMPLE_RATE, sine
from tests.helpers.waiting import wait_for
stems = {"keys": np.ascontiguousarray(sine(440.0, 4.0, 0.3))}
player = Player(Mixer(stems, SAMPLE_RATE, Recipe("s", 1, "t", {"keys": StemMix()})))
try:
    player.play()
except OutputUnavailableError as exc:
    print("no device", exc)
    raise SystemExit(0)
flowed = wait_for(lambda: player.position_s > 0.5)
"""
