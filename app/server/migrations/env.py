# SPDX-License-Identifier: GPL-3.0-or-later
"""Alembic's entry point: migrate the connection ``app.server.schema`` hands over."""

from __future__ import annotations

from alembic import context

from app.server.db import Base, ours

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite alters a table by copying it: batch mode does that for every ALTER.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_name=ours,
)
with context.begin_transaction():
    context.run_migrations()
