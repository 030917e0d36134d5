"""What the CLI and the API call: import a source, retry quarantine, discard entries."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

import openrms.identity.hooks  # imported records join the master index as they are written
import openrms.search.hooks  # noqa: F401  (... and are findable the moment their batch commits)
from openrms.errors import BadRequest
from openrms.ingest import runs
from openrms.ingest.mapping import Mapping as ImportMapping
from openrms.ingest.mapping import MappingError, load_mapping, parse_mapping
from openrms.ingest.mapping.errors import column_problems
from openrms.ingest.memory import MemoryReader
from openrms.ingest.pipeline import Importer, ImportReport, Progress, source_digest
from openrms.ingest.preview import Preview, preview_rows
from openrms.ingest.readers import open_reader, text_size
from openrms.ingest.rows import Reader, SourceRow
from openrms.ingest.worker import FieldWatch, WorkerContext
from openrms.store.database import Database

UPLOADED = "uploaded: "  # how a run names a mapping sent as text: "uploaded: " and the mapping's `name:`

MappingRef = str | Path | ImportMapping  # a mapping file, a built-in's name, or one already parsed


def uploaded_mapping(text: str, where: str = "mapping_yaml") -> ImportMapping:
    """A mapping sent as YAML text (over HTTP). `where` names it in its errors; the run records it as
    "uploaded: NAME" with its text, which is what a later retry re-maps with."""
    mapping = parse_mapping(text, where)
    mapping.ref = f"{UPLOADED}{mapping.name}"
    return mapping


def _prepare_mapping(ref: MappingRef, agency: str | None, source_system: str | None) -> ImportMapping:
    """The mapping for this import's target. Whose records they are must be known before a row is read:
    without it every row would be quarantined for the same reason."""
    if isinstance(ref, ImportMapping):  # compiled again, for this target's agency and source system
        mapping = parse_mapping(ref.text, ref.origin, agency=agency, source_system=source_system)
        mapping.ref = ref.ref
    else:
        mapping = load_mapping(ref, agency=agency, source_system=source_system)
    for what, value, option in (
        ("agency", mapping.agency, "--agency"),
        ("source_system", mapping.source_system, "--source"),
    ):
        if not value:
            raise MappingError(
                mapping.origin, [(0, f"no {what}: add `{what}:` to the mapping, or give it with {option}")]
            )
    return mapping


def _mapping_and_source(
    ref: MappingRef,
    agency: str | None,
    source_system: str | None,
    source: str | Path,
    reader_options: Mapping[str, Any] | None,
    query: str | None,
) -> tuple[ImportMapping, Reader]:
    """The mapping and the source's reader. A mapping that fails to compile is checked against the file's
    columns as well, so that a person writing one learns of every problem in one round, not two."""
    try:
        mapping = _prepare_mapping(ref, agency, source_system)
    except MappingError as exc:
        raise _with_column_problems(exc, source, reader_options, query) from None
    return mapping, _open_source(source, mapping, reader_options, query)


def _with_column_problems(
    exc: MappingError, source: str | Path, reader_options: Mapping[str, Any] | None, query: str | None
) -> MappingError:
    if not exc.fields_used or exc.source is None or query is not None:  # a query is not run for this
        return exc
    try:
        columns = open_reader(str(source), {**exc.source, **(reader_options or {})}).columns
    except BadRequest:  # the source cannot be opened with those options: the mapping's problems stand
        return exc
    if columns is None:
        return exc
    return MappingError(exc.origin, exc.items + column_problems(exc.fields_used, columns))


def _open_source(
    source: str | Path, mapping: ImportMapping, reader_options: Mapping[str, Any] | None, query: str | None
) -> Reader:
    """The source's reader, once the mapping's fields are known to be among its columns."""
    spec = {"format": "sql", "query": query} if query else {**mapping.source, **(reader_options or {})}
    reader = open_reader(str(source), spec)
    if reader.columns is not None:
        mapping.check_columns(reader.columns)
    return reader


def import_source(
    db: Database,
    source: str | Path,
    mapping_ref: MappingRef,
    *,
    source_name: str | None = None,
    agency: str | None = None,
    source_system: str | None = None,
    reader_options: Mapping[str, Any] | None = None,
    query: str | None = None,
    dry_run: bool = False,
    snapshot: bool = False,
    recorded_by: str = "import",
    batch_size: int = 2000,
    commit_rows: int | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    progress_total: Progress | None = None,
) -> ImportReport:
    """Import a file (or, with `query`, a database table or query) through a mapping. `source_name` is
    what the run shows as its source instead of the path (an upload's own name, not its scratch file).
    `progress` is told the rows done as they are committed; `progress_total`, the rows the file is
    estimated to hold (from the text the rows so far took), for a progress bar's time left."""
    mapping, reader = _mapping_and_source(mapping_ref, agency, source_system, source, reader_options, query)
    shown = str(source) if query is None else source_digest(str(source), query)[:12]
    return Importer(
        db,
        reader,
        mapping,
        source=source_name or shown,
        file_name=None if query else str(source),
        digest=source_digest(str(source), query, None if query else reader_options),
        agency=mapping.agency,
        source_system=mapping.source_system,
        recorded_by=recorded_by,
        dry_run=dry_run,
        snapshot=snapshot,
        batch_size=batch_size,
        commit_rows=commit_rows,
        workers=workers,
        progress=progress,
        verify_prefix=query is not None,
        watch_fields=query is None and reader.columns is None,
        source_size=None if query else text_size(Path(source)),
        progress_total=progress_total,
    ).run()


@contextmanager
def _scratch_copy(stream: BinaryIO, filename: str | None) -> Iterator[tuple[Path, str]]:
    """A file sent over HTTP saved in a private scratch directory, removed when the block ends; with the
    name it is shown by (its own, not the scratch path)."""
    name = Path(filename or "").name
    name = name if name not in ("", ".", "..") else "upload"
    with tempfile.TemporaryDirectory(prefix="openrms-upload-") as scratch:
        target = Path(scratch) / name
        with target.open("wb") as handle:
            shutil.copyfileobj(stream, handle, 1 << 20)
        yield target, name


def import_upload(
    db: Database, stream: BinaryIO, filename: str | None, mapping_ref: MappingRef, **options: Any
) -> ImportReport:
    """Import a file sent over HTTP. `options` are `import_source`'s."""
    with _scratch_copy(stream, filename) as (target, name):
        return import_source(db, target, mapping_ref, source_name=name, **options)


def preview_upload(
    stream: BinaryIO, filename: str | None, mapping_ref: MappingRef, **options: Any
) -> Preview:
    """`preview_source` of a file sent over HTTP."""
    with _scratch_copy(stream, filename) as (target, _):
        return preview_source(target, mapping_ref, **options)


def preview_source(
    source: str | Path,
    mapping_ref: MappingRef,
    *,
    rows: int = 5,
    agency: str | None = None,
    source_system: str | None = None,
    reader_options: Mapping[str, Any] | None = None,
    query: str | None = None,
    dialect: str = "sqlite",
) -> Preview:
    """What the first `rows` rows become (see `openrms.ingest.preview`); reads no database, writes nothing."""
    if rows < 1:
        raise BadRequest(f"preview at least one row, not {rows}")
    mapping, reader = _mapping_and_source(mapping_ref, agency, source_system, source, reader_options, query)
    file = None if query else str(source)
    watch = FieldWatch(mapping.field_lines) if reader.columns is None else None
    context = WorkerContext(
        mapping, mapping.agency, mapping.source_system, "preview", dialect, file, fields=watch
    )
    return preview_rows(context, islice(reader.rows(), rows))


def import_rows(
    db: Database,
    rows: Iterable[Mapping[str, Any]],
    mapping_ref: MappingRef,
    *,
    agency: str | None = None,
    source_system: str | None = None,
    recorded_by: str = "feed",
    dry_run: bool = False,
) -> ImportReport:
    """A live feed's records pushed as JSON objects: the same mapping, validation and quarantine as a file."""
    mapping = _prepare_mapping(mapping_ref, agency, source_system)
    rows = list(rows)
    reader: Reader = MemoryReader(rows, "pushed record")
    unique = hashlib.sha256(f"{uuid.uuid4()}".encode()).hexdigest()  # every push is its own run
    return Importer(
        db,
        reader,
        mapping,
        source="pushed records",
        digest=unique,
        agency=mapping.agency,
        source_system=mapping.source_system,
        recorded_by=recorded_by,
        dry_run=dry_run,
        workers=0,
    ).run()


def retry_quarantine(
    db: Database,
    *,
    run_id: str | None = None,
    entry_ids: list[str] | None = None,
    mapping_ref: MappingRef | None = None,
    recorded_by: str = "import",
    agency: str | None = None,
    matching: str | None = None,
) -> dict[str, Any]:
    """Re-map open quarantined rows (after fixing the mapping or a code table). Each entry is resolved, or
    keeps its row with fresh reasons. Rows keep their numbers and file, so keys built from `$row`, `$file`
    or `$line` come out as they would have. Rows that could not be parsed need the source fixed and
    re-imported. With `agency`, only that agency's runs are touched (see `runs.open_entries`)."""
    if not run_id and not entry_ids and matching is None:
        raise BadRequest("name a run (--run), quarantine entry ids or a reason's text (--matching) to retry")
    with db.read() as conn:
        if run_id:
            runs.check_run(conn, run_id, agency=agency)
        entries = runs.open_entries(
            conn, run_id=run_id, entry_ids=entry_ids, agency=agency, matching=matching
        )
    summary: dict[str, Any] = {"retried": 0, "resolved": 0, "still_open": 0, "unparsed": 0, "runs": []}
    by_run: dict[str, list[Any]] = {}
    for entry in entries:
        by_run.setdefault(entry.run_id, []).append(entry)
    for group in by_run.values():
        first = group[0]
        parsed = [e for e in group if e.fields is not None]
        summary["unparsed"] += len(group) - len(parsed)
        if not parsed:
            continue
        mapping = _retry_mapping(mapping_ref, first)
        rows = [SourceRow(e.row_number, e.location, e.raw, e.fields) for e in parsed]
        report = Importer(
            db,
            MemoryReader(rows),
            mapping,
            source=f"retry of run {first.run_id}",  # fits the 40 characters `import runs` shows
            digest=uuid.uuid4().hex,
            agency=first.agency,
            source_system=first.source_system,
            recorded_by=recorded_by,
            workers=0,
            retry_of={e.row_number: e.id for e in parsed},
            file_name=first.source,
        ).run()
        summary["retried"] += len(rows)
        summary["still_open"] += report.tally.rows["quarantined"]
        summary["resolved"] += len(rows) - report.tally.rows["quarantined"]
        summary["runs"].append(report.run_id)
    return summary


def _retry_mapping(explicit: MappingRef | None, entry: Any) -> Any:
    """The corrected mapping if given; else the run's mapping as it is now (a built-in or a file that may
    have been fixed); else the text the run used, when the file is gone or the mapping was uploaded."""
    if explicit is not None:
        return _prepare_mapping(explicit, entry.agency, entry.source_system)
    if not entry.mapping.startswith(UPLOADED):
        try:
            return _prepare_mapping(entry.mapping, entry.agency, entry.source_system)
        except MappingError:
            if not entry.mapping_text:
                raise
    mapping = parse_mapping(
        entry.mapping_text, entry.mapping, agency=entry.agency, source_system=entry.source_system
    )
    mapping.ref = entry.mapping
    return mapping


def discard(
    db: Database,
    entry_ids: list[str] | None = None,
    *,
    run_id: str | None = None,
    by: str,
    reason: str,
    agency: str | None = None,
    matching: str | None = None,
) -> int:
    """Close open rows that should not be imported: the entries named, every open row of `run_id`, or every
    open row one of whose reasons holds `matching` (those all the given choices agree on), of `agency`'s
    runs if given. They stay on record with who discarded them and why."""
    if not run_id and not entry_ids and matching is None:
        raise BadRequest(
            "name a run (--run), quarantine entry ids or a reason's text (--matching) to discard"
        )
    if not reason or len(reason) < 3:
        raise BadRequest("say why the rows are discarded (--reason)")
    with db.write() as conn:
        if run_id:
            runs.check_run(conn, run_id, agency=agency)
        chosen = runs.open_entries(
            conn, run_id=run_id, entry_ids=entry_ids or None, agency=agency, matching=matching
        )
        closed = [e.id for e in chosen]
        return runs.close_entries(conn, closed, "discarded", by, reason, dt.datetime.now(dt.UTC))
