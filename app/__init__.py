# SPDX-License-Identifier: GPL-3.0-or-later
"""Fanfare: an on-device fan remix studio for licensed stems, and its reference platform.

Package map (the dependency rule is in docs/architecture.md and checked by import-linter):
``core`` formats, crypto, policy and recipe shared by both programs; ``engine`` the mixer and audio
output; ``vault`` device keys, licences and in-memory decryption; ``platform_client`` HTTP to the
platform; ``studio`` the Qt-free session; ``ui`` the PySide6 window; ``server`` the platform.
"""

APP_ID = "org.fanfare.Studio"
APP_NAME = "Fanfare"
__version__ = "0.1.0"
