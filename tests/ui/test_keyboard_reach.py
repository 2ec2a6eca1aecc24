# SPDX-License-Identifier: GPL-3.0-or-later
"""Every control of the studio is reached by Tab and has a name a screen reader can say."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QTabBar,
    QWidget,
)

from app.ui.main_window import MainWindow
from tests.ui.test_record_ui import _open

CONTROLS = (QAbstractButton, QAbstractSlider, QAbstractSpinBox, QComboBox, QLineEdit)


def _tab_chain(window: MainWindow) -> list[QWidget]:
    """The widgets Tab visits from the window, in order, once round."""
    seen: list[QWidget] = []
    widget = window.nextInFocusChain()
    while widget is not window and widget not in seen:
        seen.append(widget)
        widget = widget.nextInFocusChain()
    return [
        w
        for w in seen
        if w.isVisibleTo(window)
        and w.isEnabled()
        and w.focusPolicy() & Qt.FocusPolicy.TabFocus == Qt.FocusPolicy.TabFocus
    ]


def _spoken(widget: QWidget) -> str:
    """What a screen reader says for ``widget``: its accessible name, else its own text."""
    if widget.accessibleName():
        return widget.accessibleName()
    if isinstance(widget, QAbstractButton) and any(c.isalpha() for c in widget.text()):
        return widget.text()  # a glyph alone ("▶") is no name
    if isinstance(widget, QTabBar):
        return " ".join(widget.tabText(i) for i in range(widget.count()))
    return ""


def test_every_control_of_the_studio_is_reached_by_tab_and_named(qtbot, window: MainWindow) -> None:
    _open(qtbot, window, "neon-harbour")
    view = window.view
    assert view is not None
    window.resize(1280, 900)
    view.show_record_panel(True)
    chain = _tab_chain(window)
    # Every strip's controls, the transport's, the timeline and the Record panel's.
    controls = [
        w
        for w in view.findChildren(QWidget)
        if isinstance(w, CONTROLS) and w.isVisibleTo(window) and w.isEnabled()
    ]
    controls.append(view.timeline.canvas)
    missed = [f"{type(w).__name__} {_spoken(w) or w.objectName()!r}" for w in controls
              if w not in chain]  # fmt: skip
    assert not missed, f"Tab never reaches: {missed}"
    unnamed = [
        f"{type(w).__name__} ({w.toolTip() or w.objectName() or type(w.parent()).__name__})"
        for w in chain
        if not _spoken(w) and not isinstance(w.parent(), QAbstractSpinBox)
    ]
    assert not unnamed, f"controls without a name for screen readers: {unnamed}"
