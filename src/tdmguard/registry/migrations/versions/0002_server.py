"""API keys of the registry server (only the SHA-256 of each secret is kept).

Revision ID: 0002_server
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_server"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("scope", sa.String(10), nullable=False),
        sa.Column("holder_id", sa.Integer(), sa.ForeignKey("holders.id"), nullable=True),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_api_keys_holder_id", "api_keys", ["holder_id"])


def downgrade() -> None:
    op.drop_index("ix_api_keys_holder_id", table_name="api_keys")
    op.drop_table("api_keys")
