"""quarantined rows keep their fields in the source's order (plain JSON on PostgreSQL)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 22:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite stores both as text in the order written: nothing to do there. Rows already stored in JSONB
    # keep the order JSONB gave them.
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("quarantine", "fields", type_=sa.JSON(), postgresql_using="fields::json")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "quarantine",
            "fields",
            type_=postgresql.JSONB(astext_type=sa.Text()),
            postgresql_using="fields::jsonb",
        )
