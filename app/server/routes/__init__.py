# SPDX-License-Identifier: GPL-3.0-or-later
"""One router per resource, mounted under ``/api/v1``."""
