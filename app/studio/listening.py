# SPDX-License-Identifier: GPL-3.0-or-later
"""Listening to a published remix in the app: its audio decoded in memory and played through
the engine's own output path (the mixer and the ``Player``, with the user's audio buffer
setting), never written to disk.

The remix is one stereo source, the mix, on a one-stem track of its own; the volume is the
master gain. This is the player the garden's listeners and an artist looking after the
remixes of their tracks share.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.core.recipe import Recipe
from app.core.track import StemInfo, TrackInfo
from app.engine.mixer import Mixer
from app.engine.output import Buffering, Player, TransportState

VOLUME_RANGE_DB = (-60.0, 6.0)


class Listening:
    """One remix, ready to play.

    Args:
        doc: the platform's document of the derivative (id, title, by, duration...).
        audio: its decoded audio, float32 (frames, 2), at ``sample_rate`` Hz.
        device: the output device (None: the system's default).
        buffering: the user's audio buffer setting.
    """

    def __init__(
        self,
        doc: dict[str, Any],
        audio: np.ndarray,
        sample_rate: int,
        *,
        device: str | int | None,
        buffering: Buffering,
    ) -> None:
        self.doc = doc
        self.info = TrackInfo(
            id=str(doc["id"]), version=1, title=str(doc["title"]), artist=str(doc["by"]),
            bpm=0.0, key="", time_signature="", sample_rate=sample_rate,
            frames=int(audio.shape[0]), stems=(StemInfo("mix"),),
        )  # fmt: skip
        self._recipe = Recipe.default_for(self.info)
        self.mixer = Mixer({"mix": audio}, sample_rate, self._recipe, track=self.info)
        self.player = Player(self.mixer, device=device, buffering=buffering)

    @property
    def duration_s(self) -> float:
        return self.info.duration_s

    @property
    def position_s(self) -> float:
        return self.player.position_s

    @property
    def playing(self) -> bool:
        return self.player.state is TransportState.PLAYING

    def play(self) -> None:
        """Start (raises OutputUnavailableError, with its sentence, without a device)."""
        self.player.play()

    def pause(self) -> None:
        self.player.pause()

    def seek(self, seconds: float) -> None:
        self.player.seek(int(max(0.0, min(seconds, self.duration_s)) * self.info.sample_rate))

    def set_volume(self, db: float) -> None:
        """The listening volume in dB (clamped to ``VOLUME_RANGE_DB``)."""
        low, high = VOLUME_RANGE_DB
        self._recipe = self._recipe.with_master(gain_db=max(low, min(high, float(db))))
        self.mixer.set_recipe(self._recipe)

    def close(self) -> None:
        self.player.close()
        self.mixer.close()
