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

__all__ = [
    "BUFFERINGS",
    "Buffering",
    "Preferences",
    "buffer_choices",
    "buffering_named",
]  # the window's choices


#: Autosave every this many seconds unless the user chose otherwise, within these bounds.
AUTOSAVE_DEFAULT_S = 30.0
AUTOSAVE_RANGE_S = (5.0, 3600.0)


def _autosave_ok(value: object) -> bool:
    low, high = AUTOSAVE_RANGE_S
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and low <= float(value) <= high
    )


def buffer_choices(sample_rate: int) -> list[tuple[str, str]]:
    """Each audio buffer as the window offers it: (name, "label · expected latency")."""
    return [
        (b.name, f"{b.label} · {b.expected_latency_s(sample_rate) * 1e3:.0f} ms")
        for b in BUFFERINGS
    ]


@dataclass
class Preferences:
    """What the user chose, with where it is kept."""

    path: Path
    #: The audio buffer's name (see :data:`app.engine.output.BUFFERINGS`).
    audio_buffer: str = DEFAULT_BUFFERING.name
    #: Seconds between autosaves of a remix with unsaved changes.
    autosave_s: float = AUTOSAVE_DEFAULT_S

    @classmethod
    def load(cls, path: Path) -> Preferences:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls(path)
        if not isinstance(doc, dict):
            return cls(path)
        buffer = doc.get("audio_buffer")
        autosave = doc.get("autosave_s")
        return cls(
            path,
            audio_buffer=buffering_named(str(buffer)).name,
            autosave_s=float(autosave)
            if isinstance(autosave, (int, float)) and _autosave_ok(autosave)
            else AUTOSAVE_DEFAULT_S,
        )

    @property
    def buffering(self) -> Buffering:
        return buffering_named(self.audio_buffer)

    def save(self) -> None:
        doc = {k: v for k, v in asdict(self).items() if k != "path"}
        atomic_write(self.path, json.dumps(doc, indent=2).encode())
