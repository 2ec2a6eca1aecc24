# SPDX-License-Identifier: GPL-3.0-or-later
"""The window talks to an open track through its own methods: it never reaches through the
track to the engine or the session (import-linter sees imports, not attribute chains)."""

from __future__ import annotations

import ast
from pathlib import Path

import app.ui

UI = Path(app.ui.__file__).parent
#: What an OpenTrack holds that is not the window's to touch.
BEHIND_THE_TRACK = {"mixer", "player", "studio", "_services", "_player", "_stems"}


def _reaches(source: str) -> list[tuple[int, str]]:
    """``(line, text)`` of each ``<...>track.<member>`` with a member behind the track."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Attribute) or node.attr not in BEHIND_THE_TRACK:
            continue
        owner = node.value
        name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", None)
        if name == "track":
            found.append((node.lineno, ast.unparse(node)))
    return found


def test_the_check_sees_a_reach_through_the_track() -> None:
    source = "peaks = self.track.mixer.peaks\ntrack.studio.set_buffering(b)\nself.studio.close()\n"
    assert _reaches(source) == [(1, "self.track.mixer"), (2, "track.studio")]


def test_the_window_never_reaches_the_mixer_player_or_studio_of_a_track() -> None:
    reaches = [
        f"{path.relative_to(UI.parent.parent)}:{line}: {text}"
        for path in sorted(UI.rglob("*.py"))
        for line, text in _reaches(path.read_text(encoding="utf-8"))
    ]
    assert reaches == [], "use OpenTrack's own methods (status(), set_buffering()...):\n" + (
        "\n".join(reaches)
    )
