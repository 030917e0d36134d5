"""the master index: blocking keys, features, models, judgements and membership events

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 10:00:24.316677
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "judgement",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("record_a", sa.String(length=24), nullable=False),
        sa.Column("record_b", sa.String(length=24), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("by_kind", sa.String(length=6), nullable=False),
        sa.Column("by", sa.String(length=120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("model_version", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "explanation",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("current", sa.Boolean(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_judgement")),
    )
    with op.batch_alter_table("judgement", schema=None) as batch_op:
        batch_op.create_index("ix_judgement_b", ["record_b"], unique=False)
        batch_op.create_index("ix_judgement_pair", ["record_a", "record_b"], unique=False)
        batch_op.create_index("ix_judgement_queue", ["current", "decision", "by_kind"], unique=False)

    op.create_table(
        "master_event",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=120), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("undoes", sa.String(length=24), nullable=True),
        sa.Column("undone_by", sa.String(length=24), nullable=True),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_master_event")),
    )
    op.create_table(
        "master_event_master",
        sa.Column("master_id", sa.String(length=24), nullable=False),
        sa.Column("event_id", sa.String(length=24), nullable=False),
        sa.PrimaryKeyConstraint("master_id", "event_id", name=op.f("pk_master_event_master")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "match_features",
        sa.Column("record_id", sa.String(length=24), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column(
            "features",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_match_features")),
    )
    op.create_table(
        "match_key",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("record_id", sa.String(length=24), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("key", "record_id", name=op.f("pk_match_key")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("match_key", schema=None) as batch_op:
        batch_op.create_index("ix_match_key_record", ["record_id"], unique=False)

    op.create_table(
        "match_model",
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column(
            "model",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "summary",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("entity_type", "version", name=op.f("pk_match_model")),
    )
    op.create_table(
        "membership_change",
        sa.Column("event_id", sa.String(length=24), nullable=False),
        sa.Column("record_id", sa.String(length=24), nullable=False),
        sa.Column("old_master", sa.String(length=24), nullable=False),
        sa.Column("new_master", sa.String(length=24), nullable=False),
        sa.PrimaryKeyConstraint("event_id", "record_id", name=op.f("pk_membership_change")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("membership_change", schema=None) as batch_op:
        batch_op.create_index("ix_membership_change_record", ["record_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("membership_change", schema=None) as batch_op:
        batch_op.drop_index("ix_membership_change_record")

    op.drop_table("membership_change")
    op.drop_table("match_model")
    with op.batch_alter_table("match_key", schema=None) as batch_op:
        batch_op.drop_index("ix_match_key_record")

    op.drop_table("match_key")
    op.drop_table("match_features")
    op.drop_table("master_event_master")
    op.drop_table("master_event")
    with op.batch_alter_table("judgement", schema=None) as batch_op:
        batch_op.drop_index("ix_judgement_queue")
        batch_op.drop_index("ix_judgement_pair")
        batch_op.drop_index("ix_judgement_b")

    op.drop_table("judgement")
