"""Opening a database: one `Database` per URL, with explicit read and write transactions.

SQLite runs in WAL mode with writes serialised by `BEGIN IMMEDIATE` (one writer, many readers), so two
writers never deadlock half-way through; PostgreSQL uses its own row locking. Callers own the transaction:
store functions take a connection and never commit on their own, so a record, its versions, its links and
(later) its index and audit entries are saved together or not at all.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from openrms.errors import BadRequest

DEFAULT_URL = "sqlite:///openrms.db"
_WRITE = "openrms_write"


def database_url(explicit: str | None = None) -> str:
    """`--db` wins, then OPENRMS_DATABASE_URL, then ./openrms.db. A bare path means a SQLite file."""
    url = explicit or os.environ.get("OPENRMS_DATABASE_URL") or DEFAULT_URL
    if "://" not in url:
        url = f"sqlite:///{Path(url).expanduser()}"
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


AUTOCHECKPOINT = 4000


def _sqlite_pragmas(dbapi_connection: Any, record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see _sqlite_begin)
    record.info["autocheckpoint"] = AUTOCHECKPOINT
    cursor = dbapi_connection.cursor()
    # wal_autocheckpoint: copy the WAL into the database (with an fsync) every 4,000 pages rather than 1,000;
    # bulk writes then spend far less time in fsync, and readers still find a short WAL. The page cache
    # (32 MB) and memory map (64 MB) are per connection: bigger ones buy little and count against an
    # import's memory (it must stay under 500 MB whatever the file's size).
    for pragma in (
        "journal_mode=WAL",
        f"wal_autocheckpoint={AUTOCHECKPOINT}",
        "synchronous=NORMAL",
        "foreign_keys=ON",
        "busy_timeout=30000",
        "cache_size=-32768",
        "temp_store=MEMORY",
        "mmap_size=67108864",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    mode = "IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "DEFERRED"
    conn.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """An engine plus the two ways in: `read()` and `write()`, each one transaction."""

    def __init__(self, url: str | None = None, *, echo: bool = False) -> None:
        self.url = database_url(url)
        self._checkpoints_held = 0  # bulk writes holding SQLite's checkpoints (see hold_checkpoints)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise BadRequest(
                f"unsupported database {self.dialect!r}; use a sqlite:/// or postgresql+psycopg:// URL"
            )
        kwargs: dict[str, Any] = {
            "echo": echo,
            "json_serializer": _json_dumps,
            "json_deserializer": orjson.loads,
        }
        if self.dialect == "sqlite":
            database = parsed.database or ""
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            else:
                kwargs["poolclass"] = NullPool
            self.engine: Engine = create_engine(self.url, **kwargs)
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "checkout", self._sqlite_checkout)
            event.listen(self.engine, "begin", _sqlite_begin)
        else:
            self.engine = create_engine(self.url, pool_pre_ping=True, pool_size=10, **kwargs)

    def hold_checkpoints(self, held: bool) -> None:
        """SQLite: while any bulk write holds them (see store.checkpoint), commits do not checkpoint the
        log; from each connection's next checkout. Holds nest: two imports in one process each hold."""
        self._checkpoints_held = max(0, self._checkpoints_held + (1 if held else -1))

    def _sqlite_checkout(self, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        wanted = 0 if self._checkpoints_held else AUTOCHECKPOINT
        if record.info.get("autocheckpoint") != wanted:
            dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={wanted:d}")
            record.info["autocheckpoint"] = wanted

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn = conn.execution_options(**{_WRITE: True})
            with conn.begin():
                yield conn

    def refresh_statistics(self) -> None:
        """PostgreSQL plans from table statistics: a table that was empty when last analysed is scanned whole
        to find 500 ids, which makes a bulk load slower with every batch. Bulk writers call this as the
        tables grow. Only the tables they look rows up in are sampled: records and links by id, and search
        entries (the search index's write hook looks them up by id); sampling the versions and masters
        too made each refresh some 40% longer. SQLite always uses the primary key: there it does nothing."""
        if self.dialect != "postgresql":
            return
        with self.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE record, link, search_doc")
            conn.commit()

    def estimated_rows(self, table: str) -> int:
        """PostgreSQL's estimate of a table's rows, as of its last statistics (0 if it has none); 0 on
        SQLite, which keeps no such figure."""
        if self.dialect != "postgresql":
            return 0
        with self.engine.connect() as conn:
            estimate = conn.exec_driver_sql(
                "SELECT reltuples FROM pg_class WHERE oid = to_regclass(%(name)s)", {"name": table}
            ).scalar()
        return max(int(estimate or 0), 0)

    def dispose(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({make_url(self.url).render_as_string(hide_password=True)!r})"
