# SPDX-License-Identifier: GPL-3.0-or-later
"""One channel strip: name, effects and style buttons, peak meter, gain fader, pan knob, mute and
solo."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import (
    QAbstractSlider,
    QDial,
    QFrame,
    QHBoxLayout,
    QLabel,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.theme import ACCENT, ACCENT_SOFT
from app.ui.widgets.meter import LevelMeter

STEPS_PER_DB = 2  # the fader moves in 0.5 dB steps
FLOOR_DB = -60.0
# FX and Style share a row: 32 + 4 + 52 px is the strip's inner width (104 - 2 × 8 margins).
FX_BUTTON_WIDTH = 32
STYLE_BUTTON_WIDTH = 52  # longer model names are elided (the tooltip has the whole name)
# The style button's own look (the FX button's, lit in the accent while a model is placed).
STYLE_BUTTON_CSS = f"""
QToolButton {{ font-size: 8pt; padding: 1px 3px; color: {ACCENT_SOFT}; }}
QToolButton[placed="true"] {{ background: {ACCENT}; color: #16120f; border-color: {ACCENT}; }}
QToolButton:disabled {{ color: #555a66; background: #1b1d22; border-color: #25272e; }}
"""
#: The shortest the fader gets, so the whole strip fits a 640-pixel-high window (px).
FADER_MIN_HEIGHT = 90


def format_pan(pan: float) -> str:
    """ "C" at the centre, else the side and how far: "L 35", "R 100"."""
    percent = round(pan * 100)
    return "C" if percent == 0 else f"{'L' if percent < 0 else 'R'} {abs(percent)}"


class _ResetOnDoubleClick(QObject):
    """A double-click puts a fader or knob back where it started (0 dB, centre), as in every
    mixer."""

    def __init__(self, parent: QAbstractSlider, value: int) -> None:
        super().__init__(parent)
        self._value = value
        parent.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.MouseButtonDblClick and isinstance(watched, QAbstractSlider):
            watched.setValue(self._value)
            return True
        return False


def format_db(gain_db: float) -> str:
    return "-inf dB" if gain_db <= FLOOR_DB else f"{gain_db:+.1f} dB"


class ChannelStrip(QFrame):
    """A strip for one stem (or the master, with ``master=True``: no pan, mute or solo).

    Signals carry the stem kind first so one slot can serve every strip.
    """

    gain_changed = Signal(str, float)
    pan_changed = Signal(str, float)
    mute_toggled = Signal(str, bool)
    solo_toggled = Signal(str, bool)
    effects_requested = Signal(str)
    style_requested = Signal(str)

    def __init__(
        self,
        kind: str,
        *,
        max_gain_db: float = 6.0,
        master: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.kind = kind
        self.setObjectName("masterStrip" if master else "strip")
        self.setFixedWidth(104)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(4)

        name = QLabel(kind.upper() if master else kind.capitalize())
        name.setObjectName("stripName")
        name.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(name)
        self.fx = QToolButton()
        self.fx.setText("FX")
        self.fx.setObjectName("fx")
        self.fx.setToolTip(f"Effects on {kind}")
        self.fx.setAccessibleName(f"{kind} effects")
        self.fx.clicked.connect(lambda: self.effects_requested.emit(self.kind))
        if not master:  # narrower than the theme's FX button, to leave room for Style
            self.fx.setStyleSheet("QToolButton { padding: 1px 6px; }")
            self.fx.setFixedWidth(FX_BUTTON_WIDTH)
        self.style_button = QToolButton()
        self.style_button.setObjectName("style")
        self.style_button.setStyleSheet(STYLE_BUTTON_CSS)
        self.style_button.setFixedWidth(STYLE_BUTTON_WIDTH)
        self.style_button.setAccessibleName(f"{kind} style model")
        self.style_button.clicked.connect(lambda: self.style_requested.emit(self.kind))
        self.show_style(None)
        fx_row = QHBoxLayout()
        fx_row.setSpacing(4)
        fx_row.addStretch()
        fx_row.addWidget(self.fx)
        if not master:
            fx_row.addWidget(self.style_button)
        else:
            self.style_button.hide()
        fx_row.addStretch()
        layout.addLayout(fx_row)

        self.pan = QDial()
        self.pan.setRange(-100, 100)
        self.pan.setSingleStep(5)  # a wheel notch moves it 15 (Qt scrolls 3 steps a notch)
        self.pan.setPageStep(25)
        self.pan.setNotchesVisible(True)
        self.pan.setFixedSize(38, 38)
        self.pan.setToolTip("Pan: drag or scroll; double-click to centre")
        self.pan.setAccessibleName(f"{kind} pan")
        self.pan.valueChanged.connect(self._on_pan)
        _ResetOnDoubleClick(self.pan, 0)
        self.pan_label = QLabel(format_pan(0.0))
        self.pan_label.setObjectName("gainLabel")
        self.pan_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        pan_row = QHBoxLayout()
        pan_row.setSpacing(4)
        pan_row.addStretch()
        pan_row.addWidget(self.pan)
        pan_row.addWidget(self.pan_label)
        pan_row.addStretch()
        if not master:
            layout.addLayout(pan_row)
        else:
            self.pan_label.hide()

        self.fader = QSlider(Qt.Orientation.Vertical)
        self.fader.setRange(int(FLOOR_DB * STEPS_PER_DB), int(max_gain_db * STEPS_PER_DB))
        self.fader.setValue(0)
        self.fader.setMinimumHeight(FADER_MIN_HEIGHT)
        self.fader.setToolTip(f"Gain of {kind}: drag or scroll; double-click for 0 dB")
        self.fader.setAccessibleName(f"{kind} gain")
        self.fader.valueChanged.connect(self._on_fader)
        _ResetOnDoubleClick(self.fader, 0)
        self.meter = LevelMeter()
        body = QHBoxLayout()
        body.addStretch()
        body.addWidget(self.fader)
        body.addSpacing(6)
        body.addWidget(self.meter)
        body.addStretch()
        layout.addLayout(body, 1)

        self.gain_label = QLabel(format_db(0.0))
        self.gain_label.setObjectName("gainLabel")
        self.gain_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.gain_label)

        buttons = QHBoxLayout()
        self.mute = self._button("M", "mute", "Mute")
        self.solo = self._button("S", "solo", "Solo")
        self.mute.setAccessibleName(f"{kind} mute")
        self.solo.setAccessibleName(f"{kind} solo")
        self.mute.toggled.connect(lambda on: self.mute_toggled.emit(self.kind, on))
        self.solo.toggled.connect(lambda on: self.solo_toggled.emit(self.kind, on))
        buttons.addWidget(self.mute)
        buttons.addWidget(self.solo)
        if not master:
            layout.addLayout(buttons)

    def _button(self, text: str, name: str, tip: str) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setObjectName(name)
        button.setCheckable(True)
        button.setToolTip(tip)
        button.setFixedWidth(34)
        return button

    def _on_pan(self, value: int) -> None:
        self.pan_label.setText(format_pan(value / 100.0))
        self.pan_changed.emit(self.kind, value / 100.0)

    def _on_fader(self, value: int) -> None:
        gain_db = value / STEPS_PER_DB
        self.gain_label.setText(format_db(gain_db))
        self.gain_changed.emit(self.kind, max(gain_db, FLOOR_DB))

    def set_gain_db(self, gain_db: float) -> None:
        """Move the fader without emitting (to show a value the engine refused or restored)."""
        self.fader.blockSignals(True)
        self.fader.setValue(round(gain_db * STEPS_PER_DB))
        self.fader.blockSignals(False)
        self.gain_label.setText(format_db(gain_db))

    def set_state(self, *, mute: bool, solo: bool, pan: float) -> None:
        """Show settings without emitting."""
        for widget, value in ((self.mute, mute), (self.solo, solo)):
            widget.blockSignals(True)
            widget.setChecked(value)
            widget.blockSignals(False)
        self.pan.blockSignals(True)
        self.pan.setValue(round(pan * 100))
        self.pan.blockSignals(False)
        self.pan_label.setText(format_pan(pan))

    def set_permissions(self, *, can_solo: bool, can_mute: bool, reason: str) -> None:
        """Grey out what the artist's policy forbids, and say why on hover."""
        self.solo.setEnabled(can_solo)
        self.mute.setEnabled(can_mute)
        if not can_solo:
            self.solo.setToolTip(f"Solo is not allowed: {reason}")
        if not can_mute:
            self.mute.setToolTip(f"Mute is not allowed: {reason}")

    def show_style(self, name: str | None, detail: str = "") -> None:
        """Show the placed style model's name (lit), or "Style" when none is placed.

        Args:
            name: the model's display name, or None.
            detail: more for the tooltip (e.g. what the model did to the melody).
        """
        placed = name is not None
        if name is not None:
            font = QFont(self.style_button.font())
            font.setPointSizeF(8)
            font.setBold(True)
            room = STYLE_BUTTON_WIDTH - 8  # the padding and border
            text = QFontMetrics(font).elidedText(name, Qt.TextElideMode.ElideRight, room)
            self.style_button.setText(text)
        else:
            self.style_button.setText("Style")
        if self.style_button.isEnabled():
            tip = f"Style model on {self.kind}: {name}" if placed else f"Style model on {self.kind}"
            self.style_button.setToolTip("\n".join(filter(None, (tip, detail))))
        if self.style_button.property("placed") != placed:
            self.style_button.setProperty("placed", placed)
            # A dynamic property only restyles once the style sheet is applied again.
            self.style_button.style().unpolish(self.style_button)
            self.style_button.style().polish(self.style_button)

    def set_style_permission(self, reason: str | None) -> None:
        """Grey out the style button when the artist allows no style model on this stem."""
        self.style_button.setEnabled(reason is None)
        if reason is not None:
            self.style_button.setToolTip(f"Style models are not allowed: {reason}")
