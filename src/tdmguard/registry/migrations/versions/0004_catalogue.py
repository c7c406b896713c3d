"""Catalogue maintenance: works keep extra metadata, an update time and a removal date;
replaced fingerprints are kept with the time they were superseded.

Revision ID: 0004_catalogue
Revises: 0003_sources
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_catalogue"
down_revision = "0003_sources"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("works") as batch:
        batch.add_column(sa.Column("extra", sa.Text(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("removed_on", sa.Date(), nullable=True))
    with op.batch_alter_table("fingerprints") as batch:
        batch.add_column(sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fingerprints") as batch:
        batch.drop_column("superseded_at")
    with op.batch_alter_table("works") as batch:
        batch.drop_column("removed_on")
        batch.drop_column("updated_at")
        batch.drop_column("extra")
