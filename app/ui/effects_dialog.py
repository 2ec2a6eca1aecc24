# SPDX-License-Identifier: GPL-3.0-or-later
"""A strip's effects: one slider per setting, grouped by effect, greyed out where the artist's
policy does not allow the effect. Edits apply live and go through the studio's policy check."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app.core.effects import RANGES, MasterFx, StemFx
from app.core.errors import FanfareError
from app.studio.open_track import OpenTrack

STEPS = 1000
#: Effects side by side in the dialog.
COLUMNS = 2
# (effect, field or None for a top-level field, label, unit); groups keep signal order.
STRIP_CONTROLS: list[tuple[str, str, str, str]] = [
    ("eq", "low_db", "Low (120 Hz)", "dB"),
    ("eq", "mid_db", "Mid", "dB"),
    ("eq", "mid_hz", "Mid frequency", "Hz"),
    ("eq", "high_db", "High (8 kHz)", "dB"),
    ("filter", "highpass_hz", "High-pass", "Hz"),
    ("filter", "lowpass_hz", "Low-pass", "Hz"),
    ("compressor", "threshold_db", "Threshold", "dB"),
    ("compressor", "ratio", "Ratio", ":1"),
    ("drive", "drive_db", "Drive", "dB"),
    ("chorus", "rate_hz", "Rate", "Hz"),
    ("chorus", "depth", "Depth", ""),
    ("chorus", "mix", "Mix", ""),
    ("delay", "time_s", "Time", "s"),
    ("delay", "feedback", "Feedback", ""),
    ("delay", "mix", "Mix", ""),
    ("reverb", "room_size", "Size", ""),
    ("reverb", "mix", "Mix", ""),
]
MASTER_CONTROLS = [c for c in STRIP_CONTROLS if c[0] in ("eq", "compressor")]
_LOG_FIELDS = {"mid_hz", "highpass_hz", "lowpass_hz", "rate_hz", "time_s"}


def to_slider(name: str, value: float) -> int:
    low, high = RANGES[name]
    if name in _LOG_FIELDS:  # frequencies and times feel even on a log scale
        fraction = math.log(value / low) / math.log(high / low)
    else:
        fraction = (value - low) / (high - low)
    return round(fraction * STEPS)


def from_slider(name: str, position: int) -> float:
    low, high = RANGES[name]
    fraction = position / STEPS
    if name in _LOG_FIELDS:
        return float(round(low * (high / low) ** fraction, 2))
    return float(round(low + fraction * (high - low), 3))


def _read(fx: StemFx | MasterFx, effect: str, name: str) -> float:
    return float(getattr(fx, name) if effect == "drive" else getattr(getattr(fx, effect), name))


def _write(fx: Any, effect: str, name: str, value: float) -> Any:
    if effect == "drive":
        return replace(fx, drive_db=value)
    return replace(fx, **{effect: replace(getattr(fx, effect), **{name: value})})


class EffectsDialog(QDialog):
    """Effects of one stem (``kind``) or of the master (``kind == "master"``)."""

    def __init__(self, track: OpenTrack, kind: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.track = track
        self.kind = kind
        master = kind == "master"
        self.setWindowTitle(f"Effects: {'master' if master else kind}")
        self.setMinimumWidth(380)
        layout = QVBoxLayout(self)
        # Two columns of effects: the dialog stays under 500 px high (a 640-pixel screen).
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        layout.addLayout(grid)
        self.status = QLabel("")
        self.status.setObjectName("status")
        self.status.setWordWrap(True)
        self.sliders: dict[tuple[str, str], QSlider] = {}
        self.values: dict[tuple[str, str], QLabel] = {}
        allowed = set(track.policy.effects)
        groups: dict[str, QFormLayout] = {}
        for effect, name, label, unit in MASTER_CONTROLS if master else STRIP_CONTROLS:
            if effect not in groups:
                box = QGroupBox(effect.capitalize())
                box.setEnabled(effect in allowed)
                if effect not in allowed:
                    box.setToolTip(f"{track.info.artist} does not allow {effect} on this track.")
                    box.setTitle(f"{effect.capitalize()} (not allowed by the artist)")
                place = len(groups)
                groups[effect] = QFormLayout(box)
                grid.addWidget(box, place // COLUMNS, place % COLUMNS)
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(0, STEPS)
            value_label = QLabel("")
            value_label.setMinimumWidth(70)
            row = QHBoxLayout()
            row.addWidget(slider, 1)
            row.addWidget(value_label)
            groups[effect].addRow(label, row)
            self.sliders[(effect, name)] = slider
            self.values[(effect, name)] = value_label
            slider.valueChanged.connect(
                lambda position, e=effect, n=name, u=unit: self._changed(e, n, u, position)
            )
        layout.addWidget(self.status)
        self.show_current()

    def _fx(self) -> StemFx | MasterFx:
        recipe = self.track.recipe
        return recipe.master.fx if self.kind == "master" else recipe.stems[self.kind].fx

    def show_current(self) -> None:
        """Put every slider where the recipe is (without applying anything)."""
        fx = self._fx()
        for (effect, name), slider in self.sliders.items():
            value = _read(fx, effect, name)
            slider.blockSignals(True)
            slider.setValue(to_slider(name, value))
            slider.blockSignals(False)
            self.values[(effect, name)].setText(_format(value, name))

    def _changed(self, effect: str, name: str, unit: str, position: int) -> None:
        value = from_slider(name, position)
        self.values[(effect, name)].setText(_format(value, name, unit))
        fx = _write(self._fx(), effect, name, value)
        try:
            if self.kind == "master":
                self.track.set_master(fx=fx)
            else:
                self.track.set_stem(self.kind, fx=fx)
            self.status.setText("")
        except FanfareError as exc:
            self.status.setText(str(exc))
            self.show_current()


def _format(value: float, name: str, unit: str = "") -> str:
    unit = unit or {"_db": "dB", "_hz": "Hz", "_s": "s"}.get(name[name.rfind("_") :], "")
    if unit == "Hz" and value >= 1000:
        return f"{value / 1000:.2f} kHz"
    return f"{value:g} {unit}".strip()
