# SPDX-License-Identifier: GPL-3.0-or-later
"""The open track: header, sections, one channel strip per stem, master, transport, publish."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import FanfareError
from app.core.midi_mapping import STRIPS
from app.core.policy import describe_policy
from app.core.track import Section
from app.studio.auditions import Audition
from app.studio.open_track import OpenTrack
from app.studio.preferences import BUFFERINGS, buffer_choices, buffering_named
from app.studio.recording import input_names
from app.studio.status import Notice, PlaybackStatus, StripMix, StyleAdjusted
from app.studio.style_library import ModelStems
from app.ui.arrangement_dialog import ArrangementDialog
from app.ui.effects_dialog import EffectsDialog
from app.ui.midi_bridge import MidiBridge, control_label, offer_learn
from app.ui.publish_dialog import PublishDialog
from app.ui.record_panel import RecordPanel
from app.ui.style_dialog import StyleDialog, short_name
from app.ui.widgets.channel_strip import ChannelStrip
from app.ui.widgets.elided_label import ElidedLabel
from app.ui.widgets.timeline import LANE_MIN_H, TimelinePanel
from app.ui.widgets.transport import TransportBar, clock

METER_INTERVAL_MS = 33  # ~30 Hz: smooth to the eye, nothing for the CPU
# After the user touches a strip, it stops following the automation for a moment: a move is
# heard (and so shown) only once the audio already queued has played out.
FOLLOW_HOLD_S = 0.6
DROPOUT_HINT_AFTER = 3  # dropouts in one track before the status bar suggests a safer buffer


NOTES_SHARP = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
NOTES_FLAT = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")


def transposed(key: str, semitones: int) -> str:
    """``key`` ("A major", "Eb minor") moved by ``semitones``; unchanged if not a note name."""
    note, _, rest = key.partition(" ")
    for names in (NOTES_SHARP, NOTES_FLAT):
        if note in names:
            index = (names.index(note) + semitones) % 12
            # Spell a flat key with flats, everything else with sharps.
            spelling = NOTES_FLAT if "b" in note[1:] else NOTES_SHARP
            return " ".join(filter(None, (spelling[index], rest)))
    return key


def policy_summary(track: OpenTrack) -> str:
    """One line on what the artist allows, in the artist's favour of plain words."""
    return describe_policy(track.policy, track.info.artist, track.info.stem_kinds)


class TrackView(QWidget):
    """Shows one :class:`OpenTrack`; ``message`` carries a sentence for the status bar."""

    message = Signal(str)
    failed = Signal(str)
    #: "Remixes of this track": the Listen tab, on this track's page (id, title).
    remixes_requested = Signal(str, str)

    def __init__(self, track: OpenTrack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.track = track
        info = track.info
        self._layout = layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 18, 24, 14)
        layout.setSpacing(12)

        #: Shown in an artist's preview of a draft policy, above everything else.
        self.preview_banner: QLabel | None = None
        if track.preview:
            self.preview_banner = QLabel(
                "<b>Preview</b> — this is what fans could do under your draft policy: the same "
                "controls, the same refusals. Nothing made here is published."
            )
            self.preview_banner.setObjectName("banner")
            self.preview_banner.setWordWrap(True)
            layout.addWidget(self.preview_banner)
        title = QLabel(info.title)
        title.setObjectName("trackTitle")
        self.meta = QLabel()
        self.meta.setObjectName("trackMeta")
        layout.addWidget(title)
        layout.addWidget(self.meta)
        self._show_meta()

        #: The sections, the mix and a lane per stem (``widgets/timeline``); over the mixer,
        #: the splitter between them where the user leaves it.
        self.timeline = TimelinePanel(info.stem_kinds, track.lanes)
        self.timeline.canvas.set_duration(track.duration_s)  # then each tick, as it changes
        self._sections_shown: tuple[object, float] | None = None
        self._show_sections()
        self.timeline.canvas.seek.connect(self._seek)
        self.timeline.canvas.loop_selected.connect(self._loop_region)

        self.strips_row = strips_row = QWidget()
        row = QHBoxLayout(strips_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(10)
        high = track.policy.gain_db_range[1]
        permissions = track.style_permissions()
        self.strips: dict[str, ChannelStrip] = {}
        self._strips_row = row
        for kind in info.stem_kinds:
            strip = self._add_strip(kind, high)
            rule = track.policy.rule(kind)
            strip.set_permissions(
                can_solo=rule.solo, can_mute=rule.mute, reason=f"{info.artist}'s rule for {kind}"
            )
            strip.set_style_permission(permissions.stem_refusal(kind))
        row.addStretch()
        self.master = ChannelStrip("master", max_gain_db=6.0, master=True)
        self.master.gain_changed.connect(lambda _, v: self._edit_master(gain_db=max(v, -24.0)))
        self.master.effects_requested.connect(self.open_effects)
        row.addWidget(self.master)
        #: The window's MIDI controllers (``midi_bridge``), once it has them.
        self.midi: MidiBridge | None = None
        self.mixer_scroll = scroll = QScrollArea()
        scroll.setAccessibleName("Mixer")
        scroll.setWidget(strips_row)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        # A window too low for every strip scrolls the mixer rather than hide its buttons.
        scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        strips_row.setMinimumHeight(
            max(s.minimumSizeHint().height() for s in (*self.strips.values(), self.master))
        )
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.timeline)
        self.splitter.addWidget(scroll)
        # The mixer takes what the window gains; the timeline keeps the height it asks for.
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self._lanes_choice: bool | None = None
        layout.addWidget(self.splitter, 1)

        # One line that unfolds on a click: the mixer keeps the height.
        self.policy = ElidedLabel(policy_summary(track))
        self.policy.setObjectName("policy")
        # Before remixing, the fan knows where the remix will live.
        self.where = QLabel("<b>Open</b>" if track.policy.downloadable else "<b>Walled</b>")
        self.where.setToolTip(
            "Open: you may download your remix, and so may its listeners."
            if track.policy.downloadable
            else "Walled: your remix stays on Fanfare; listeners stream it, nobody downloads it."
        )
        self.where.setAccessibleName(self.where.toolTip())
        self.where.setObjectName("dim")
        self.remixes_button = QPushButton("Remixes of this track")
        self.remixes_button.setToolTip("Listen to what fans published from this track")
        self.remixes_button.clicked.connect(
            lambda: self.remixes_requested.emit(info.id, info.title)
        )
        policy_row = QHBoxLayout()
        policy_row.addWidget(self.policy, 1)
        policy_row.addWidget(self.where)
        policy_row.addWidget(self.remixes_button)
        layout.addLayout(policy_row)

        self.transport = TransportBar()
        self.transport.set_duration(info.duration_s)
        self.transport.play_pause.connect(self.play_pause)
        self.transport.stop.connect(self._stop)
        self.transport.seek.connect(self._seek)
        self.transport.loop_toggled.connect(self._loop)
        self.transport.set_ranges(
            track.policy.tempo_ratio_range, track.policy.key_shift_range, who=info.artist
        )
        self.transport.tempo_changed.connect(lambda ratio: self._set_tempo(ratio=ratio))
        self.transport.key_changed.connect(lambda semitones: self._set_tempo(key_shift=semitones))
        self.transport.record_toggled.connect(self._record)
        self.transport.refused.connect(self.message)
        self.transport.clear_moves.connect(self.clear_moves)
        rate = info.sample_rate
        buffers = buffer_choices(rate)
        self.transport.set_buffers(buffers, track.buffering.name)
        self.transport.buffer_changed.connect(self._set_buffer)
        self._offer_midi_learn()
        self.publish_button = QPushButton("Publish remix…")
        self.publish_button.setObjectName("primary")
        self.publish_button.setEnabled(track.policy.publish and not track.preview)
        if track.preview:
            self.publish_button.setToolTip("A preview is not published.")
        self.publish_button.clicked.connect(self.open_publish)
        self.arrange_button = QPushButton("Arrange…")
        self.arrange_button.setEnabled(bool(info.sections))
        self.arrange_button.setToolTip("Repeat, drop or reorder sections; mute stems per section")
        self.arrange_button.clicked.connect(self.open_arrangement)
        self.transport.add_action(self.arrange_button)
        #: Record your own part (a cover): the panel opens under the timeline.
        self.record_panel: RecordPanel | None = None
        self.record_toggle = QPushButton("Record part")
        self.record_toggle.setObjectName("recordPart")
        self.record_toggle.setCheckable(True)
        self.record_toggle.setToolTip("Record your own part over the track: a cover (Ctrl+Shift+R)")
        self.record_toggle.toggled.connect(self.show_record_panel)
        self.transport.add_action(self.record_toggle)
        #: In a preview, one click plays each transformation the draft allows.
        self.auditions_button: QPushButton | None = None
        if track.preview:
            self.auditions_button = QPushButton("Auditions ▾")
            self.auditions_button.setToolTip(
                "Hear what fans could make: each thing your draft allows, pushed to its limit"
            )
            menu = QMenu(self.auditions_button)
            for audition in track.auditions():
                action = menu.addAction(audition.title)
                action.triggered.connect(lambda _=False, a=audition: self.audition(a))
            self.auditions_button.setMenu(menu)
            self.transport.add_action(self.auditions_button)
        self.transport.add_action(self.publish_button)
        layout.addWidget(self.transport)

        self.timer = QTimer(self)
        self.timer.setInterval(METER_INTERVAL_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()
        self.publish_dialog: PublishDialog | None = None
        self.effects: dict[str, EffectsDialog] = {}
        self.styles: dict[str, StyleDialog] = {}
        #: The platform's style models, once a style panel has fetched them (one call a track).
        self.style_models: list[ModelStems] | None = None
        # stem -> (model ref, what the style runtime did to the stem with that model)
        self._style_notes: dict[str, tuple[str, str]] = {}
        self.arrangement_dialog: ArrangementDialog | None = None
        self._shown_mix: tuple[object, object] | None = None  # what the strips follow
        self._held: dict[str, float] = {}  # strip -> until when it does not follow
        self._moves_shown = -1
        self._dropout_hinted = False  # the status bar suggested a safer buffer (once a track)
        self.transport.show_tempo(track.recipe.tempo_ratio, track.recipe.key_shift)
        self.transport.show_recording(track.recording)
        self._tick()

    def _add_strip(self, kind: str, high: float) -> ChannelStrip:
        """A channel strip for ``kind`` at the end of the stems (before the master)."""
        strip = ChannelStrip(kind, max_gain_db=high)
        strip.gain_changed.connect(lambda k, v: self._edit(k, gain_db=v))
        strip.pan_changed.connect(lambda k, v: self._edit(k, pan=v))
        strip.mute_toggled.connect(lambda k, v: self._edit(k, mute=v))
        strip.solo_toggled.connect(lambda k, v: self._edit(k, solo=v))
        strip.effects_requested.connect(self.open_effects)
        strip.style_requested.connect(self.open_style)
        self._strips_row.insertWidget(len(self.strips), strip)
        self.strips[kind] = strip
        return strip

    def _show_parts(self) -> None:
        """A strip and a lane for each recorded part the remix holds, and none for one gone
        (after Use take, Remove part, undo or redo)."""
        parts = tuple(self.track.recipe.parts)
        shown = tuple(k for k in self.strips if k not in self.track.info.stem_kinds)
        if parts == shown:
            return
        for name in shown:
            strip = self.strips.pop(name)
            self._strips_row.removeWidget(strip)
            strip.deleteLater()
        for name in parts:
            strip = self._add_strip(name, self.track.policy.gain_db_range[1])
            strip.setToolTip(f"Your recorded part “{name}”")
        self.timeline.set_kinds((*self.track.info.stem_kinds, *parts))
        self._fit_timeline()
        self._shown_mix = None
        self.show_recipe()

    # --- recording your own part ------------------------------------------------------------------

    def show_record_panel(self, shown: bool) -> None:
        """Show or fold the Record panel (made the first time: it asks PortAudio for inputs)."""
        if shown and self.record_panel is None:
            self.record_panel = RecordPanel(self.track, input_names())
            self.record_panel.message.connect(self.message)
            self.record_panel.parts_changed.connect(self._show_parts)
            layout = self._layout
            layout.insertWidget(layout.indexOf(self.splitter) + 1, self.record_panel)
        if self.record_panel is not None:
            self.record_panel.setVisible(shown)
        self.record_toggle.setChecked(shown)

    def record_take(self) -> None:
        """Start or stop a take (the Record panel opens for it)."""
        self.show_record_panel(True)
        assert self.record_panel is not None
        self.record_panel.toggle()

    # --- edits ---------------------------------------------------------------------------------

    def _edit(self, kind: str, **changes: object) -> None:
        self._held[kind] = time.monotonic() + FOLLOW_HOLD_S
        try:
            self.track.set_stem(kind, **changes)
        except FanfareError as exc:
            self.message.emit(str(exc))
            self._show_recipe(kind)  # put the control back where the engine still is

    def _edit_master(self, **changes: object) -> None:
        self._held["master"] = time.monotonic() + FOLLOW_HOLD_S
        try:
            self.track.set_master(**changes)
        except FanfareError as exc:
            self.message.emit(str(exc))

    def _set_tempo(self, *, ratio: float | None = None, key_shift: int | None = None) -> None:
        try:
            self.track.set_tempo(ratio=ratio, key_shift=key_shift)
        except FanfareError as exc:
            self.message.emit(str(exc))
        # Refused or not, show the recipe's values (the spin box may have rounded).
        self.transport.show_tempo(self.track.recipe.tempo_ratio, self.track.recipe.key_shift)
        self._show_meta()

    def _show_meta(self) -> None:
        """Artist, tempo and key as the remix plays them, time signature, length, stems."""
        info, recipe = self.track.info, self.track.recipe
        bpm = f"{info.bpm * recipe.tempo_ratio:.4g} BPM"
        if recipe.tempo_ratio != 1.0:
            bpm += f" (from {info.bpm:g})"
        key = transposed(info.key, recipe.key_shift)
        if recipe.key_shift:
            key += f" (from {info.key})"
        length = recipe.output_frames(info) / info.sample_rate
        self.meta.setText(
            f"{info.artist}  ·  {bpm}  ·  {key}  ·  {info.time_signature}  ·  "
            f"{clock(length)[:-2]}  ·  {len(info.stems)} stems"
        )

    def _record(self, on: bool) -> None:
        self.track.recording = on
        self.message.emit(
            "Recording moves: changes made while playing are recorded where you make them."
            if on
            else "Not recording moves: changes apply to the whole remix."
        )

    def clear_moves(self) -> None:
        try:
            self.track.clear_automation()
        except FanfareError as exc:
            self.message.emit(str(exc))
            return
        self.show_recipe()
        self.message.emit("Recorded moves cleared.")

    def _show_recipe(self, kind: str) -> None:
        mix = self.track.recipe.stems[kind]
        strip = self.strips[kind]
        strip.set_gain_db(mix.gain_db)
        strip.set_state(mute=mix.mute, solo=mix.solo, pan=mix.pan)
        self._show_style(kind)

    def _show_style(self, kind: str) -> None:
        """The strip's style button: the placed model's name, and what it did to the stem."""
        slot = self.track.recipe.stems[kind].style
        ref, note = self._style_notes.get(kind, ("", ""))
        if slot is None or slot.ref != ref:
            note = ""  # said of another model
        if kind in self.styles:
            self.styles[kind].show_note(note)
        if slot is None:
            self.strips[kind].show_style(None)
            return
        names = {str(m["id"]): str(m["display_name"]) for m in self.style_models or ()}
        self.strips[kind].show_style(short_name(slot.model, names), note)

    def show_recipe(self) -> None:
        """Put every control where the current recipe is (after undo or redo)."""
        self._show_parts()  # a strip for each recorded part, first
        for kind in self.strips:
            self._show_recipe(kind)
        self.master.set_gain_db(self.track.recipe.master.gain_db)
        self.transport.show_tempo(self.track.recipe.tempo_ratio, self.track.recipe.key_shift)
        self._show_meta()
        self._shown_mix = None  # the next tick shows what the automation sets, if any
        self._held.clear()
        self._show_moves()
        for dialog in self.effects.values():
            dialog.show_current()
        for style_dialog in self.styles.values():
            style_dialog.show_current()
        if self.arrangement_dialog is not None:
            self.arrangement_dialog.show_current()

    def audition(self, audition: Audition) -> None:
        """Play one audition from the start: the remix it is, with the controls showing it."""
        try:
            self.track.apply(audition.recipe)
        except FanfareError as exc:
            self.failed.emit(str(exc))
            return
        self.show_recipe()
        self.message.emit(f"Audition: {audition.title}.")
        self._seek(0.0)
        if not self.track.playing:
            self.play_pause()

    def undo(self) -> None:
        if self.track.undo():
            self.show_recipe()
            self.message.emit("Undone.")

    def redo(self) -> None:
        if self.track.redo():
            self.show_recipe()
            self.message.emit("Redone.")

    # --- transport -----------------------------------------------------------------------------

    def play_pause(self) -> None:
        try:
            if self.track.playing:
                self.track.pause()
            else:
                self.track.play()
        except FanfareError as exc:
            self.failed.emit(str(exc))
        self._tick()

    def _stop(self) -> None:
        self.track.stop()
        self._held.clear()
        self._tick()

    def stop(self) -> None:
        """Stop, back to the start (Transport ▸ Stop)."""
        self._stop()

    def toggle_loop(self) -> None:
        """Loop the section under the playhead, or stop looping (Transport ▸ Loop)."""
        self.transport.loop_button.click()

    def toggle_record(self) -> None:
        """Record moves, or stop recording them (Transport ▸ Record moves)."""
        self.transport.record_button.click()

    def go_to(self, seconds: float) -> None:
        """Move the playhead to ``seconds`` of the arranged remix (kept inside it)."""
        self._seek(max(0.0, min(seconds, self.track.duration_s - 0.01)))

    def nudge(self, seconds: float) -> None:
        """Move the playhead by ``seconds`` (negative: back)."""
        self.go_to(self.track.position_s + seconds)

    def _seek(self, seconds: float) -> None:
        if self.track.recorder.recording and self.record_panel is not None:
            self.record_panel.stop()  # a take is one pass: seeking ends it, as in a DAW
        try:
            self.track.seek(seconds)
        except FanfareError as exc:
            self.failed.emit(str(exc))
        self._held.clear()
        self._tick()

    def _set_buffer(self, name: str) -> None:
        buffering = buffering_named(name)
        try:
            self.track.set_buffering(buffering)
        except FanfareError as exc:  # the device refused it, or it could not be saved
            self.failed.emit(str(exc))
        else:
            self.message.emit(
                f"Audio buffer: {buffering.label}; controls are heard after about "
                f"{self.track.latency_s * 1000:.0f} ms."
            )
        self.transport.show_buffer(self.track.buffering.name)
        self._tick()

    def _hint_safer_buffer(self, dropouts: int) -> None:
        """Dropouts keep coming: say once which setting plays through them (as a DAW's
        overload warning points at its buffer size)."""
        self._dropout_hinted = True
        safer = [b for b in BUFFERINGS if b.ring_frames > self.track.buffering.ring_frames]
        if safer:
            self.message.emit(
                f"The sound dropped out {dropouts} times: this computer was "
                "busy or paused for longer than the audio buffer holds. Pick "
                f"{safer[-1].label} under Buffer, right of the seek bar, to play through it."
            )

    # --- MIDI controllers --------------------------------------------------------------------

    def _offer_midi_learn(self) -> None:
        """Right-click ▸ Learn MIDI on every fader, knob and button a mapping can move."""
        kinds = self.track.info.stem_kinds
        for number, kind in enumerate(kinds[:STRIPS], start=1):
            strip = self.strips[kind]
            for what, widget in (
                ("fader", strip.fader), ("pan", strip.pan), ("mute", strip.mute),
                ("solo", strip.solo),
            ):  # fmt: skip
                control = f"strip{number}.{what}"
                offer_learn(
                    widget, control, lambda: self.midi, control_label(control, kinds),
                    self.message.emit,
                )  # fmt: skip
        offer_learn(
            self.master.fader, "master.fader", lambda: self.midi, "Master fader", self.message.emit
        )
        bar = self.transport
        buttons: tuple[tuple[str, QWidget], ...] = (
            ("transport.play", bar.play_button), ("transport.stop", bar.stop_button),
            ("transport.loop", bar.loop_button), ("transport.record", bar.record_button),
        )  # fmt: skip
        for control, button in buttons:
            offer_learn(
                button, control, lambda: self.midi, control_label(control), self.message.emit
            )

    def midi_control(self, control: str, value: float) -> None:
        """A mapped control moved on a MIDI controller: ``value`` 0..1 for a fader or knob, a
        press for a button. Faders and knobs pick up softly (``SoftTakeover``)."""
        area, _, what = control.partition(".")
        if area == "master":
            strip = self.master
        else:
            kinds = self.track.info.stem_kinds
            number = int(area.removeprefix("strip"))
            if number > len(kinds):
                return  # this track has fewer stems than the controller has strips
            strip = self.strips[kinds[number - 1]]
        if what in ("mute", "solo"):
            button = strip.mute if what == "mute" else strip.solo
            if button.isEnabled():
                button.click()
            else:
                self.message.emit(button.toolTip())
            return
        widget = strip.fader if what == "fader" else strip.pan
        low, high = widget.minimum(), widget.maximum()
        takeover = self.midi.takeover if self.midi is not None else None
        current = (widget.value() - low) / (high - low)
        if takeover is not None and not takeover.accept(control, value, current):
            return
        widget.setValue(round(low + value * (high - low)))
        if takeover is not None:
            takeover.moved(control, (widget.value() - low) / (high - low))

    def show_lanes(self, shown: bool | None) -> None:
        """The timeline with a lane per stem, or only its sections and the mix (View ▸ Stem
        lanes); None: the lanes show where the window has the room for them beside the whole
        mixer, and hide in a lower one, which the mixer needs more."""
        self._lanes_choice = shown
        self._fit_timeline()

    def _fit_timeline(self) -> None:
        room = self.splitter.height() - self.splitter.handleWidth()
        mixer = self.strips_row.minimumHeight() + 2 * self.mixer_scroll.frameWidth()
        canvas = self.timeline.canvas
        shown = self._lanes_choice
        if shown is None:
            shown = room - mixer >= self.timeline.height_with(lanes=True, lane_h=LANE_MIN_H)
        canvas.show_lanes(shown)
        wanted = self.timeline.sizeHint().height()
        timeline = max(self.timeline.minimumSizeHint().height(), min(wanted, room - mixer))
        self.splitter.setSizes([timeline, max(0, room - timeline)])

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_timeline()

    def _loop_region(self, region: tuple[float, float] | None) -> None:
        """A loop dragged on the timeline (None: a double-click ended it)."""
        try:
            self.track.set_loop(region)
        except (FanfareError, ValueError) as exc:
            self.message.emit(str(exc))
            return
        if region is not None:
            self.message.emit(f"Looping {clock(region[0])} – {clock(region[1])}.")
        self._tick()

    def _loop(self, on: bool) -> None:
        try:
            region = self.track.loop_here(on)
        except (FanfareError, ValueError) as exc:
            self.message.emit(str(exc))
            return
        if region is not None:
            self.message.emit(f"Looping {clock(region[0])} – {clock(region[1])}.")

    def _tick(self) -> None:
        notices = self.track.take_notices()
        if notices:
            self._tell(notices)
        status: PlaybackStatus = self.track.status()
        if self.record_panel is not None and (
            self.record_panel.isVisible() or self.track.recorder.recording
        ):
            self.record_panel.tick()
        self._show_parts()
        for kind, peak in status.peaks.items():
            if kind in self.strips:
                self.strips[kind].meter.set_peak(peak)
        self.master.meter.set_peak(status.master_peak)
        if self.transport.duration_s != status.duration_s:  # the arrangement changed
            self.transport.set_duration(status.duration_s)
        self.transport.show_position(
            status.position_s, status.playing, status.dropouts, status.realtime
        )
        if status.dropouts >= DROPOUT_HINT_AFTER and not self._dropout_hinted:
            self._hint_safer_buffer(status.dropouts)
        self._show_sections()
        canvas = self.timeline.canvas
        canvas.set_duration(status.duration_s)
        canvas.set_position(status.position_s, follow=status.playing)
        loop = self.track.loop
        canvas.set_loop(loop)
        self.transport.show_loop(loop is not None)
        canvas.refresh((self.track.recipe, self.track.overview.fraction))
        self._show_moves(status.moves)
        if status.mix is not None:
            self._follow_automation(status.mix)

    def _show_sections(self) -> None:
        """The sections bar as the remix plays: arranged, at its tempo (seconds of output,
        which the playhead and a click on the bar use)."""
        recipe = self.track.recipe
        shown = (recipe.arrangement, recipe.tempo_ratio)
        if shown == self._sections_shown:
            return
        self._sections_shown = shown
        ratio = recipe.tempo_ratio
        played = tuple(
            Section(s.name, s.start_s / ratio, s.end_s / ratio)
            for s in recipe.arrangement.timeline(self.track.info)
        )
        self.timeline.canvas.set_sections(played)

    def _tell(self, notices: list[Notice]) -> None:
        """Show the studio's notices: what a style model did to a stem (e.g. moved its melody
        an octave) goes on the strip, its panel and the status bar; anything else (the licence
        stopped playback...) in an error dialog."""
        for notice in notices:
            if not isinstance(notice, StyleAdjusted) or notice.stem not in self.strips:
                self.failed.emit(notice.text)
                continue
            kind = notice.stem
            slot = self.track.recipe.stems[kind].style
            if slot is not None:
                self._style_notes[kind] = (slot.ref, notice.text)
                self._show_style(kind)
            self.message.emit(notice.text)  # news, not an error: the status bar, no dialog

    def _show_moves(self, count: int | None = None) -> None:
        if count is None:
            count = len(self.track.recipe.automation)
        if count != self._moves_shown:
            self._moves_shown = count
            self.transport.show_moves(count)

    def _follow_automation(self, now_mix: StripMix) -> None:
        """Show the strips as the automation sets them at the playhead (without emitting)."""
        stems, master = now_mix
        shown = self._shown_mix
        if shown is not None and shown[0] is stems and shown[1] is master:
            return  # the same state as at the last tick: nothing to redraw
        now = time.monotonic()
        held = False
        for kind, strip in self.strips.items():
            if (
                self._held.get(kind, 0.0) > now
                or strip.fader.isSliderDown()
                or strip.pan.isSliderDown()
            ):
                held = True
                continue
            mix = stems[kind]
            strip.set_gain_db(mix.gain_db)
            strip.set_state(mute=mix.mute, solo=mix.solo, pan=mix.pan)
        if self._held.get("master", 0.0) > now or self.master.fader.isSliderDown():
            held = True
        else:
            self.master.set_gain_db(master.gain_db)
        # A held strip still has to catch up later, so look again on the next tick.
        self._shown_mix = None if held else (stems, master)

    def open_effects(self, kind: str) -> None:
        """The effects of one strip (or the master), live, non-modal."""
        dialog = self.effects.get(kind)
        if dialog is None:
            dialog = self.effects[kind] = EffectsDialog(self.track, kind, self)
        dialog.show_current()
        dialog.show()
        dialog.raise_()

    def open_style(self, kind: str) -> None:
        """The style model of one stem, non-modal; the platform's models are fetched once."""
        dialog = self.styles.get(kind)
        if dialog is None:
            dialog = self.styles[kind] = StyleDialog(self.track, kind, self.style_models, self)
            dialog.models_loaded.connect(self._style_models_loaded)
            dialog.changed.connect(self._show_style)
            dialog.message.connect(self.message)
            dialog.undo_requested.connect(self.undo)
            dialog.redo_requested.connect(self.redo)
        dialog.show_current()
        self._show_style(kind)
        dialog.ensure_models()
        dialog.show()
        dialog.raise_()

    def _style_models_loaded(self, models: list[ModelStems]) -> None:
        self.style_models = models
        for dialog in self.styles.values():
            if dialog.models is None:
                dialog.set_models(models)
        for kind in self.strips:
            self._show_style(kind)

    def open_arrangement(self) -> None:
        if self.arrangement_dialog is None:
            self.arrangement_dialog = ArrangementDialog(self.track, self)
        self.arrangement_dialog.show_current()
        self.arrangement_dialog.show()

    def open_publish(self) -> None:
        self.publish_dialog = PublishDialog(self.track, self)
        self.publish_dialog.open()

    def close_track(self) -> None:
        self.timer.stop()
        for dialog in self.styles.values():
            dialog.shut()
        self.track.close()
