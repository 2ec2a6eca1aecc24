# SPDX-License-Identifier: GPL-3.0-or-later
"""Automation: mixer moves recorded while playing, as data in the recipe.

A move sets some fields of one channel strip (or the master) from an output frame on. The
recipe's ``stems`` and ``master`` are the settings at frame 0; the moves, in frame order,
change them later. Frames are in the remix's output timeline (after arrangement and tempo) and
fall on the render-block grid (``GRID_FRAMES``), because that is where the engine applies a
change: a render with the moves reproduces the recorded playback block for block.

Wire form (inside a version-3 recipe)::

    "automation": [{"frame": 96256, "target": "drums", "set": {"gain_db": -6.0}},
                   {"frame": 120320, "target": "master", "set": {"fx": {...}}}]
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from app.core.effects import MasterFx, StemFx
from app.core.validate import flag, integer, listing, mapping, number, string

GRID_FRAMES = 512  # the engine's render block: moves land on its boundaries
MASTER = "master"
MAX_MOVES = 20_000
STEM_FIELDS = ("gain_db", "pan", "mute", "solo", "fx")
MASTER_FIELDS = ("gain_db", "limiter_ceiling_db", "fx")


@dataclass(frozen=True)
class Move:
    """From output ``frame`` on, ``target`` (a stem kind or ``"master"``) takes ``changes``.

    ``changes`` is a sorted tuple of (field, value) pairs; values have the types of the
    fields of ``StemMix``/``MasterMix`` (floats, booleans, ``StemFx``/``MasterFx``).
    """

    frame: int
    target: str
    changes: tuple[tuple[str, Any], ...]

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.changes)

    def apply_to(self, settings: Any) -> Any:
        """``settings`` (a StemMix or MasterMix) with this move's changes."""
        return replace(settings, **dict(self.changes))

    def to_dict(self) -> dict[str, Any]:
        return {
            "frame": self.frame,
            "target": self.target,
            "set": {
                name: value.to_dict() if isinstance(value, StemFx | MasterFx) else value
                for name, value in self.changes
            },
        }


def make_move(frame: int, target: str, changes: dict[str, Any]) -> Move:
    """A move with its changes in canonical order (raises ValueError for an unknown field)."""
    allowed = MASTER_FIELDS if target == MASTER else STEM_FIELDS
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise ValueError(f"{target} has no automatable setting {unknown[0]!r}")
    if not changes:
        raise ValueError("a move must change something")
    if frame < 0 or frame % GRID_FRAMES:
        raise ValueError(f"a move's frame must be a non-negative multiple of {GRID_FRAMES}")
    return Move(frame, target, tuple(sorted(changes.items())))


def moves_from_list(doc: Any) -> tuple[Move, ...]:
    """Parse the wire form (raises ValueError/TypeError with the reason)."""
    items = listing(doc)
    if len(items) > MAX_MOVES:
        raise ValueError(f"more than {MAX_MOVES} automation moves")
    moves = []
    for item in items:
        entry = mapping(item)
        target = string(entry["target"])
        values = mapping(entry["set"])
        changes: dict[str, Any] = {}
        for name, value in values.items():
            if name == "fx":
                changes[name] = (MasterFx if target == MASTER else StemFx).from_dict(value)
            elif name in ("mute", "solo"):
                changes[name] = flag(value)
            else:
                changes[name] = number(value)
        moves.append(make_move(integer(entry["frame"]), target, changes))
    return sort_moves(moves)


def sort_moves(moves: Iterable[Move]) -> tuple[Move, ...]:
    """Moves in frame order; at one frame, later moves to the same field replace earlier ones."""
    merged: dict[tuple[int, str], dict[str, Any]] = {}
    for move in moves:
        merged.setdefault((move.frame, move.target), {}).update(dict(move.changes))
    return tuple(
        make_move(frame, target, changes) for (frame, target), changes in sorted(merged.items())
    )


def states(
    stems: dict[str, Any], master: Any, moves: tuple[Move, ...]
) -> Iterator[tuple[int, dict[str, Any], Any]]:
    """Every distinct mix the automation passes through: (from frame, stems, master)."""
    yield 0, stems, master
    stems = dict(stems)
    index = 0
    while index < len(moves):
        frame = moves[index].frame
        while index < len(moves) and moves[index].frame == frame:
            move = moves[index]
            if move.target == MASTER:
                master = move.apply_to(master)
            else:
                stems[move.target] = move.apply_to(stems[move.target])
            index += 1
        yield frame, dict(stems), master


def without_fields(moves: tuple[Move, ...], target: str, names: Iterable[str]) -> tuple[Move, ...]:
    """``moves`` with the given fields of ``target`` no longer automated."""
    drop = set(names)
    kept = []
    for move in moves:
        if move.target != target:
            kept.append(move)
            continue
        rest = {k: v for k, v in move.changes if k not in drop}
        if rest:
            kept.append(make_move(move.frame, target, rest))
    return tuple(kept)


def rescale(moves: tuple[Move, ...], factor: float) -> tuple[Move, ...]:
    """Moves at ``factor`` times their frames, back on the grid (after a tempo change)."""
    return sort_moves(
        replace(m, frame=round(m.frame * factor / GRID_FRAMES) * GRID_FRAMES) for m in moves
    )
