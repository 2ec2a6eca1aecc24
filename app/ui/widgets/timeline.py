# SPDX-License-Identifier: GPL-3.0-or-later
"""The remix's timeline: a ruler with its sections and loop, the mix's outline, a lane per stem
(its peaks where heard, dark where silent, its recorded moves), the playhead; zoom and scroll.

A click or a drag on the mix or a lane seeks; a drag along the ruler (or Shift and a drag
anywhere) sets the loop, a double-click on the ruler ends it; a click on the ruler seeks too.
Ctrl and the wheel zoom around the pointer, the wheel scrolls, and + / - / 0 zoom by keys.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPolygonF,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QScrollBar,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.track import Section
from app.ui.theme import ACCENT, SECTION_COLOURS, SURFACE, SURFACE_HIGH, TEXT_DIM

#: (start_s, end_s, columns) → the lanes of the remix as it is now (``app.studio.overview``).
LanesSource = Callable[[float, float, int], Any]

LABEL_W = 64  # the lane names' gutter, px
RULER_H = 22
MIX_H = 34
LANE_MIN_H, LANE_HINT_H, LANE_MAX_H = 10, 18, 30
LANE_RANGE_DB = 48.0  # a lane's height spans this many decibels under full scale
DIM_RANGE_DB = 36.0  # a lane fades to the silent colour as its gain falls this far
MIN_VIEW_S = 4.0  # the closest zoom: about a pixel per envelope bin on a 200-pixel canvas
ZOOM_STEP = 1.5
SPACING = 2  # between the canvas and its scroll bar, px
DRAG_PX = 4  # a press that moves less than this is a click
LANE_COLOUR = "#8fa3c7"
SILENT_COLOUR = "#3a3c44"  # a lane where the mix does not play its stem
PENDING_COLOUR = "#2b2d34"  # not measured yet
DIVIDER_COLOUR = "#2d3038"


def _rgb(colour: str) -> tuple[int, int, int, int]:
    """``colour`` as the bytes of one ARGB32 pixel in memory (B, G, R, A on little-endian)."""
    c = QColor(colour)
    return (c.blue(), c.green(), c.red(), 255)


def clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


class TimelineCanvas(QWidget):
    """The painted part of :class:`TimelinePanel`; its view is ``[start_s, start_s + view_s)``."""

    seek = Signal(float)
    #: The loop the user dragged, (start_s, end_s); None: stop looping.
    loop_selected = Signal(object)
    view_changed = Signal()
    #: The lanes were shown (True) or folded away (False).
    lanes_toggled = Signal(bool)

    def __init__(self, kinds: tuple[str, ...], source: LanesSource) -> None:
        super().__init__()
        self.kinds = kinds
        self._source = source
        self.duration_s = 1.0
        self.start_s = 0.0
        self.view_s = 1.0
        self.position_s = 0.0
        self.loop: tuple[float, float] | None = None
        self._sections: tuple[Section, ...] = ()
        self._lanes: Any = None
        self._lanes_key: tuple[Any, ...] | None = None
        self._image: QImage | None = None
        self._image_key: tuple[Any, ...] | None = None
        self._pixels: np.ndarray | None = None
        self._version: Any = None
        self._press: tuple[float, float, bool] | None = None  # (x, seconds, setting a loop)
        self._dragged_loop: tuple[float, float] | None = None
        self.lanes_shown = True
        self.setMinimumHeight(self._height(LANE_MIN_H))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(False)
        self.setAccessibleName("Timeline")
        self.setAccessibleDescription(
            "The remix's sections, its mix and one lane per stem. Click to seek, drag along the "
            "ruler to loop, Control and the wheel to zoom."
        )

    def set_kinds(self, kinds: tuple[str, ...]) -> None:
        """Show a lane for each of ``kinds`` (the track's stems, then the recorded parts)."""
        if kinds == self.kinds:
            return
        self.kinds = kinds
        self._lanes_key = self._image_key = None
        self.setMinimumHeight(self._height(LANE_MIN_H))
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(800, self._height(LANE_HINT_H))

    def _height(self, lane_h: int) -> int:
        return RULER_H + MIX_H + (lane_h * len(self.kinds) if self.lanes_shown else 0) + 2

    def show_lanes(self, shown: bool) -> None:
        """A lane per stem under the mix, or the sections and the mix alone."""
        if shown == self.lanes_shown:
            return
        self.lanes_shown = shown
        self.lanes_toggled.emit(shown)
        self.setMinimumHeight(self._height(LANE_MIN_H))
        self._image = None
        self.updateGeometry()
        self.update()

    # --- what is shown ---------------------------------------------------------------------------

    def set_duration(self, seconds: float) -> None:
        seconds = max(seconds, 1e-3)
        if abs(seconds - self.duration_s) < 1e-6:
            return
        fitted = self.view_s >= self.duration_s - 1e-6
        self.duration_s = seconds
        self.view_s = seconds if fitted else min(self.view_s, seconds)
        self._clamp()
        self.view_changed.emit()
        self.update()

    def set_sections(self, sections: tuple[Section, ...]) -> None:
        self._sections = sections
        self.update()

    def set_position(self, seconds: float, follow: bool = False) -> None:
        """Move the playhead; with ``follow``, page the view along when it leaves it."""
        if abs(seconds - self.position_s) < 1e-3:
            return
        self.position_s = seconds
        if follow and not self.start_s <= seconds < self.start_s + self.view_s:
            self.start_s = seconds - 0.05 * self.view_s
            self._clamp()
            self.view_changed.emit()
        self.update()

    def set_loop(self, region: tuple[float, float] | None) -> None:
        if region != self.loop:
            self.loop = region
            self.update()

    def refresh(self, version: Any) -> None:
        """The remix or its measured envelopes changed when ``version`` did: fetch the lanes."""
        if version != self._version:
            self._version = version
            self._lanes_key = None
            self.update()

    # --- zoom and scroll -------------------------------------------------------------------------

    @property
    def lanes_width(self) -> int:
        return max(1, self.width() - LABEL_W)

    def zoom(self, factor: float, at_s: float | None = None) -> None:
        """View ``factor`` times as many seconds (under 1: closer), keeping ``at_s`` (else the
        view's middle) where it is on screen."""
        at = self.start_s + self.view_s / 2 if at_s is None else at_s
        share = (at - self.start_s) / self.view_s
        self.view_s = min(
            self.duration_s, max(min(MIN_VIEW_S, self.duration_s), self.view_s * factor)
        )
        self.start_s = at - share * self.view_s
        self._clamp()
        self.view_changed.emit()
        self.update()

    def fit(self) -> None:
        self.start_s, self.view_s = 0.0, self.duration_s
        self.view_changed.emit()
        self.update()

    def scroll_to(self, start_s: float) -> None:
        self.start_s = start_s
        self._clamp()
        self.update()

    def _clamp(self) -> None:
        self.view_s = min(self.view_s, self.duration_s)
        self.start_s = max(0.0, min(self.start_s, self.duration_s - self.view_s))

    def seconds_at(self, x: float) -> float:
        share = (x - LABEL_W) / self.lanes_width
        return max(0.0, min(self.duration_s, self.start_s + share * self.view_s))

    def x_of(self, seconds: float) -> float:
        return LABEL_W + (seconds - self.start_s) / self.view_s * self.lanes_width

    # --- the pointer and keys --------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        x, y = event.position().x(), event.position().y()
        looping = y < RULER_H or bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        self._press = (x, self.seconds_at(x), looping)
        self._dragged_loop = None
        if not looping:
            self.seek.emit(self.seconds_at(x))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._press is None:
            return
        x0, at_s, looping = self._press
        x = event.position().x()
        if not looping:
            self.seek.emit(self.seconds_at(x))
        elif abs(x - x0) >= DRAG_PX:
            here = self.seconds_at(x)
            self._dragged_loop = (min(at_s, here), max(at_s, here))
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._press is None:
            return
        _, at_s, looping = self._press
        self._press = None
        if not looping:
            return
        region, self._dragged_loop = self._dragged_loop, None
        if region is None:
            self.seek.emit(at_s)  # a click on the ruler: go there
        else:
            self.loop_selected.emit(region)
        self.update()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.position().y() < RULER_H and self.loop is not None:
            self.loop_selected.emit(None)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120 or event.angleDelta().x() / 120
        if not steps:
            return
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom(ZOOM_STEP ** (-steps), self.seconds_at(event.position().x()))
        else:
            self.scroll_to(self.start_s - steps * 0.1 * self.view_s)
            self.view_changed.emit()
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom(1 / ZOOM_STEP)
        elif key == Qt.Key.Key_Minus:
            self.zoom(ZOOM_STEP)
        elif key == Qt.Key.Key_0:
            self.fit()
        else:
            super().keyPressEvent(event)

    # --- painting --------------------------------------------------------------------------------

    def _current_lanes(self) -> Any:
        columns = self.lanes_width
        key = (self.start_s, self.view_s, columns)
        if key != self._lanes_key:
            self._lanes_key = key
            self._lanes = self._source(self.start_s, self.start_s + self.view_s, columns)
            self._image = None
        return self._lanes

    def _lane_height(self) -> int:
        if not self.lanes_shown:
            return 0
        room = self.height() - RULER_H - MIX_H - 2
        return int(max(LANE_MIN_H, min(LANE_MAX_H, room // max(1, len(self.kinds)))))

    def _rows(self, lanes: Any, lane_h: int) -> QImage:
        """The mix and the lanes drawn once per change of the remix, the view or the size (the
        playhead is painted over it): numpy fills the pixels, so a repaint costs a copy."""
        key = (id(lanes), lane_h, self.lanes_width)
        if self._image is not None and self._image_key == key:
            return self._image
        rows = [(lanes.mix, None, MIX_H, _rgb(ACCENT))]
        if lane_h:
            rows += [(lane.peaks, lane, lane_h, _rgb(LANE_COLOUR)) for lane in lanes.lanes]
        width = self.lanes_width
        height = sum(h for _, _, h, _ in rows)
        pixels = np.empty((height, width, 4), dtype=np.uint8)
        pixels[:] = _rgb(SURFACE)
        top = 0
        for peaks, lane, row_h, colour in rows:
            columns = np.full((width, 4), colour, dtype=np.uint8)
            if lane is not None:  # dimmer as the mix turns the stem down, dark where silent
                level = 20 * np.log10(np.maximum(lane.gain, 1e-6))
                share = np.clip(1 + level / DIM_RANGE_DB, 0, 1)[:, None]
                silent = np.asarray(_rgb(SILENT_COLOUR), dtype=np.float32)
                mixed = silent + (np.asarray(colour, dtype=np.float32) - silent) * share
                columns = mixed.astype(np.uint8)
                columns[:, 3] = 255
                columns[lane.gain <= 0.0] = _rgb(SILENT_COLOUR)
            middle = row_h / 2
            heights = np.asarray(peaks, dtype=np.float32)
            if lane is not None:  # on a decibel scale, so a quiet stem shows in a low lane
                heights = np.clip(
                    1 + 20 * np.log10(np.maximum(heights, 1e-6)) / LANE_RANGE_DB, 0, 1
                )
            half = np.maximum(heights * (middle - 2), 0.5)
            if lane is not None:
                half[~lane.known] = 0.5
                columns[~lane.known] = _rgb(PENDING_COLOUR)
            ys = np.arange(row_h, dtype=np.float32)[:, None] + 0.5
            inside = np.abs(ys - middle) <= half[None, :]
            block = pixels[top : top + row_h]
            block[inside] = np.broadcast_to(columns[None, :, :], (row_h, width, 4))[inside]
            block[row_h - 1] = _rgb(DIVIDER_COLOUR)
            top += row_h
        self._pixels = pixels  # the image reads this memory
        self._image = QImage(pixels.data, width, height, width * 4, QImage.Format.Format_ARGB32)
        self._image_key = key
        return self._image

    def paintEvent(self, _: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(SURFACE))
        lanes = self._current_lanes()
        lane_h = self._lane_height()
        self._paint_ruler(painter)
        painter.drawImage(QPointF(LABEL_W, RULER_H), self._rows(lanes, lane_h))
        painter.setPen(QColor(TEXT_DIM))
        names = [("Mix", RULER_H, MIX_H)]
        if lane_h:
            names += [(k, RULER_H + MIX_H + i * lane_h, lane_h) for i, k in enumerate(self.kinds)]
            font = painter.font()
            font.setPixelSize(max(9, min(12, lane_h - 2)))  # names fit low lanes
            painter.setFont(font)
        for name, top, row_h in names:
            painter.drawText(
                QRectF(6, top, LABEL_W - 8, row_h),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                name,
            )
        x = self.x_of(self.position_s)
        played = min(max(x, LABEL_W), self.width()) - LABEL_W
        if played > 0:  # what has played, lighter, on the mix
            light = QColor("#ffffff")
            light.setAlpha(36)
            painter.fillRect(QRectF(LABEL_W, RULER_H, played, MIX_H - 1), light)
        if lane_h:
            self._paint_moves(painter, lanes.moves, lane_h)
        bottom = RULER_H + MIX_H + len(self.kinds) * lane_h
        self._paint_loop(painter, bottom)
        if LABEL_W <= x <= self.width():
            painter.setPen(QPen(QColor("#f8f9fa"), 1))
            painter.drawLine(QPointF(x, 0), QPointF(x, bottom))
        painter.end()

    def _paint_ruler(self, painter: QPainter) -> None:
        painter.fillRect(QRectF(0, 0, self.width(), RULER_H), QColor(SURFACE_HIGH))
        colours: dict[str, str] = {}
        painter.setClipRect(QRectF(LABEL_W, 0, self.lanes_width, self.height()))
        for section in self._sections:
            colour = colours.setdefault(
                section.name, SECTION_COLOURS[len(colours) % len(SECTION_COLOURS)]
            )
            left, right = self.x_of(section.start_s), self.x_of(section.end_s)
            if right < LABEL_W or left > self.width():
                continue
            fill = QColor(colour)
            fill.setAlpha(150)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(fill)
            rect = QRectF(left + 1, 2, max(1.0, right - left - 2), RULER_H - 4)
            painter.drawRoundedRect(rect, 3, 3)
            painter.setPen(QColor("#f8f9fa"))
            painter.drawText(
                rect.adjusted(5, 0, -2, 0), Qt.AlignmentFlag.AlignVCenter, section.name
            )
            painter.setPen(QPen(QColor(colour), 1, Qt.PenStyle.DotLine))
            painter.drawLine(QPointF(left, RULER_H), QPointF(left, self.height()))
        painter.setClipping(False)
        painter.setPen(QColor(TEXT_DIM))
        painter.drawText(
            QRectF(4, 0, LABEL_W - 6, RULER_H), Qt.AlignmentFlag.AlignVCenter, clock(self.start_s)
        )

    def _paint_moves(self, painter: QPainter, moves: Any, lane_h: float) -> None:
        """A small diamond where each recorded move happens, on its lane (the master's on the
        mix)."""
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(ACCENT))
        rows = {kind: RULER_H + MIX_H + i * lane_h for i, kind in enumerate(self.kinds)}
        shown: set[tuple[int, str]] = set()
        for seconds, target in moves:
            x = self.x_of(seconds)
            if (round(x), target) in shown:  # many moves a pixel apart: one mark
                continue
            shown.add((round(x), target))
            top = rows.get(target, RULER_H)
            y = top + 4
            painter.drawPolygon(
                QPolygonF(
                    [QPointF(x, y - 3), QPointF(x + 3, y), QPointF(x, y + 3), QPointF(x - 3, y)]
                )
            )

    def _paint_loop(self, painter: QPainter, bottom: float) -> None:
        region = self._dragged_loop or self.loop
        if region is None:
            return
        left, right = self.x_of(region[0]), self.x_of(region[1])
        shade = QColor(ACCENT)
        shade.setAlpha(40)
        painter.fillRect(QRectF(left, 0, right - left, bottom), shade)
        painter.setPen(QPen(QColor(ACCENT), 2))
        painter.drawLine(QPointF(left, 0), QPointF(left, bottom))
        painter.drawLine(QPointF(right, 0), QPointF(right, bottom))


class TimelinePanel(QWidget):
    """:class:`TimelineCanvas` with its scroll bar and zoom buttons."""

    def __init__(self, kinds: tuple[str, ...], source: LanesSource) -> None:
        super().__init__()
        self.canvas = TimelineCanvas(kinds, source)
        self.scrollbar = QScrollBar(Qt.Orientation.Horizontal)
        self.scrollbar.setAccessibleName("Scroll the timeline")
        self.scrollbar.valueChanged.connect(self._scrolled)
        buttons = []
        for text, tip, act in (
            ("−", "Zoom out (-)", lambda: self.canvas.zoom(ZOOM_STEP)),
            ("+", "Zoom in (+)", lambda: self.canvas.zoom(1 / ZOOM_STEP)),
            ("Fit", "Show the whole remix (0)", self.canvas.fit),
        ):
            button = QToolButton()
            button.setText(text)
            button.setToolTip(tip)
            button.setAccessibleName(tip)
            button.clicked.connect(act)
            buttons.append(button)
        self.zoom_out, self.zoom_in, self.fit_button = buttons
        self.canvas.view_changed.connect(self._show_view)
        bar = QHBoxLayout()
        bar.setContentsMargins(LABEL_W, 0, 0, 0)
        bar.setSpacing(4)
        bar.addWidget(self.scrollbar, 1)
        bar.addStretch()  # holds the buttons right while the scroll bar is hidden
        for button in buttons:
            bar.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(SPACING)
        layout.addWidget(self.canvas, 1)
        layout.addLayout(bar)
        self._show_view()

    def set_kinds(self, kinds: tuple[str, ...]) -> None:
        """A lane for each of ``kinds`` (see ``TimelineCanvas.set_kinds``)."""
        self.canvas.set_kinds(kinds)

    def height_with(self, *, lanes: bool, lane_h: int) -> int:
        """The panel's height with (or without) lanes ``lane_h`` pixels high."""
        bar = max(self.scrollbar.sizeHint().height(), self.fit_button.sizeHint().height())
        rows = self.canvas.kinds if lanes else ()
        return RULER_H + MIX_H + lane_h * len(rows) + 2 + bar + SPACING

    def _show_view(self) -> None:
        """The scroll bar in milliseconds of the remix: its page is the view."""
        canvas = self.canvas
        page = round(canvas.view_s * 1000)
        self.scrollbar.blockSignals(True)
        self.scrollbar.setRange(0, max(0, round(canvas.duration_s * 1000) - page))
        self.scrollbar.setPageStep(page)
        self.scrollbar.setSingleStep(max(1, page // 10))
        self.scrollbar.setValue(round(canvas.start_s * 1000))
        self.scrollbar.blockSignals(False)
        # Hidden while the whole remix is in view (its row keeps the zoom buttons' height).
        self.scrollbar.setVisible(canvas.view_s < canvas.duration_s - 1e-3)

    def _scrolled(self, value: int) -> None:
        self.canvas.scroll_to(value / 1000)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._show_view()
