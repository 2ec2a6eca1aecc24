# SPDX-License-Identifier: GPL-3.0-or-later
"""An upload is one job however often it is sent, and a recipe one remix however many workers
verify it: the database refuses the second of two racing processes.

- ``publish_jobs``: unique (user, publish id), so that an upload sent again under the same id
  (its answer lost to a restart) is the job already kept.
- ``derivatives.recipe_sha256`` (``Recipe.digest()``, filled in for the rows there are), unique
  with the account and the track version. A row that repeated an earlier one's recipe (which
  the gate now refuses, but two workers could both let through) keeps None.

Revision ID: 0004_one_of_each
Revises: 0003_audit_field
Create Date: 2026-12-06 00:40:00
"""

from __future__ import annotations

import json
from hashlib import sha256
from typing import Any

import rfc8785
import sqlalchemy as sa
from alembic import op

revision = "0004_one_of_each"
down_revision = "0003_audit_field"
branch_labels = None
depends_on = None


def _digest(recipe: Any) -> str:
    """``Recipe.digest()`` of a stored recipe: SHA-256 of its RFC 8785 canonical JSON, written
    out here so that this migration means the same after the code moves."""
    if isinstance(recipe, str):
        recipe = json.loads(recipe)
    return sha256(rfc8785.dumps(recipe)).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table("derivatives") as table:
        table.add_column(sa.Column("recipe_sha256", sa.String(length=64), nullable=True))
    rows = op.get_bind().execute(
        sa.text(
            "SELECT id, user_id, track_id, track_version, recipe FROM derivatives "
            "ORDER BY created_at, id"
        )
    )
    seen = set()
    for row_id, user, track, version, recipe in rows.fetchall():
        key = (user, track, version, _digest(recipe))
        if key in seen:
            continue  # a repeat from before: it stays, unmarked
        seen.add(key)
        op.get_bind().execute(
            sa.text("UPDATE derivatives SET recipe_sha256 = :digest WHERE id = :id"),
            {"digest": key[3], "id": row_id},
        )
    with op.batch_alter_table("derivatives") as table:
        table.create_unique_constraint(
            "one_remix_a_recipe", ["user_id", "track_id", "track_version", "recipe_sha256"]
        )
    with op.batch_alter_table("publish_jobs") as table:
        table.create_unique_constraint("one_job_a_publish_id", ["user_id", "publish_id"])


def downgrade() -> None:
    with op.batch_alter_table("publish_jobs") as table:
        table.drop_constraint("one_job_a_publish_id", type_="unique")
    with op.batch_alter_table("derivatives") as table:
        table.drop_constraint("one_remix_a_recipe", type_="unique")
        table.drop_column("recipe_sha256")
