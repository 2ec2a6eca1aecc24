# SPDX-License-Identifier: GPL-3.0-or-later
"""Publishing's steps as the command line prints them: redrawn in place on a terminal, a line
per step elsewhere (`fanfare render --publish` itself: tests/integration/test_cli_end_to_end)."""

from __future__ import annotations

import io
import re

from app.cli_steps import StepPrinter

REPORTS = [
    ("Rendering", 0.0), ("Rendering", 0.004), ("Rendering", 0.5), ("Rendering", 1.0),
    ("Uploading", 0.0), ("Uploading", 0.5), ("Uploading", 1.0), ("Uploading", 1.0),
    ("Verifying", 0.0), ("Verifying", 0.3), ("Verifying", 0.305), ("Verifying", 0.9),
]  # fmt: skip


def _timeless(text: str) -> str:
    return re.sub(r" \(\d+\.\d s\)", "", text)


def test_elsewhere_each_step_is_one_line_begun_and_ended() -> None:
    out = io.StringIO()
    steps = StepPrinter(out, tty=False)
    for report in REPORTS:
        steps(*report)
    steps("Verifying", 1.0)
    assert _timeless(out.getvalue()).splitlines() == [
        "Rendering… done",
        "Uploading… done",
        "Verifying on the platform… done",
    ]


def test_on_a_terminal_each_step_is_redrawn_in_place_as_it_goes() -> None:
    out = io.StringIO()
    steps = StepPrinter(out, tty=True)
    for report in REPORTS:
        steps(*report)
    steps.fail()  # the platform refused it while verifying
    lines = _timeless(out.getvalue()).split("\n")
    assert [line.split("\r")[-1].rstrip() for line in lines] == [
        "Rendering… done",
        "Uploading… done",
        "Verifying on the platform… failed",
        "",
    ]
    # One redraw per whole percent: 0.3 and 0.305 are both 30 %.
    assert lines[2].split("\r")[1:] == [
        "Verifying on the platform…",
        "Verifying on the platform… 0 %",
        "Verifying on the platform… 30 %",
        "Verifying on the platform… 90 %",
        "Verifying on the platform… failed",
    ]
