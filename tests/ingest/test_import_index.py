"""The search index an import writes is the one a rebuild from the stored records gives.

An import's worker fills in each new event's place before the writer knows which records are new (see
`openrms.search.index.place_events`), and the writer looks up stored places only for the events it must:
so whatever a batch holds (new events with their places, a changed event with or without its place in the
batch, a moved event, rows quarantined), the entries written must match `build_index`'s, column for
column, on each back end.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sqlalchemy import Table, select

from openrms.ingest.mapping import BUILTIN_DIR
from openrms.ingest.service import import_source
from openrms.search.index import build_index
from openrms.store.database import Database
from openrms.store.tables import search_doc, search_term, search_text
from tests.ingest.test_import_cli import CUSTODY, INTEL, street_slice

INDEX: tuple[Table, ...] = (search_doc, search_term, search_text)


def _index(db: Database) -> dict[str, list[tuple[object, ...]]]:
    with db.read() as conn:
        return {t.name: sorted(map(tuple, conn.execute(select(t))), key=repr) for t in INDEX}


def _changed(lines: list[str], outcome: str) -> str:
    """The slice with its first crime's `outcome` changed and its second crime moved to another point."""
    rows = list(csv.reader(io.StringIO("".join(lines))))
    crimes = [row for row in rows[1:] if row[0]]
    crimes[0][10] = outcome
    crimes[1][4], crimes[1][5] = "-1.549200", "53.800900"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _events_only(tmp_path: Path) -> Path:
    """police-uk without its places and links: a crime it changes is written with no place in its batch,
    so the writer has to look its stored place up and build the entry itself."""
    text = (BUILTIN_DIR / "police-uk.yaml").read_text(encoding="utf-8")
    path = tmp_path / "events-only.yaml"
    path.write_text(text[: text.index("  place:\n")].replace("name: police-uk", "name: events-only"))
    return path


def test_the_index_an_import_writes_is_the_one_a_rebuild_gives(db: Database, tmp_path: Path) -> None:
    path, lines = street_slice(tmp_path, 300)
    import_source(db, path, "police-uk", batch_size=40, workers=1)
    import_source(db, INTEL, "intel-xml-5x5x5", workers=1)
    import_source(db, CUSTODY, "custody-fixed-width", workers=1)
    path.write_text(_changed(lines, "Offender given a caution"), encoding="utf-8", newline="")
    again = import_source(db, path, "police-uk", batch_size=40, workers=1)
    assert again.tally.records["crime"]["updated"] == 1  # the outcome; the move is a new point and link
    assert again.tally.records["point"]["created"] == 1 and again.tally.links["created"] == 1
    path.write_text(_changed(lines, "Court result unavailable"), encoding="utf-8", newline="")
    events = import_source(db, path, _events_only(tmp_path), batch_size=40, workers=1)
    assert events.tally.records["crime"]["updated"] == 1 and not events.tally.links

    written = _index(db)
    assert len(written["search_doc"]) > 300
    build_index(db, workers=0)
    assert _index(db) == written
