# SPDX-License-Identifier: GPL-3.0-or-later
"""A label of one line that ends in "…" when it does not fit, with the whole text on hover and,
clicked, unfolded over as many lines as it needs (clicked again, folded)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics, QMouseEvent, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class ElidedLabel(QLabel):
    """Plain text only (no markup: eliding counts characters)."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.unfolded = False
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.set_full_text(text)

    def full_text(self) -> str:
        return self._full

    def set_full_text(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self.setAccessibleName(text)
        self._show()

    def _show(self) -> None:
        self.setWordWrap(self.unfolded)
        if self.unfolded:
            self.setText(self._full)
            return
        metrics = QFontMetrics(self.font())
        width = max(0, self.contentsRect().width())
        self.setText(metrics.elidedText(self._full, Qt.TextElideMode.ElideRight, width))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.unfolded = not self.unfolded
            self._show()
        super().mouseReleaseEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if not self.unfolded:
            self._show()
