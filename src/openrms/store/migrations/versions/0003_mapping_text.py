"""import runs keep their mapping text

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 08:39:20.096217
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("import_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mapping_text", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("import_run", schema=None) as batch_op:
        batch_op.drop_column("mapping_text")
