# SPDX-License-Identifier: GPL-3.0-or-later
"""A fan's recorded part as a stem source: the trimmed take at its place, silence elsewhere.

The studio and the platform both mix a part through this class, from the same decoded take, so
the platform's re-render of a cover is the studio's sample for sample.
"""

from __future__ import annotations

import numpy as np

from app.core.own_part import OwnPart
from app.engine.kernel import CHANNELS
from app.engine.sources import frame_range

#: The trimmed piece fades in and out over this long (5 ms at 48 kHz), so a trim that cuts
#: through a sound does not click.
EDGE_FADE_FRAMES = 240


class PlacedPart:
    """Frames ``[0, frames)`` of the track as written with ``part`` sounding in them; slice it
    like a (frames, 2) float32 array (see ``app.engine.sources``).

    Args:
        take: the take's audio, float32 (take frames, 1 or 2); mono is heard in both channels.
        part: which piece of the take sounds where (frames at the track's rate).
        frames: the track's length in frames.
    """

    def __init__(self, take: np.ndarray, part: OwnPart, frames: int) -> None:
        if take.ndim != 2 or take.shape[1] not in (1, 2):
            raise ValueError("a take is (frames, 1) or (frames, 2) audio")
        piece = take[part.offset : part.offset + part.frames].astype(np.float32)
        if piece.shape[1] == 1:
            piece = np.repeat(piece, CHANNELS, axis=1)
        edge = min(EDGE_FADE_FRAMES, piece.shape[0] // 2)
        if edge:
            ramp = np.linspace(0.0, 1.0, edge, endpoint=False, dtype=np.float32)[:, None]
            piece[:edge] *= ramp
            piece[piece.shape[0] - edge :] *= ramp[::-1]
        self.piece = piece
        self.at = part.at_frame
        self.frames = frames
        self.shape = (frames, CHANNELS)
        self.dtype = np.dtype(np.float32)

    def __len__(self) -> int:
        return self.frames

    def __getitem__(self, key: slice) -> np.ndarray:
        start, stop = frame_range(key, self.frames)
        out = np.zeros((stop - start, CHANNELS), dtype=np.float32)
        lo, hi = max(start, self.at), min(stop, self.at + self.piece.shape[0])
        if hi > lo:
            out[lo - start : hi - start] = self.piece[lo - self.at : hi - self.at]
        return out
