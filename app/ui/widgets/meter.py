# SPDX-License-Identifier: GPL-3.0-or-later
"""A vertical peak meter in dBFS with a falling peak hold."""

from __future__ import annotations

import math

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

FLOOR_DB = -60.0
FALL_DB_PER_TICK = 1.5  # at the UI's ~30 Hz: about 45 dB/s, like a PPM's return


class LevelMeter(QWidget):
    """Shows a linear peak value as dBFS from -60 to 0; the owner calls :meth:`set_peak`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._level_db = FLOOR_DB
        self._hold_db = FLOOR_DB
        self.setMinimumWidth(10)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def sizeHint(self) -> QSize:
        return QSize(12, 160)

    @property
    def level_db(self) -> float:
        return self._level_db

    def set_peak(self, peak: float) -> None:
        db = 20 * math.log10(peak) if peak > 1e-6 else FLOOR_DB
        db = max(FLOOR_DB, min(0.0, db))
        # Rise at once, fall smoothly: that is how meters read as motion, not flicker.
        self._level_db = db if db > self._level_db else max(db, self._level_db - FALL_DB_PER_TICK)
        self._hold_db = max(self._level_db, self._hold_db - FALL_DB_PER_TICK / 4)
        self.update()

    def _y(self, db: float) -> float:
        return self.height() * (1 - (db - FLOOR_DB) / -FLOOR_DB)

    def paintEvent(self, _: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#0f1013"))
        gradient = QLinearGradient(0, self.height(), 0, 0)
        gradient.setColorAt(0.0, QColor("#2f9e44"))
        gradient.setColorAt(0.75, QColor("#94d82d"))
        gradient.setColorAt(0.9, QColor("#fab005"))
        gradient.setColorAt(1.0, QColor("#fa5252"))
        top = self._y(self._level_db)
        painter.fillRect(QRectF(0, top, self.width(), self.height() - top), gradient)
        painter.fillRect(QRectF(0, self._y(self._hold_db), self.width(), 2), QColor("#f1f3f5"))
        painter.end()
