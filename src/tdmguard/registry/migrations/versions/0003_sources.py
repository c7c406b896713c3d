"""Signed snapshots: the registry's stable id, and the sources a mirror holds (pinned key,
sequence, head) with the rows and index segments that came from each.

Revision ID: 0003_sources
Revises: 0002_server
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_sources"
down_revision = "0002_server"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registry_meta",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.String(2000), nullable=False),
    )
    op.create_table(
        "snapshot_sources",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("registry_id", sa.String(100), nullable=False),
        sa.Column("scope", sa.String(300), nullable=False),
        sa.Column("public_key", sa.String(200), nullable=False),
        sa.Column("namespace", sa.String(100), nullable=True),
        sa.Column("snapshot_id", sa.String(100), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("head", sa.String(64), nullable=False),
        sa.Column("snapshot_created_at", sa.String(40), nullable=False),
        sa.Column("location", sa.String(2000), nullable=False),
        sa.Column("pulled_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("registry_id", "scope", name="uq_snapshot_source"),
    )
    op.create_table(
        "snapshot_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "source_id", sa.Integer(), sa.ForeignKey("snapshot_sources.id"), nullable=False
        ),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("source_key", sa.String(200), nullable=False),
        sa.Column("local_id", sa.Integer(), nullable=False),
        sa.UniqueConstraint("source_id", "kind", "source_key", name="uq_snapshot_entry"),
    )
    op.create_index("ix_snapshot_entries_source_id", "snapshot_entries", ["source_id"])
    op.create_table(
        "snapshot_segments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "source_id", sa.Integer(), sa.ForeignKey("snapshot_sources.id"), nullable=False
        ),
        sa.Column("modality", sa.String(20), nullable=False),
        sa.Column("segment", sa.String(100), nullable=False),
    )
    op.create_index("ix_snapshot_segments_source_id", "snapshot_segments", ["source_id"])


def downgrade() -> None:
    for table in ("snapshot_segments", "snapshot_entries", "snapshot_sources", "registry_meta"):
        op.drop_table(table)
