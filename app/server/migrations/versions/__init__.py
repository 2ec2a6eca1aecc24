# SPDX-License-Identifier: GPL-3.0-or-later
"""The revisions, oldest first by their numbers."""
