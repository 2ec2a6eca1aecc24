# SPDX-License-Identifier: GPL-3.0-or-later
"""The studio window (PySide6): the only package that imports Qt. It talks to ``app.studio``."""
