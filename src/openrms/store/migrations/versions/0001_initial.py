"""initial schema: records, versions, links, masters

Revision ID: 0001
Revises:
Create Date: 2026-11-28 07:27:07.251919
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "master",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="active", nullable=False),
        sa.Column("merged_into", sa.String(length=24), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_master")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "record",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=10), nullable=False),
        sa.Column("agency", sa.String(length=40), nullable=False),
        sa.Column("source_system", sa.String(length=80), nullable=False),
        sa.Column("source_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("classification", sa.String(length=20), server_default="OFFICIAL", nullable=False),
        sa.Column("handling", sa.String(length=2), server_default="P", nullable=False),
        sa.Column("master_id", sa.String(length=24), nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("content_hash", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["master_id"], ["master.id"], name=op.f("fk_record_master_id_master")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record")),
    )
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.create_index("ix_record_master", ["master_id"], unique=False)
        batch_op.create_index("ix_record_type_id", ["entity_type", "id"], unique=False)

    op.create_table(
        "link",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("link_type", sa.String(length=40), nullable=False),
        sa.Column("from_id", sa.String(length=24), nullable=False),
        sa.Column("to_id", sa.String(length=24), nullable=False),
        sa.Column("agency", sa.String(length=40), nullable=False),
        sa.Column("source_system", sa.String(length=80), nullable=False),
        sa.Column("source_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("classification", sa.String(length=20), server_default="OFFICIAL", nullable=False),
        sa.Column("handling", sa.String(length=2), server_default="P", nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("content_hash", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["from_id"], ["record.id"], name=op.f("fk_link_from_id_record")),
        sa.ForeignKeyConstraint(["to_id"], ["record.id"], name=op.f("fk_link_to_id_record")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link")),
    )
    with op.batch_alter_table("link", schema=None) as batch_op:
        batch_op.create_index("ix_link_from", ["from_id"], unique=False)
        batch_op.create_index("ix_link_to", ["to_id"], unique=False)

    op.create_table(
        "record_version",
        sa.Column("record_id", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=120), nullable=False),
        sa.Column("classification", sa.String(length=20), server_default="OFFICIAL", nullable=False),
        sa.Column("handling", sa.String(length=2), server_default="P", nullable=False),
        sa.Column("handling_conditions", sa.Text(), nullable=True),
        sa.Column("deleted", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "warnings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["record_id"], ["record.id"], name=op.f("fk_record_version_record_id_record")
        ),
        sa.PrimaryKeyConstraint("record_id", "version", name=op.f("pk_record_version")),
    )
    op.create_table(
        "link_version",
        sa.Column("link_id", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.String(length=25), nullable=True),
        sa.Column("valid_to", sa.String(length=25), nullable=True),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=120), nullable=False),
        sa.Column("classification", sa.String(length=20), server_default="OFFICIAL", nullable=False),
        sa.Column("handling", sa.String(length=2), server_default="P", nullable=False),
        sa.Column("handling_conditions", sa.Text(), nullable=True),
        sa.Column("deleted", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["link_id"], ["link.id"], name=op.f("fk_link_version_link_id_link")),
        sa.PrimaryKeyConstraint("link_id", "version", name=op.f("pk_link_version")),
    )


def downgrade() -> None:
    op.drop_table("link_version")
    op.drop_table("record_version")
    with op.batch_alter_table("link", schema=None) as batch_op:
        batch_op.drop_index("ix_link_to")
        batch_op.drop_index("ix_link_from")

    op.drop_table("link")
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.drop_index("ix_record_type_id")
        batch_op.drop_index("ix_record_master")

    op.drop_table("record")
    op.drop_table("master")
