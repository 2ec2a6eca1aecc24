# SPDX-License-Identifier: GPL-3.0-or-later
"""The user's studio preferences (not per platform): kept in ``preferences.json`` in the
config folder, written atomically.

A missing, damaged or foreign file reads as the defaults and is replaced on the next change:
a preference must never stop the studio from starting.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from app.core.files import atomic_write
from app.engine.output import BUFFERINGS, DEFAULT_BUFFERING, Buffering, buffering_named

__all__ = ["BUFFERINGS", "Buffering", "Preferences", "buffering_named"]  # the window's choices


@dataclass
class Preferences:
    """What the user chose, with where it is kept."""

    path: Path
    #: The audio buffer's name (see :data:`app.engine.output.BUFFERINGS`).
    audio_buffer: str = DEFAULT_BUFFERING.name

    @classmethod
    def load(cls, path: Path) -> Preferences:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls(path)
        buffer = doc.get("audio_buffer") if isinstance(doc, dict) else None
        return cls(path, audio_buffer=buffering_named(str(buffer)).name)

    @property
    def buffering(self) -> Buffering:
        return buffering_named(self.audio_buffer)

    def save(self) -> None:
        doc = {k: v for k, v in asdict(self).items() if k != "path"}
        atomic_write(self.path, json.dumps(doc, indent=2).encode())
