"""Imports over HTTP: upload a file, push a live feed's records, follow runs, work the quarantine."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from openrms.access.model import Subject
from openrms.api.deps import current_subject, database, with_declared_purpose
from openrms.api.guard import audited, require
from openrms.api.responses import attachment
from openrms.errors import BadRequest, Forbidden
from openrms.ingest import runs, service
from openrms.ingest.mapping import Mapping as ImportMapping
from openrms.ingest.mapping import builtin_mappings, load_mapping
from openrms.ingest.rejects import Export
from openrms.store.database import Database


def _importer(request: Request) -> Subject:
    """Imports, runs and the quarantine (which holds raw source rows) are for those who may import."""
    subject = current_subject(request)
    require(subject, "import")
    return subject


router = APIRouter(tags=["imports"], dependencies=[Depends(_importer)])
Db = Annotated[Database, Depends(database)]
Importer = Annotated[Subject, Depends(_importer)]


def _own_agency(subject: Subject, agency: str | None) -> str:
    """Records are imported for the importer's agency only."""
    code = (agency or subject.agency).strip().upper()
    if code != subject.agency:
        raise Forbidden(f"you import for {subject.agency}; agency {code!r} is another agency")
    return code


def _mapping_ref(mapping: str | None, mapping_yaml: str | None) -> service.MappingRef:
    if bool(mapping) == bool(mapping_yaml):
        raise BadRequest(
            "give exactly one of `mapping` (a built-in mapping name) or `mapping_yaml` (its text)"
        )
    if mapping_yaml:
        return service.uploaded_mapping(mapping_yaml)
    return _builtin(str(mapping))


def agency_warnings(ref: service.MappingRef, agency: str, via: str = "over the API") -> list[str]:
    """Over HTTP (and on the web) records are always the caller's agency's: say so when the mapping names
    another, rather than import them silently as the caller's."""
    named = ref.agency if isinstance(ref, ImportMapping) else load_mapping(ref).agency
    if named and named.strip().upper() != agency:
        return [
            f"the mapping says agency {named}; {via} records are imported for your own agency, "
            f"{agency}, so these are {agency}'s"
        ]
    return []


def _builtin(name: str) -> str:
    """Over HTTP a mapping is named only from the built-ins: never a path on the server."""
    if name not in builtin_mappings():
        raise BadRequest(
            f"no built-in mapping of that name: {name!r} (built-in: {', '.join(builtin_mappings())}); "
            "send your own mapping's text as `mapping_yaml`"
        )
    return name


@router.post("/imports", summary="Upload a file and import it through a mapping")
def upload(
    request: Request,
    db: Db,
    subject: Importer,
    file: Annotated[UploadFile, File(description="The export to import")],
    mapping: Annotated[str | None, Form(description="Built-in mapping name, e.g. police-uk")] = None,
    mapping_yaml: Annotated[str | None, Form(description="Or the mapping YAML itself")] = None,
    agency: Annotated[str | None, Form()] = None,
    source_system: Annotated[str | None, Form()] = None,
    dry_run: Annotated[bool, Form()] = False,
    snapshot: Annotated[bool, Form()] = False,
    recorded_by: Annotated[
        str | None, Form(description="Recorded as who wrote the records (default: you)")
    ] = None,
    preview: Annotated[
        int | None,
        Form(ge=1, le=1000, description="Only show what the first N rows become; write nothing"),
    ] = None,
) -> dict[str, Any]:
    """Runs synchronously and answers with the reconciliation; import large files with the CLI. With
    `preview`, answers `{"preview": [...]}`: each of the first rows' records, links and problems."""
    ref = _mapping_ref(mapping, mapping_yaml)
    if preview is not None:
        shown = service.preview_upload(
            file.file,
            file.filename,
            ref,
            rows=preview,
            agency=_own_agency(subject, agency),
            source_system=source_system,
            dialect=db.dialect,
        )
        audited(request, "import-preview", (), {"file": file.filename, "rows": len(shown.rows)})
        return {"preview": shown.rows, "warnings": shown.warnings + agency_warnings(ref, subject.agency)}
    report = service.import_upload(
        db,
        file.file,
        file.filename,
        ref,
        agency=_own_agency(subject, agency),
        source_system=source_system,
        dry_run=dry_run,
        snapshot=snapshot,
        recorded_by=recorded_by or subject.username,
        workers=0,
    )
    report.warnings[:0] = agency_warnings(ref, subject.agency)
    shown = ref.ref if isinstance(ref, ImportMapping) else ref
    audited(request, "import", (), {"file": file.filename, "mapping": shown, "dry_run": dry_run})
    return report.as_dict()


class FeedPush(BaseModel):
    model_config = ConfigDict(extra="forbid")
    records: list[dict[str, Any]] = Field(
        description="Source records as objects of fields, as the mapping expects", max_length=10000
    )
    agency: str | None = None
    source_system: str | None = None
    recorded_by: str | None = Field(None, description="Recorded as who wrote the records (default: you)")
    dry_run: bool = False


@router.post("/feeds/{mapping}", summary="Push a live feed's records through a built-in mapping")
def push(mapping: str, body: FeedPush, request: Request, db: Db, subject: Importer) -> dict[str, Any]:
    ref = _mapping_ref(mapping, None)
    audited(request, "feed", (), {"mapping": mapping, "rows": len(body.records), "dry_run": body.dry_run})
    report = service.import_rows(
        db,
        body.records,
        ref,
        agency=_own_agency(subject, body.agency),
        source_system=body.source_system,
        recorded_by=body.recorded_by or subject.username,
        dry_run=body.dry_run,
    )
    report.warnings[:0] = agency_warnings(ref, subject.agency)
    return report.as_dict()


@router.get("/imports", summary="Your agency's import runs, newest first, with their reconciliation")
def list_runs(db: Db, subject: Importer, limit: int = 50) -> dict[str, Any]:
    with db.read() as conn:
        return {"items": runs.list_runs(conn, min(max(limit, 1), 500), agency=subject.agency)}


@router.get("/imports/{run_id}", summary="One of your agency's import runs")
def get_run(run_id: str, db: Db, subject: Importer) -> dict[str, Any]:
    with db.read() as conn:
        return runs.get_run(conn, run_id, agency=subject.agency)


def _quarantine_reader(subject: Importer) -> Subject:
    """Quarantined rows are raw source rows, personal data included: reading them needs a purpose, as
    reading records does, and each read is audited."""
    return with_declared_purpose(subject)


QuarantineReader = Annotated[Subject, Depends(_quarantine_reader)]
MATCHING = "Only rows one of whose reasons holds this text, in any case"
Matching = Annotated[str | None, Query(max_length=500, description=MATCHING)]


def _with_matching(detail: dict[str, Any], matching: str | None) -> dict[str, Any]:
    """An audit entry's detail, with the reason's text that chose the rows when one did."""
    return detail if matching is None else {**detail, "matching": matching}


@router.get("/quarantine", summary="Your agency's quarantined rows")
def list_quarantine(
    request: Request,
    db: Db,
    subject: QuarantineReader,
    run_id: str | None = None,
    status: str = "open",
    limit: int = 100,
    after: str | None = None,
    matching: Matching = None,
) -> dict[str, Any]:
    limit = min(max(limit, 1), 500)
    with db.read() as conn:
        items = runs.list_quarantine(
            conn,
            run_id=run_id,
            status=status,
            limit=limit,
            after=after,
            agency=subject.agency,
            matching=matching,
        )
    detail = {"run": run_id, "status": status, "returned": len(items)}
    audited(request, "quarantine-read", (), _with_matching(detail, matching))
    return {"items": items, "next_after": items[-1]["id"] if len(items) == limit else None}


@router.get(
    "/quarantine/export",
    summary="Your agency's quarantined rows as a file: CSV for a spreadsheet, or JSON Lines",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}}}},
)
def export_quarantine(
    request: Request,
    db: Db,
    subject: QuarantineReader,
    run_id: str | None = None,
    status: Annotated[str, Query(description="open, resolved, discarded, superseded or all")] = "open",
    fmt: Annotated[Literal["csv", "jsonl"], Query(alias="format")] = "csv",
    matching: Matching = None,
) -> StreamingResponse:
    """CSV: one line a row (entry, run, row, location, status, reasons, raw, then the source's fields in
    its order), cells a spreadsheet would run as formulas starting with an apostrophe. JSON Lines: each
    entry as `GET /quarantine/{id}` gives it. An unknown run is 404 before anything is sent."""
    export = Export(fmt, run_id, status, subject.agency, matching)
    count = export.count(db)
    audited(request, "quarantine-read", (), export.audit_detail(count))
    return attachment(export.pieces(db), export.media_type, export.file_name)


@router.get("/quarantine/{entry_id}", summary="One quarantined row with its raw content and reasons")
def get_entry(entry_id: str, request: Request, db: Db, subject: QuarantineReader) -> dict[str, Any]:
    with db.read() as conn:
        entry = runs.get_entry(conn, entry_id, agency=subject.agency)
    audited(request, "quarantine-read", (), {"run": entry["run_id"], "entry": entry_id})
    return entry


class Retry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    run_id: str | None = None
    entry_ids: list[str] | None = None
    mapping: str | None = Field(None, description="A built-in mapping to use instead of the run's")
    mapping_yaml: str | None = Field(None, description="Or the corrected mapping's YAML text")
    matching: str | None = Field(None, max_length=500, description=MATCHING)
    recorded_by: str | None = Field(None, description="Recorded as who wrote the records (default: you)")


@router.post("/quarantine/retry", summary="Re-map open rows after fixing the mapping or a code table")
def retry(body: Retry, request: Request, db: Db, subject: Importer) -> dict[str, Any]:
    summary = service.retry_quarantine(
        db,
        run_id=body.run_id,
        entry_ids=body.entry_ids,
        mapping_ref=_mapping_ref(body.mapping, body.mapping_yaml)
        if body.mapping or body.mapping_yaml
        else None,
        recorded_by=body.recorded_by or subject.username,
        agency=subject.agency,
        matching=body.matching,
    )
    detail = {"run": body.run_id, "entries": len(body.entry_ids or []), "retried": summary["retried"]}
    audited(request, "quarantine-retry", (), _with_matching(detail, body.matching))
    return summary


class Discard(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entry_ids: list[str] | None = Field(None, description="Entries to discard (default: all of run_id)")
    run_id: str | None = Field(None, description="Discard every open row of this run")
    matching: str | None = Field(None, max_length=500, description=MATCHING)
    reason: str = Field(min_length=3)
    by: str | None = Field(None, description="Who discarded them (default: you)")


@router.post("/quarantine/discard", summary="Close rows that should not be imported (kept with the reason)")
def discard(body: Discard, request: Request, db: Db, subject: Importer) -> dict[str, Any]:
    discarded = service.discard(
        db,
        body.entry_ids,
        run_id=body.run_id,
        by=body.by or subject.username,
        reason=body.reason,
        agency=subject.agency,
        matching=body.matching,
    )
    detail = {"run": body.run_id, "discarded": discarded}
    audited(request, "quarantine-discard", (), _with_matching(detail, body.matching))
    return {"discarded": discarded}
