# SPDX-License-Identifier: GPL-3.0-or-later
"""The transport bar: play/pause, stop, the clock, a seek bar and the underrun counter."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QWidget

SEEK_STEPS_PER_S = 10


def clock(seconds: float) -> str:
    seconds = max(0.0, seconds)
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


class TransportBar(QWidget):
    """Emits ``play_pause``, ``stop`` and ``seek(seconds)``; shows what the owner tells it."""

    play_pause = Signal()
    stop = Signal()
    seek = Signal(float)
    loop_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.play_button = QPushButton("▶")
        self.play_button.setObjectName("transport")
        self.play_button.setToolTip("Play / pause (Space)")
        self.play_button.clicked.connect(self.play_pause)
        self.stop_button = QPushButton("■")
        self.stop_button.setObjectName("transport")
        self.stop_button.setToolTip("Stop and return to the start")
        self.stop_button.clicked.connect(self.stop)
        self.clock = QLabel("0:00.0")
        self.clock.setObjectName("clock")
        self.clock.setMinimumWidth(150)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Seek")
        self.slider.sliderReleased.connect(
            lambda: self.seek.emit(self.slider.value() / SEEK_STEPS_PER_S)
        )
        self.loop_button = QPushButton("⟲")
        self.loop_button.setObjectName("transport")
        self.loop_button.setCheckable(True)
        self.loop_button.setToolTip("Loop the section under the playhead")
        self.loop_button.toggled.connect(self.loop_toggled)
        self.underruns = QLabel("")
        self.underruns.setObjectName("dim")
        for widget in (self.play_button, self.stop_button, self.loop_button, self.clock):
            layout.addWidget(widget)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.underruns)
        self._duration_s = 0.0

    @property
    def duration_s(self) -> float:
        return self._duration_s

    def set_duration(self, seconds: float) -> None:
        self._duration_s = seconds
        self.slider.setRange(0, int(seconds * SEEK_STEPS_PER_S))

    def show_position(self, seconds: float, playing: bool, underruns: int) -> None:
        self.clock.setText(f"{clock(seconds)} / {clock(self._duration_s)}")
        if not self.slider.isSliderDown():
            self.slider.setValue(int(seconds * SEEK_STEPS_PER_S))
        self.play_button.setText("❚❚" if playing else "▶")
        self.underruns.setText(f"dropouts: {underruns}" if underruns else "")
