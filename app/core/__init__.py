# SPDX-License-Identifier: GPL-3.0-or-later
"""Formats, crypto, policy and the recipe: shared by the studio and the platform.

Rules: nothing here imports another Fanfare package, Qt, a web framework, a database or an audio
device. Audio buffers are float32 arrays of shape (frames, channels); sample rates are
always passed.
"""
