"""A load keeps PostgreSQL's statistics fresh enough for its lookups, without sampling the tables again
and again: it refreshes them whenever it has read as many rows as the tables held at the last refresh.
SQLite keeps no statistics, so nothing is refreshed there."""

from __future__ import annotations

import textwrap
from pathlib import Path

from sqlalchemy import event

from openrms.ingest.service import import_source
from openrms.store.database import Database

MAPPING = textwrap.dedent(
    """
    name: statistics-test
    agency: WYP
    source_system: NICHE
    records:
      crime: {entity: crime, key: "{Ref}", fields: {reference: Ref, crime_type: {const: Burglary}}}
    """
)


def _csv(path: Path, first: int, count: int) -> Path:
    path.write_text("Ref\n" + "".join(f"C{n}\n" for n in range(first, first + count)), encoding="utf-8")
    return path


def _refreshes(db: Database, source: Path, mapping: Path) -> int:
    seen: list[str] = []

    def note(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("ANALYZE"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        report = import_source(db, source, mapping, batch_size=100, workers=0)
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert report.status == "completed"
    return len(seen)


def test_statistics_are_refreshed_as_the_tables_double(db: Database, tmp_path: Path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    first = _refreshes(db, _csv(tmp_path / "a.csv", 0, 1000), mapping)
    if db.dialect == "sqlite":
        assert first == 0 and db.estimated_rows("record") == 0
        return
    assert first == 3  # after 100 rows (the tables were empty), 300 and 700: each time they had doubled
    assert 600 <= db.estimated_rows("record") <= 800  # as of the last refresh, at 700
    # 300 more rows into a table of 1,000 are not worth sampling it again
    assert _refreshes(db, _csv(tmp_path / "b.csv", 1000, 300), mapping) == 0
    assert db.estimated_rows("no_such_table") == 0
