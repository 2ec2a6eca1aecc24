# SPDX-License-Identifier: GPL-3.0-or-later
"""The arrangement overview: the track's sections as coloured blocks, with the playhead."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from app.core.track import Section
from app.ui.theme import ACCENT, SECTION_COLOURS


class SectionsBar(QWidget):
    """Click to seek; emits ``seek(seconds)``."""

    seek = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._sections: tuple[Section, ...] = ()
        self._duration_s = 1.0
        self._position_s = 0.0
        self.setMinimumHeight(34)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Sections: click to jump")

    def sizeHint(self) -> QSize:
        return QSize(600, 34)

    def set_track(self, sections: tuple[Section, ...], duration_s: float) -> None:
        self._sections, self._duration_s = sections, max(duration_s, 1e-3)
        self.update()

    def set_position(self, seconds: float) -> None:
        self._position_s = seconds
        self.update()

    def _x(self, seconds: float) -> float:
        return self.width() * seconds / self._duration_s

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.seek.emit(max(0.0, event.position().x() / self.width() * self._duration_s))

    def paintEvent(self, _: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        colours: dict[str, str] = {}
        for section in self._sections:
            colour = colours.setdefault(
                section.name, SECTION_COLOURS[len(colours) % len(SECTION_COLOURS)]
            )
            rect = QRectF(
                self._x(section.start_s) + 1,
                2,
                self._x(section.end_s) - self._x(section.start_s) - 2,
                self.height() - 4,
            )
            fill = QColor(colour)
            fill.setAlpha(150)
            painter.setBrush(fill)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.drawRoundedRect(rect, 4, 4)
            painter.setPen(QColor("#f8f9fa"))
            painter.drawText(
                rect.adjusted(6, 0, -2, 0), Qt.AlignmentFlag.AlignVCenter, section.name
            )
        x = self._x(self._position_s)
        painter.setPen(QColor(ACCENT))
        painter.drawLine(int(x), 0, int(x), self.height())
        painter.end()
