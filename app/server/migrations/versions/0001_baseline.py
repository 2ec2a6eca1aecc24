# SPDX-License-Identifier: GPL-3.0-or-later
"""The schema of release 0.1, the first with migrations: every table as that release made it.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-12-05 20:45:17.700096
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A database made by a release before migrations holds some of these tables already (each
    # release added tables, never columns): make only those it lacks.
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "platform_keys" not in existing:
        op.create_table(
            "platform_keys",
            sa.Column("kid", sa.String(length=40), nullable=False),
            sa.Column("purpose", sa.String(length=16), nullable=False),
            sa.Column("certificate_pem", sa.String(length=4000), nullable=False),
            sa.Column("public_key", sa.String(length=64), nullable=False),
            sa.Column("wrapped_private", sa.LargeBinary(), nullable=False),
            sa.Column("active", sa.Boolean(), nullable=False),
            sa.Column(
                "created_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
            ),
            sa.PrimaryKeyConstraint("kid"),
        )
    if "style_models" not in existing:
        op.create_table(
            "style_models",
            sa.Column("ref", sa.String(length=80), nullable=False),
            sa.Column("model_id", sa.String(length=64), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.Column("family", sa.String(length=32), nullable=False),
            sa.Column("manifest", sa.JSON(), nullable=False),
            sa.Column("signed_manifest", sa.LargeBinary(), nullable=False),
            sa.Column(
                "created_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
            ),
            sa.PrimaryKeyConstraint("ref"),
        )
        op.create_index(
            op.f("ix_style_models_model_id"), "style_models", ["model_id"], unique=False
        )
    if "token_devices" not in existing:
        op.create_table(
            "token_devices",
            sa.Column("token_hash", sa.String(length=64), nullable=False),
            sa.Column("device_id", sa.String(length=40), nullable=False),
            sa.PrimaryKeyConstraint("token_hash"),
        )
        op.create_index(
            op.f("ix_token_devices_device_id"), "token_devices", ["device_id"], unique=False
        )
    if "users" not in existing:
        op.create_table(
            "users",
            sa.Column("id", sa.String(length=40), nullable=False),
            sa.Column("name", sa.String(length=64), nullable=False),
            sa.Column("display_name", sa.String(length=100), nullable=False),
            sa.Column("role", sa.String(length=16), nullable=False),
            sa.Column("tier", sa.String(length=16), nullable=False),
            sa.Column("password_hash", sa.String(length=200), nullable=False),
            sa.Column(
                "created_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
            ),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_users_name"), "users", ["name"], unique=True)
    if "devices" not in existing:
        op.create_table(
            "devices",
            sa.Column("id", sa.String(length=40), nullable=False),
            sa.Column("user_id", sa.String(length=40), nullable=False),
            sa.Column("name", sa.String(length=100), nullable=False),
            sa.Column("signing_public_key", sa.String(length=64), nullable=False),
            sa.Column("kem_public_key", sa.String(length=2000), nullable=False),
            sa.Column("certificate_pem", sa.String(length=4000), nullable=False),
            sa.Column("revoked", sa.Boolean(), nullable=False),
            sa.Column(
                "created_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
            ),
            sa.ForeignKeyConstraint(
                ["user_id"],
                ["users.id"],
            ),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_devices_user_id"), "devices", ["user_id"], unique=False)
    if "drafts" not in existing:
        op.create_table(
            "drafts",
            sa.Column("id", sa.String(length=40), nullable=False),
            sa.Column("user_id", sa.String(length=40), nullable=False),
            sa.Column("track_id", sa.String(length=64), nullable=False),
            sa.Column("track_version", sa.Integer(), nullable=False),
            sa.Column("title", sa.String(length=200), nullable=False),
            sa.Column("document", sa.JSON(), nullable=False),
            sa.Column(
                "updated_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
            ),
            sa.ForeignKeyConstraint(
                ["user_id"],
                ["users.id"],
            ),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_drafts_updated_at"), "drafts", ["updated_at"], unique=False)
        op.create_index(op.f("ix_drafts_user_id"), "drafts", ["user_id"], unique=False)
    if "publish_progress" not in existing:
        op.create_table(
            "publish_progress",
            sa.Column("user_id", sa.String(length=40), nullable=False),
            sa.Column("publish_id", sa.String(length=64), nullable=False),
            sa.Column("step", sa.String(length=16), nullable=False),
            sa.Column("fraction", sa.Float(), nullable=False),
            sa.Column("updated_at", sa.Float(), nullable=False),
            sa.ForeignKeyConstraint(
                ["user_id"],
                ["users.id"],
            ),
            sa.PrimaryKeyConstraint("user_id", "publish_id"),
        )
        op.create_index(
            op.f("ix_publish_progress_updated_at"), "publish_progress", ["updated_at"], unique=False
        )
    if "tokens" not in existing:
        op.create_table(
            "tokens",
            sa.Column("token_hash", sa.String(length=64), nullable=False),
            sa.Column("user_id", sa.String(length=40), nullable=False),
            sa.Column(
                "expires_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
            ),
            sa.Column(
                "created_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
            ),
            sa.ForeignKeyConstraint(
                ["user_id"],
                ["users.id"],
            ),
            sa.PrimaryKeyConstraint("token_hash"),
        )
        op.create_index(op.f("ix_tokens_user_id"), "tokens", ["user_id"], unique=False)
    if "tracks" not in existing:
        op.create_table(
            "tracks",
            sa.Column("id", sa.String(length=64), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.Column("title", sa.String(length=200), nullable=False),
            sa.Column("artist_id", sa.String(length=40), nullable=False),
            sa.Column("bpm", sa.Float(), nullable=False),
            sa.Column("key", sa.String(length=32), nullable=False),
            sa.Column("time_signature", sa.String(length=8), nullable=False),
            sa.Column("sample_rate", sa.Integer(), nullable=False),
            sa.Column("frames", sa.Integer(), nullable=False),
            sa.Column("sections", sa.JSON(), nullable=False),
            sa.Column("policy", sa.JSON(), nullable=False),
            sa.Column("published", sa.Boolean(), nullable=False),
            sa.Column("remix_opt_in", sa.Boolean(), nullable=False),
            sa.Column("required_tier", sa.String(length=16), nullable=False),
            sa.Column(
                "created_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
            ),
            sa.ForeignKeyConstraint(
                ["artist_id"],
                ["users.id"],
            ),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_tracks_artist_id"), "tracks", ["artist_id"], unique=False)
    if "upload_attempts" not in existing:
        op.create_table(
            "upload_attempts",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("user_id", sa.String(length=40), nullable=False),
            sa.Column("at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
            sa.Column("outcome", sa.String(length=40), nullable=False),
            sa.Column("costly", sa.Boolean(), nullable=False),
            sa.ForeignKeyConstraint(
                ["user_id"],
                ["users.id"],
            ),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_upload_attempts_at"), "upload_attempts", ["at"], unique=False)
        op.create_index(
            op.f("ix_upload_attempts_user_id"), "upload_attempts", ["user_id"], unique=False
        )
    if "uploads" not in existing:
        op.create_table(
            "uploads",
            sa.Column("id", sa.String(length=40), nullable=False),
            sa.Column("artist_id", sa.String(length=40), nullable=False),
            sa.Column("meta", sa.JSON(), nullable=False),
            sa.Column("track_id", sa.String(length=64), nullable=True),
            sa.Column(
                "created_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
            ),
            sa.ForeignKeyConstraint(
                ["artist_id"],
                ["users.id"],
            ),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_uploads_artist_id"), "uploads", ["artist_id"], unique=False)
    if "device_security" not in existing:
        op.create_table(
            "device_security",
            sa.Column("device_id", sa.String(length=40), nullable=False),
            sa.Column("level", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(
                ["device_id"],
                ["devices.id"],
            ),
            sa.PrimaryKeyConstraint("device_id"),
        )
    if "fingerprints" not in existing:
        op.create_table(
            "fingerprints",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("subject", sa.String(length=16), nullable=False),
            sa.Column("track_id", sa.String(length=64), nullable=False),
            sa.Column("track_version", sa.Integer(), nullable=False),
            sa.Column("stem", sa.String(length=32), nullable=True),
            sa.Column("derivative_id", sa.String(length=40), nullable=True),
            sa.Column("user_id", sa.String(length=40), nullable=False),
            sa.Column("duration_s", sa.Double(), nullable=False),
            sa.Column("data", sa.LargeBinary(), nullable=False),
            sa.Column(
                "created_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
            ),
            sa.ForeignKeyConstraint(
                ["track_id"],
                ["tracks.id"],
            ),
            sa.ForeignKeyConstraint(
                ["user_id"],
                ["users.id"],
            ),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(
            op.f("ix_fingerprints_derivative_id"), "fingerprints", ["derivative_id"], unique=False
        )
        op.create_index(
            op.f("ix_fingerprints_track_id"), "fingerprints", ["track_id"], unique=False
        )
        op.create_index(op.f("ix_fingerprints_user_id"), "fingerprints", ["user_id"], unique=False)
    if "licences" not in existing:
        op.create_table(
            "licences",
            sa.Column("id", sa.String(length=40), nullable=False),
            sa.Column("user_id", sa.String(length=40), nullable=False),
            sa.Column("device_id", sa.String(length=40), nullable=False),
            sa.Column("track_id", sa.String(length=64), nullable=False),
            sa.Column("track_version", sa.Integer(), nullable=False),
            sa.Column(
                "issued_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
            ),
            sa.Column(
                "expires_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
            ),
            sa.Column("revoked", sa.Boolean(), nullable=False),
            sa.Column(
                "revoked_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
            ),
            sa.ForeignKeyConstraint(
                ["device_id"],
                ["devices.id"],
            ),
            sa.ForeignKeyConstraint(
                ["track_id"],
                ["tracks.id"],
            ),
            sa.ForeignKeyConstraint(
                ["user_id"],
                ["users.id"],
            ),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_licences_user_id"), "licences", ["user_id"], unique=False)
    if "policy_versions" not in existing:
        op.create_table(
            "policy_versions",
            sa.Column("track_id", sa.String(length=64), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.Column("policy", sa.JSON(), nullable=False),
            sa.Column(
                "created_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
            ),
            sa.Column("actor_id", sa.String(length=40), nullable=True),
            sa.ForeignKeyConstraint(
                ["actor_id"],
                ["users.id"],
            ),
            sa.ForeignKeyConstraint(
                ["track_id"],
                ["tracks.id"],
            ),
            sa.PrimaryKeyConstraint("track_id", "version"),
        )
    if "stems" not in existing:
        op.create_table(
            "stems",
            sa.Column("track_id", sa.String(length=64), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.Column("kind", sa.String(length=32), nullable=False),
            sa.Column("position", sa.Integer(), nullable=False),
            sa.Column("blob_name", sa.String(length=200), nullable=False),
            sa.Column("blob_size", sa.Integer(), nullable=False),
            sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
            sa.ForeignKeyConstraint(
                ["track_id"],
                ["tracks.id"],
            ),
            sa.PrimaryKeyConstraint("track_id", "version", "kind"),
        )
    if "track_audit" not in existing:
        op.create_table(
            "track_audit",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("track_id", sa.String(length=64), nullable=False),
            sa.Column("actor_id", sa.String(length=40), nullable=False),
            sa.Column("at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
            sa.Column("field", sa.String(length=32), nullable=False),
            sa.Column("old", sa.JSON(), nullable=False),
            sa.Column("new", sa.JSON(), nullable=False),
            sa.ForeignKeyConstraint(
                ["actor_id"],
                ["users.id"],
            ),
            sa.ForeignKeyConstraint(
                ["track_id"],
                ["tracks.id"],
            ),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_track_audit_track_id"), "track_audit", ["track_id"], unique=False)
    if "track_states" not in existing:
        op.create_table(
            "track_states",
            sa.Column("track_id", sa.String(length=64), nullable=False),
            sa.Column("state", sa.String(length=16), nullable=False),
            sa.ForeignKeyConstraint(
                ["track_id"],
                ["tracks.id"],
            ),
            sa.PrimaryKeyConstraint("track_id"),
        )
    if "derivatives" not in existing:
        op.create_table(
            "derivatives",
            sa.Column("id", sa.String(length=40), nullable=False),
            sa.Column("user_id", sa.String(length=40), nullable=False),
            sa.Column("track_id", sa.String(length=64), nullable=False),
            sa.Column("track_version", sa.Integer(), nullable=False),
            sa.Column("licence_id", sa.String(length=40), nullable=False),
            sa.Column("device_id", sa.String(length=40), nullable=False),
            sa.Column("title", sa.String(length=200), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("recipe", sa.JSON(), nullable=False),
            sa.Column("provenance", sa.JSON(), nullable=False),
            sa.Column("disclosure", sa.JSON(), nullable=False),
            sa.Column("attribution", sa.JSON(), nullable=False),
            sa.Column("audio_blob", sa.String(length=200), nullable=False),
            sa.Column("audio_sha256", sa.String(length=64), nullable=False),
            sa.Column("duration_s", sa.Float(), nullable=False),
            sa.Column(
                "created_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
            ),
            sa.ForeignKeyConstraint(
                ["device_id"],
                ["devices.id"],
            ),
            sa.ForeignKeyConstraint(
                ["licence_id"],
                ["licences.id"],
            ),
            sa.ForeignKeyConstraint(
                ["track_id"],
                ["tracks.id"],
            ),
            sa.ForeignKeyConstraint(
                ["user_id"],
                ["users.id"],
            ),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_derivatives_track_id"), "derivatives", ["track_id"], unique=False)
        op.create_index(op.f("ix_derivatives_user_id"), "derivatives", ["user_id"], unique=False)
    if "licence_terms" not in existing:
        op.create_table(
            "licence_terms",
            sa.Column("licence_id", sa.String(length=40), nullable=False),
            sa.Column("policy_version", sa.Integer(), nullable=False),
            sa.Column("preview_policy", sa.JSON(), nullable=True),
            sa.ForeignKeyConstraint(
                ["licence_id"],
                ["licences.id"],
            ),
            sa.PrimaryKeyConstraint("licence_id"),
        )
    if "derivative_audio" not in existing:
        op.create_table(
            "derivative_audio",
            sa.Column("derivative_id", sa.String(length=40), nullable=False),
            sa.Column("blob_name", sa.String(length=200), nullable=False),
            sa.Column("blob_size", sa.Integer(), nullable=False),
            sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
            sa.Column("downloadable", sa.Boolean(), nullable=False),
            sa.Column("peaks", sa.JSON(), nullable=False),
            sa.ForeignKeyConstraint(
                ["derivative_id"],
                ["derivatives.id"],
            ),
            sa.PrimaryKeyConstraint("derivative_id"),
        )
    if "derivative_decisions" not in existing:
        op.create_table(
            "derivative_decisions",
            sa.Column("derivative_id", sa.String(length=40), nullable=False),
            sa.Column("decision", sa.String(length=16), nullable=False),
            sa.Column("reason", sa.String(length=500), nullable=False),
            sa.Column("by_id", sa.String(length=40), nullable=False),
            sa.Column("at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
            sa.ForeignKeyConstraint(
                ["by_id"],
                ["users.id"],
            ),
            sa.ForeignKeyConstraint(
                ["derivative_id"],
                ["derivatives.id"],
            ),
            sa.PrimaryKeyConstraint("derivative_id"),
        )
    if "derivative_listing" not in existing:
        op.create_table(
            "derivative_listing",
            sa.Column("derivative_id", sa.String(length=40), nullable=False),
            sa.Column("plays", sa.Integer(), nullable=False),
            sa.Column(
                "created_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
            ),
            sa.Column("words", sa.String(length=600), nullable=False),
            sa.ForeignKeyConstraint(
                ["derivative_id"],
                ["derivatives.id"],
            ),
            sa.PrimaryKeyConstraint("derivative_id"),
        )
        op.create_index(
            "listing_most_played",
            "derivative_listing",
            ["plays", "created_at", "derivative_id"],
            unique=False,
        )
        op.create_index(
            "listing_newest",
            "derivative_listing",
            ["created_at", "derivative_id", "words"],
            unique=False,
        )
    if "draft_remixes" not in existing:
        op.create_table(
            "draft_remixes",
            sa.Column("derivative_id", sa.String(length=40), nullable=False),
            sa.Column("project_id", sa.String(length=40), nullable=False),
            sa.Column("user_id", sa.String(length=40), nullable=False),
            sa.ForeignKeyConstraint(
                ["derivative_id"],
                ["derivatives.id"],
            ),
            sa.ForeignKeyConstraint(
                ["user_id"],
                ["users.id"],
            ),
            sa.PrimaryKeyConstraint("derivative_id"),
        )
        op.create_index(
            op.f("ix_draft_remixes_project_id"), "draft_remixes", ["project_id"], unique=False
        )
        op.create_index(
            op.f("ix_draft_remixes_user_id"), "draft_remixes", ["user_id"], unique=False
        )
    if "listen_licences" not in existing:
        op.create_table(
            "listen_licences",
            sa.Column("id", sa.String(length=40), nullable=False),
            sa.Column("user_id", sa.String(length=40), nullable=False),
            sa.Column("device_id", sa.String(length=40), nullable=False),
            sa.Column("derivative_id", sa.String(length=40), nullable=False),
            sa.Column(
                "issued_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
            ),
            sa.Column(
                "expires_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
            ),
            sa.ForeignKeyConstraint(
                ["derivative_id"],
                ["derivatives.id"],
            ),
            sa.ForeignKeyConstraint(
                ["device_id"],
                ["devices.id"],
            ),
            sa.ForeignKeyConstraint(
                ["user_id"],
                ["users.id"],
            ),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(
            op.f("ix_listen_licences_user_id"), "listen_licences", ["user_id"], unique=False
        )
    if "plays" not in existing:
        op.create_table(
            "plays",
            sa.Column("id", sa.String(length=40), nullable=False),
            sa.Column("derivative_id", sa.String(length=40), nullable=False),
            sa.Column("user_id", sa.String(length=40), nullable=False),
            sa.Column("device_id", sa.String(length=40), nullable=False),
            sa.Column("listen_licence_id", sa.String(length=40), nullable=False),
            sa.Column("hour", sa.Integer(), nullable=False),
            sa.Column("day", sa.Integer(), nullable=False),
            sa.Column("listened_s", sa.Float(), nullable=False),
            sa.Column("at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
            sa.ForeignKeyConstraint(
                ["derivative_id"],
                ["derivatives.id"],
            ),
            sa.ForeignKeyConstraint(
                ["device_id"],
                ["devices.id"],
            ),
            sa.ForeignKeyConstraint(
                ["user_id"],
                ["users.id"],
            ),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("listen_licence_id", name="one_play_a_listen_licence"),
            sa.UniqueConstraint("user_id", "derivative_id", "hour", name="one_play_an_hour"),
        )
        op.create_index(op.f("ix_plays_derivative_id"), "plays", ["derivative_id"], unique=False)
        op.create_index("plays_by_device_day", "plays", ["device_id", "day"], unique=False)
    if "reports" not in existing:
        op.create_table(
            "reports",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("derivative_id", sa.String(length=40), nullable=False),
            sa.Column("user_id", sa.String(length=40), nullable=False),
            sa.Column("reason", sa.String(length=500), nullable=False),
            sa.Column("at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
            sa.Column("resolved", sa.Boolean(), nullable=False),
            sa.ForeignKeyConstraint(
                ["derivative_id"],
                ["derivatives.id"],
            ),
            sa.ForeignKeyConstraint(
                ["user_id"],
                ["users.id"],
            ),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("derivative_id", "user_id"),
        )
        op.create_index(
            op.f("ix_reports_derivative_id"), "reports", ["derivative_id"], unique=False
        )
    if "ledger_entries" not in existing:
        op.create_table(
            "ledger_entries",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("play_id", sa.String(length=40), nullable=False),
            sa.Column("derivative_id", sa.String(length=40), nullable=False),
            sa.Column("account", sa.String(length=80), nullable=False),
            sa.Column("party", sa.String(length=40), nullable=False),
            sa.Column("amount_micro", sa.Integer(), nullable=False),
            sa.Column("month", sa.String(length=7), nullable=False),
            sa.Column("at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
            sa.ForeignKeyConstraint(
                ["derivative_id"],
                ["derivatives.id"],
            ),
            sa.ForeignKeyConstraint(
                ["play_id"],
                ["plays.id"],
            ),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(
            op.f("ix_ledger_entries_account"), "ledger_entries", ["account"], unique=False
        )
        op.create_index(
            op.f("ix_ledger_entries_derivative_id"),
            "ledger_entries",
            ["derivative_id"],
            unique=False,
        )
        op.create_index(
            op.f("ix_ledger_entries_play_id"), "ledger_entries", ["play_id"], unique=False
        )


def downgrade() -> None:
    op.drop_index(op.f("ix_ledger_entries_play_id"), table_name="ledger_entries")
    op.drop_index(op.f("ix_ledger_entries_derivative_id"), table_name="ledger_entries")
    op.drop_index(op.f("ix_ledger_entries_account"), table_name="ledger_entries")
    op.drop_table("ledger_entries")
    op.drop_index(op.f("ix_reports_derivative_id"), table_name="reports")
    op.drop_table("reports")
    op.drop_index("plays_by_device_day", table_name="plays")
    op.drop_index(op.f("ix_plays_derivative_id"), table_name="plays")
    op.drop_table("plays")
    op.drop_index(op.f("ix_listen_licences_user_id"), table_name="listen_licences")
    op.drop_table("listen_licences")
    op.drop_index(op.f("ix_draft_remixes_user_id"), table_name="draft_remixes")
    op.drop_index(op.f("ix_draft_remixes_project_id"), table_name="draft_remixes")
    op.drop_table("draft_remixes")
    op.drop_index("listing_newest", table_name="derivative_listing")
    op.drop_index("listing_most_played", table_name="derivative_listing")
    op.drop_table("derivative_listing")
    op.drop_table("derivative_decisions")
    op.drop_table("derivative_audio")
    op.drop_table("licence_terms")
    op.drop_index(op.f("ix_derivatives_user_id"), table_name="derivatives")
    op.drop_index(op.f("ix_derivatives_track_id"), table_name="derivatives")
    op.drop_table("derivatives")
    op.drop_table("track_states")
    op.drop_index(op.f("ix_track_audit_track_id"), table_name="track_audit")
    op.drop_table("track_audit")
    op.drop_table("stems")
    op.drop_table("policy_versions")
    op.drop_index(op.f("ix_licences_user_id"), table_name="licences")
    op.drop_table("licences")
    op.drop_index(op.f("ix_fingerprints_user_id"), table_name="fingerprints")
    op.drop_index(op.f("ix_fingerprints_track_id"), table_name="fingerprints")
    op.drop_index(op.f("ix_fingerprints_derivative_id"), table_name="fingerprints")
    op.drop_table("fingerprints")
    op.drop_table("device_security")
    op.drop_index(op.f("ix_uploads_artist_id"), table_name="uploads")
    op.drop_table("uploads")
    op.drop_index(op.f("ix_upload_attempts_user_id"), table_name="upload_attempts")
    op.drop_index(op.f("ix_upload_attempts_at"), table_name="upload_attempts")
    op.drop_table("upload_attempts")
    op.drop_index(op.f("ix_tracks_artist_id"), table_name="tracks")
    op.drop_table("tracks")
    op.drop_index(op.f("ix_tokens_user_id"), table_name="tokens")
    op.drop_table("tokens")
    op.drop_index(op.f("ix_publish_progress_updated_at"), table_name="publish_progress")
    op.drop_table("publish_progress")
    op.drop_index(op.f("ix_drafts_user_id"), table_name="drafts")
    op.drop_index(op.f("ix_drafts_updated_at"), table_name="drafts")
    op.drop_table("drafts")
    op.drop_index(op.f("ix_devices_user_id"), table_name="devices")
    op.drop_table("devices")
    op.drop_index(op.f("ix_users_name"), table_name="users")
    op.drop_table("users")
    op.drop_index(op.f("ix_token_devices_device_id"), table_name="token_devices")
    op.drop_table("token_devices")
    op.drop_index(op.f("ix_style_models_model_id"), table_name="style_models")
    op.drop_table("style_models")
    op.drop_table("platform_keys")
