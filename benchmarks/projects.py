# SPDX-License-Identifier: GPL-3.0-or-later
"""Remix projects: saving and opening one as the studio does, for a remix with 50 recorded
moves on an 8-stem track (the ``.fanfare`` file, atomic and flushed to disk; opening reads,
parses and migrates it)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from app.core.automation import make_move
from app.core.project import Project, new_project_id
from app.core.recipe import Recipe
from app.core.track import Section, StemInfo, TrackInfo
from app.studio.profile import StudioPaths
from app.studio.projects import ProjectStore
from benchmarks.table import Figure, benchmark, median

TARGET_S = 0.100
MOVES = 50


def _project() -> Project:
    kinds = ("drums", "bass", "keys", "lead", "pad", "guitar", "vocal", "strings")
    track = TrackInfo(
        id="bench", version=1, title="Bench", artist="Bench", bpm=120.0, key="A minor",
        time_signature="4/4", sample_rate=48_000, frames=48_000 * 240,
        stems=tuple(StemInfo(k) for k in kinds),
        sections=tuple(Section(f"part {i}", 30.0 * i, 30.0 * (i + 1)) for i in range(8)),
    )  # fmt: skip
    recipe = Recipe.default_for(track, "Bench remix").with_tempo(ratio=1.05, key_shift=1)
    for kind in kinds:
        recipe = recipe.with_stem(kind, gain_db=-2.5, pan=0.2)
    moves = tuple(
        make_move(512 * 400 * i, kinds[i % len(kinds)], {"gain_db": -6.0 + i * 0.1})
        for i in range(MOVES)
    )
    return Project(new_project_id(), recipe.with_moves(moves), "Bench", "Bench", "bench", 61.5)


@benchmark
def project_io(quick: bool) -> list[Figure]:
    """Save (File ▸ Save: atomic write, fsync) and open (read, parse, migrate) a project of a
    remix with 50 recorded moves on 8 stems; medians."""
    project = _project()
    runs = 10 if quick else 30
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        store = ProjectStore(StudioPaths(root / "config", root / "data", root / "cache"))
        path = root / "bench.fanfare"
        saves, opens = [], []
        for _ in range(runs):
            start = time.perf_counter()
            store.save(project, path)
            saves.append(time.perf_counter() - start)
            start = time.perf_counter()
            opened = store.open(path)
            opens.append(time.perf_counter() - start)
        assert opened.recipe == project.recipe
        size_kb = path.stat().st_size / 1024
    return [
        Figure(
            f"project: save, {MOVES} moves, 8 stems ({size_kb:.0f} KiB)",
            median(saves) * 1e3, "ms", "<= 100 ms", median(saves) <= TARGET_S,
        ),
        Figure(
            f"project: open, {MOVES} moves, 8 stems", median(opens) * 1e3, "ms", "<= 100 ms",
            median(opens) <= TARGET_S,
        ),
    ]  # fmt: skip
