# SPDX-License-Identifier: GPL-3.0-or-later
"""The transport bar: play/pause, stop, loop, the clock, a seek bar, tempo and key, record moves,
the underrun counter and the audio buffer setting."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.recipe import KEY_SHIFT_RANGE, TEMPO_RATIO_RANGE

SEEK_STEPS_PER_S = 10
RECORD_TIP = (
    "Record moves: while playing, fader and effect changes are recorded at the moment you make "
    "them, and the render plays them back there"
)
BUFFER_TIP = (
    "Audio buffer: how far ahead the sound is made.\n"
    "Low latency: faders and effects are heard soonest.\n"
    "Safe: plays on through the pauses of a busy or slow computer, without dropouts; "
    "controls are heard a little later.\n"
    "Kept for the next start."
)
DROPOUT_TIP = "Moments the sound reached the device too late since the track opened."
DROPOUT_HINT = "If they keep coming, pick a safer audio buffer."


def clock(seconds: float) -> str:
    seconds = max(0.0, seconds)
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


class KeySpinBox(QSpinBox):
    """Semitones with their sign: "-2 st", "0 st", "+3 st"."""

    def textFromValue(self, value: int) -> str:
        return f"{value:+d}" if value else "0"

    def valueFromText(self, text: str) -> int:
        digits = text.replace(self.suffix(), "").replace(" ", "")
        try:
            return int(digits)
        except ValueError:
            return self.value()


class TransportBar(QWidget):
    """Emits ``play_pause``, ``stop``, ``seek(seconds)``, ``tempo_changed(ratio)``,
    ``key_changed(semitones)``, ``record_toggled(on)``, ``clear_moves`` and
    ``buffer_changed(name)``; shows what the owner tells it (the ``show_*`` and ``set_*``
    methods never emit)."""

    play_pause = Signal()
    stop = Signal()
    seek = Signal(float)
    loop_toggled = Signal(bool)
    tempo_changed = Signal(float)
    key_changed = Signal(int)
    record_toggled = Signal(bool)
    clear_moves = Signal()
    #: A tempo or key the artist does not allow was asked for: the sentence naming the limit.
    refused = Signal(str)
    buffer_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        rows = QVBoxLayout(self)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(8)
        layout = QHBoxLayout()  # play, stop, loop, the clock and the seek bar
        self.remix_row = QHBoxLayout()  # tempo, key, record moves; the owner may add actions
        rows.addLayout(layout)
        rows.addLayout(self.remix_row)
        self.play_button = QPushButton("▶")
        self.play_button.setObjectName("transport")
        self.play_button.setToolTip("Play / pause (Space)")
        self.play_button.setAccessibleName("Play or pause")
        self.play_button.clicked.connect(self.play_pause)
        self.stop_button = QPushButton("■")
        self.stop_button.setObjectName("transport")
        self.stop_button.setToolTip("Stop and return to the start")
        self.stop_button.setAccessibleName("Stop")
        self.stop_button.clicked.connect(self.stop)
        self.clock = QLabel("0:00.0")
        self.clock.setObjectName("clock")
        self.clock.setMinimumWidth(150)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Seek")
        self.slider.setAccessibleName("Position in the remix")
        self.slider.sliderReleased.connect(
            lambda: self.seek.emit(self.slider.value() / SEEK_STEPS_PER_S)
        )
        self.loop_button = QPushButton("⟲")
        self.loop_button.setObjectName("transport")
        self.loop_button.setCheckable(True)
        self.loop_button.setToolTip("Loop the section under the playhead")
        self.loop_button.setAccessibleName("Loop")
        self.loop_button.toggled.connect(self.loop_toggled)
        self.record_button = QPushButton("● Rec")
        self.record_button.setObjectName("record")
        self.record_button.setCheckable(True)
        self.record_button.setToolTip(RECORD_TIP)
        self.record_button.setAccessibleName("Record moves")
        self.record_button.toggled.connect(self.record_toggled)
        self.moves_button = QToolButton()
        self.moves_button.setObjectName("moves")
        self.moves_button.clicked.connect(self.clear_moves)
        self.show_moves(0)

        self.tempo = QDoubleSpinBox()
        self.tempo.setObjectName("tempo")
        self.tempo.setAccessibleName("Tempo")
        self.tempo.setDecimals(0)
        self.tempo.setSingleStep(1.0)
        self.tempo.setSuffix(" %")
        self.tempo.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.tempo.setMinimumWidth(72)
        self.tempo.setKeyboardTracking(False)  # typing "110" is one edit, not three
        self.tempo.valueChanged.connect(self._tempo_asked)
        self.key = KeySpinBox()
        self.key.setObjectName("key")
        self.key.setAccessibleName("Key")
        self.key.setSuffix(" st")
        self.key.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.key.setMinimumWidth(64)
        self.key.setKeyboardTracking(False)
        self.key.valueChanged.connect(self._key_asked)
        self._tempo_shown, self._key_shown = 100.0, 0
        self.set_ranges((1.0, 1.0), (0, 0))

        self.underruns = QLabel("")
        self.underruns.setObjectName("dim")
        self.buffer = QComboBox()
        self.buffer.setAccessibleName("Audio buffer")
        self.buffer.setObjectName("buffer")
        self.buffer.setToolTip(BUFFER_TIP)
        self.buffer.currentIndexChanged.connect(self._buffer_picked)
        for widget in (self.play_button, self.stop_button, self.loop_button, self.clock):
            layout.addWidget(widget)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.underruns)
        buffer_label = QLabel("Buffer")
        buffer_label.setObjectName("dim")
        buffer_label.setBuddy(self.buffer)
        layout.addWidget(buffer_label)
        layout.addWidget(self.buffer)
        for text, box in (("Tempo", self.tempo), ("Key", self.key)):
            label = QLabel(text)
            label.setObjectName("dim")
            label.setBuddy(box)
            self.remix_row.addWidget(label)
            self.remix_row.addWidget(box)
            self.remix_row.addSpacing(8)
        self.remix_row.addWidget(self.record_button)
        self.remix_row.addWidget(self.moves_button)
        self.remix_row.addStretch(1)
        self._duration_s = 0.0

    @property
    def duration_s(self) -> float:
        return self._duration_s

    def set_duration(self, seconds: float) -> None:
        self._duration_s = seconds
        self.slider.setRange(0, int(seconds * SEEK_STEPS_PER_S))

    def show_position(
        self, seconds: float, playing: bool, underruns: int, realtime: str | None = None
    ) -> None:
        """Show the playhead at ``seconds``, and the dropouts heard so far; ``realtime`` is
        why the audio threads do not run at real-time priority (None when they do)."""
        self.clock.setText(f"{clock(seconds)} / {clock(self._duration_s)}")
        if not self.slider.isSliderDown():
            self.slider.setValue(int(seconds * SEEK_STEPS_PER_S))
        self.play_button.setText("❚❚" if playing else "▶")
        self.underruns.setText(f"dropouts: {underruns}" if underruns else "")
        if underruns:
            tips = (DROPOUT_TIP, realtime, DROPOUT_HINT)
            self.underruns.setToolTip("\n".join(t for t in tips if t))

    def _buffer_picked(self, index: int) -> None:
        if index >= 0:
            self.buffer_changed.emit(self.buffer.itemData(index))

    def set_buffers(self, choices: list[tuple[str, str]], current: str) -> None:
        """The audio buffer settings as ``(name, text)``, and the one in use."""
        self.buffer.blockSignals(True)
        self.buffer.clear()
        for name, text in choices:
            self.buffer.addItem(text, name)
        self.buffer.blockSignals(False)
        self.show_buffer(current)

    def show_buffer(self, name: str) -> None:
        """Show the audio buffer in use without emitting."""
        self.buffer.blockSignals(True)
        self.buffer.setCurrentIndex(max(0, self.buffer.findData(name)))
        self.buffer.blockSignals(False)

    def add_action(self, widget: QWidget) -> None:
        """Put ``widget`` at the end of the tempo/key/record row (the owner's buttons)."""
        self.remix_row.addWidget(widget)

    def set_ranges(
        self, tempo_range: tuple[float, float], key_range: tuple[int, int], who: str = "The artist"
    ) -> None:
        """What the policy allows: a single value disables the control, and says why; a value
        typed or stepped past the limits is put back, and ``refused`` names them."""
        low, high = tempo_range
        self._tempo_allowed = (round(low * 100), round(high * 100))
        self._tempo_refusal = f"{who} allows a tempo from {low:.0%} to {high:.0%} of the original."
        _limit(
            self.tempo, *self._tempo_allowed, f"{who} does not allow changing the tempo",
            f"Tempo, the pitch kept: {low:.0%} to {high:.0%} allowed",
            (round(TEMPO_RATIO_RANGE[0] * 100), round(TEMPO_RATIO_RANGE[1] * 100)),
        )  # fmt: skip
        low_key, high_key = key_range
        self._key_allowed = (low_key, high_key)
        self._key_refusal = f"{who} allows a key from {low_key:+d} to {high_key:+d} semitones."
        _limit(
            self.key, low_key, high_key, f"{who} does not allow changing the key",
            f"Key, in semitones, the tempo kept: {low_key:+d} to {high_key:+d} allowed",
            KEY_SHIFT_RANGE,
        )  # fmt: skip

    def _tempo_asked(self, value: float) -> None:
        low, high = self._tempo_allowed
        if low - 1e-6 <= value <= high + 1e-6:
            self._tempo_shown = value
            self.tempo_changed.emit(round(value / 100.0, 4))
            return
        self._put_back(self.tempo, self._tempo_shown)
        self.refused.emit(f"{value:.0f} %: {self._tempo_refusal}")

    def _key_asked(self, value: int) -> None:
        low, high = self._key_allowed
        if low <= value <= high:
            self._key_shown = value
            self.key_changed.emit(value)
            return
        self._put_back(self.key, self._key_shown)
        self.refused.emit(f"{value:+d} semitones: {self._key_refusal}")

    @staticmethod
    def _put_back(control: QSpinBox | QDoubleSpinBox, value: float) -> None:
        control.blockSignals(True)
        control.setValue(value)  # type: ignore[arg-type]
        control.blockSignals(False)

    def show_tempo(self, ratio: float, key_shift: int) -> None:
        """Show the recipe's tempo and key without emitting."""
        self._tempo_shown, self._key_shown = ratio * 100.0, key_shift
        self._put_back(self.tempo, ratio * 100.0)
        self._put_back(self.key, key_shift)

    def show_recording(self, on: bool) -> None:
        self.record_button.blockSignals(True)
        self.record_button.setChecked(on)
        self.record_button.blockSignals(False)

    def show_loop(self, on: bool) -> None:
        """Whether playback loops (a region dragged on the timeline, or the section)."""
        if self.loop_button.isChecked() != on:
            self.loop_button.blockSignals(True)
            self.loop_button.setChecked(on)
            self.loop_button.blockSignals(False)

    def show_moves(self, count: int) -> None:
        """The number of recorded moves; the button clears them."""
        self.moves_button.setEnabled(count > 0)
        self.moves_button.setText(
            f"{count} move{'s' if count != 1 else ''}" + (" ✕" if count else "")
        )
        self.moves_button.setToolTip(
            f"Clear the {count} recorded move{'s' if count != 1 else ''} (undo brings them back)"
            if count
            else "No recorded moves: turn on Rec and play to record fader and effect changes"
        )


def _limit(
    control: QSpinBox | QDoubleSpinBox,
    low: int,
    high: int,
    refused: str,
    allowed: str,
    possible: tuple[int, int],
) -> None:
    """Set a spin box from the policy: one value disables it, with the reason; otherwise it
    takes anything the engine can do (``possible``), and what the policy refuses is put back
    with a sentence (``TransportBar._tempo_asked``) rather than swallowed by the box."""
    control.blockSignals(True)
    control.setRange(*possible) if low != high else control.setRange(low, high)
    control.blockSignals(False)
    control.setEnabled(low != high)
    control.setToolTip(
        refused if low == high else f"{allowed} (scroll, use the arrow keys or type)"
    )
