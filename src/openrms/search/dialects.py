"""The few pieces of search that differ between SQLite and PostgreSQL: free text, and bounded counts.

SQLite's free text is the FTS5 table `search_fts` (rowid = search_text.doc); PostgreSQL's is the generated
tsvector `search_text.tsv` with its GIN index. Both tokenise alike (lower case, accents off, no stemming,
'simple' configuration), and both take the words as a conjunction: every word must be present.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, column, func, literal_column, select, table

from openrms.store.tables import search_text

_fts = table("search_fts", column("rowid"))


def text_ids(conn: Connection, words: Sequence[str], limit: int) -> Any:
    """A SELECT of the record ids whose text holds every one of `words` (already letters and digits)."""
    clean = [w for w in words if w.isalnum()]
    if conn.dialect.name == "sqlite":
        match = " ".join(f'"{w}"' for w in clean)
        return (
            select(search_text.c.record_id)
            .select_from(_fts.join(search_text, search_text.c.doc == _fts.c.rowid))
            .where(literal_column("search_fts").op("MATCH")(match))
            .limit(limit)
        )
    tsquery = " & ".join(clean)
    config = literal_column("'simple'::regconfig")
    return (
        select(search_text.c.record_id)
        .where(literal_column("search_text.tsv").op("@@")(func.to_tsquery(config, tsquery)))
        .limit(limit)
    )


def term_counts(conn: Connection, terms: Sequence[str], cap: int) -> dict[str, int]:
    """How many records hold each key, counted up to `cap` (so a huge key costs no more than `cap`)."""
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    out: dict[str, int] = {}
    for term in terms:
        sql = f"SELECT count(*) FROM (SELECT 1 FROM search_term WHERE term = {mark} LIMIT {int(cap)}) AS x"
        out[term] = int(conn.exec_driver_sql(sql, (term,)).scalar_one())
    return out
