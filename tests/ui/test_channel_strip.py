# SPDX-License-Identifier: GPL-3.0-or-later
"""A channel strip as a mixer user handles it: the wheel, a double-click back to the start,
the pan's value, names for screen readers, and the whole strip in a small window."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QWheelEvent
from PySide6.QtWidgets import QApplication

from app.ui.theme import ACCENT_SOFT, apply_theme
from app.ui.widgets.channel_strip import ChannelStrip, format_pan

pytestmark = pytest.mark.qt


def _wheel(widget, notches: int) -> None:
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(
        centre, widget.mapToGlobal(centre), QPoint(0, 0), QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
        False,
    )  # fmt: skip
    QApplication.sendEvent(widget, event)


def test_the_pan_knob_shows_its_value_and_turns_with_the_wheel(qtbot) -> None:
    strip = ChannelStrip("drums")
    qtbot.addWidget(strip)
    strip.show()
    assert strip.pan_label.text() == "C"
    with qtbot.waitSignal(strip.pan_changed) as moved:
        _wheel(strip.pan, 1)
    assert moved.args[0] == "drums" and moved.args[1] != 0.0
    assert strip.pan_label.text() == format_pan(moved.args[1]) != "C"
    strip.set_state(mute=False, solo=False, pan=-0.35)
    assert strip.pan_label.text() == "L 35"


def test_a_double_click_puts_the_fader_at_0_db_and_the_pan_at_the_centre(qtbot) -> None:
    strip = ChannelStrip("bass")
    qtbot.addWidget(strip)
    strip.show()
    strip.fader.setValue(-20)
    with qtbot.waitSignal(strip.gain_changed) as reset:
        qtbot.mouseDClick(strip.fader, Qt.MouseButton.LeftButton)
    assert reset.args == ["bass", 0.0] and strip.gain_label.text() == "+0.0 dB"
    strip.pan.setValue(60)
    qtbot.mouseDClick(strip.pan, Qt.MouseButton.LeftButton)
    assert strip.pan.value() == 0 and strip.pan_label.text() == "C"


def test_every_control_has_a_name_for_screen_readers(qtbot) -> None:
    strip = ChannelStrip("lead")
    qtbot.addWidget(strip)
    names = [
        w.accessibleName()
        for w in (strip.fader, strip.pan, strip.mute, strip.solo, strip.fx, strip.style_button)
    ]
    assert names == [
        "lead gain", "lead pan", "lead mute", "lead solo", "lead effects", "lead style model"
    ]  # fmt: skip


@pytest.fixture
def themed() -> Iterator[None]:
    """The studio's theme for one test (the others run with Qt's own look)."""
    app = QApplication.instance()
    style, palette, sheet = app.style().name(), app.palette(), app.styleSheet()
    apply_theme(app)
    yield
    app.setStyleSheet(sheet)
    app.setPalette(palette)
    app.setStyle(style)


def test_a_disabled_style_button_looks_disabled(qtbot, themed) -> None:
    strip = ChannelStrip("pad")
    qtbot.addWidget(strip)
    strip.show()

    def accent_pixels() -> int:  # pixels near the enabled button's text colour
        image = strip.style_button.grab().toImage()
        accent = QColor(ACCENT_SOFT)
        return sum(
            1
            for x in range(image.width())
            for y in range(image.height())
            if abs(image.pixelColor(x, y).red() - accent.red()) < 24
            and abs(image.pixelColor(x, y).green() - accent.green()) < 24
            and abs(image.pixelColor(x, y).blue() - accent.blue()) < 24
        )

    assert accent_pixels() > 10  # "Style" in the accent
    strip.set_style_permission("the artist's rule for pad")
    assert accent_pixels() == 0  # greyed, as the theme's other disabled buttons


def test_the_whole_strip_fits_a_640_pixel_window(qtbot) -> None:
    strip = ChannelStrip("keys")
    qtbot.addWidget(strip)
    # The window's chrome, header, sections, policy line and transport take ~330 px of 640.
    assert strip.minimumSizeHint().height() <= 310
