# SPDX-License-Identifier: GPL-3.0-or-later
"""Builders and functions that tests of more than one module share (fixtures stay in the
conftest.py files, which may call these): test modules import from here, never from one another
or from a conftest.

- ``audio``: cached test signals and their level.
- ``playback``: playing a mixer block by block, and through a real device.
- ``waiting``: polling for a condition with a deadline.
- ``platform``: a client of the platform's HTTP API, as the studio uses it.
- ``plaintext``: what must never reach the disk, as windows to search files for.
"""
