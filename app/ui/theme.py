# SPDX-License-Identifier: GPL-3.0-or-later
"""The studio's look: a dark theme with one warm accent, applied once to the application."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = "#ff7a45"
ACCENT_SOFT = "#ffb27a"
BACKGROUND = "#15161a"
SURFACE = "#1e2026"
SURFACE_HIGH = "#272a32"
TEXT = "#eceef2"
TEXT_DIM = "#9aa0ad"
SECTION_COLOURS = ["#4c6ef5", "#12b886", "#fab005", "#e64980", "#7950f2", "#15aabf", "#fd7e14"]

STYLE = f"""
QWidget {{ background: {BACKGROUND}; color: {TEXT}; font-size: 10pt; }}
QLabel, QToolButton#flat {{ background: transparent; }}
QFrame#sidebar {{ background: {SURFACE}; border-right: 1px solid #2d3038; }}
QLabel#brand {{ font-size: 17pt; font-weight: 700; color: {ACCENT}; padding: 4px 2px; }}
QLabel#dim, QLabel#status {{ color: {TEXT_DIM}; }}
QLabel#error {{ color: #ff8a7a; }}
QLabel#done {{ color: #7ad69a; }}
QLabel#running {{ color: {ACCENT}; }}
QLabel#banner {{ background: #3a2a12; color: #ffd9a8; border: 1px solid {ACCENT};
    border-radius: 6px; padding: 8px 12px; }}
QLabel#trackTitle {{ font-size: 20pt; font-weight: 700; }}
QLabel#trackMeta {{ color: {TEXT_DIM}; font-size: 10.5pt; }}
QLabel#policy {{ color: {TEXT_DIM}; background: {SURFACE}; border-radius: 6px; padding: 6px 10px; }}
QScrollBar:horizontal {{ background: {SURFACE}; height: 12px; border: none; margin: 0; }}
QScrollBar::handle:horizontal {{ background: #4a4e59; border-radius: 5px; min-width: 24px;
    margin: 2px 0; }}
QScrollBar::handle:horizontal:hover {{ background: #5d6270; }}
QScrollBar::add-line:horizontal, QScrollBar::sub-line:horizontal {{ width: 0; border: none; }}
QScrollBar::add-page:horizontal, QScrollBar::sub-page:horizontal {{ background: none; }}
QListWidget {{ background: {SURFACE}; border: none; outline: none; }}
QListWidget::item {{ padding: 10px 8px; border-radius: 6px; margin: 2px 4px; }}
QListWidget::item:selected {{ background: {SURFACE_HIGH}; color: {TEXT};
    border-left: 3px solid {ACCENT}; }}
QListWidget::item:hover {{ background: #24262d; }}
QListWidget::indicator {{ width: 14px; height: 14px; border: 1px solid #6c717d;
    border-radius: 3px; background: #0f1013; }}
QListWidget::indicator:checked {{ background: {ACCENT}; border-color: {ACCENT}; }}
QCheckBox::indicator, QRadioButton::indicator {{ width: 13px; height: 13px;
    border: 1px solid #6c717d; background: {SURFACE}; }}
QCheckBox::indicator {{ border-radius: 3px; }}
QRadioButton::indicator {{ border-radius: 7px; }}
QCheckBox::indicator:checked, QRadioButton::indicator:checked {{ background: {ACCENT};
    border-color: {ACCENT}; }}
QCheckBox::indicator:disabled, QRadioButton::indicator:disabled {{ border-color: #3a3d45; }}
QFrame#strip {{ background: {SURFACE}; border-radius: 8px; }}
QFrame#masterStrip {{ background: {SURFACE_HIGH}; border-radius: 8px; border: 1px solid #383c46; }}
QLabel#stripName {{ font-weight: 600; font-size: 10.5pt; }}
QLabel#gainLabel {{ color: {TEXT_DIM}; font-family: monospace; font-size: 9pt; }}
QSlider::groove:vertical {{ background: #0f1013; width: 6px; border-radius: 3px; }}
QSlider::handle:vertical {{ background: {TEXT}; height: 22px; width: 26px; margin: 0 -10px;
    border-radius: 4px; }}
QSlider::add-page:vertical {{ background: {ACCENT}; width: 6px; border-radius: 3px; }}
QSlider::groove:horizontal {{ background: #0f1013; height: 6px; border-radius: 3px; }}
QSlider::sub-page:horizontal {{ background: {ACCENT}; height: 6px; border-radius: 3px; }}
QSlider::handle:horizontal {{ background: {TEXT}; width: 14px; height: 14px; margin: -4px 0;
    border-radius: 7px; }}
QToolButton {{ background: {SURFACE_HIGH}; border: 1px solid #383c46; border-radius: 5px;
    padding: 3px 8px; font-weight: 700; }}
QToolButton:checked#mute {{ background: #e8590c; color: #111; border-color: #e8590c; }}
QToolButton:checked#solo {{ background: #fab005; color: #111; border-color: #fab005; }}
QToolButton#fx {{ font-size: 8pt; padding: 1px 10px; color: {ACCENT_SOFT}; }}
QGroupBox {{ border: 1px solid #2d3038; border-radius: 6px; margin-top: 14px; padding: 8px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 8px; color: {TEXT_DIM}; }}
QToolButton:disabled {{ color: #555a66; background: #1b1d22; border-color: #25272e; }}
QPushButton {{ background: {SURFACE_HIGH}; border: 1px solid #383c46; border-radius: 6px;
    padding: 7px 14px; }}
QPushButton:hover {{ border-color: {ACCENT}; }}
QPushButton:disabled {{ color: #5c616c; background: #1b1d22; border-color: #25272e; }}
QTabBar::tab {{ background: {SURFACE}; color: {TEXT_DIM}; padding: 7px 18px; border: none; }}
QTabBar::tab:selected {{ color: {TEXT}; border-bottom: 2px solid {ACCENT}; }}
QPushButton#primary {{ background: {ACCENT}; color: #16120f; border: none; font-weight: 700; }}
QPushButton#primary:disabled {{ background: #5b3a2a; color: #9a8a80; }}
QPushButton#transport {{ font-size: 13pt; min-width: 30px; padding: 6px 8px; }}
QPushButton#transport:checked {{ background: {ACCENT}; color: #16120f; }}
QPushButton#record {{ padding: 5px 12px; }}
QPushButton#record:checked {{ background: #e03131; color: #fff; border-color: #ff6b6b; }}
QPushButton#recordPart:checked {{ border-color: #ff6b6b; color: #ff8787; }}
QToolButton#moves {{ background: transparent; color: {TEXT_DIM}; font-weight: 400; }}
QToolButton#moves:disabled {{ color: #555a66; background: transparent; }}
QAbstractSpinBox {{ background: #0f1013; border: 1px solid #383c46; border-radius: 5px;
    padding: 3px 6px; }}
QAbstractSpinBox:disabled, QAbstractSpinBox QLineEdit:disabled {{ color: #555a66;
    border-color: #25272e; }}
QAbstractSpinBox::up-button, QAbstractSpinBox::down-button {{ width: 0; border: none; }}
QLabel#clock {{ font-family: monospace; font-size: 14pt; color: {TEXT}; }}
QProgressBar {{ background: #0f1013; border: none; border-radius: 4px; height: 8px;
    text-align: center; color: transparent; }}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 4px; }}
QProgressBar#inputLevel {{ color: {TEXT_DIM}; min-height: 18px; }}
QProgressBar#inputLevel::chunk {{ background: #2f9e44; }}
QLineEdit {{ background: #0f1013; border: 1px solid #383c46; border-radius: 5px; padding: 6px; }}
QDial {{ background: transparent; }}
QStatusBar {{ background: {SURFACE}; color: {TEXT_DIM}; }}
"""


def apply_theme(app: QApplication) -> None:
    """Fusion style, a dark palette (for native dialogs) and the style sheet."""
    app.setStyle("Fusion")
    palette = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, BACKGROUND),
        (QPalette.ColorRole.WindowText, TEXT),
        (QPalette.ColorRole.Base, SURFACE),
        (QPalette.ColorRole.AlternateBase, SURFACE_HIGH),
        (QPalette.ColorRole.Text, TEXT),
        (QPalette.ColorRole.Button, SURFACE_HIGH),
        (QPalette.ColorRole.ButtonText, TEXT),
        (QPalette.ColorRole.Highlight, ACCENT),
        (QPalette.ColorRole.HighlightedText, "#111111"),
    ):
        palette.setColor(role, QColor(colour))
    app.setPalette(palette)
    font = QFont(app.font())
    font.setFamilies(["Inter", "Cantarell", "DejaVu Sans", "Sans Serif"])
    app.setFont(font)
    app.setStyleSheet(STYLE)
