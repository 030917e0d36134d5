"""Fast bulk inserts: one precompiled INSERT per table and dialect, values converted by plain functions.

SQLAlchemy's per-row parameter processing costs about 15 microseconds a row; imports and the demo write
hundreds of thousands of rows, so the hot path converts values itself and hands tuples straight to the
driver's executemany. The conversions match what the column types would do, so rows written here read
back through SQLAlchemy exactly like any other. This is the only module that knows those details.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from typing import Any

import orjson
from sqlalchemy import JSON, Boolean, Connection, Table

from openrms.store.tables import UTCDateTime

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


def _converter(column: Any, dialect: str) -> Convert:
    ctype = column.type
    if isinstance(ctype, UTCDateTime):
        return _sqlite_time if dialect == "sqlite" else _identity
    if isinstance(ctype, JSON) or "JSON" in type(ctype).__name__.upper():
        return _json
    if isinstance(ctype, Boolean) and dialect == "sqlite":
        return _sqlite_bool
    return _identity


@cache
def _plan(table: Table, dialect: str) -> tuple[str, tuple[str, ...], tuple[tuple[int, Convert], ...]]:
    names = tuple(c.name for c in table.columns)
    if dialect == "sqlite":
        marks = ", ".join("?" for _ in names)
    else:
        marks = ", ".join(
            "CAST(%s AS JSONB)" if _converter(c, dialect) is _json else "%s" for c in table.columns
        )
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})"
    converters = ((i, _converter(c, dialect)) for i, c in enumerate(table.columns))
    return sql, names, tuple((i, fn) for i, fn in converters if fn is not _identity)


class Encoder:
    """Turns Python values into what the driver takes for one dialect, for callers that build tuples."""

    def __init__(self, dialect: str) -> None:
        sqlite = dialect == "sqlite"
        self.time: Convert = _sqlite_time if sqlite else _identity
        self.bool: Convert = _sqlite_bool if sqlite else _identity
        self.json: Convert = _json


def insert_tuples(conn: Connection, table: Table, params: Sequence[tuple[Any, ...]]) -> None:
    """Insert tuples already in `table`'s column order and encoded with `Encoder` for this dialect."""
    if not params:
        return
    sql, names, _ = _plan(table, conn.dialect.name)
    if len(params[0]) != len(names):
        raise ValueError(
            f"{table.name} takes {len(names)} values per row ({', '.join(names)}), got {len(params[0])}"
        )
    conn.exec_driver_sql(sql, list(params))


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with every column of `table`) in one executemany."""
    if not rows:
        return
    sql, names, converters = _plan(table, conn.dialect.name)
    params = []
    for row in rows:
        values = [row[name] for name in names]
        for index, convert in converters:
            values[index] = convert(values[index])
        params.append(tuple(values))
    conn.exec_driver_sql(sql, params)
