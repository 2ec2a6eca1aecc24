# SPDX-License-Identifier: GPL-3.0-or-later
"""The platform schema's Alembic migrations (``app.server.schema`` runs them)."""
