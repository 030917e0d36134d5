"""The CPU side of an import, run in a forked worker: apply the mapping, validate, encode.

The pipeline sets `CONTEXT` and then forks, so the worker inherits the compiled mapping without pickling
it. `map_batch` touches no database; everything that needs one (lookups of referenced records, writes)
happens in the main process, inside the writing transaction. Records *and* links leave the worker encoded
as rows for executemany, so the main process (the one writer) only writes them.

`mapped_in_child` runs the worker: it reads the source as well as mapping it. `map_batch_packed` and
`unpack` carry a batch from the worker to the main process as pickled bytes (see
`_BatchPickler`): how a batch is pickled and unpickled decides much of the main process's cost per row.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import datetime as dt
import gc
import io
import multiprocessing
import operator
import os
import pickle
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from openrms.errors import BadRequest, Issue, RecordInvalid
from openrms.ingest.mapping import row_context
from openrms.ingest.mapping.errors import absent_field_warnings
from openrms.ingest.rows import MappedLink, MappedRow, RecordRef, SourceRow
from openrms.store import ids
from openrms.store.hooks import prepare_batch
from openrms.store.links import LinkPreparer, NewLink, PreparedLink, check_dates, check_ends
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
    # Send every row's raw text, not only a quarantined row's: earlier runs left open entries that this
    # import's rows may close (see `runs.earlier_entries`). Off otherwise, as it costs pickling every row.
    keep_raw: bool = False
    # For sources that declare no columns: the fields the mapping reads that no row has had (see FieldWatch)
    fields: FieldWatch | None = None


class FieldWatch:
    """Which of the fields a mapping reads no row has had yet, for a source that declares no columns (JSON,
    XML), where a misspelt name cannot be caught before the import and would silently read as empty.
    Once every field has been met (usually in the first row) it costs nothing more."""

    SEEN_NAMES = 500  # field names kept for suggestions

    def __init__(self, fields: Iterable[str]) -> None:
        self.absent = set(fields)
        self.seen: set[str] = set()
        self.rows = 0

    def row(self, fields: Mapping[str, Any]) -> None:
        self.rows += 1
        if not self.absent:
            return
        names = [str(k) for k in fields]
        if len(self.seen) < self.SEEN_NAMES:
            self.seen.update(names)
        for name in names:
            # a field, a repeated element ("Subject[]"), or a part of a path ("Subject" of "Subject/Surname",
            # which `each: Subject` reads)
            self.absent.discard(name.removesuffix("[]"))
            while "/" in name:
                name = name.rsplit("/", 1)[0]
                self.absent.discard(name)

    def warnings(self, mapping: Any) -> list[str]:
        if not self.rows or not self.absent:
            return []
        return absent_field_warnings(mapping.origin, mapping.field_lines, self.absent, self.seen)


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
    # `links` checked and encoded (same positions); None where the link's provenance was refused, which
    # the writer then reports exactly as it always has, by preparing `links` itself (see pipeline._write)
    prepared_links: list[PreparedLink | None] = field(default_factory=list)
    # the digest of the source's rows up to `last_number`, where the import keeps one (see pipeline._Prefix)
    prefix_digest: str | None = None
    # fields the mapping reads that no row has had so far, as warnings (see FieldWatch)
    field_warnings: list[str] = field(default_factory=list)
    # the source text its rows took, for estimating how many rows the whole source has (see pipeline)
    source_chars: int = 0

    def links_ready(self) -> bool:
        """Whether every link was prepared here, so the writer need only write them."""
        return len(self.prepared_links) == len(self.links) and all(p is not None for p in self.prepared_links)


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


def map_row(
    ctx: WorkerContext,
    preparer: Preparer,
    row: SourceRow,
    batch: MappedBatch,
    link_preparer: LinkPreparer,
) -> RowResult:
    """One row into the batch, or a quarantined/skipped result with every reason."""
    if row.fields is None:
        return _quarantined(row, [f"unreadable: {row.error}"])
    if ctx.fields is not None:
        ctx.fields.row(row.fields)
    context = row_context(row, ctx.file) if ctx.mapping.context_used else None
    mapped: MappedRow = ctx.mapping.apply(row.fields, context)
    if mapped.skipped:
        return RowResult(row.number, row.location, "skipped", raw=row.raw if ctx.keep_raw else "")
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
    result = RowResult(
        row.number,
        row.location,
        "ok",
        record_ids=[p.id for p in prepared.values()],
        raw=row.raw if ctx.keep_raw else "",
    )
    types = {p.id: p.entity_type for p in prepared.values()}
    new_links: list[NewLink] = []
    encoded: list[PreparedLink | None] = []
    for link in mapped.links:
        item = _new_link(ctx, link, prepared, types, result.refs)
        issues, ready = _prepare_link(link_preparer, item, types)
        reasons += [f"link {link.link_type}.{i.path}: {i.message}" for i in issues]
        new_links.append(item)
        encoded.append(ready)
    if reasons:
        return _quarantined(row, reasons)
    for p in prepared.values():
        batch.prepared[p.id] = p
    batch.types.update(types)
    result.link_ids = list(range(len(batch.links), len(batch.links) + len(new_links)))
    batch.links.extend(new_links)
    batch.prepared_links.extend(encoded)
    return result


def _new_link(
    ctx: WorkerContext,
    link: MappedLink,
    prepared: dict[str, PreparedRecord],
    types: dict[str, str],
    refs: dict[str, str],
) -> NewLink:
    """The link between the row's records (or referenced ones, noted in `types` and `refs`)."""
    ends = []
    for end in (link.source, link.target):
        if isinstance(end, RecordRef):
            rid = _ref_id(ctx, end)
            types[rid] = end.entity_type
            refs[rid] = (
                f"{end.entity_type} {end.source_key!r} from "
                f"{end.agency or ctx.agency}/{end.source_system or ctx.source_system}"
            )
            ends.append(rid)
        else:
            ends.append(prepared[end].id)
    return NewLink(
        link.link_type,
        ends[0],
        ends[1],
        _provenance(ctx, link.source_key),
        link.valid_from,
        link.valid_to,
    )


def _prepare_link(
    preparer: LinkPreparer, item: NewLink, types: dict[str, str]
) -> tuple[list[Issue], PreparedLink | None]:
    """The link's problems (its ends, its dates), or the link encoded as the writer will store it.

    `LinkPreparer` checks exactly what the writer's `upsert_links` would (ends, dates, notes) against the
    same types, so a link prepared here is the one the writer would have made. A refused provenance is
    not a problem of the row: the link is left unprepared and the writer fails the batch as before.
    """
    try:
        return [], preparer(item, types)
    except RecordInvalid as exc:
        return list(exc.issues), None
    except BadRequest:
        return check_ends(item, types) + check_dates(item)[0], None


def forget_prepared() -> None:
    """End a batch: prepared records carry the batch's time, so they are reused within a batch only."""
    _REPEATS.clear()


def map_batch(rows: list[SourceRow], now: dt.datetime) -> MappedBatch:
    ctx = CONTEXT
    if ctx is None:
        raise RuntimeError("ingest worker used before its context was set")
    preparer = Preparer(now, ctx.dialect)
    link_preparer = LinkPreparer(now, ctx.dialect)
    batch = MappedBatch([], {}, [], {}, rows[-1].number if rows else 0)
    batch.prefix_digest = getattr(rows, "digest", None)
    batch.source_chars = sum(len(row.raw) for row in rows) + len(rows)  # and a line end each
    skipped = getattr(rows, "skipped_fields", ())
    if ctx.fields is not None and skipped:  # a resumed run's rows before its checkpoint
        ctx.fields.row(dict.fromkeys(skipped))
    try:
        for row in rows:
            batch.rows.append(map_row(ctx, preparer, row, batch, link_preparer))
    finally:
        forget_prepared()
    prepare_batch(
        {rid: p.extras for rid, p in batch.prepared.items()},
        [(link.link_type, link.from_id, link.to_id) for link in batch.links],
    )
    if ctx.fields is not None:
        batch.field_warnings = ctx.fields.warnings(ctx.mapping)
    return batch


def map_batch_packed(rows: list[SourceRow], now: dt.datetime) -> bytes:
    """`map_batch` for a worker process: the batch pickled by `_BatchPickler`, for `unpack`."""
    buffer = io.BytesIO()
    with collector_paused():
        _BatchPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(map_batch(rows, now))
    return buffer.getvalue()


@contextmanager
def mapped_in_child(
    batches: Callable[[], Iterator[list[SourceRow]]],
) -> Iterator[Iterator[tuple[MappedBatch, dt.datetime]]]:
    """Batches read *and* mapped by one forked process, handed over a pipe as they are ready.

    The main process is an import's one writer and its bottleneck: reading the source there, and pickling
    each batch of source rows to send it to a worker, took a twelfth of its time. Here the child reads
    (`batches` runs in it: the reader was opened before the fork) and maps; the main process only takes
    the mapped batches in. The pipe holds less than a batch, so the child maps the next batch while the
    main process writes this one, and waits for it there: memory holds at most two batches in flight.

    The child is forked on entering, so enter before starting any thread: a fork copies a lock another
    thread holds (SQLite's, while the checkpoint thread works) as held for good, and a child reading a
    database source would wait on it forever. A failure in the child (the source turns out unreadable
    half-way) is raised by the iterator, as the exception the child caught. Should the main process be
    killed (kill -9 included), the child ends with it (`_ends_with_parent`).
    """
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(batches, receiving, sending, os.getpid()), daemon=True)
    child.start()
    sending.close()
    try:
        yield _received(receiving, child)
    finally:
        receiving.close()
        if child.is_alive():
            child.terminate()
        child.join()


def _received(receiving: Any, child: Any) -> Iterator[tuple[MappedBatch, dt.datetime]]:
    while True:
        try:
            message = receiving.recv_bytes()
        except EOFError:
            child.join()
            raise RuntimeError(
                f"the import's worker process ended without finishing (exit code {child.exitcode})"
            ) from None
        kind, payload = message[:1], message[1:]
        if kind == _DONE:
            return
        if kind == _FAILED:
            raise pickle.loads(payload)
        now = pickle.loads(payload)
        yield unpack(receiving.recv_bytes()), now


_BATCH, _DONE, _FAILED = b"B", b"D", b"F"


def _child(
    batches: Callable[[], Iterator[list[SourceRow]]], receiving: Any, sending: Any, parent: int
) -> None:
    _ends_with_parent(parent)
    receiving.close()  # so that a send fails, and this process ends, once the main process is gone
    try:
        with collector_paused():
            for rows in batches():
                _send(sending, rows)
                # Collected here, once the batch's objects are gone, rather than when `map_batch_packed`
                # resumes the collector: that traversed the whole batch, still alive, once more.
                del rows
                gc.collect()
        sending.send_bytes(_DONE)
    except (BrokenPipeError, KeyboardInterrupt):
        return  # the main process has gone, or is stopping too
    except BaseException as exc:
        try:
            failure = pickle.dumps(exc)
        except Exception:  # an exception that cannot be pickled: its type and message still reach the user
            failure = pickle.dumps(RuntimeError(f"{type(exc).__name__}: {exc}"))
        with contextlib.suppress(BrokenPipeError):
            sending.send_bytes(_FAILED + failure)
    finally:
        sending.close()


CAN_FORK = "fork" in multiprocessing.get_all_start_methods()
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
PARENT_WATCH_SECONDS = 0.5  # how often a worker without prctl looks whether its import is still there


def _ends_with_parent(parent: int) -> None:
    """End this process with the import that forked it: on Linux, the kernel kills it the moment the import
    dies; elsewhere, a thread looks twice a second (`watch_parent`).

    Otherwise a worker outlives `kill -9` of its import until its next send fails, which is only once it has
    read and mapped a whole batch: a second or so, or for ever if the source is a pipe or a query that
    blocks. A user re-running the import at once would then find the old worker still reading. Killing the
    worker loses nothing: it writes nothing; the import's run resumes from its last commit.
    """
    if not _killed_with_parent_by_kernel():
        watch_parent(parent)
        return
    if os.getppid() != parent:  # the import died before the request was made: nobody to work for
        os._exit(0)


def _killed_with_parent_by_kernel() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) == 0)
    except (OSError, AttributeError):  # no prctl to be found
        return False


def watch_parent(parent: int, every: float = PARENT_WATCH_SECONDS) -> threading.Thread:
    """Start a daemon thread that ends this process once `parent` is no longer its parent: a process whose
    parent dies is handed to another (init, or a subreaper), so its parent id changes. The portable
    counterpart of Linux's death signal, for systems without one; it costs a wake-up every `every`
    seconds."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(0)  # nothing to flush: a worker writes nothing but to its import

    thread = threading.Thread(target=watch, name="openrms-import-parent-watch", daemon=True)
    thread.start()
    return thread


def _send(sending: Any, rows: list[SourceRow]) -> None:
    now = dt.datetime.now(dt.UTC)
    packed = map_batch_packed(rows, now)
    sending.send_bytes(_BATCH + pickle.dumps(now))  # the moment the batch was mapped at, then the batch
    sending.send_bytes(packed)


def unpack(data: bytes) -> MappedBatch:
    """A batch from `map_batch_packed`, unpickled with the cyclic garbage collector paused."""
    with collector_paused():
        batch: MappedBatch = pickle.loads(data)
    return batch


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for one batch's worth of work.

    Mapping or unpickling a batch makes some thirty objects a row, and every few hundred allocations would
    start a collection that finds nothing: the objects hold no cycles (those a quarantined row's exception
    may leave are collected once the batch is done). Pausing it more than halves the cost of taking a batch
    in, and saves a tenth of mapping one.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@cache
def _fields_of(cls: type) -> Callable[[Any], tuple[Any, ...]] | None:
    """For a slotted dataclass that its own constructor rebuilds exactly (every field an argument, no
    __post_init__): a function giving an instance's field values in constructor order. None otherwise."""
    if "__slots__" not in cls.__dict__ or not dataclasses.is_dataclass(cls) or hasattr(cls, "__post_init__"):
        return None
    fields = dataclasses.fields(cls)
    if not fields or not all(f.init for f in fields):
        return None
    if len(fields) == 1:
        only = operator.attrgetter(fields[0].name)
        return lambda obj: (only(obj),)
    return operator.attrgetter(*(f.name for f in fields))


class _BatchPickler(pickle.Pickler):
    """Pickles slotted dataclasses (prepared records and links, search entries...) as constructor calls.

    Python 3.11 pickles a `slots=True` dataclass through `__getstate__`/`__setstate__`, which call
    `dataclasses.fields()` and `object.__setattr__` field by field: a quarter of a batch's pickling cost.
    `cls(*values)` builds the same object. Other objects are pickled as usual.
    """

    def reducer_override(self, obj: Any) -> Any:
        cls = type(obj)
        values = _fields_of(cls)
        if values is None:
            return NotImplemented
        return cls, values(obj)
