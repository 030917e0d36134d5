"""Running an import: read, map and validate (in a worker), write in checkpointed batches, reconcile.

Crash safety comes from one rule: batches' records, links, quarantine entries and the run's checkpoint
are written in one transaction (a few batches to each, see `_commit_due`). Killing the process at any
moment leaves the checkpoint naming the last row that is fully in; running the same command again finds
the unfinished run (same source bytes, same mapping, same target) and continues after it. Record ids are
derived from source keys, so even a row written twice would change nothing.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url

from openrms.ingest import runs, worker
from openrms.ingest.dryrun import SeenSoFar, seen_so_far
from openrms.ingest.rows import Reader, SourceRow
from openrms.ingest.runs import Tally
from openrms.store.checkpoint import background_checkpoints
from openrms.store.database import Database
from openrms.store.links import (
    PreparedLink,
    link_statuses,
    live_source_links,
    prepare_stored_ends,
    replaced_links,
    retract_replaced,
    retract_unseen_links,
    write_prepared_links,
)
from openrms.store.records import existing, live_source_records, retract_records, write_prepared
from openrms.store.tables import import_seen, record

Progress = Callable[[int], None]
BATCH_BYTES = 1 << 20  # source text per batch at most (see `_batches`)
COMMIT_ROWS = 20_000  # source rows per transaction at most (see `_commit_due`)
COMMIT_SECONDS = 2.0  # and seconds of writing


class _Statistics:
    """When a load refreshes PostgreSQL's statistics (`Database.refresh_statistics`): whenever the rows it
    has read since the last refresh reach the records the table held then, so the planner never believes
    a table less than half its size. Into an empty database that is after the first batch, then each time
    the tables have doubled; into a large one, rarely or never. Refreshing after fixed batch counts cost a
    quarter of a PostgreSQL import's time once the tables were large, each refresh sampling them afresh."""

    def __init__(self, db: Database, first: int) -> None:
        self.enabled = db.dialect == "postgresql"
        self.basis = max(db.estimated_rows("record"), first) if self.enabled else 0
        self.since = 0

    def due(self, pending: Tally) -> bool:
        """Whether to refresh once `pending` (the open transaction's rows) is committed."""
        return self.enabled and self.since + pending.rows["read"] >= self.basis

    def committed(self, pending: Tally) -> bool:
        """Count the rows of a committed transaction; whether to refresh the statistics now."""
        self.since += pending.rows["read"]
        if not (self.enabled and self.since >= self.basis):
            return False
        self.basis, self.since = self.basis + self.since, 0
        return True


def _commit_due(pending: Tally, started: float, statistics: _Statistics, rows: int) -> bool:
    """Whether the open transaction should commit now that it holds `pending`.

    Record ids are hashes of source keys, so every row lands on a random page of a dozen indexes, and a
    commit writes each page its transaction touched. A 2,000-row batch touches most pages of a young
    database's indexes: committing every batch wrote 33 kB a row to disk (log and checkpoints), and several
    batches to a commit write half that. Memory does not grow with it (a batch is let go once written; the
    pages wait in SQLite's bounded cache). A commit is still due after `COMMIT_SECONDS`, so other writers
    wait no longer than that, and where PostgreSQL's statistics are refreshed, so they see the rows."""
    return (
        pending.rows["read"] >= rows
        or time.monotonic() - started >= COMMIT_SECONDS
        or statistics.due(pending)
    )


@dataclass
class ImportReport:
    run_id: str | None
    status: str
    tally: Tally
    seconds: float = 0.0
    resumed_after: int = 0
    retracted: int = 0
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "dry_run": self.dry_run,
            "warnings": self.warnings,
            "seconds": round(self.seconds, 3),
            "resumed_after_row": self.resumed_after,
            "retracted": self.retracted,
            "balanced": self.tally.balanced(),
            **self.tally.as_dict(),
        }


def source_digest(source: str, query: str | None = None, options: Mapping[str, Any] | None = None) -> str:
    """Identity of a source for resuming: the file's bytes, or a database URL (no password) with its query;
    and the reader options given with the import, if any. The same file read with another delimiter or
    encoding is another sequence of rows, so a run interrupted with one must not be resumed with the other
    (the mapping's own `source:` options are part of its digest already)."""
    digest = hashlib.sha256()
    path = Path(source)
    if query is None and path.is_file():
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    else:
        shown = make_url(source).render_as_string(hide_password=True) if "://" in source else source
        digest.update(f"{shown}\n{query or ''}".encode())
    if options:
        digest.update(b"\0" + repr(sorted((str(k), repr(v)) for k, v in options.items())).encode())
    return digest.hexdigest()


class SourceChanged(Exception):
    """Resuming a run whose source's rows up to its checkpoint are no longer those it read."""


class SourceBatch(list[SourceRow]):
    """A batch of source rows, with the digest of all the source's rows up to its last, where kept, and (the
    first batch of a resumed run) the names of the fields the rows it skipped had."""

    digest: str | None = None
    skipped_fields: tuple[str, ...] = ()


class _Prefix:
    """The digest of a source's rows in order, for a source that its bytes cannot identify: a query, whose
    table may change between an interrupted run and the command that resumes it. Each checkpoint keeps the
    digest of the rows up to it; resuming reads the rows it skips, and checks them against it, so that it
    never skips rows it did not import (a row inserted before the checkpoint in the query's order)."""

    def __init__(self, run: str | None, after: int, expected: str | None) -> None:
        self.run, self.after, self.expected = run, after, expected
        self.read = 0
        self._hash = hashlib.blake2b(digest_size=32)

    def add(self, row: SourceRow) -> None:
        """Take the next row in; before the first row past the checkpoint, `check` the rows skipped."""
        if self.read == self.after:
            self.check()
        self.read += 1
        self._hash.update(f"{len(row.raw)}:{row.raw}|{row.error or ''}\x1e".encode("utf-8", "surrogatepass"))

    def digest(self) -> str:
        return self._hash.hexdigest()

    def check(self) -> None:
        """Raise `SourceChanged` unless the rows read so far are the ones the run's checkpoint covers (at the
        end of the source too: it may have fewer rows now)."""
        if self.expected is None or self.read > self.after:
            return
        if self.read < self.after:
            differ = f"has {self.read:,} rows now, fewer than the {self.after:,} it had imported"
        elif self.digest() != self.expected:
            differ = f"gives other rows than it did in its first {self.after:,}"
        else:
            return
        raise SourceChanged(f"the source of run {self.run} {differ} when it stopped")


def _batches(
    rows: Iterator[SourceRow],
    size: int,
    after: int,
    max_bytes: int = BATCH_BYTES,
    prefix: _Prefix | None = None,
    note_skipped: bool = False,
) -> Iterator[SourceBatch]:
    """Batches of `size` rows, cut short once they hold `max_bytes` of source text: a batch in flight costs
    some 30 times its source text in memory (records, versions, index entries, statements), so rows
    carrying long narratives come in smaller batches and memory stays flat whatever the rows are like.
    Rows up to `after` are skipped, and with a `prefix`, checked against it before the first is sent;
    with `note_skipped`, the first batch carries the names of the fields they had (see FieldWatch)."""
    batch, held = SourceBatch(), 0
    skipped: dict[str, None] = {}

    def sealed(batch: SourceBatch) -> SourceBatch:
        nonlocal skipped
        batch.digest = prefix.digest() if prefix is not None else None
        if skipped:  # only the first batch has any
            batch.skipped_fields, skipped = tuple(skipped), {}
        return batch

    for row in rows:
        if prefix is not None:
            prefix.add(row)
        if row.number <= after:
            if note_skipped and row.fields:
                skipped.update(dict.fromkeys(row.fields))
            continue
        batch.append(row)
        held += len(row.raw)
        if len(batch) >= size or held >= max_bytes:
            yield sealed(batch)
            batch, held = SourceBatch(), 0
    if prefix is not None:
        prefix.check()
    if batch:
        yield sealed(batch)


def _mapped_here(batches: Iterator[list[SourceRow]]) -> Iterator[tuple[worker.MappedBatch, dt.datetime]]:
    for batch in batches:
        now = dt.datetime.now(dt.UTC)
        yield worker.map_batch(batch, now), now


def _missing_refs(conn: Connection, mapped: worker.MappedBatch) -> set[str]:
    wanted = {rid for row in mapped.rows for rid in row.refs}
    wanted -= mapped.prepared.keys()
    return wanted - existing(conn, wanted).keys() if wanted else set()


def _exclude(mapped: worker.MappedBatch, missing: set[str]) -> None:
    """Quarantine rows whose referenced records do not exist, and drop what only they would have written."""
    keep_records: set[str] = set()
    keep_links: set[int] = set()
    for row in mapped.rows:
        gone = [desc for rid, desc in row.refs.items() if rid in missing]
        if row.status == "ok" and gone:
            row.status = "quarantined"
            row.reasons = [
                f"refers to {desc}, which does not exist (import it first, then retry)" for desc in gone
            ]
        elif row.status == "ok":
            keep_records.update(row.record_ids)
            keep_links.update(row.link_ids)
    mapped.prepared = {k: v for k, v in mapped.prepared.items() if k in keep_records}
    mapped.links = [link for i, link in enumerate(mapped.links) if i in keep_links]
    mapped.prepared_links = [p for i, p in enumerate(mapped.prepared_links) if i in keep_links]


def _prepared_links(conn: Connection, mapped: worker.MappedBatch, now: dt.datetime) -> list[PreparedLink]:
    """The batch's links as the worker encoded them; checked and encoded here (raising what `upsert_links`
    always raised) only when the worker could not."""
    if not mapped.links:
        return []
    if mapped.links_ready():
        return [p for p in mapped.prepared_links if p is not None]
    return prepare_stored_ends(conn, mapped.links, now, mapped.types)


def _write_links(
    conn: Connection,
    mapped: worker.MappedBatch,
    now: dt.datetime,
    statuses: dict[str, str],
    since: dt.datetime,
    recorded_by: str,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Write the batch's links; then retract those that links the batch created replace (the source
    moved an end: see `retract_replaced`). Returns the links' outcomes and the retracted links' ids."""
    prepared = _prepared_links(conn, mapped, now)
    outcomes = write_prepared_links(conn, prepared, now)
    created = [p for p, o in zip(prepared, outcomes, strict=True) if o["status"] == "created"]
    given, new_records = {p.id for p in prepared}, _created(statuses)
    return outcomes, retract_replaced(conn, created, given, new_records, since, recorded_by, now)


def _created(statuses: dict[str, str]) -> set[str]:
    return {rid for rid, status in statuses.items() if status == "created"}


def _tally_rows(mapped: worker.MappedBatch, statuses: dict[str, str]) -> Tally:
    tally = Tally()
    for row in mapped.rows:
        tally.rows["read"] += 1
        if row.status != "ok":
            tally.rows[row.status] += 1
            tally.add_reasons(row.reasons)
            continue
        seen = {statuses.get(rid, "unchanged") for rid in row.record_ids}
        tally.rows[next((s for s in ("created", "updated") if s in seen), "unchanged")] += 1
    return tally


@contextmanager
def _long_lived_frozen() -> Iterator[None]:
    """Keep what the process held before the import (modules, the schema registry, the compiled mapping,
    SQLAlchemy's caches) out of the cyclic garbage collector's sight while the import runs.

    An import allocates tens of objects a row, so the collector runs constantly, and each full collection
    traverses every object of the process: a fifth of an import's CPU time went there. `gc.freeze` is the
    standard remedy (taken before the worker forks, it also keeps the collector from touching, and so
    copying, the memory the worker shares with this process). Nothing is lost: what is frozen here is
    unfrozen at the end, and a process that froze its heap itself (a pre-forking server) is left as it was.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class Importer:
    """One import of one source with one compiled mapping into one database."""

    def __init__(
        self,
        db: Database,
        reader: Reader,
        mapping: Any,
        *,
        source: str,
        digest: str,
        agency: str,
        source_system: str,
        recorded_by: str = "import",
        dry_run: bool = False,
        snapshot: bool = False,
        batch_size: int = 2000,
        commit_rows: int | None = None,
        workers: int | None = None,
        progress: Progress | None = None,
        retry_of: dict[int, str] | None = None,
        file_name: str | None = None,
        verify_prefix: bool = False,
        watch_fields: bool = False,
        source_size: int | None = None,
        progress_total: Progress | None = None,
    ) -> None:
        self.db, self.reader, self.mapping = db, reader, mapping
        self.source, self.digest = source, digest
        self.agency, self.source_system, self.recorded_by = agency, source_system, recorded_by
        self.dry_run, self.snapshot, self.batch_size = dry_run, snapshot, batch_size
        self.commit_rows = commit_rows or COMMIT_ROWS  # source rows per transaction at most
        # 0: read and map in this process. Any other number: one worker process reads and maps (the writer
        # is the bottleneck, so more would only wait). None: a worker when there is a core to spare for it.
        # A worker is forked (see `worker.mapped_in_child`); Windows cannot fork, so it maps in-process there.
        spare = (os.cpu_count() or 1) > 1 and worker.CAN_FORK
        self.workers = (1 if spare else 0) if workers is None else min(workers, 1 if worker.CAN_FORK else 0)
        self.progress = progress or (lambda n: None)
        # The rows the whole source is estimated to have, told to `progress_total` as rows come in, so that
        # a progress bar can show the time left: the rows done so far scaled by the share of the source's
        # `source_size` (bytes of text; None when unknown, as for a query) they took.
        self.source_size, self.progress_total = source_size, progress_total
        self._rows_done = self._chars_done = self._chars_open = 0
        # Whether checkpoints keep a digest of the rows up to them (see `_Prefix`): for a source whose
        # digest is not that of its rows (a query), which may give other rows when a run resumes.
        self.verify_prefix = verify_prefix
        # Whether to warn of fields the mapping reads that no row has (see `worker.FieldWatch`): for a
        # source that declares no columns to check the mapping against before it starts.
        self.watch_fields = watch_fields
        self.field_warnings: list[str] = []
        self.fresh = False  # start a run of its own, even if an interrupted one could be resumed
        self.first_warnings: list[str] = []  # why, if so
        self.tally = Tally()
        # When the run started: links written since are this run's own, never replaced by it (see
        # `retract_replaced`).
        self.started = dt.datetime.now(dt.UTC)
        self.replaced_dry: set[str] = set()  # links a dry run has counted as retracted
        self.link_types_dry: set[str] = set()  # the types of the links a dry run has met
        # Retrying quarantine: source row number -> the entry it came from, updated instead of duplicated.
        self.retry_of = retry_of or {}
        # The file `$file` and `$line` refer to: the source itself, or (retrying) the file the rows came from.
        self.file_name = file_name or (source if Path(source).is_file() else None)
        # Open quarantine entries of earlier runs of this agency and source system, by raw row digest
        self.earlier: dict[str, list[tuple[str, str]]] = {}
        # ... and the rows a person discarded from them, by the same digest: why (see runs.discarded_rows)
        self.discarded: dict[str, str] = {}

    def run(self) -> ImportReport:
        with _long_lived_frozen():
            try:
                return self._run()
            except SourceChanged as changed:  # raised before the resumed run wrote anything
                self.tally, self.fresh = Tally(), True
                self.first_warnings = [
                    f"{changed}: it was not resumed (it is marked failed), and this new run read the source "
                    "from its first row; nothing is duplicated, as imports are idempotent"
                ]
                return self._run()

    def _run(self) -> ImportReport:
        started = self.started = dt.datetime.now(dt.UTC)
        if not (self.dry_run or self.retry_of):
            self.earlier, self.discarded = self._earlier_entries()
        run_id, after, expected = (None, 0, None) if self.dry_run else self._open_run(started)
        worker.CONTEXT = worker.WorkerContext(
            self.mapping,
            self.agency,
            self.source_system,
            self.recorded_by,
            self.db.dialect,
            self.file_name,
            keep_raw=bool(self.earlier),
            fields=worker.FieldWatch(self.mapping.field_lines) if self.watch_fields else None,
        )
        report = ImportReport(run_id, "running", self.tally, resumed_after=after, dry_run=self.dry_run)
        report.warnings += self.first_warnings
        prefix = _Prefix(run_id, after, expected) if self.verify_prefix and not self.dry_run else None
        try:
            with self._mapping(after, prefix) as batches:
                if self.dry_run:
                    with seen_so_far() as seen:
                        for mapped, now in batches:
                            self._count_dry(mapped, now, seen)
                            self._chars_done += mapped.source_chars
                            self._progressed(len(mapped.rows))
                        if self.snapshot:
                            report.retracted = self._snapshot_end(
                                report, lambda: self._count_unseen(seen), lambda: self._unseen_dry(seen)
                            )
                else:
                    assert run_id is not None
                    self._write_all(run_id, batches)
            report.warnings += self.field_warnings
            if self.snapshot and run_id is not None:
                report.retracted = self._snapshot_end(
                    report, lambda: self._retract_unseen(run_id), lambda: self._unseen(run_id)
                )
        except BaseException as exc:
            if run_id is not None and not isinstance(exc, KeyboardInterrupt):
                with self.db.write() as conn:
                    runs.finish_run(
                        conn,
                        run_id,
                        "failed",
                        self.tally,
                        dt.datetime.now(dt.UTC),
                        str(exc)[:2000],
                        report.warnings,
                    )
            raise
        report.status = "completed"
        if run_id is not None:
            with self.db.write() as conn:
                now = dt.datetime.now(dt.UTC)
                runs.finish_run(conn, run_id, "completed", self.tally, now, warnings=report.warnings)
        report.seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
        return report

    def _earlier_entries(self) -> tuple[dict[str, list[tuple[str, str]]], dict[str, str]]:
        with self.db.read() as conn:
            return (
                runs.earlier_entries(conn, self.agency, self.source_system),
                runs.discarded_rows(conn, self.agency, self.source_system),
            )

    def _open_run(self, now: dt.datetime) -> tuple[str, int, str | None]:
        """The run to write to, the source row it starts after, and the digest of the rows up to there
        where the run kept one: an interrupted run of this same import, resumed, or a new one."""
        with self.db.write() as conn:
            previous = None
            if not self.fresh:
                previous = runs.unfinished_run(
                    conn, self.digest, self.mapping.digest, self.agency, self.source_system, self.snapshot
                )
            if previous is not None:
                self.tally.merge(Tally.from_dict(previous.counts))
                self.started = previous.started_at  # what it wrote before it stopped is this run's own
                return previous.id, previous.checkpoint, previous.checkpoint_digest
            run_id = runs.start_run(
                conn,
                mapping=self.mapping.ref,
                mapping_text=getattr(self.mapping, "text", None),
                source=self.source,
                source_digest=self.digest,
                mapping_digest=self.mapping.digest,
                agency=self.agency,
                source_system=self.source_system,
                snapshot=self.snapshot,
                started_by=self.recorded_by,
                now=now,
            )
            return run_id, 0, None

    @contextmanager
    def _mapping(
        self, after: int, prefix: _Prefix | None
    ) -> Iterator[Iterator[tuple[worker.MappedBatch, dt.datetime]]]:
        """The source's rows after `after`, mapped batch by batch: by a worker process, started here
        before the writer starts any thread of its own (see `worker.mapped_in_child`), or in-process."""

        def batches() -> Iterator[list[SourceRow]]:
            # a resumed run's watch meets the fields of the rows before its checkpoint too
            note = self.watch_fields and after > 0
            return _batches(self.reader.rows(), self.batch_size, after, prefix=prefix, note_skipped=note)

        if self.workers > 0:
            with worker.mapped_in_child(batches) as mapped:
                yield mapped
            return
        yield _mapped_here(batches())

    def _write_all(self, run_id: str, batches: Iterator[tuple[worker.MappedBatch, dt.datetime]]) -> None:
        """Write the batches, several to a transaction (see `_commit_due`), each transaction saving the
        checkpoint of its last batch; the tally counts only what has been committed."""
        statistics = _Statistics(self.db, first=self.batch_size)
        with background_checkpoints(self.db) as checkpoints, worker.collector_paused():
            for first in batches:
                checkpoints.before_write()
                pending = Tally()
                self._write_transaction(run_id, first, batches, pending, statistics)
                first = None  # the batches are let go before the collector runs
                gc.collect()
                self.tally.merge(pending)
                checkpoints.after_commit()
                self._chars_done, self._chars_open = self._chars_done + self._chars_open, 0
                self._progressed(pending.rows["read"])  # rows count as done once committed
                if statistics.committed(pending):
                    self.db.refresh_statistics()  # keep PostgreSQL's plans right as the tables grow

    def _write_transaction(
        self,
        run_id: str,
        first: tuple[worker.MappedBatch, dt.datetime],
        batches: Iterator[tuple[worker.MappedBatch, dt.datetime]],
        pending: Tally,
        statistics: _Statistics,
    ) -> None:
        """One transaction: `first` and the batches that follow it until a commit is due.

        `_write_all` runs it with the cyclic garbage collector paused, and collects once after it: a batch
        and the rows built to write it are tens of thousands of objects without cycles, which every
        collection of the young generation traversed again (a tenth of the writer's time). They are freed
        by their reference counts when this returns, so that one collection finds only what the
        transaction left over, and costs little: what the process held before the import is frozen (see
        `_long_lived_frozen`).
        """
        started = time.monotonic()
        with self.db.write() as conn:
            mapped, now = first
            while True:
                self._write(conn, run_id, mapped, now, pending)
                if _commit_due(pending, started, statistics, self.commit_rows):
                    break
                following = next(batches, None)
                if following is None:
                    break
                mapped, now = following
            so_far = Tally()
            so_far.merge(self.tally)
            so_far.merge(pending)
            runs.save_progress(conn, run_id, mapped.last_number, so_far, mapped.prefix_digest)

    def _progressed(self, rows: int) -> None:
        self.progress(rows)
        self._rows_done += rows
        if self.progress_total is None or not (self.source_size and self._chars_done):
            return
        # a resumed run: the rows before its checkpoint were not timed
        if self.tally.rows["read"] > self._rows_done:
            return
        estimate = round(self._rows_done * self.source_size / self._chars_done)
        self.progress_total(max(estimate, self._rows_done))

    def _write(
        self, conn: Connection, run_id: str, mapped: worker.MappedBatch, now: dt.datetime, tally: Tally
    ) -> None:
        self.field_warnings = mapped.field_warnings
        self._chars_open += mapped.source_chars
        missing = _missing_refs(conn, mapped)
        if missing:
            _exclude(mapped, missing)
        outcomes = write_prepared(conn, list(mapped.prepared.values()), now)
        statuses = {o.id: o.status for o in outcomes}
        link_outcomes, replaced = _write_links(conn, mapped, now, statuses, self.started, self.recorded_by)
        batch = _tally_rows(mapped, statuses)
        for outcome in outcomes:
            batch.add_records(outcome.entity_type, outcome.status)
        batch.links.update(o["status"] for o in link_outcomes)
        if replaced:
            batch.links["retracted"] += len(replaced)
        self._quarantine(conn, run_id, mapped, now, batch)
        if self.earlier:
            self._close_earlier(conn, run_id, mapped, now, batch)
        if self.snapshot:
            self._mark_seen(conn, run_id, [*mapped.prepared.keys(), *(o["id"] for o in link_outcomes)])
        tally.merge(batch)

    def _close_earlier(
        self, conn: Connection, run_id: str, mapped: worker.MappedBatch, now: dt.datetime, tally: Tally
    ) -> None:
        """Close earlier runs' open entries of rows this batch met again: superseded by this run's entry if
        the row is still bad, resolved if it now imports (or is skipped), so each bad row of a source has
        one open entry however often its file is imported."""
        closing: dict[str, list[str]] = {}
        for row in mapped.rows:
            if not row.raw or not self.earlier:
                continue
            entries = self.earlier.pop(runs.raw_digest(row.raw), [])
            how = "superseded" if row.status == "quarantined" else "resolved"
            closing.setdefault(how, []).extend(e for e, run in entries if run != run_id)
        for how, entry_ids in closing.items():
            if entry_ids:
                verb = "quarantined again" if how == "superseded" else "imported"
                runs.close_entries(conn, entry_ids, how, self.recorded_by, f"{verb} by run {run_id}", now)
                tally.earlier[how] += len(entry_ids)

    def _quarantine(
        self, conn: Connection, run_id: str, mapped: worker.MappedBatch, now: dt.datetime, tally: Tally
    ) -> None:
        fresh = []
        for row in mapped.rows:
            entry = self.retry_of.get(row.number)
            if entry is None:
                if row.status == "quarantined":
                    discarded = self.discarded.get(runs.raw_digest(row.raw)) if self.discarded else None
                    fresh.append(
                        {
                            "number": row.number,
                            "location": row.location,
                            "raw": row.raw,
                            "fields": row.fields,
                            "reasons": row.reasons,
                            "discarded": discarded,
                            "discarded_by": self.recorded_by if discarded else None,
                        }
                    )
                    if discarded:
                        tally.earlier["discarded"] += 1
            elif row.status == "quarantined":
                runs.update_reasons(conn, entry, row.reasons)
            else:
                runs.close_entries(
                    conn, [entry], "resolved", self.recorded_by, f"{row.status} by retry run {run_id}", now
                )
        runs.quarantine_rows(conn, run_id, fresh, now)

    def _count_dry(self, mapped: worker.MappedBatch, now: dt.datetime, seen: SeenSoFar) -> None:
        self.field_warnings = mapped.field_warnings
        with self.db.read() as conn:
            missing = _missing_refs(conn, mapped)
            if missing:
                _exclude(mapped, missing)
            stored = existing(conn, mapped.prepared.keys())
            links = _prepared_links(conn, mapped, now)
            by_link = dict(zip((p.id for p in links), link_statuses(conn, links), strict=True))
            created = [p for p in links if by_link[p.id] == "created"]
            new_records = mapped.prepared.keys() - stored.keys()
            replaced = replaced_links(conn, created, {p.id for p in links}, new_records, self.started).keys()
        seen.overlay("link", {p.id: p.content_hash for p in links}, by_link)
        self.link_types_dry.update(p.link_type for p in links)
        statuses = {}
        for rid, prepared in mapped.prepared.items():
            row = stored.get(rid)
            status = (
                "created"
                if row is None
                else (
                    "unchanged"
                    if row.content_hash == prepared.content_hash and not row.deleted
                    else "updated"
                )
            )
            statuses[rid] = status
        seen.overlay("record", {rid: p.content_hash for rid, p in mapped.prepared.items()}, statuses)
        batch = _tally_rows(mapped, statuses)
        for rid, status in statuses.items():
            batch.add_records(mapped.prepared[rid].entity_type, status)
        batch.links.update(by_link[p.id] for p in links)
        if replaced - self.replaced_dry:  # each counted once, as the import retracts it once
            batch.links["retracted"] += len(replaced - self.replaced_dry)
            self.replaced_dry.update(replaced)
        self.tally.merge(batch)

    def _mark_seen(self, conn: Connection, run_id: str, record_ids: Any) -> None:
        rows = [{"run_id": run_id, "record_id": rid} for rid in record_ids]
        if not rows:
            return
        insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
        conn.execute(insert(import_seen).on_conflict_do_nothing(), rows)

    def _snapshot_end(
        self, report: ImportReport, retract: Callable[[], int], unseen: Callable[[], int]
    ) -> int:
        """A snapshot's last step, `retract` (or, in a dry run, count) what the source no longer has, unless
        rows were quarantined. Then it says how many `unseen` records the file lacks, which the snapshot
        leaves, so that a person can judge whether fixing the rows is urgent."""
        quarantined = self.tally.rows["quarantined"]
        if quarantined:  # a quarantined row may be a record the source still has: retracting would lose it
            missing = unseen()
            lacking = (
                f"; the file lacks {missing:,} of the source's earlier records, which the snapshot would "
                "mark deleted once every row imports (fewer if some are the quarantined rows')"
                if missing
                else ""
            )
            report.warnings.append(
                f"snapshot incomplete: {quarantined:,} row{'' if quarantined == 1 else 's'} quarantined, "
                "so no record "
                f"{'would be' if self.dry_run else 'was'} marked deleted at the source{lacking}; "
                "fix them and import again"
            )
            return 0
        return retract()

    def _unseen_dry(self, seen: SeenSoFar) -> int:
        """The source's live records that no batch of this dry run gave."""
        types = sorted(self.tally.records)
        with self.db.read() as conn:
            records = conn.execute(
                live_source_records(self.agency, self.source_system, types).execution_options(yield_per=2000)
            ).scalars()
            return seen.unseen("record", records)

    def _unseen(self, run_id: str) -> int:
        """The source's live records that this snapshot's file did not give."""
        types = sorted(self.tally.records)
        seen = select(import_seen.c.record_id).where(import_seen.c.run_id == run_id)
        query = live_source_records(self.agency, self.source_system, types).where(record.c.id.not_in(seen))
        with self.db.read() as conn:
            return conn.execute(
                select(func.count()).select_from(query.order_by(None).subquery())
            ).scalar_one()

    def _count_unseen(self, seen: SeenSoFar) -> int:
        """A snapshot's dry run: count what `_retract_unseen` would retract, the source's live records and
        links that no batch gave (links already counted as replaced left out, as the import would have
        retracted them by then), so that `retracted` can be read before anything is marked deleted."""
        count = self._unseen_dry(seen)
        with self.db.read() as conn:
            links = conn.execute(
                live_source_links(
                    self.agency, self.source_system, sorted(self.link_types_dry)
                ).execution_options(yield_per=2000)
            )
            links_gone = seen.unseen("link", (lid for lid, _ in links if lid not in self.replaced_dry))
        self.tally.rows["retracted"] = count
        if links_gone:
            self.tally.links["retracted"] += links_gone
        return count

    def _retract_unseen(self, run_id: str) -> int:
        """Snapshot imports: records this source had before but not in this file were deleted at source, and
        so were its links (of the types the file gives) that the file no longer gives."""
        types = sorted(self.tally.records)
        with self.db.write() as conn:
            seen = select(import_seen.c.record_id).where(import_seen.c.run_id == run_id)
            gone = (
                conn.execute(
                    live_source_records(self.agency, self.source_system, types).where(
                        record.c.id.not_in(seen)
                    )
                )
                .scalars()
                .all()
            )
            reason = f"not in snapshot import {run_id}"
            count = retract_records(conn, list(gone), recorded_by=self.recorded_by, reason=reason)
            self.tally.rows["retracted"] = count
            links_gone = retract_unseen_links(
                conn, self.agency, self.source_system, seen, self.recorded_by, reason
            )
            if links_gone:
                self.tally.links["retracted"] += len(links_gone)
        return count
