# SPDX-License-Identifier: GPL-3.0-or-later
"""The policy editor: every rule of an artist's track in plain controls.

The line fans will read is rebuilt as the controls move; what contradicts itself (a range
upside down, a split that is not 100 %, more stems audible than the track has) is said in a
sentence and cannot be saved. *Preview as fan* opens the track in the studio under the draft,
before it is saved; *Save* makes it the track's next policy version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.effects import EFFECT_NAMES
from app.core.errors import PolicyError
from app.core.policy import Policy, describe_policy
from app.core.recipe import GAIN_DB_MIN, KEY_SHIFT_RANGE, TEMPO_RATIO_RANGE
from app.core.security_level import SecurityLevel
from app.core.style_manifest import FAMILIES

if TYPE_CHECKING:
    from app.studio.artist import OwnTrack

SHARES = ("artist", "fan", "platform")


def _spin(low: float, high: float, value: float, step: float, suffix: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setDecimals(0 if step >= 1 else 2)
    box.setSuffix(suffix)
    box.setValue(value)
    return box


class PolicyEditor(QDialog):
    """Edit ``track``'s policy; ``preview`` and ``save`` carry the draft document out."""

    preview = Signal(str, dict)  # track id, draft policy document
    save = Signal(str, dict)

    def __init__(
        self,
        track: OwnTrack,
        parent: QWidget | None = None,
        models: list[dict[str, Any]] | None = None,
    ) -> None:
        """``models``: the style models the platform offers (id, family, display_name), to
        narrow the families' models to some of them."""
        super().__init__(parent)
        self.track = track
        info = track.info
        self.kinds = list(info.stem_kinds)
        policy = Policy.from_dict(info.policy)
        self.setWindowTitle(f"Policy for “{info.title}”")
        self.resize(760, 700)
        outer = QVBoxLayout(self)
        heading = QLabel(
            f"<b>{info.title}</b> — policy version {track.policy_version}, {track.state_words}"
        )
        outer.addWidget(heading)

        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 8, 0)

        basics = QGroupBox("What fans may do")
        form = QFormLayout(basics)
        self.remix = QCheckBox("Fans may remix this track")
        self.remix.setChecked(policy.remix)
        self.publish = QCheckBox("Fans may publish their remixes")
        self.publish.setChecked(policy.publish)
        form.addRow(self.remix)
        form.addRow(self.publish)
        self.walled = QRadioButton("Walled: remixes stream on Fanfare only")
        self.downloadable = QRadioButton("Open: listeners may download remixes")
        (self.downloadable if policy.downloadable else self.walled).setChecked(True)
        form.addRow(self.walled)
        form.addRow(self.downloadable)
        # Each pair of choices its own group: radio buttons in one box exclude each other.
        walled_or_open = QButtonGroup(self)
        walled_or_open.addButton(self.walled)
        walled_or_open.addButton(self.downloadable)
        self.review_at_once = QRadioButton("Publish verified remixes at once")
        self.review_by_me = QRadioButton("Hold each remix until I approve it")
        at_once_or_held = QButtonGroup(self)
        at_once_or_held.addButton(self.review_at_once)
        at_once_or_held.addButton(self.review_by_me)
        (self.review_by_me if policy.review == "artist" else self.review_at_once).setChecked(True)
        form.addRow(self.review_at_once)
        form.addRow(self.review_by_me)
        self.min_audible = QSpinBox()
        self.min_audible.setRange(1, max(1, len(self.kinds)))
        self.min_audible.setValue(min(policy.min_audible_stems, max(1, len(self.kinds))))
        self.min_audible.setSuffix(" stems")
        form.addRow("A published remix keeps at least", self.min_audible)
        self.covers = QCheckBox("Fans may record their own parts over it (covers)")
        self.covers.setChecked(policy.own_parts.allowed)
        form.addRow(self.covers)
        layout.addWidget(basics)

        stems = QGroupBox("Each stem")
        grid = QGridLayout(stems)
        for column, text in enumerate(
            ("", "may be heard alone", "may be muted", "may be restyled", "a cover may replace it")
        ):
            grid.addWidget(QLabel(text), 0, column)
        self.stem_boxes: dict[str, tuple[QCheckBox, QCheckBox, QCheckBox]] = {}
        #: Which stems a fan's recorded part may stand in for (a cover's lead vocal).
        self.replace_boxes: dict[str, QCheckBox] = {}
        for row, kind in enumerate(self.kinds, start=1):
            rule = policy.rule(kind)
            boxes = (QCheckBox(), QCheckBox(), QCheckBox())
            for box, value in zip(boxes, (rule.solo, rule.mute, rule.restyle), strict=True):
                box.setChecked(value)
            grid.addWidget(QLabel(kind), row, 0)
            for column, box in enumerate(boxes, start=1):
                grid.addWidget(box, row, column, Qt.AlignmentFlag.AlignCenter)
            self.stem_boxes[kind] = boxes
            replace_box = QCheckBox()
            replace_box.setChecked(kind in policy.own_parts.replaces)
            replace_box.setAccessibleName(f"A cover may replace {kind}")
            grid.addWidget(replace_box, row, 4, Qt.AlignmentFlag.AlignCenter)
            self.replace_boxes[kind] = replace_box
        layout.addWidget(stems)

        ranges = QGroupBox("Ranges")
        form = QFormLayout(ranges)
        low_g, high_g = policy.gain_db_range
        self.gain_low = _spin(GAIN_DB_MIN, 12.0, low_g, 1.0, " dB")
        self.gain_high = _spin(GAIN_DB_MIN, 12.0, high_g, 1.0, " dB")
        form.addRow("Faders from … to", self._pair(self.gain_low, self.gain_high))
        low_t, high_t = policy.tempo_ratio_range
        self.tempo_low = _spin(TEMPO_RATIO_RANGE[0] * 100, TEMPO_RATIO_RANGE[1] * 100,
                               low_t * 100, 5.0, " %")  # fmt: skip
        self.tempo_high = _spin(TEMPO_RATIO_RANGE[0] * 100, TEMPO_RATIO_RANGE[1] * 100,
                                high_t * 100, 5.0, " %")  # fmt: skip
        form.addRow("Tempo from … to", self._pair(self.tempo_low, self.tempo_high))
        low_k, high_k = policy.key_shift_range
        self.key_low = QSpinBox()
        self.key_high = QSpinBox()
        for key_box, shift in ((self.key_low, low_k), (self.key_high, high_k)):
            key_box.setRange(*KEY_SHIFT_RANGE)
            key_box.setSuffix(" st")
            key_box.setValue(shift)
        form.addRow("Key from … to", self._pair(self.key_low, self.key_high))
        self.max_length = _spin(10.0, 3600.0, policy.max_length_s, 10.0, " s")
        form.addRow("Longest remix", self.max_length)
        layout.addWidget(ranges)

        tools = QGroupBox("Effects and style models")
        tool_rows = QVBoxLayout(tools)
        effects_row = QHBoxLayout()
        self.effect_boxes: dict[str, QCheckBox] = {}
        for name in EFFECT_NAMES:
            effect_box = QCheckBox(name)
            effect_box.setChecked(name in policy.effects)
            effects_row.addWidget(effect_box)
            self.effect_boxes[name] = effect_box
        tool_rows.addLayout(effects_row)
        families_row = QHBoxLayout()
        self.family_boxes: dict[str, QCheckBox] = {}
        for family in FAMILIES:
            family_box = QCheckBox(f"{family} models")
            family_box.setChecked(family in policy.style_families)
            families_row.addWidget(family_box)
            self.family_boxes[family] = family_box
        families_row.addStretch()
        tool_rows.addLayout(families_row)
        # Each offered model, ticked when allowed: all of a family's ticked is "any of it".
        models_row = QHBoxLayout()
        self.model_boxes: dict[str, tuple[QCheckBox, str]] = {}
        for model in models or []:
            model_id, family = str(model["id"]), str(model.get("family", ""))
            model_box = QCheckBox(str(model.get("display_name") or model_id))
            model_box.setToolTip(f"{model_id} ({family})")
            model_box.setChecked(policy.style_models is None or model_id in policy.style_models)
            models_row.addWidget(model_box)
            self.model_boxes[model_id] = (model_box, family)
        models_row.addStretch()
        tool_rows.addLayout(models_row)
        # Models the platform did not list are kept as the policy names them.
        listed = set(self.model_boxes)
        self._unlisted = [m for m in policy.style_models or () if m not in listed]
        layout.addWidget(tools)

        money = QGroupBox("Revenue split and devices")
        form = QFormLayout(money)
        self.shares: dict[str, QDoubleSpinBox] = {}
        split_row = QHBoxLayout()
        for who in SHARES:
            share = _spin(0.0, 100.0, 100 * policy.revenue_split.get(who, 0.0), 5.0, " %")
            split_row.addWidget(QLabel(who))
            split_row.addWidget(share)
            self.shares[who] = share
        self._other_shares = {
            k: v for k, v in policy.revenue_split.items() if k not in SHARES
        }  # kept: the editor shows the three usual parties
        form.addRow("Each play of a remix pays", self._row(split_row))
        self.min_level = QComboBox()
        self.offline_level = QComboBox()
        for combo, chosen in (
            (self.min_level, policy.min_security_level),
            (self.offline_level, policy.offline_min_security_level),
        ):
            for level in SecurityLevel:
                combo.addItem(f"keys {level.place}", level.label)
            combo.setCurrentIndex(list(SecurityLevel).index(chosen))
        form.addRow("Devices that may open it keep", self.min_level)
        form.addRow("Devices that may keep it offline keep", self.offline_level)
        layout.addWidget(money)

        scroll = QScrollArea()
        scroll.setWidget(body)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        outer.addWidget(scroll, 1)

        self.summary = QLabel()
        self.summary.setObjectName("policy")
        self.summary.setWordWrap(True)
        outer.addWidget(self.summary)
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        outer.addWidget(self.error)
        buttons = QHBoxLayout()
        self.preview_button = QPushButton("Preview as fan")
        self.preview_button.setToolTip("Open the track as a fan would meet it under this draft.")
        self.save_button = QPushButton(f"Save as version {track.policy_version + 1}")
        self.save_button.setObjectName("primary")
        close = QPushButton("Close")
        buttons.addWidget(self.preview_button)
        buttons.addStretch()
        buttons.addWidget(close)
        buttons.addWidget(self.save_button)
        outer.addLayout(buttons)
        self.preview_button.clicked.connect(lambda: self._send(self.preview))
        self.save_button.clicked.connect(lambda: self._send(self.save))
        close.clicked.connect(self.reject)

        for widget in self.findChildren(QWidget):
            for signal in ("toggled", "valueChanged", "currentIndexChanged"):
                if hasattr(widget, signal) and not isinstance(widget, QPushButton):
                    getattr(widget, signal).connect(self.refresh)
        self.refresh()

    @staticmethod
    def _pair(low: QWidget, high: QWidget) -> QWidget:
        row = QHBoxLayout()
        row.addWidget(low)
        row.addWidget(QLabel("to"))
        row.addWidget(high)
        row.addStretch()
        return PolicyEditor._row(row)

    @staticmethod
    def _row(layout: QHBoxLayout) -> QWidget:
        holder = QWidget()
        layout.setContentsMargins(0, 0, 0, 0)
        holder.setLayout(layout)
        return holder

    def draft(self) -> dict[str, Any]:
        """The policy document the controls say now (not yet checked)."""
        effects = [n for n, box in self.effect_boxes.items() if box.isChecked()]
        split = {who: round(box.value() / 100, 4) for who, box in self.shares.items()}
        split = {k: v for k, v in split.items() if v > 0} | self._other_shares
        doc: dict[str, Any] = {
            "version": 1,
            "remix": self.remix.isChecked(),
            "publish": self.publish.isChecked(),
            "gain_db_range": [self.gain_low.value(), self.gain_high.value()],
            "stems": {
                kind: {
                    "solo": solo.isChecked(),
                    "mute": mute.isChecked(),
                    "restyle": restyle.isChecked(),
                }
                for kind, (solo, mute, restyle) in self.stem_boxes.items()
            },
            "min_audible_stems": self.min_audible.value(),
            "tempo_ratio_range": [
                round(self.tempo_low.value() / 100, 4),
                round(self.tempo_high.value() / 100, 4),
            ],
            "key_shift_range": [self.key_low.value(), self.key_high.value()],
            "effects": effects,  # none ticked: fans only mix
            "style_families": [f for f, box in self.family_boxes.items() if box.isChecked()],
            "max_length_s": self.max_length.value(),
            "downloadable": self.downloadable.isChecked(),
            "revenue_split": split,
            "min_security_level": str(self.min_level.currentData()),
            "offline_min_security_level": str(self.offline_level.currentData()),
            "review": "artist" if self.review_by_me.isChecked() else "none",
            "own_parts": {
                "allowed": self.covers.isChecked(),
                "replaces": [k for k, box in self.replace_boxes.items() if box.isChecked()],
            },
        }
        families = set(doc["style_families"])
        offered = {m: box.isChecked() for m, (box, family) in self.model_boxes.items()
                   if family in families}  # fmt: skip
        if self._unlisted or not all(offered.values()):
            doc["style_models"] = [m for m, on in offered.items() if on] + self._unlisted
        return doc

    def problems(self) -> list[str]:
        """What is wrong with the draft, in sentences (none: it may be saved)."""
        doc = self.draft()
        total = sum(box.value() for box in self.shares.values())
        total += 100 * sum(self._other_shares.values())
        if abs(total - 100.0) > 0.01:
            return [f"The revenue split adds up to {total:g} %, not 100 %."]
        try:
            policy = Policy.from_dict(doc)
        except PolicyError as exc:
            return [str(exc)]
        return [f"This policy contradicts itself: {p}." for p in policy.contradictions(self.kinds)]

    def refresh(self) -> None:
        """Rebuild the fans' line and the sentence of what is wrong; allow what is allowed."""
        for replace_box in self.replace_boxes.values():
            replace_box.setEnabled(self.covers.isChecked())
        for model_box, family in self.model_boxes.values():
            model_box.setEnabled(self.family_boxes[family].isChecked()
                                 if family in self.family_boxes else False)  # fmt: skip
        problems = self.problems()
        self.error.setText(" ".join(problems))
        self.error.setVisible(bool(problems))
        self.save_button.setEnabled(not problems)
        self.preview_button.setEnabled(not problems)
        if not problems:
            policy = Policy.from_dict(self.draft())
            self.summary.setText(describe_policy(policy, self.track.info.artist, self.kinds))

    def _send(self, signal: Any) -> None:
        if not self.problems():
            signal.emit(self.track.info.id, self.draft())
