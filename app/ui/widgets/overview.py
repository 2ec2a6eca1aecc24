# SPDX-License-Identifier: GPL-3.0-or-later
"""A remix's waveform overview: its peaks as bars, what has played in the accent colour, the
playhead; a click or a drag seeks."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.ui.theme import ACCENT, SURFACE_HIGH, TEXT_DIM


class WaveformOverview(QWidget):
    """``peaks`` (0..255 over equal stretches of the remix) against ``duration_s`` seconds."""

    #: The listener clicked or dragged to this many seconds from the start.
    seek = Signal(float)

    def __init__(self) -> None:
        super().__init__()
        self._peaks: list[int] = []
        self._duration_s = 0.0
        self._position_s = 0.0
        self.setMinimumHeight(64)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAccessibleName("Waveform overview: click to seek")

    def set_remix(self, peaks: list[int], duration_s: float) -> None:
        self._peaks, self._duration_s, self._position_s = list(peaks), duration_s, 0.0
        self.update()

    def set_position(self, seconds: float) -> None:
        if abs(seconds - self._position_s) > 1e-3:
            self._position_s = seconds
            self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._seek_to(event.position().x())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._seek_to(event.position().x())

    def _seek_to(self, x: float) -> None:
        if self._duration_s > 0 and self.width() > 0:
            self.seek.emit(max(0.0, min(1.0, x / self.width())) * self._duration_s)

    def paintEvent(self, _: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(SURFACE_HIGH))
        if self._peaks:
            width, height = self.width(), self.height()
            middle = height / 2
            played_x = width * self._position_s / self._duration_s if self._duration_s else 0.0
            step = width / len(self._peaks)
            bar = max(1.0, step * 0.7)
            played, ahead = QColor(ACCENT), QColor(TEXT_DIM)
            painter.setPen(Qt.PenStyle.NoPen)
            for index, peak in enumerate(self._peaks):
                x = index * step
                half = max(1.0, (peak / 255.0) * (middle - 3))
                painter.setBrush(played if x < played_x else ahead)
                painter.drawRect(QRectF(x, middle - half, bar, 2 * half))
            painter.setPen(QColor("#f8f9fa"))
            painter.drawLine(int(played_x), 0, int(played_x), height)
        painter.end()
