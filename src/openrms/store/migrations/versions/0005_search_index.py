"""the search index: filter columns, keys, free text (FTS5 on SQLite, tsvector on PostgreSQL)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 10:41:26.779053
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_doc",
        sa.Column("record_id", sa.String(length=24), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=10), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("names", sa.Text(), nullable=True),
        sa.Column("dob", sa.String(length=10), nullable=True),
        sa.Column("dob_year", sa.Integer(), nullable=True),
        sa.Column("gender", sa.String(length=2), nullable=True),
        sa.Column("vrm", sa.String(length=12), nullable=True),
        sa.Column("make", sa.String(length=40), nullable=True),
        sa.Column("model", sa.String(length=60), nullable=True),
        sa.Column("colour", sa.String(length=20), nullable=True),
        sa.Column("postcode", sa.String(length=8), nullable=True),
        sa.Column("sector", sa.String(length=6), nullable=True),
        sa.Column("district", sa.String(length=4), nullable=True),
        sa.Column("street", sa.String(length=120), nullable=True),
        sa.Column("town", sa.String(length=100), nullable=True),
        sa.Column("area", sa.String(length=100), nullable=True),
        sa.Column("area_code", sa.String(length=20), nullable=True),
        sa.Column("event_type", sa.String(length=80), nullable=True),
        sa.Column("ho_class", sa.String(length=10), nullable=True),
        sa.Column("offence_code", sa.String(length=10), nullable=True),
        sa.Column("crime_type", sa.String(length=80), nullable=True),
        sa.Column("outcome", sa.String(length=80), nullable=True),
        sa.Column("hate", sa.Boolean(), nullable=True),
        sa.Column("event_date", sa.String(length=10), nullable=True),
        sa.Column("month", sa.String(length=7), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("cell", sa.Integer(), nullable=True),
        sa.Column("cell10", sa.Integer(), nullable=True),
        sa.Column("terms", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_search_doc")),
    )
    with op.batch_alter_table("search_doc", schema=None) as batch_op:
        batch_op.create_index(
            "ix_search_doc_area",
            ["area"],
            unique=False,
            sqlite_where=sa.text("area IS NOT NULL"),
            postgresql_where=sa.text("area IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_search_doc_area_code",
            ["area_code"],
            unique=False,
            sqlite_where=sa.text("area_code IS NOT NULL"),
            postgresql_where=sa.text("area_code IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_search_doc_cell",
            ["cell", "event_date"],
            unique=False,
            sqlite_where=sa.text("cell IS NOT NULL"),
            postgresql_where=sa.text("cell IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_search_doc_cell10",
            ["cell10", "event_date"],
            unique=False,
            sqlite_where=sa.text("cell10 IS NOT NULL"),
            postgresql_where=sa.text("cell10 IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_search_doc_colour",
            ["colour"],
            unique=False,
            sqlite_where=sa.text("colour IS NOT NULL"),
            postgresql_where=sa.text("colour IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_search_doc_crime",
            ["crime_type", "event_date"],
            unique=False,
            sqlite_where=sa.text("crime_type IS NOT NULL"),
            postgresql_where=sa.text("crime_type IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_search_doc_date",
            ["event_date"],
            unique=False,
            sqlite_where=sa.text("event_date IS NOT NULL"),
            postgresql_where=sa.text("event_date IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_search_doc_district",
            ["district"],
            unique=False,
            sqlite_where=sa.text("district IS NOT NULL"),
            postgresql_where=sa.text("district IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_search_doc_dob",
            ["dob"],
            unique=False,
            sqlite_where=sa.text("dob IS NOT NULL"),
            postgresql_where=sa.text("dob IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_search_doc_dob_year",
            ["dob_year"],
            unique=False,
            sqlite_where=sa.text("dob_year IS NOT NULL"),
            postgresql_where=sa.text("dob_year IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_search_doc_event",
            ["event_type", "event_date"],
            unique=False,
            sqlite_where=sa.text("event_type IS NOT NULL"),
            postgresql_where=sa.text("event_type IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_search_doc_gender",
            ["gender"],
            unique=False,
            sqlite_where=sa.text("gender IS NOT NULL"),
            postgresql_where=sa.text("gender IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_search_doc_ho_class",
            ["ho_class"],
            unique=False,
            sqlite_where=sa.text("ho_class IS NOT NULL"),
            postgresql_where=sa.text("ho_class IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_search_doc_make",
            ["make", "model"],
            unique=False,
            sqlite_where=sa.text("make IS NOT NULL"),
            postgresql_where=sa.text("make IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_search_doc_offence",
            ["offence_code"],
            unique=False,
            sqlite_where=sa.text("offence_code IS NOT NULL"),
            postgresql_where=sa.text("offence_code IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_search_doc_outcome",
            ["outcome"],
            unique=False,
            sqlite_where=sa.text("outcome IS NOT NULL"),
            postgresql_where=sa.text("outcome IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_search_doc_postcode",
            ["postcode"],
            unique=False,
            sqlite_where=sa.text("postcode IS NOT NULL"),
            postgresql_where=sa.text("postcode IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_search_doc_sector",
            ["sector"],
            unique=False,
            sqlite_where=sa.text("sector IS NOT NULL"),
            postgresql_where=sa.text("sector IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_search_doc_street",
            ["street"],
            unique=False,
            sqlite_where=sa.text("street IS NOT NULL"),
            postgresql_where=sa.text("street IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_search_doc_town",
            ["town"],
            unique=False,
            sqlite_where=sa.text("town IS NOT NULL"),
            postgresql_where=sa.text("town IS NOT NULL"),
        )
        batch_op.create_index("ix_search_doc_type", ["entity_type"], unique=False)
        batch_op.create_index(
            "ix_search_doc_vrm",
            ["vrm"],
            unique=False,
            sqlite_where=sa.text("vrm IS NOT NULL"),
            postgresql_where=sa.text("vrm IS NOT NULL"),
        )

    op.create_table(
        "search_term",
        sa.Column("term", sa.String(length=160), nullable=False),
        sa.Column("record_id", sa.String(length=24), nullable=False),
        sa.PrimaryKeyConstraint("term", "record_id", name=op.f("pk_search_term")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "search_text",
        sa.Column("record_id", sa.String(length=24), nullable=False),
        sa.Column("doc", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_search_text")),
    )
    with op.batch_alter_table("search_text", schema=None) as batch_op:
        batch_op.create_index("ix_search_text_doc", ["doc"], unique=True)

    # Free text, on each back end's own engine. SQLite: an FTS5 table over search_text (external content,
    # rowid = search_text.doc), kept in step by openrms.search.index. PostgreSQL: a generated tsvector
    # with a GIN index, over the text cut into runs of letters and digits as FTS5's tokeniser does (PostgreSQL's
    # own parser would keep 'j.smith@example.org' whole). Neither stems, so both find the same words.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5(body, content='search_text', content_rowid='doc', "
            "tokenize='unicode61 remove_diacritics 2')"
        )
    else:
        op.execute(
            "ALTER TABLE search_text ADD COLUMN tsv tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple', regexp_replace(body, '[^[:alnum:]]+', ' ', 'g'))) STORED"
        )
        op.execute("CREATE INDEX ix_search_text_tsv ON search_text USING gin (tsv)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS search_fts")
    with op.batch_alter_table("search_text", schema=None) as batch_op:
        batch_op.drop_index("ix_search_text_doc")

    op.drop_table("search_text")
    op.drop_table("search_term")
    with op.batch_alter_table("search_doc", schema=None) as batch_op:
        batch_op.drop_index("ix_search_doc_vrm")
        batch_op.drop_index("ix_search_doc_type")
        batch_op.drop_index("ix_search_doc_town")
        batch_op.drop_index("ix_search_doc_street")
        batch_op.drop_index("ix_search_doc_sector")
        batch_op.drop_index("ix_search_doc_postcode")
        batch_op.drop_index("ix_search_doc_outcome")
        batch_op.drop_index("ix_search_doc_offence")
        batch_op.drop_index("ix_search_doc_make")
        batch_op.drop_index("ix_search_doc_ho_class")
        batch_op.drop_index("ix_search_doc_gender")
        batch_op.drop_index("ix_search_doc_event")
        batch_op.drop_index("ix_search_doc_dob_year")
        batch_op.drop_index("ix_search_doc_dob")
        batch_op.drop_index("ix_search_doc_district")
        batch_op.drop_index("ix_search_doc_date")
        batch_op.drop_index("ix_search_doc_crime")
        batch_op.drop_index("ix_search_doc_colour")
        batch_op.drop_index("ix_search_doc_cell10")
        batch_op.drop_index("ix_search_doc_cell")
        batch_op.drop_index("ix_search_doc_area_code")
        batch_op.drop_index("ix_search_doc_area")

    op.drop_table("search_doc")
