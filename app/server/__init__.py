# SPDX-License-Identifier: GPL-3.0-or-later
"""The Fanfare platform: accounts, devices, catalogue, licences, keys and derivative ingest.

It imports ``app.core`` and the engine's offline render (to re-render uploads), never the desktop
packages or an audio device.
"""
