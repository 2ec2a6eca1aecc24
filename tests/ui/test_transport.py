# SPDX-License-Identifier: GPL-3.0-or-later
"""The transport bar's dropout counter, and why dropouts may come."""

from __future__ import annotations

from app.ui.widgets.transport import TransportBar

REFUSED = "Real-time audio scheduling is unavailable, because this account may not use it."


def test_dropouts_are_shown_with_why_the_audio_threads_are_not_real_time(qtbot) -> None:
    bar = TransportBar()
    qtbot.addWidget(bar)
    bar.set_duration(60.0)
    bar.show_position(1.0, True, 0, REFUSED)
    assert bar.underruns.text() == ""  # nothing to explain while none were heard
    bar.show_position(2.0, True, 3, REFUSED)
    assert bar.underruns.text() == "dropouts: 3"
    assert REFUSED in bar.underruns.toolTip()
    bar.show_position(3.0, True, 3, None)  # real-time granted: the tip only says what they are
    assert "too late" in bar.underruns.toolTip() and "unavailable" not in bar.underruns.toolTip()


def test_the_audio_buffer_choice_emits_only_when_the_user_picks_one(qtbot) -> None:
    bar = TransportBar()
    qtbot.addWidget(bar)
    choices = [("low", "Low latency · 32 ms"), ("safe", "Safe · 125 ms")]
    picked: list[str] = []
    bar.buffer_changed.connect(picked.append)
    bar.set_buffers(choices, "safe")
    assert bar.buffer.currentText() == "Safe · 125 ms"
    bar.show_buffer("low")
    assert picked == []  # showing what is in use is not a choice
    bar.buffer.setCurrentIndex(1)  # the user picks Safe
    assert picked == ["safe"]
    bar.show_position(1.0, True, 2, None)
    assert "safer audio buffer" in bar.underruns.toolTip()  # where to go when dropouts come
