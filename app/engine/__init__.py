# SPDX-License-Identifier: GPL-3.0-or-later
"""The remix engine: the mixer (one processing path), offline render, and real-time output.

``app.engine.output`` is the only module that touches an audio device; the platform imports
``mixer`` and ``offline`` only, so it runs without PortAudio.
"""
