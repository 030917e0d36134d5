"""The CPU side of an import, run in a forked worker: apply the mapping, validate, encode.

The pipeline sets `CONTEXT` and then forks, so the worker inherits the compiled mapping without pickling
it. `map_batch` touches no database; everything that needs one (lookups of referenced records, writes)
happens in the main process, inside the batch's transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from openrms.errors import BadRequest, RecordInvalid
from openrms.ingest.mapping import row_context
from openrms.ingest.rows import MappedRow, RecordRef, SourceRow
from openrms.store import ids
from openrms.store.links import NewLink, check_dates, check_ends
from openrms.store.provenance import Provenance
from openrms.store.records import NewRecord, PreparedRecord, Preparer


@dataclass(frozen=True)
class WorkerContext:
    mapping: Any  # openrms.ingest.mapping.Mapping
    agency: str
    source_system: str
    recorded_by: str
    dialect: str
    file: str | None = None  # the source file, for `$file` and `$line` in mapping keys


CONTEXT: WorkerContext | None = None
# Records this worker has prepared, by (entity type, source key): many rows repeat the same record (the
# same map point under hundreds of crimes), which then costs one comparison instead of a validation.
_REPEATS: dict[tuple[str, str], tuple[tuple[Any, ...], PreparedRecord]] = {}
_REPEATS_SIZE = 100_000


@dataclass
class RowResult:
    number: int
    location: str
    status: str  # "ok", "skipped" or "quarantined"
    record_ids: list[str] = field(default_factory=list)
    link_ids: list[int] = field(default_factory=list)  # positions in MappedBatch.links
    refs: dict[str, str] = field(default_factory=dict)  # referenced record id -> human description
    reasons: list[str] = field(default_factory=list)
    raw: str = ""
    fields: dict[str, Any] | None = None


@dataclass
class MappedBatch:
    rows: list[RowResult]
    prepared: dict[
        str, PreparedRecord
    ]  # one per record id: rows repeating a record (a shared place) write it once
    links: list[NewLink]
    types: dict[str, str]  # record id -> entity type, for records of this batch and references
    last_number: int


def _provenance(ctx: WorkerContext, source_key: str, record: Any = None) -> Provenance:
    defaults = ctx.mapping.defaults or {}
    classification = (record and record.classification) or defaults.get("classification", "OFFICIAL")
    handling = (record and record.handling) or defaults.get("handling", "P")
    conditions = (record and record.handling_conditions) or defaults.get("handling_conditions")
    return Provenance(
        ctx.agency, ctx.source_system, ctx.recorded_by, source_key, None, classification, handling, conditions
    )


def _quarantined(row: SourceRow, reasons: list[str]) -> RowResult:
    fields = dict(row.fields) if row.fields is not None else None
    return RowResult(
        row.number, row.location, "quarantined", reasons=reasons, raw=row.raw, fields=_jsonable(fields)
    )


def _jsonable(fields: dict[str, Any] | None) -> dict[str, Any] | None:
    if fields is None:
        return None
    return {
        str(k): v if isinstance(v, (str, int, float, bool, type(None), list)) else str(v)
        for k, v in fields.items()
    }


def _ref_id(ctx: WorkerContext, ref: RecordRef) -> str:
    return ids.record_id(
        ref.entity_type, ref.agency or ctx.agency, ref.source_system or ctx.source_system, ref.source_key
    )


def map_row(ctx: WorkerContext, preparer: Preparer, row: SourceRow, batch: MappedBatch) -> RowResult:
    """One row into the batch, or a quarantined/skipped result with every reason."""
    if row.fields is None:
        return _quarantined(row, [f"unreadable: {row.error}"])
    context = row_context(row, ctx.file) if ctx.mapping.context_used else None
    mapped: MappedRow = ctx.mapping.apply(row.fields, context)
    if mapped.skipped:
        return RowResult(row.number, row.location, "skipped")
    reasons = list(mapped.reasons)
    prepared: dict[str, PreparedRecord] = {}
    for name, rec in mapped.records.items():
        known = _REPEATS.get((rec.entity_type, rec.source_key))
        if known is not None and known[0] == (
            rec.data,
            rec.classification,
            rec.handling,
            rec.handling_conditions,
        ):
            prepared[name] = known[1]  # the same record again (e.g. a shared place): validated already
            continue
        item = NewRecord(rec.entity_type, rec.data, _provenance(ctx, rec.source_key, rec))
        try:
            prepared[name] = preparer(item)
        except RecordInvalid as exc:
            reasons += [f"{name}.{i.path}: {i.message}" for i in exc.issues if i.severity == "error"]
            continue
        except BadRequest as exc:  # the row's markings (classification, handling) are not acceptable
            reasons.append(f"{name}: {exc.detail}")
            continue
        if len(_REPEATS) >= _REPEATS_SIZE:
            _REPEATS.clear()
        _REPEATS[(rec.entity_type, rec.source_key)] = (
            (rec.data, rec.classification, rec.handling, rec.handling_conditions),
            prepared[name],
        )
    if reasons:
        return _quarantined(row, reasons)
    result = RowResult(row.number, row.location, "ok", record_ids=[p.id for p in prepared.values()])
    types = {p.id: p.entity_type for p in prepared.values()}
    new_links = []
    for link in mapped.links:
        ends = []
        for end in (link.source, link.target):
            if isinstance(end, RecordRef):
                rid = _ref_id(ctx, end)
                types[rid] = end.entity_type
                result.refs[rid] = (
                    f"{end.entity_type} {end.source_key!r} from "
                    f"{end.agency or ctx.agency}/{end.source_system or ctx.source_system}"
                )
                ends.append(rid)
            else:
                ends.append(prepared[end].id)
        item = NewLink(
            link.link_type,
            ends[0],
            ends[1],
            _provenance(ctx, link.source_key),
            link.valid_from,
            link.valid_to,
        )
        issues = check_ends(item, types) + check_dates(item)[0]
        reasons += [f"link {link.link_type}.{i.path}: {i.message}" for i in issues]
        new_links.append(item)
    if reasons:
        return _quarantined(row, reasons)
    for p in prepared.values():
        batch.prepared[p.id] = p
    batch.types.update(types)
    result.link_ids = list(range(len(batch.links), len(batch.links) + len(new_links)))
    batch.links.extend(new_links)
    return result


def map_batch(rows: list[SourceRow], now: dt.datetime) -> MappedBatch:
    ctx = CONTEXT
    if ctx is None:
        raise RuntimeError("ingest worker used before its context was set")
    preparer = Preparer(now, ctx.dialect)
    _REPEATS.clear()  # prepared rows carry the batch's time: reuse them within a batch only
    batch = MappedBatch([], {}, [], {}, rows[-1].number if rows else 0)
    for row in rows:
        batch.rows.append(map_row(ctx, preparer, row, batch))
    return batch
