"""What the first rows of a source become, shown before anything is imported.

A dry run counts; a newcomer writing a mapping also needs to *see* a row turned into records: which
record each source column landed in, what the key came out as, which links join them, and every reason a
row would be quarantined. The verdict comes from the worker's own `map_row`, so a row previewed as fine is
one the import takes (referenced records from earlier imports excepted: they are looked up only when
importing, against the database).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from openrms.ingest import worker
from openrms.ingest.mapping import row_context
from openrms.ingest.rows import MappedLink, MappedRow, RecordRef, SourceRow
from openrms.store import ids
from openrms.store.links import LinkPreparer
from openrms.store.records import Preparer


@dataclass
class Preview:
    rows: list[dict[str, Any]]
    # about the mapping as a whole: fields it reads that none of the rows had (see `worker.FieldWatch`)
    warnings: list[str] = field(default_factory=list)


def preview_rows(context: worker.WorkerContext, rows: Iterable[SourceRow]) -> Preview:
    """Each row: where it is, its verdict ("ok", "skipped", "quarantined"), its records with their keys,
    ids and fields, its links, and the reasons it would be quarantined."""
    now = dt.datetime.now(dt.UTC)
    preparer, link_preparer = Preparer(now, context.dialect), LinkPreparer(now, context.dialect)
    shown = []
    try:
        for row in rows:
            batch = worker.MappedBatch([], {}, [], {}, row.number)
            verdict = worker.map_row(context, preparer, row, batch, link_preparer)
            shown.append(_row_view(context, row, verdict))
    finally:
        worker.forget_prepared()  # this was the worker's batch
    warnings = context.fields.warnings(context.mapping) if context.fields is not None else []
    return Preview(shown, warnings)


def _row_view(context: worker.WorkerContext, row: SourceRow, verdict: worker.RowResult) -> dict[str, Any]:
    view: dict[str, Any] = {
        "row": row.number,
        "location": row.location,
        "status": verdict.status,
        "reasons": verdict.reasons,
        "records": [],
        "links": [],
    }
    if row.fields is None:
        return view
    where = row_context(row, context.file) if context.mapping.context_used else None
    mapped: MappedRow = context.mapping.apply(row.fields, where)
    target = (context.agency, context.source_system)
    for name, record in mapped.records.items():
        view["records"].append(
            {
                "name": name,
                "entity_type": record.entity_type,
                "key": record.source_key,
                # An empty key makes no record (the row is quarantined for it), so it has no id to show.
                "id": ids.record_id(record.entity_type, *target, record.source_key)
                if record.source_key.strip()
                else None,
                "fields": record.data,
                "classification": record.classification,
                "handling": record.handling,
            }
        )
    view["links"] = [_link_view(context, link) for link in mapped.links]
    return view


def _link_view(context: worker.WorkerContext, link: MappedLink) -> dict[str, Any]:
    def end(value: str | RecordRef) -> str:
        if isinstance(value, str):
            return value
        agency = value.agency or context.agency
        system = value.source_system or context.source_system
        return f"{value.entity_type} {value.source_key!r} of {agency}/{system} (looked up when importing)"

    return {
        "type": link.link_type,
        "from": end(link.source),
        "to": end(link.target),
        "valid_from": link.valid_from,
        "valid_to": link.valid_to,
    }
