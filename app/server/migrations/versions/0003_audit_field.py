# SPDX-License-Identifier: GPL-3.0-or-later
"""A track's audit line names the remix an artist decided on ("derivative drv_…", 47
characters): its field is 80 long, not 32 (PostgreSQL refused the line; SQLite, which does not
check lengths, had kept it).

Revision ID: 0003_audit_field
Revises: 0002_publish_jobs
Create Date: 2026-12-05 22:06:46.310544
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_audit_field"
down_revision = "0002_publish_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch: SQLite changes a column by copying its table; PostgreSQL alters it in place.
    with op.batch_alter_table("track_audit") as table:
        table.alter_column(
            "field",
            existing_type=sa.VARCHAR(length=32),
            type_=sa.String(length=80),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("track_audit") as table:
        table.alter_column(
            "field",
            existing_type=sa.String(length=80),
            type_=sa.VARCHAR(length=32),
            existing_nullable=False,
        )
