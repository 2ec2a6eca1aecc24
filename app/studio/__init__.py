# SPDX-License-Identifier: GPL-3.0-or-later
"""The studio session (Qt-free): sign in, open a licensed track, remix, play, render, publish.

It composes the vault, the engine and the platform client; the window and the command line are
its two faces.
"""
