"""Mirrors keep what they verified: the SHA-256 of every mirrored row and index segment as
pulled, so ``registry verify`` checks mirrored rows against their source's snapshot.

Revision ID: 0005_snapshot_digests
Revises: 0004_catalogue
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_snapshot_digests"
down_revision = "0004_catalogue"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("snapshot_entries") as batch:
        batch.add_column(sa.Column("row_sha256", sa.String(64), nullable=True))
    with op.batch_alter_table("snapshot_segments") as batch:
        batch.add_column(sa.Column("sha256", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("snapshot_segments") as batch:
        batch.drop_column("sha256")
    with op.batch_alter_table("snapshot_entries") as batch:
        batch.drop_column("row_sha256")
