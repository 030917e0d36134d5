"""The audit trail: who saw or changed which records, when, for what purpose, in a tamper-evident chain.

Every API call that discloses or changes records appends one entry (`append`, in the caller's transaction,
so a write and its entry commit together or not at all). The trail must show an inspector that nobody,
an administrator with database access included, has quietly edited or removed an entry. So the entries
form a hash chain:

- `seq` numbers the entries 1, 2, 3, ... with no gaps. We assign it (the previous seq + 1) rather than
  letting the database do so, because a sequence or autoincrement skips numbers whenever a transaction
  rolls back; with our own numbering a gap can only mean a removed entry.
- `hash` is SHA-256 over a canonical JSON serialisation (`canonical()`) of the entry's content: seq, time,
  actor, agency, action, purpose, reason, detail, the sorted ids of the records it names, and `prev_hash`,
  the previous entry's hash ("0" * 64 for the first). Editing any field of an entry, or adding or deleting
  one of its `audit_record` rows, changes what its hash should be; replacing, inserting or reordering
  entries breaks the `prev_hash` link of the entry after.
- `verify()` walks the chain in seq order, a page at a time, recomputes every hash and reports each problem
  by entry number.

A chain only proves that its entries were not changed *after* later entries were appended. Someone with
write access could rewrite the chain from some entry to the end, or drop its newest entries, and leave a
chain that verifies. Recording the head hash somewhere they cannot write (`openrms audit verify` prints
it; see docs/access/audit.md) closes that gap: `verify(anchors={seq: hash})` checks the chain still holds it.

Appends are serialised so two never take the same seq or the same previous hash. SQLite write transactions
are `BEGIN IMMEDIATE`, so there is one writer at a time already. On PostgreSQL two transactions could read
the same head, so `append` first takes a transaction-scoped advisory lock (`pg_advisory_xact_lock`), held
until the caller's transaction ends. It then reads the head with a fresh READ COMMITTED snapshot, which
sees the entry the previous lock holder committed. (`seq` is also the primary key, so were a caller's
transaction REPEATABLE READ with a snapshot older than the lock, its insert would fail rather than fork
the chain.) A long write transaction therefore holds up other appends until it commits: keep appends in
short transactions or at the end of long ones.

Secrets never reach the log: `detail` is scrubbed before it is hashed or stored (`scrub()`).

`audit_record` has no index on `seq` alone (its key is (record_id, seq), for "who saw this record"), so
listing the records of given entries (`entries`, `by_user`, `verify`) scans it on both back ends: an index
on `audit_record (seq, record_id)` makes those range scans.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import re
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Select, and_, select
from sqlalchemy.exc import DBAPIError, OperationalError

from openrms.errors import BadRequest
from openrms.schema.types import utc
from openrms.store.tables import audit_entry, audit_record

GENESIS = "0" * 64  # the prev_hash of the first entry
REMOVED = "[removed]"
RECORDS_KEY = "_records"  # in `detail`: a digest of the entry's record ids (see `_records_digest`)

# A fixed 64-bit key ("openrmsA") for PostgreSQL's advisory lock serialising appends.
LOCK_KEY = 0x6F70656E726D7341

# Key names whose values are never logged, at any depth of `detail`.
_SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)|token|secret|authori[sz]ation|cookie|csrf|api[-_ ]?key|private[-_ ]?key"
    r"|credential",
    re.IGNORECASE,
)
# ... nor a value that is an Authorization header's credentials ("Bearer <token>", "Basic <base64>"),
# whatever its key. The credential must look like one (16+ token characters), so "basic assault" stays.
_SECRET_VALUE = re.compile(r"^\s*(bearer|basic)\s+[A-Za-z0-9\-._~+/]{16,}=*\s*$", re.IGNORECASE)

# Column widths: longer values are cut so every back end stores (and hashes) the same text.
_WIDTH = {"actor": 120, "agency": 40, "action": 40, "purpose": 40}
_INT_LIMIT = 2**63  # JSON numbers we store exactly on both back ends (orjson and JSONB)

_ENTRY_COLUMNS = (
    audit_entry.c.seq,
    audit_entry.c.at,
    audit_entry.c.actor,
    audit_entry.c.agency,
    audit_entry.c.action,
    audit_entry.c.purpose,
    audit_entry.c.reason,
    audit_entry.c.detail,
    audit_entry.c.prev_hash,
    audit_entry.c.hash,
)
_HEAD = select(audit_entry.c.seq, audit_entry.c.hash).order_by(audit_entry.c.seq.desc()).limit(1)


# The append goes to the DB-API cursor of the caller's connection (same transaction) in the driver's own
# parameter style: `append` runs on every API read, and SQLAlchemy's statement machinery costs some 60 µs a
# statement against a few µs for the driver. Reads and `verify` use SQLAlchemy, whose column types read
# back exactly what these statements write (SQLite: text times "YYYY-MM-DD HH:MM:SS.ffffff" in UTC and
# JSON text; PostgreSQL: timestamptz and jsonb).
_COLUMNS = "seq, at, actor, agency, action, purpose, reason, detail, prev_hash, hash"
_SQLITE_HEAD = "SELECT seq, hash FROM audit_entry ORDER BY seq DESC LIMIT 1"
_SQLITE_ENTRY = f"INSERT INTO audit_entry ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_SQLITE_RECORD = "INSERT INTO audit_record (record_id, seq) VALUES (?, ?)"
# PostgreSQL: the lock is taken, then the head read, as separate statements: in READ COMMITTED each
# statement reads from a snapshot taken when it starts, so a head read in the statement that takes the
# lock could miss the entry the previous holder committed. One network round trip in the usual case: the
# process remembers the head it last wrote (`_PG_HEADS`) and pipelines the lock, an insert that only
# happens if that is still the head, and a read of the head. When another process appended meanwhile, the
# insert does nothing and a second round trip inserts after the head just read (the lock is still held).
_PG_LOCK = f"SELECT pg_advisory_xact_lock({LOCK_KEY})"
# A read's entry need not hold up its reply for the disk (`append(durable=False)`): set in the transaction's
# first audit statement, so it costs no round trip of its own.
_PG_RELAX = "set_config('synchronous_commit', 'off', true)"
_PG_LOCK_RELAXED = f"SELECT pg_advisory_xact_lock({LOCK_KEY}), {_PG_RELAX}"
_PG_ROW = "(%s::bigint, %s::timestamptz, %s, %s, %s, %s, %s, %s::jsonb, %s, %s)"
_PG_IF_HEAD = " WHERE (SELECT hash FROM audit_entry ORDER BY seq DESC LIMIT 1) IS NOT DISTINCT FROM %s"
# The record ids go in only if the last entry went in (the check is that entry's seq and hash).
_PG_RECORDS = (
    "INSERT INTO audit_record (record_id, seq) SELECT * FROM unnest(%s::text[], %s::bigint[]) "
    "WHERE EXISTS (SELECT 1 FROM audit_entry WHERE seq = %s AND hash = %s)"
)


# One entry (a read's, the usual case) goes in one statement: the insert happens only if the head is still
# the one this process last wrote, and then takes the lock. The head check reads the statement's snapshot,
# taken before the lock is granted, so another process may have committed the next seq meanwhile: the primary
# key turns that insert into "do nothing" (ON CONFLICT), never a fork, and the caller falls back to the
# locked two-step path. (Several entries cannot go this way: a conflict on the first alone would leave the
# rest linked to an entry that is not there.)
# Relaxed (`durable=False`), the statement also turns synchronous_commit off; when the entry does not go
# in, the fallback's lock statement does that instead.
def _pg_one(*, relaxed: bool) -> str:
    relax = f"AND {_PG_RELAX} IS NOT NULL " if relaxed else ""
    return (
        f"WITH ins AS (INSERT INTO audit_entry ({_COLUMNS}) SELECT * FROM (VALUES {_PG_ROW}) AS v "
        f"WHERE (SELECT hash FROM audit_entry ORDER BY seq DESC LIMIT 1) IS NOT DISTINCT FROM %s {relax}"
        f"AND pg_advisory_xact_lock({LOCK_KEY}) IS NOT NULL ON CONFLICT (seq) DO NOTHING RETURNING seq), "
        "rec AS (INSERT INTO audit_record (record_id, seq) SELECT u.r, ins.seq "
        "FROM unnest(%s::text[]) AS u(r) CROSS JOIN ins) SELECT seq FROM ins"
    )


_PG_ONE, _PG_ONE_RELAXED = _pg_one(relaxed=False), _pg_one(relaxed=True)


def _pg_entries(count: int, *, if_head: bool) -> str:
    values = ", ".join([_PG_ROW] * count)
    query = f"INSERT INTO audit_entry ({_COLUMNS}) SELECT * FROM (VALUES {values}) AS v"
    return query + _PG_IF_HEAD if if_head else query


READ_COMMIT_VARIABLE = "OPENRMS_AUDIT_READ_COMMIT"


def reads_durable(env: Mapping[str, str] | None = None) -> bool:
    """Whether a read's entry waits for the disk before the reply goes (`sync`, the default) or not
    (`async`), from $OPENRMS_AUDIT_READ_COMMIT: see `append(durable=...)`."""
    env = os.environ if env is None else env
    value = (env.get(READ_COMMIT_VARIABLE) or "sync").strip().lower()
    if value not in ("async", "sync"):
        raise BadRequest(f"{READ_COMMIT_VARIABLE} must be 'async' or 'sync', not {value!r}")
    return value == "sync"


# The head each engine (database) last appended in this process: only a guess, checked under the lock.
_PG_HEADS: weakref.WeakKeyDictionary[Engine, tuple[int, str]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class AuditEvent:
    """One entry to append: the keyword arguments of `append`, for `append_many`."""

    actor: str
    agency: str | None
    action: str
    purpose: str | None = None
    reason: str | None = None
    detail: Mapping[str, Any] | None = None
    record_ids: Sequence[str] = ()
    now: dt.datetime | None = None


@dataclass(frozen=True)
class Problem:
    """One break in the chain: the entry it concerns, a stable `kind`, and a sentence naming the entry.

    Kinds: "changed" (content no longer matches its hash), "records" (its list of records was changed),
    "missing" (a gap in seq), "link" (its prev_hash is not the previous entry's hash: an entry was
    replaced, inserted or reordered), "order" (a seq below 1), "orphan" (records listed for an entry that
    does not exist), "anchor" (an externally recorded hash no longer matches).
    """

    seq: int
    kind: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "message": self.message}


@dataclass(frozen=True)
class VerifyResult:
    """`ok` when every entry checked out; `checked` entries walked; the first problems found (at most
    `max_problems`, `truncated` when the walk stopped there); the head (last) entry's seq and hash."""

    ok: bool
    checked: int
    problems: list[Problem] = field(default_factory=list)
    head_seq: int = 0
    head_hash: str = GENESIS
    truncated: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "head": {"seq": self.head_seq, "hash": self.head_hash},
            "problems": [p.as_dict() for p in self.problems],
            "truncated": self.truncated,
        }


# ---- appending ----


def append(
    conn: Connection,
    *,
    actor: str,
    agency: str | None,
    action: str,
    purpose: str | None = None,
    reason: str | None = None,
    detail: Mapping[str, Any] | None = None,
    record_ids: Sequence[str] = (),
    now: dt.datetime | None = None,
    durable: bool = True,
) -> int:
    """Append one entry in the caller's write transaction (`conn` from `db.write()`) and return its seq.

    On SQLite three statements: read the chain head by primary key, insert the entry, insert its record ids
    (deduplicated) in one executemany. On PostgreSQL one statement (insert if the head is the one this
    process last wrote, taking the lock), and a second round trip when another process appended since.
    `detail` is scrubbed of secrets first. `now` (timezone-aware) defaults to now.

    `durable=False` is for a transaction that only reads and audits. On PostgreSQL its commit then returns
    without waiting for the disk (`synchronous_commit = off` for this transaction alone). The entry is
    committed and in the chain at once, and on disk within about 0.6 s. Only a crash of the database
    server in that window loses it, and with it every later entry, so the chain still verifies. It must
    not be used in a transaction that changes records: their commit would not wait either. SQLite
    ignores it, because it never waits for the disk at commit (WAL mode, `synchronous=NORMAL`)."""
    event = AuditEvent(actor, agency, action, purpose, reason, detail, record_ids, now)
    return append_many(conn, [event], durable=durable)[0]


def append_many(conn: Connection, entries: Sequence[AuditEvent], *, durable: bool = True) -> list[int]:
    """Append several entries in order, in the caller's write transaction, with one head read and one
    insert per table; returns their seqs. `durable` as for `append`."""
    if not entries:
        return []
    dbapi = conn.dialect.loaded_dbapi
    try:
        if conn.dialect.name == "postgresql":
            return _append_pg(conn, entries, durable)
        return _append_sqlite(conn, entries)
    except dbapi.Error as exc:  # raised by the driver itself: give callers SQLAlchemy's error, as elsewhere
        raise DBAPIError.instance("audit append", None, exc, dbapi.Error) from exc


def _append_sqlite(conn: Connection, entries: Sequence[AuditEvent]) -> list[int]:
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        top = cursor.execute(_SQLITE_HEAD).fetchone()
        rows, links = _rows(entries, _head(top), postgresql=False)
        if len(rows) == 1:
            cursor.execute(_SQLITE_ENTRY, rows[0])
        else:
            cursor.executemany(_SQLITE_ENTRY, rows)
        if links:
            cursor.executemany(_SQLITE_RECORD, links)
    finally:
        cursor.close()
    return [row[0] for row in rows]


def _append_pg(conn: Connection, entries: Sequence[AuditEvent], durable: bool) -> list[int]:
    raw: Any = conn.connection.driver_connection
    lock, insert, records, top = (raw.cursor() for _ in range(4))
    lock_sql = _PG_LOCK if durable else _PG_LOCK_RELAXED
    try:
        guess = _PG_HEADS.get(conn.engine)
        if guess is not None and len(entries) == 1:
            rows, links = _rows(entries, guess, postgresql=True)
            insert.execute(
                _PG_ONE if durable else _PG_ONE_RELAXED, [*rows[0], guess[1], [r for r, _ in links]]
            )
            if insert.fetchone() is not None:
                _PG_HEADS[conn.engine] = (rows[0][0], rows[0][-1])
                return [rows[0][0]]
            head = _locked_head(lock, lock_sql)  # another process appended since
        elif guess is not None:
            rows, links = _rows(entries, guess, postgresql=True)
            with raw.pipeline():
                lock.execute(lock_sql)
                params = [v for row in rows for v in row] + [guess[1]]
                insert.execute(_pg_entries(len(rows), if_head=True), params)
                records.execute(_PG_RECORDS, _pg_records(rows, links))
                top.execute(_SQLITE_HEAD)
            head = _head(top.fetchone())
            if head == (rows[-1][0], rows[-1][-1]):  # our entries went in
                _PG_HEADS[conn.engine] = head
                return [row[0] for row in rows]
            # another process appended since: insert after the head just read (we hold the lock now)
        else:
            head = _locked_head(lock, lock_sql)
        rows, links = _rows(entries, head, postgresql=True)
        with raw.pipeline():
            insert.execute(_pg_entries(len(rows), if_head=False), [v for row in rows for v in row])
            records.execute(_PG_RECORDS, _pg_records(rows, links))
        _PG_HEADS[conn.engine] = (rows[-1][0], rows[-1][-1])
    finally:
        for cursor in (lock, insert, records, top):
            cursor.close()
    return [row[0] for row in rows]


def _locked_head(cursor: Any, lock_sql: str) -> tuple[int, str]:
    """Take the append lock, then read the head in a statement of its own (so its snapshot sees the entry
    the previous lock holder committed)."""
    cursor.execute(f"{lock_sql}; {_SQLITE_HEAD}")
    cursor.nextset()
    return _head(cursor.fetchone())


def _head(top: Any) -> tuple[int, str]:
    return (int(top[0]), top[1]) if top is not None else (0, GENESIS)


def _rows(
    entries: Sequence[AuditEvent], head: tuple[int, str], *, postgresql: bool
) -> tuple[list[tuple[Any, ...]], list[tuple[str, int]]]:
    """The rows to insert after `head`, each hashed over the one before: audit_entry rows (seq, at, actor,
    agency, action, purpose, reason, detail as JSON text, prev_hash, hash) and audit_record rows."""
    seq, prev_hash = head
    default_now = dt.datetime.now(dt.UTC)
    rows: list[tuple[Any, ...]] = []
    links: list[tuple[str, int]] = []
    for event in entries:
        seq += 1
        ids = sorted({_plain(str(r)) for r in event.record_ids})
        entry = _entry(seq, event, ids, prev_hash, default_now)
        digest = entry_hash(entry, ids)
        at = entry["at"] if postgresql else entry["at"].replace(tzinfo=None).isoformat(" ", "microseconds")
        text_ = tuple(entry[k] for k in _TEXT)
        rows.append((seq, at, *text_, _json(entry["detail"]), prev_hash, digest))
        links.extend((r, seq) for r in ids)
        prev_hash = digest
    return rows, links


def _pg_records(rows: list[tuple[Any, ...]], links: list[tuple[str, int]]) -> list[Any]:
    return [[r for r, _ in links], [s for _, s in links], rows[-1][0], rows[-1][-1]]


_TEXT = ("actor", "agency", "action", "purpose", "reason")


def _entry(
    seq: int, event: AuditEvent, ids: list[str], prev_hash: str, default_now: dt.datetime
) -> dict[str, Any]:
    detail = _clean(scrub(event.detail or {}))
    detail.pop(RECORDS_KEY, None)
    if ids:
        detail[RECORDS_KEY] = _records_digest(ids)
    return {
        "seq": seq,
        "at": _moment(event.now) if event.now is not None else default_now,
        "actor": _cut(event.actor, "actor"),
        "agency": _cut(event.agency, "agency"),
        "action": _cut(event.action, "action"),
        "purpose": _cut(event.purpose, "purpose"),
        "reason": _text(event.reason),
        "detail": detail,
        "prev_hash": prev_hash,
    }


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()  # as the engine's json_serializer (store.database) writes it


def head(conn: Connection) -> tuple[int, str]:
    """The last entry's seq and hash; (0, GENESIS) for an empty trail. Record it outside the database to
    anchor the chain."""
    row = conn.execute(_HEAD).first()
    return (row[0], row[1]) if row is not None else (0, GENESIS)


# ---- hashing ----


def canonical(entry: Mapping[str, Any], record_ids: Sequence[str]) -> bytes:
    """The bytes an entry's hash is taken over: JSON with sorted keys, no spaces, UTF-8 (not \\u escapes),
    of seq, at (ISO 8601, UTC, microseconds), actor, agency, action, purpose, reason, detail, records (the
    sorted record ids) and prev_hash. Anyone can recompute it from an export of the two tables."""
    payload = {
        "seq": entry["seq"],
        "at": _iso(entry["at"]),
        "actor": entry["actor"],
        "agency": entry["agency"],
        "action": entry["action"],
        "purpose": entry["purpose"],
        "reason": entry["reason"],
        "detail": entry["detail"],
        "records": sorted(record_ids),
        "prev_hash": entry["prev_hash"],
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: Mapping[str, Any], record_ids: Sequence[str]) -> str:
    """SHA-256 (hex) of `canonical(entry, record_ids)`."""
    return hashlib.sha256(canonical(entry, record_ids)).hexdigest()


def _records_digest(ids: Sequence[str]) -> str:
    """A short digest of the sorted record ids, kept in `detail` under "_records". It is covered by the
    entry's hash, so it cannot be changed unnoticed; it only lets `verify` say *what* changed when a hash
    fails: the list of records (digest no longer matches the rows) or the entry itself."""
    raw = json.dumps(sorted(ids), separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _moment(now: dt.datetime) -> dt.datetime:
    if now.tzinfo is None:
        raise ValueError(f"naive datetime {now!r} given; audit times must be timezone-aware")
    return now.astimezone(dt.UTC)


# ---- scrubbing and normalising detail ----


def scrub(value: Any) -> Any:
    """`value` with every secret removed: the value of any key (at any depth) whose name mentions a
    password, token, secret, authorization, cookie, CSRF token or API key, and any string that carries
    credentials ("Bearer ...", "Basic ..."), become "[removed]"."""
    if isinstance(value, Mapping):
        return {
            k: REMOVED if isinstance(k, str) and _SECRET_KEY.search(k) else scrub(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    if isinstance(value, set | frozenset):
        return {scrub(v) for v in value}
    if isinstance(value, str) and _SECRET_VALUE.match(value):
        return REMOVED
    return value


def _clean(value: Any) -> Any:
    """`value` as plain JSON that comes back from either back end exactly as it went in, so the hash taken
    at append time is the hash `verify` recomputes from the stored row:

    - keys become strings; tuples and sets lists (sets sorted); other objects (datetimes, UUIDs) text;
    - a whole float becomes an int (PostgreSQL's JSONB prints 1.0e20 as 100000000000000000000, which
      reads back as an int), and an int or float JSON cannot carry exactly (beyond 64 bits, NaN, infinite)
      becomes text;
    - NUL characters, which PostgreSQL cannot store in text, become U+FFFD.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _plain(value)
    if isinstance(value, int):
        return value if -_INT_LIMIT < value < _INT_LIMIT else str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer():
            return int(value) if -_INT_LIMIT < value < _INT_LIMIT else repr(value)
        return value
    if isinstance(value, Mapping):
        return {_plain(k if isinstance(k, str) else str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((_clean(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return _plain(str(value))


def _text(value: str | None) -> str | None:
    return None if value is None else _plain(str(value))


def _plain(value: str) -> str:
    """Text every back end stores as given: NUL (PostgreSQL refuses it) and lone surrogates (UTF-8 cannot
    carry them; a JSON body's "\\ud800" decodes to one) become U+FFFD."""
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    return value if value.isascii() else _SURROGATE.sub("\ufffd", value)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _cut(value: str | None, column: str) -> str | None:
    value = _text(value)
    return value[: _WIDTH[column]] if value is not None else None


# ---- verifying ----


def verify(
    conn: Connection,
    *,
    batch: int = 10000,
    max_problems: int = 20,
    anchors: Mapping[int, str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> VerifyResult:
    """Walk the chain in seq order, recompute every hash and check every link; report the problems found.

    Entries are read in keyset pages of `batch` rows; their record ids as one stream in (seq, record_id)
    order fetched `batch` rows at a time, merged with the entries; so memory stays bounded however long the
    chain. The walk stops at the head as it was when it began, so entries appended meanwhile (visible to
    later pages on PostgreSQL) are left for the next run. `anchors` maps seqs to hashes recorded outside the
    database: each entry must still be there, with that hash. `progress(checked, total)` is called after
    each page. Stops after `max_problems` problems (`truncated` says so)."""
    head_seq, _ = head(conn)
    walk = _Walk(max_problems, anchors or {})
    with _record_stream(conn, head_seq, batch) as stream:
        records = _Peekable(stream)
        for page in _entry_pages(conn, head_seq, batch):
            for row in page:
                walk.skipped(records.before(row.seq))
                walk.visit(row, records.take(row.seq))
                if walk.full:
                    break
            if progress is not None:
                progress(walk.checked, head_seq)
            if walk.full:
                break
    if not walk.full:
        walk.finish()
        _check_beyond_head(conn, walk, head_seq)
    problems = sorted(walk.problems, key=lambda p: p.seq)
    return VerifyResult(
        ok=not problems,
        checked=walk.checked,
        problems=problems,
        head_seq=walk.prev_seq,
        head_hash=walk.prev_hash,
        truncated=walk.full,
    )


class _Walk:
    """The state of a walk along the chain: the entry expected next, the hash it must link to, and the
    problems found so far."""

    def __init__(self, limit: int, anchors: Mapping[int, str]) -> None:
        self.limit = max(1, limit)
        self.anchors = dict(anchors)
        self.problems: list[Problem] = []
        self.checked = 0
        self.full = False
        self.prev_seq = 0
        self.prev_hash = GENESIS

    def add(self, seq: int, kind: str, message: str) -> None:
        if len(self.problems) >= self.limit:
            self.full = True
            return
        self.problems.append(Problem(seq, kind, message))
        self.full = len(self.problems) >= self.limit

    def skipped(self, seqs: list[int]) -> None:
        """Records listed for seqs no entry has: inside a gap they are the missing entry's (reported as
        missing); below 1 they belong to no entry that could exist."""
        for seq in seqs:
            if seq < 1:
                self.add(seq, "orphan", f"records are listed for entry {seq}, which cannot exist")

    def visit(self, row: Any, ids: list[str]) -> None:
        seq, expected = row.seq, max(self.prev_seq, 0) + 1
        gap = seq > expected
        if gap:
            missing = (
                f"entry {expected} is" if seq == expected + 1 else f"entries {expected} to {seq - 1} are"
            )
            self.add(expected, "missing", f"{missing} missing")
        elif seq < expected:
            self.add(seq, "order", f"entry {seq} has a seq below 1; the chain starts at entry 1")
        _check_entry(self, row, ids)
        if not gap and row.prev_hash != self.prev_hash:
            if self.checked == 0:
                message = f"entry {seq} starts the chain but its prev_hash is not the starting value"
            else:
                message = (
                    f"entry {seq} does not follow entry {self.prev_seq}: its prev_hash is not the hash of "
                    f"entry {self.prev_seq} (an entry was replaced, inserted or reordered)"
                )
            self.add(seq, "link", message)
        if seq in self.anchors and self.anchors.pop(seq) != row.hash:
            self.add(seq, "anchor", f"entry {seq} was changed: its hash is not the one recorded externally")
        self.checked += 1
        self.prev_seq, self.prev_hash = seq, row.hash

    def finish(self) -> None:
        """Anchored entries the walk never reached were removed."""
        for seq in sorted(self.anchors):
            if seq > self.prev_seq:
                message = f"entry {seq} was recorded externally but the chain ends at entry {self.prev_seq}"
            else:
                message = f"entry {seq} was recorded externally but is missing"
            self.add(seq, "missing", message)


def _check_entry(walk: _Walk, row: Any, ids: list[str]) -> None:
    entry = dict(row._mapping)
    if entry_hash(entry, ids) == row.hash:
        return
    detail = row.detail if isinstance(row.detail, dict) else {}
    kept = detail.get(RECORDS_KEY)
    now = _records_digest(ids) if ids else None
    if kept == now:
        message = f"entry {row.seq} was changed: its content no longer matches its hash"
        walk.add(row.seq, "changed", message)
    elif kept is not None:
        walk.add(
            row.seq,
            "records",
            f"the records of entry {row.seq} were changed: the {len(ids)} listed now are not the ones it "
            "was written with",
        )
    else:  # the digest is gone: the detail was replaced, or records were added to an entry that had none
        message = (
            f"entry {row.seq} was changed: its content or its list of records no longer matches its hash"
        )
        walk.add(row.seq, "changed", message)


def _check_beyond_head(conn: Connection, walk: _Walk, head_seq: int) -> None:
    """Records listed for an entry after the head (the newest entries were removed, their records not)."""
    beyond = conn.execute(
        select(audit_record.c.seq).where(audit_record.c.seq > head_seq).order_by(audit_record.c.seq).limit(1)
    ).scalar()
    if beyond is None:
        return
    appended = conn.execute(select(audit_entry.c.seq).where(audit_entry.c.seq == beyond)).first()
    if appended is None:  # not an entry appended since the walk began: a removed one
        walk.add(beyond, "orphan", f"records are listed for entry {beyond}, which is missing")


def _entry_pages(conn: Connection, upto: int, batch: int) -> Iterator[list[Any]]:
    after: int | None = None
    while True:
        query = select(*_ENTRY_COLUMNS).where(audit_entry.c.seq <= upto)
        if after is not None:
            query = query.where(audit_entry.c.seq > after)
        rows = conn.execute(query.order_by(audit_entry.c.seq).limit(batch)).all()
        if rows:
            yield rows
        if len(rows) < batch:
            return
        after = rows[-1].seq


@contextmanager
def _record_stream(conn: Connection, upto: int, batch: int) -> Iterator[Iterator[tuple[int, str]]]:
    """Every (seq, record_id) up to `upto`, in that order, as one streamed query fetched `batch` rows at a
    time (a server-side cursor on PostgreSQL). audit_record's key is (record_id, seq), so without an index
    on seq the database sorts the table once; paging it instead would scan the whole table for every page.
    PostgreSQL sorts within work_mem and spills to disk; SQLite is told to spill its sort to a temporary
    file rather than memory (the engine keeps temporary storage in memory) for the time of the walk."""
    before = _spill_sorts_to_disk(conn) if conn.dialect.name == "sqlite" else None
    query = (
        select(audit_record.c.seq, audit_record.c.record_id)
        .where(audit_record.c.seq <= upto)
        .order_by(audit_record.c.seq, audit_record.c.record_id)
    )
    result = conn.execute(query, execution_options={"stream_results": True, "yield_per": batch})
    try:
        yield ((row[0], row[1]) for row in result)
    finally:
        result.close()
        if before is not None:
            conn.exec_driver_sql(f"PRAGMA temp_store = {before}")


def _spill_sorts_to_disk(conn: Connection) -> int | None:
    """Switch SQLite's temporary storage to files; the previous setting, or None when SQLite refuses (it
    cannot switch inside a transaction once this connection has used temporary storage)."""
    before = int(conn.exec_driver_sql("PRAGMA temp_store").scalar() or 0)
    try:
        conn.exec_driver_sql("PRAGMA temp_store = FILE")
    except OperationalError:
        return None
    return before


class _Peekable:
    """The (seq, record_id) stream, consumed in seq order alongside the entries."""

    def __init__(self, stream: Iterator[tuple[int, str]]) -> None:
        self._stream = stream
        self._next: tuple[int, str] | None = next(stream, None)

    def before(self, seq: int) -> list[int]:
        """Skip the records of seqs below `seq` (no entry has them); return those seqs."""
        skipped: list[int] = []
        while self._next is not None and self._next[0] < seq:
            if not skipped or skipped[-1] != self._next[0]:
                skipped.append(self._next[0])
            self._next = next(self._stream, None)
        return skipped

    def take(self, seq: int) -> list[str]:
        ids: list[str] = []
        while self._next is not None and self._next[0] == seq:
            ids.append(self._next[1])
            self._next = next(self._stream, None)
        return ids


# ---- reading ----


def who_saw(conn: Connection, record_id: str, limit: int = 1000) -> list[dict[str, Any]]:
    """Every entry that disclosed or changed `record_id`, newest first: seq, at, actor, agency, action,
    purpose, reason. An indexed lookup on audit_record's primary key."""
    query = (
        select(
            audit_entry.c.seq,
            audit_entry.c.at,
            audit_entry.c.actor,
            audit_entry.c.agency,
            audit_entry.c.action,
            audit_entry.c.purpose,
            audit_entry.c.reason,
        )
        .select_from(audit_record.join(audit_entry, audit_entry.c.seq == audit_record.c.seq))
        .where(audit_record.c.record_id == record_id)
        .order_by(audit_record.c.seq.desc())
        .limit(limit)
    )
    return [
        {
            "seq": row.seq,
            "at": _iso(row.at),
            "actor": row.actor,
            "agency": row.agency,
            "action": row.action,
            "purpose": row.purpose,
            "reason": row.reason,
        }
        for row in conn.execute(query)
    ]


def by_user(
    conn: Connection,
    actor: str,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """What `actor` did, newest first, each entry with the ids of the records it disclosed or changed."""
    return entries(conn, actor=actor, since=since, until=until, limit=limit, newest_first=True)


def entries(
    conn: Connection,
    *,
    actor: str | None = None,
    action: str | None = None,
    record_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    after_seq: int | None = None,
    limit: int = 100,
    newest_first: bool = False,
) -> list[dict[str, Any]]:
    """A page of entries matching every filter given, in seq order (newest first when asked), each with
    its record ids, hash and prev_hash. `since` is inclusive, `until` exclusive (times without an offset
    are UK local time). `after_seq` continues a listing after that entry, in the listing's order: the next
    page of an oldest-first listing starts above it, of a newest-first listing below it."""
    query: Select[Any] = select(*_ENTRY_COLUMNS)
    if record_id is not None:
        query = query.join(
            audit_record,
            and_(audit_record.c.seq == audit_entry.c.seq, audit_record.c.record_id == record_id),
        )
    if actor is not None:
        query = query.where(audit_entry.c.actor == actor)
    if action is not None:
        query = query.where(audit_entry.c.action == action)
    if since is not None:
        query = query.where(audit_entry.c.at >= utc(since))
    if until is not None:
        query = query.where(audit_entry.c.at < utc(until))
    if after_seq is not None:
        query = query.where(audit_entry.c.seq < after_seq if newest_first else audit_entry.c.seq > after_seq)
    order = audit_entry.c.seq.desc() if newest_first else audit_entry.c.seq
    rows = conn.execute(query.order_by(order).limit(max(0, limit))).all()
    ids = _record_ids(conn, [r.seq for r in rows])
    return [_as_dict(row, ids.get(row.seq, [])) for row in rows]


def _record_ids(conn: Connection, seqs: Sequence[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for start in range(0, len(seqs), 1000):
        chunk = seqs[start : start + 1000]
        query = select(audit_record.c.seq, audit_record.c.record_id).where(audit_record.c.seq.in_(chunk))
        for seq, rid in conn.execute(query):
            found.setdefault(seq, []).append(rid)
    for values in found.values():
        values.sort()
    return found


def _as_dict(row: Any, record_ids: list[str]) -> dict[str, Any]:
    detail = row.detail if isinstance(row.detail, dict) else {"value": row.detail}
    return {
        "seq": row.seq,
        "at": _iso(row.at),
        "actor": row.actor,
        "agency": row.agency,
        "action": row.action,
        "purpose": row.purpose,
        "reason": row.reason,
        "detail": detail,  # as stored, "_records" included, so the entry can be re-hashed from this
        "record_ids": record_ids,
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }


__all__ = [
    "GENESIS",
    "AuditEvent",
    "Problem",
    "VerifyResult",
    "append",
    "append_many",
    "by_user",
    "canonical",
    "entries",
    "entry_hash",
    "head",
    "scrub",
    "verify",
    "who_saw",
]
