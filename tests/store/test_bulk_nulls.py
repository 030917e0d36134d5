"""SQLite bulk inserts leave out the columns a row has as None (binding None is slow in Python 3.11's
sqlite3): what reads back must be exactly what was given, whatever mix of Nones the rows carry, and a
None for a column with a default must still be refused rather than quietly become the default."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, delete, select
from sqlalchemy.exc import IntegrityError

from openrms.store.bulk import insert_tuples
from openrms.store.database import Database

metadata = MetaData()
sample = Table(
    "bulk_null_sample",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("text", String(40)),
    Column("number", Integer),
    Column("measure", Float),
    Column("marking", String(10), nullable=False, server_default="OFFICIAL"),
    Column("note", String(40)),
)

values = st.fixed_dictionaries(
    {
        "text": st.none() | st.text(max_size=10),
        "number": st.none() | st.integers(-(2**40), 2**40),
        "measure": st.none() | st.floats(allow_nan=False, allow_infinity=False),
        "marking": st.sampled_from(["OFFICIAL", "SECRET", ""]),
        "note": st.none() | st.just("n"),
    }
)


@pytest.fixture
def sample_db(sqlite_db: Database) -> Database:
    metadata.create_all(sqlite_db.engine)
    return sqlite_db


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(values, max_size=40))
def test_rows_read_back_exactly_whatever_their_nones(sample_db: Database, rows: list[dict]) -> None:
    given_rows = [
        (n, r["text"], r["number"], r["measure"], r["marking"], r["note"]) for n, r in enumerate(rows)
    ]
    with sample_db.write() as conn:
        conn.execute(delete(sample))
        insert_tuples(conn, sample, given_rows)
    with sample_db.read() as conn:
        stored = [tuple(row) for row in conn.execute(select(sample).order_by(sample.c.id))]
    assert stored == given_rows


def test_a_none_for_a_column_with_a_default_is_refused_not_defaulted(sample_db: Database) -> None:
    with pytest.raises(IntegrityError, match="marking"), sample_db.write() as conn:
        insert_tuples(conn, sample, [(1, "a", 1, 1.0, "SECRET", None), (2, None, None, None, None, None)])
    with sample_db.read() as conn:
        assert conn.execute(select(sample)).all() == []
