# SPDX-License-Identifier: GPL-3.0-or-later
"""HTTP client of the Fanfare platform (httpx, synchronous; the window calls it off its thread)."""
