# SPDX-License-Identifier: GPL-3.0-or-later
"""Real-time output: the only package that touches the audio device.

Its parts: the transport (:mod:`.transport`, the :class:`Player`), the feeder thread and its run
handshake (:mod:`.feeder`), the dropout counter (:mod:`.dropouts`), the playhead map
(:mod:`.playhead`), loops and switch fades (:mod:`.loops`), the device (:mod:`.device`) and the
buffer setting (:mod:`.buffering`).
"""

from app.engine.output.buffering import (
    BUFFERINGS,
    DEFAULT_BUFFERING,
    Buffering,
    buffering_named,
)
from app.engine.output.device import OutputUnavailableError
from app.engine.output.transport import Player, TransportState

__all__ = [
    "BUFFERINGS",
    "DEFAULT_BUFFERING",
    "Buffering",
    "OutputUnavailableError",
    "Player",
    "TransportState",
    "buffering_named",
]
