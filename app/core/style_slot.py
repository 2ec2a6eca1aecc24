# SPDX-License-Identifier: GPL-3.0-or-later
"""A style model placed on a stem, as recipe data.

Wire form (``stems.<kind>.style`` in a version-4 recipe; ``null`` for none)::

    {"model": "timbre.violin", "version": 1, "knobs": {"breath": 0.3},
     "mix": 1.0, "octave": null}

``mix`` is the wet share from 0 (dry stem) to 1 (styled only). ``octave`` moves a timbre
model's melody by whole octaves; ``null`` lets the runtime choose from the stem's pitch and the
model's range (the choice is a function of the stem, so the platform's re-render makes the same
one). Knob values are checked against the model's manifest where the model is known (the
studio and the platform), here only for being finite numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.core.validate import integer, mapping, number, string

OCTAVE_RANGE = (-3, 3)


@dataclass(frozen=True)
class StyleSlot:
    """Model ``model`` at ``version`` with ``knobs`` (sorted (id, value) pairs)."""

    model: str
    version: int
    knobs: tuple[tuple[str, float], ...] = ()
    mix: float = 1.0
    octave: int | None = None

    @property
    def ref(self) -> str:
        """``id@version``, as manifests and licences name a model."""
        return f"{self.model}@{self.version}"

    @property
    def knob_values(self) -> dict[str, float]:
        return dict(self.knobs)

    @classmethod
    def make(
        cls,
        model: str,
        version: int,
        knobs: dict[str, float] | None = None,
        *,
        mix: float = 1.0,
        octave: int | None = None,
    ) -> StyleSlot:
        """A checked slot (raises ValueError with the reason)."""
        slot = cls(model, version, tuple(sorted((knobs or {}).items())), float(mix), octave)
        slot.check()
        return slot

    def check(self) -> None:
        if not 0 < len(self.model) <= 64:
            raise ValueError("a style model id is 1 to 64 characters")
        if self.version < 1:
            raise ValueError("a style model version starts at 1")
        if not 0.0 <= self.mix <= 1.0:
            raise ValueError(f"a style's mix must be within 0..1, not {self.mix:g}")
        low, high = OCTAVE_RANGE
        if self.octave is not None and not low <= self.octave <= high:
            raise ValueError(f"a style's octave must be within {low}..{high}")
        for name, value in self.knobs:
            string(name)
            number(value)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "knobs": dict(self.knobs),
            "mix": self.mix,
            "octave": self.octave,
        }

    @classmethod
    def from_dict(cls, value: Any) -> StyleSlot | None:
        """Parse a slot (None for ``null``); raises TypeError/ValueError."""
        if value is None:
            return None
        doc = mapping(value)
        unknown = sorted(set(doc) - {"model", "version", "knobs", "mix", "octave"})
        if unknown:
            raise ValueError(f"unknown style field(s) {', '.join(unknown)}")
        octave = doc.get("octave")
        return cls.make(
            string(doc["model"]),
            integer(doc["version"]),
            {string(k): number(v) for k, v in mapping(doc.get("knobs", {})).items()},
            mix=number(doc.get("mix", 1.0)),
            octave=None if octave is None else integer(octave),
        )
