"""Initial registry schema: holders, works, reservations, licences, revocations,
fingerprints and the hash-chained audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _ts() -> sa.Column[object]:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "holders",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(300), nullable=False, unique=True),
        sa.Column("contact", sa.String(500), nullable=True),
        _ts(),
    )
    op.create_table(
        "works",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("public_id", sa.String(200), nullable=False, unique=True),
        sa.Column("holder_id", sa.Integer(), sa.ForeignKey("holders.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("artists", sa.Text(), nullable=False),
        sa.Column("isrc", sa.String(12), nullable=True),
        sa.Column("iswc", sa.String(15), nullable=True),
        sa.Column("upc", sa.String(14), nullable=True),
        sa.Column("iscc", sa.String(100), nullable=True),
        _ts(),
    )
    op.create_index("ix_works_holder_id", "works", ["holder_id"])
    op.create_index("ix_works_isrc", "works", ["isrc"])
    op.create_index("ix_works_iswc", "works", ["iswc"])
    op.create_table(
        "reservations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("holder_id", sa.Integer(), sa.ForeignKey("holders.id"), nullable=False),
        sa.Column("work_ids", sa.Text(), nullable=False),
        sa.Column("uses", sa.Text(), nullable=False),
        sa.Column("purposes", sa.Text(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_until", sa.Date(), nullable=True),
        sa.Column("exempt", sa.Boolean(), nullable=False),
        sa.Column("declared_at", sa.String(2000), nullable=True),
        _ts(),
    )
    op.create_index("ix_reservations_holder_id", "reservations", ["holder_id"])
    op.create_table(
        "licences",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("holder_id", sa.Integer(), sa.ForeignKey("holders.id"), nullable=False),
        sa.Column("licensee", sa.String(300), nullable=False),
        sa.Column("work_ids", sa.Text(), nullable=False),
        sa.Column("uses", sa.Text(), nullable=False),
        sa.Column("purposes", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        _ts(),
    )
    op.create_index("ix_licences_holder_id", "licences", ["holder_id"])
    op.create_index("ix_licences_licensee", "licences", ["licensee"])
    op.create_table(
        "revocations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("entry_type", sa.String(20), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("revoked_on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(2000), nullable=True),
        _ts(),
    )
    op.create_index("ix_revocations_entry_id", "revocations", ["entry_id"])
    op.create_table(
        "fingerprints",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("work_id", sa.Integer(), sa.ForeignKey("works.id"), nullable=False),
        sa.Column("modality", sa.String(20), nullable=False),
        sa.Column("engine", sa.String(100), nullable=False),
        sa.Column("n_hashes", sa.Integer(), nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        _ts(),
    )
    op.create_index("ix_fingerprints_work_id", "fingerprints", ["work_id"])
    op.create_index("ix_fingerprints_modality", "fingerprints", ["modality"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("seq", name="uq_audit_seq"),
    )


def downgrade() -> None:
    for table in (
        "audit_log",
        "fingerprints",
        "revocations",
        "licences",
        "reservations",
        "works",
        "holders",
    ):
        op.drop_table(table)
