"""Import runs and quarantine: the bookkeeping that makes imports resumable and losslessly auditable.

A run row is committed before any data, and every batch updates its checkpoint (the last source row
number written) in the same transaction as the batch's records, links and quarantine entries. So after a
crash the checkpoint says exactly which rows are in, and the same command resumes from there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, Text, and_, cast, func, insert, or_, select, tuple_, update

from openrms.errors import BadRequest, NotFound
from openrms.store.tables import import_run, quarantine

_VALUE = re.compile(r"'[^']*'")
# An entry is open until worked: resolved (its row imported by a retry or a later import), discarded (by a
# person, with a reason) or superseded (quarantined again by a later import, whose entry is now the open one).
STATUSES = ("open", "resolved", "discarded", "superseded")
EXPORT_BATCH = 500  # entries fetched at a time by an export: each holds up to 64 KB of raw row


@dataclass
class Tally:
    """What a run did: row outcomes (read = created + updated + unchanged + quarantined + skipped) and
    record outcomes per entity type; `reasons` counts quarantine reasons with their values masked."""

    rows: Counter[str] = field(default_factory=Counter)
    records: dict[str, Counter[str]] = field(default_factory=dict)
    links: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    # Open entries of earlier runs this run closed, by how: "superseded" or "resolved" (`earlier_entries`);
    # and "discarded": rows quarantined again whose new entries are discarded as before (`discarded_rows`)
    earlier: Counter[str] = field(default_factory=Counter)

    def add_records(self, entity_type: str, status: str, count: int = 1) -> None:
        self.records.setdefault(entity_type, Counter())[status] += count

    def add_reasons(self, reasons: list[str]) -> None:
        for reason in reasons:
            self.reasons[_VALUE.sub("'…'", reason)[:300]] += 1

    def merge(self, other: Tally) -> None:
        self.rows.update(other.rows)
        for name, counts in other.records.items():
            self.records.setdefault(name, Counter()).update(counts)
        self.links.update(other.links)
        self.reasons.update(other.reasons)
        self.earlier.update(other.earlier)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": dict(self.rows),
            "records": {k: dict(v) for k, v in self.records.items()},
            "links": dict(self.links),
            "reasons": dict(self.reasons.most_common(50)),
            "earlier_entries": dict(self.earlier),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tally:
        tally = cls(
            Counter(data.get("rows", {})),
            {k: Counter(v) for k, v in data.get("records", {}).items()},
            Counter(data.get("links", {})),
            Counter(data.get("reasons", {})),
            Counter(data.get("earlier_entries", {})),
        )
        return tally

    def balanced(self) -> bool:
        r = self.rows
        return r["read"] == r["created"] + r["updated"] + r["unchanged"] + r["quarantined"] + r["skipped"]


def new_id() -> str:
    return uuid.uuid4().hex[:24]


def start_run(
    conn: Connection,
    *,
    mapping: str,
    mapping_text: str | None,
    source: str,
    source_digest: str,
    mapping_digest: str,
    agency: str,
    source_system: str,
    snapshot: bool,
    started_by: str,
    now: dt.datetime,
) -> str:
    run_id = new_id()
    conn.execute(
        insert(import_run).values(
            id=run_id,
            mapping=mapping,
            mapping_text=mapping_text,
            source=source,
            source_digest=source_digest,
            mapping_digest=mapping_digest,
            agency=agency,
            source_system=source_system,
            dry_run=False,
            snapshot=snapshot,
            status="running",
            started_at=now,
            started_by=started_by,
            checkpoint=0,
            counts=Tally().as_dict(),
        )
    )
    return run_id


def unfinished_run(
    conn: Connection, source_digest: str, mapping_digest: str, agency: str, source_system: str, snapshot: bool
) -> Any:
    """The run a crash left behind for this same source, mapping and target, if any."""
    return conn.execute(
        select(import_run)
        .where(
            import_run.c.source_digest == source_digest,
            import_run.c.mapping_digest == mapping_digest,
            import_run.c.agency == agency,
            import_run.c.source_system == source_system,
            import_run.c.snapshot.is_(snapshot),
            import_run.c.status == "running",
        )
        .order_by(import_run.c.started_at.desc())
        .limit(1)
    ).first()


def save_progress(
    conn: Connection, run_id: str, checkpoint: int, tally: Tally, digest: str | None = None
) -> None:
    conn.execute(
        update(import_run)
        .where(import_run.c.id == run_id)
        .values(checkpoint=checkpoint, checkpoint_digest=digest, counts=tally.as_dict())
    )


def finish_run(
    conn: Connection,
    run_id: str,
    status: str,
    tally: Tally,
    now: dt.datetime,
    error: str | None = None,
    warnings: list[str] | None = None,
) -> None:
    conn.execute(
        update(import_run)
        .where(import_run.c.id == run_id)
        .values(
            status=status, finished_at=now, counts=tally.as_dict(), error=error, warnings=warnings or None
        )
    )


def quarantine_rows(conn: Connection, run_id: str, entries: list[dict[str, Any]], now: dt.datetime) -> None:
    if entries:
        conn.execute(
            insert(quarantine),
            [
                {
                    "id": new_id(),
                    "run_id": run_id,
                    "row_number": e["number"],
                    "location": e["location"][:200],
                    "raw": e["raw"],
                    "fields": e.get("fields"),
                    "reasons": e["reasons"],
                    "status": "discarded" if e.get("discarded") else "open",
                    "created_at": now,
                    "resolved_at": now if e.get("discarded") else None,
                    "resolved_by": e.get("discarded_by"),
                    "resolution": e.get("discarded"),
                }
                for e in entries
            ],
        )


def discarded_rows(conn: Connection, agency: str, source_system: str) -> dict[str, str]:
    """The rows a person discarded from this agency's and source system's runs, by the digest of their raw
    row: why, and by whom. A later import that quarantines the same row again records its entry as
    discarded too, so a row judged not to be imported stays out of the open list until the source changes
    it (or a mapping fix lets it import)."""
    query = (
        select(quarantine.c.id, quarantine.c.raw, quarantine.c.resolved_by, quarantine.c.resolution)
        .join(import_run, import_run.c.id == quarantine.c.run_id)
        .where(
            quarantine.c.status == "discarded",
            import_run.c.agency == agency,
            import_run.c.source_system == source_system,
        )
        .order_by(quarantine.c.resolved_at, quarantine.c.id)
    )
    found: dict[str, str] = {}
    for row in conn.execute(query):  # the first discard of a row is a person's; later ones only repeat it
        why = f"discarded before (entry {row.id}, by {row.resolved_by}): {row.resolution}"
        found.setdefault(raw_digest(row.raw), why)
    return found


def _run_view(row: Any) -> dict[str, Any]:
    tally = Tally.from_dict(row.counts)
    return {
        "id": row.id,
        "mapping": row.mapping,
        "source": row.source,
        "agency": row.agency,
        "source_system": row.source_system,
        "snapshot": bool(row.snapshot),
        "status": row.status,
        "started_at": row.started_at.isoformat(),
        "started_by": row.started_by,
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
        "checkpoint": row.checkpoint,
        "counts": row.counts,
        "balanced": tally.balanced(),
        "error": row.error,
        "warnings": row.warnings or [],
    }


def _of_agency(query: Any, agency: str | None) -> Any:
    """`query` (which reads import_run) narrowed to one agency's runs. The API and the web pages pass the
    caller's agency, so another agency's runs and quarantined rows answer as missing ones do; the command
    line, run by the server's operators, passes None and sees every agency's."""
    return query if agency is None else query.where(import_run.c.agency == agency)


def list_runs(conn: Connection, limit: int = 50, *, agency: str | None = None) -> list[dict[str, Any]]:
    query = select(import_run).order_by(import_run.c.started_at.desc()).limit(limit)
    return [_run_view(r) for r in conn.execute(_of_agency(query, agency))]


def _run_row(conn: Connection, run_id: str, agency: str | None) -> Any:
    row = conn.execute(_of_agency(select(import_run).where(import_run.c.id == run_id), agency)).first()
    if row is None:
        raise NotFound(f"no import run {run_id}")
    return row


def check_run(conn: Connection, run_id: str, *, agency: str | None = None) -> None:
    """404 for a run that does not exist, or is another agency's: naming one is an error, not a no-op."""
    _run_row(conn, run_id, agency)


def get_run(conn: Connection, run_id: str, *, agency: str | None = None) -> dict[str, Any]:
    view = _run_view(_run_row(conn, run_id, agency))
    view["quarantine_open"] = conn.execute(
        select(func.count())
        .select_from(quarantine)
        .where(quarantine.c.run_id == run_id, quarantine.c.status == "open")
    ).scalar_one()
    return view


def _entry_view(row: Any, full: bool) -> dict[str, Any]:
    view = {
        "id": row.id,
        "run_id": row.run_id,
        "row_number": row.row_number,
        "location": row.location,
        "reasons": row.reasons,
        "status": row.status,
        "created_at": row.created_at.isoformat(),
        "resolved_at": row.resolved_at.isoformat() if row.resolved_at else None,
        "resolved_by": row.resolved_by,
        "resolution": row.resolution,
    }
    if full:
        view.update(raw=row.raw, fields=row.fields)
    else:
        view["raw"] = row.raw[:200]
    return view


def list_quarantine(
    conn: Connection,
    *,
    run_id: str | None = None,
    status: str | None = "open",
    limit: int = 100,
    after: str | None = None,
    agency: str | None = None,
    matching: str | None = None,
) -> list[dict[str, Any]]:
    query = Chosen(run_id, status, agency, matching).query(select(quarantine), conn, after).limit(limit)
    return [_entry_view(r, full=False) for r in conn.execute(query)]


def reason_matches(text: str) -> Any:
    """Entries one of whose reasons holds `text`, in any case: "not in translation table 'disposals'"
    picks every row an unknown disposal code stopped. The reasons are matched as the JSON text both back
    ends keep (orjson's and JSONB's agree: quotes and backslashes escaped, other characters as they are),
    so `text` is escaped the same way, and for LIKE."""
    if not text.strip():
        raise BadRequest("matching: give the text to look for in the reasons")
    escaped = orjson.dumps(text).decode()[1:-1]
    pattern = escaped.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return cast(quarantine.c.reasons, Text).ilike(f"%{pattern}%", escape="\\")


@dataclass(frozen=True)
class Chosen:
    """Which quarantine entries: of a run, of a status (None: any), of an agency's runs (None: every
    agency's, for the command line's operators), one of whose reasons holds a text (see reason_matches)."""

    run_id: str | None = None
    status: str | None = "open"
    agency: str | None = None
    matching: str | None = None

    def query(self, columns: Any, conn: Connection, after: str | None = None) -> Any:
        """`columns` (a select reading quarantine) narrowed to these entries (those after the entry
        `after`, for a page), in the order a person fixing the rows reads them: the newest run first, then
        each run's rows in source order."""
        conditions = []
        if self.matching is not None:
            conditions.append(reason_matches(self.matching))
        if self.run_id:
            conditions.append(quarantine.c.run_id == self.run_id)
        if self.status:
            if self.status not in STATUSES:
                raise BadRequest(f"status must be one of {', '.join(STATUSES)}, not {self.status!r}")
            conditions.append(quarantine.c.status == self.status)
        if after:
            conditions.append(_after_entry(conn, after, self.agency))
        order = (
            import_run.c.started_at.desc(),
            quarantine.c.run_id,
            quarantine.c.row_number,
            quarantine.c.id,
        )
        query = columns.join(import_run, import_run.c.id == quarantine.c.run_id).where(*conditions)
        return _of_agency(query, self.agency).order_by(*order)


def iter_entries(conn: Connection, chosen: Chosen) -> Iterator[dict[str, Any]]:
    """Every chosen entry whole (raw row and fields), in list_quarantine's order, from a server-side
    cursor: an export of a run's hundred thousand bad rows streams in constant memory."""
    query = chosen.query(select(quarantine), conn)
    for row in conn.execution_options(yield_per=EXPORT_BATCH).execute(query):
        yield _entry_view(row, full=True)


def field_names(conn: Connection, chosen: Chosen) -> list[str]:
    """The names of the fields the chosen entries have, in the order the source gave them (the first
    entry's order, then names only later entries have, as met)."""
    names: dict[str, None] = {}
    query = chosen.query(select(quarantine.c.fields), conn)
    for (fields,) in conn.execution_options(yield_per=EXPORT_BATCH).execute(query):
        names.update(dict.fromkeys(fields or ()))
    return list(names)


def count_entries(conn: Connection, chosen: Chosen) -> int:
    query = chosen.query(select(func.count()).select_from(quarantine), conn)
    return conn.execute(query.order_by(None)).scalar_one()


def _after_entry(conn: Connection, entry_id: str, agency: str | None) -> Any:
    """The entries listed after `entry_id` in list_quarantine's order: the page after one ending there."""
    query = (
        select(import_run.c.started_at, quarantine.c.run_id, quarantine.c.row_number)
        .join(import_run, import_run.c.id == quarantine.c.run_id)
        .where(quarantine.c.id == entry_id)
    )
    at = conn.execute(_of_agency(query, agency)).first()
    if at is None:
        raise BadRequest(f"after: no quarantine entry {entry_id}; give the id of the last entry of a page")
    same_run_later = and_(
        quarantine.c.run_id == at.run_id,
        tuple_(quarantine.c.row_number, quarantine.c.id) > tuple_(at.row_number, entry_id),
    )
    later_run = or_(
        import_run.c.started_at < at.started_at,
        and_(import_run.c.started_at == at.started_at, quarantine.c.run_id > at.run_id),
    )
    return or_(same_run_later, later_run)


def get_entry(conn: Connection, entry_id: str, *, agency: str | None = None) -> dict[str, Any]:
    query = (
        select(quarantine)
        .join(import_run, import_run.c.id == quarantine.c.run_id)
        .where(quarantine.c.id == entry_id)
    )
    row = conn.execute(_of_agency(query, agency)).first()
    if row is None:
        raise NotFound(f"no quarantine entry {entry_id}")
    return _entry_view(row, full=True)


def close_entries(
    conn: Connection, entry_ids: list[str], status: str, by: str, resolution: str, now: dt.datetime
) -> int:
    """Close entries (resolved, discarded or superseded); they are never deleted, so the audit of every
    row survives."""
    if status not in STATUSES[1:]:
        raise BadRequest(f"cannot set quarantine status {status!r}")
    result = conn.execute(
        update(quarantine)
        .where(quarantine.c.id.in_(entry_ids), quarantine.c.status == "open")
        .values(status=status, resolved_at=now, resolved_by=by, resolution=resolution)
    )
    return result.rowcount


def update_reasons(conn: Connection, entry_id: str, reasons: list[str]) -> None:
    conn.execute(update(quarantine).where(quarantine.c.id == entry_id).values(reasons=reasons))


def open_entries(
    conn: Connection,
    *,
    run_id: str | None = None,
    entry_ids: list[str] | None = None,
    agency: str | None = None,
    matching: str | None = None,
) -> list[Any]:
    """Open quarantine rows to retry or discard, with their run's mapping and target: those of a run, those
    named, those a reason's text picks (see `reason_matches`), or those all the given choices agree on."""
    query = (
        select(
            quarantine,
            import_run.c.mapping,
            import_run.c.mapping_text,
            import_run.c.source,
            import_run.c.agency,
            import_run.c.source_system,
        )
        .join(import_run, import_run.c.id == quarantine.c.run_id)
        .where(quarantine.c.status == "open")
    )
    if run_id:
        query = query.where(quarantine.c.run_id == run_id)
    if entry_ids:
        query = query.where(quarantine.c.id.in_(entry_ids))
    if matching is not None:
        query = query.where(reason_matches(matching))
    query = _of_agency(query, agency)
    return list(conn.execute(query.order_by(quarantine.c.run_id, quarantine.c.row_number)))


def raw_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def earlier_entries(conn: Connection, agency: str, source_system: str) -> dict[str, list[tuple[str, str]]]:
    """The open entries of this agency's and source system's runs, by the digest of their raw row: (entry
    id, run id) each. A later import meeting the same raw row closes them, so re-importing a file leaves
    one open entry for each row still bad, and none for a row that now imports."""
    query = (
        select(quarantine.c.id, quarantine.c.run_id, quarantine.c.raw)
        .join(import_run, import_run.c.id == quarantine.c.run_id)
        .where(
            quarantine.c.status == "open",
            import_run.c.agency == agency,
            import_run.c.source_system == source_system,
        )
    )
    found: dict[str, list[tuple[str, str]]] = {}
    for row in conn.execute(query):
        found.setdefault(raw_digest(row.raw), []).append((row.id, row.run_id))
    return found
