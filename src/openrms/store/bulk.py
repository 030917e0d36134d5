"""Fast bulk inserts: one precompiled INSERT per table and dialect, values converted by plain functions.

SQLAlchemy's per-row parameter processing costs about 15 microseconds a row; imports and the demo write
hundreds of thousands of rows, so the hot path converts values itself and hands tuples straight to the
driver's executemany (on PostgreSQL, COPY for all but small batches). The conversions match what the column
types would do, so rows written here read back through SQLAlchemy exactly like any other. This is the only
module that knows those details.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Iterable, Sequence
from functools import cache, lru_cache
from itertools import repeat
from typing import Any

import orjson
from sqlalchemy import JSON, Connection, Table
from sqlalchemy.exc import DBAPIError

Convert = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


@lru_cache(maxsize=1024)
def _sqlite_time(value: dt.datetime | None) -> str | None:
    """SQLAlchemy's SQLite storage format; cached because a batch's rows share a handful of times."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _sqlite_bool(value: bool | None) -> int | None:
    return None if value is None else int(value)


def _is_json(column: Any) -> bool:
    return isinstance(column.type, JSON) or "JSON" in type(column.type).__name__.upper()


@cache
def _plan(table: Table, dialect: str) -> tuple[str, tuple[str, ...]]:
    """The INSERT for `table` with every column in order; PostgreSQL gets JSON as text cast to JSONB."""
    names = tuple(c.name for c in table.columns)
    marks = ", ".join(
        "?" if dialect == "sqlite" else ("CAST(%s AS JSONB)" if _is_json(c) else "%s") for c in table.columns
    )
    return f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})", names


class Encoder:
    """Turns Python values into what the driver takes for one dialect, for callers that build tuples."""

    def __init__(self, dialect: str) -> None:
        sqlite = dialect == "sqlite"
        self.time: Convert = _sqlite_time if sqlite else _identity
        self.bool: Convert = _sqlite_bool if sqlite else _identity
        self.json: Convert = _json


def by_key(rows: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows in the order of their first value, the table's key: a batch of rows keyed by hashes lands all
    over each B-tree, and in key order its inserts visit each page once, in turn, instead of at random.
    (SQLite's full-text index goes further: a rowid lower than the last one written flushes what it has
    gathered as a new segment, so out-of-order rows made a segment, and merges, every row or two.)"""
    return sorted(rows, key=_first)


_first = operator.itemgetter(0)


def insert_tuples(conn: Connection, table: Table, params: Sequence[tuple[Any, ...]]) -> None:
    """Insert tuples already in `table`'s column order and encoded with `Encoder` for this dialect."""
    if not params:
        return
    sql, names = _plan(table, conn.dialect.name)
    if len(params[0]) != len(names):
        raise ValueError(
            f"{table.name} takes {len(names)} values per row ({', '.join(names)}), got {len(params[0])}"
        )
    if conn.dialect.name == "postgresql" and len(params) >= COPY_FROM:
        _copy(conn, table.name, names, params)
    elif conn.dialect.name == "sqlite":
        for shape, rows in _by_null_shape(table, params).items():
            conn.exec_driver_sql(_sqlite_shape_plan(table, shape)[0], rows)
    else:
        conn.exec_driver_sql(sql, list(params))


def _by_null_shape(table: Table, params: Sequence[tuple[Any, ...]]) -> dict[tuple[bool, ...], list[Any]]:
    """SQLite's rows grouped by which columns they leave NULL, each row cut down to the rest, in order.

    Python 3.11's sqlite3 module binds None through its adapter protocol, failing two attribute lookups
    each time: a None costs some 25 times an int (0.5 µs), and a search entry has two dozen of them. A
    column left out of an INSERT takes NULL, so rows are inserted by the columns they fill instead (a
    handful of shapes per batch, each keeping its rows' order). Columns with a default keep their None:
    leaving them out would store the default instead."""
    omittable = _omittable(table)
    left_outs: dict[tuple[bool, ...], tuple[bool, ...]] = {(): ()}
    grouped: dict[tuple[bool, ...], list[Any]] = {}
    for row in params:
        nulls = tuple(map(operator.is_, row, repeat(None))) if None in row else ()
        left_out = left_outs.get(nulls)
        if left_out is None:
            left_out = tuple(null and free for null, free in zip(nulls, omittable, strict=True))
            left_outs[nulls] = left_out = left_out if any(left_out) else ()
        grouped.setdefault(left_out, []).append(row)
    for left_out, rows in grouped.items():
        if left_out:
            keep = _sqlite_shape_plan(table, left_out)[1]
            grouped[left_out] = [keep(row) for row in rows]
    return grouped


@cache
def _omittable(table: Table) -> tuple[bool, ...]:
    return tuple(c.server_default is None and c.default is None for c in table.columns)


@cache
def _sqlite_shape_plan(table: Table, left_out: tuple[bool, ...]) -> tuple[str, Callable[[Any], Any]]:
    """The INSERT naming only the columns not `left_out`, and what picks their values from a full row."""
    if not any(left_out):
        return _plan(table, "sqlite")[0], _identity
    kept = [i for i, gone in enumerate(left_out) if not gone]
    names = ", ".join(table.columns[i].name for i in kept)
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(kept))})"
    pick = operator.itemgetter(*kept)
    return sql, (pick if len(kept) > 1 else lambda row: (pick(row),))


# Rows from which PostgreSQL gets COPY instead of an INSERT per row. An INSERT per row costs the server a
# parse-bind-execute cycle each (most of a bulk load's time there); COPY streams the rows into the table in
# one statement, several times faster. Small writes keep the plain INSERT, which is as quick for them.
COPY_FROM = 64


def _copy(conn: Connection, table: str, names: tuple[str, ...], params: Sequence[tuple[Any, ...]]) -> None:
    """COPY the rows in (text format: the server reads each value as it would an INSERT's text parameter,
    JSON text into JSONB included), inside the caller's transaction. Errors surface as SQLAlchemy's own (an
    IntegrityError for a taken key), and a lost connection is invalidated, as `exec_driver_sql` would do."""
    statement = f"COPY {table} ({', '.join(names)}) FROM STDIN"
    driver = conn.dialect.loaded_dbapi
    dbapi_connection = conn.connection.dbapi_connection
    if dbapi_connection is None:
        raise RuntimeError("the connection was closed before its bulk insert")
    try:
        with dbapi_connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in params:
                copy.write_row(row)
    except driver.Error as exc:
        gone = conn.dialect.is_disconnect(exc, dbapi_connection, None)
        if gone:
            conn.invalidate(exc)
        raise DBAPIError.instance(
            statement, None, exc, driver.Error, connection_invalidated=gone, dialect=conn.dialect
        ) from exc
