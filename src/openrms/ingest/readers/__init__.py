"""Streaming readers of import sources: each turns a file (or a SQL query) into `SourceRow`s.

`open_reader(source, spec)` is the one entry point. `spec` is the mapping's `source:` block merged with any
reader options from the request: "format" plus that format's options. Options are checked up front (an
unknown key is a SourceError naming it and the allowed ones), and each reader checks what it can before
the first row (the file exists and is not empty, the encoding, the header, a refused DTD), so a bad source
is a 400 before anything is imported. After that, a record that cannot be parsed is a failed SourceRow and
the stream goes on.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from openrms.ingest.readers._common import text_size
from openrms.ingest.readers.csv import CsvReader
from openrms.ingest.readers.fixed import FixedWidthReader
from openrms.ingest.readers.json import JsonLinesReader, JsonReader
from openrms.ingest.readers.sql import SqlReader
from openrms.ingest.readers.xlsx import XlsxReader
from openrms.ingest.readers.xml import XmlReader
from openrms.ingest.rows import Reader, SourceError

READERS: dict[str, Any] = {
    "csv": CsvReader,
    "jsonl": JsonLinesReader,
    "json": JsonReader,
    "xml": XmlReader,
    "fixed": FixedWidthReader,
    "xlsx": XlsxReader,
    "sql": SqlReader,
}
FORMATS: tuple[str, ...] = tuple(READERS)

_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".tab": "csv",
    ".psv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".xml": "xml",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".dat": "fixed",
    ".fw": "fixed",
    ".fwf": "fixed",
}

__all__ = [
    "FORMATS",
    "CsvReader",
    "FixedWidthReader",
    "JsonLinesReader",
    "JsonReader",
    "SqlReader",
    "XlsxReader",
    "XmlReader",
    "guess_format",
    "open_reader",
    "text_size",
]


def _fixed_layout(spec: Mapping[str, Any] | None) -> bool:
    """A `columns` option of {name, start, ...} items is a fixed-width layout (CSV's are plain names)."""
    columns = (spec or {}).get("columns")
    return isinstance(columns, list) and bool(columns) and all(isinstance(c, Mapping) for c in columns)


def guess_format(path: str | Path, spec: Mapping[str, Any] | None = None) -> str:
    """The format a file's extension implies; .txt is fixed width if `spec` has a column layout, else CSV.
    A gzip-compressed file's is that of its name without `.gz` (`crimes.csv.gz` is CSV)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".gz":
        suffix = Path(Path(path).stem).suffix.lower()
        if suffix in (".xlsx", ".xlsm"):
            raise SourceError(f"{path}: a compressed workbook; decompress it (gunzip) and import the .xlsx")
    if suffix == ".txt":
        return "fixed" if _fixed_layout(spec) else "csv"
    if suffix == ".xls":
        raise SourceError(f"{path}: legacy Excel .xls is not supported; save it as .xlsx or CSV")
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    raise SourceError(
        f"{path}: cannot tell the format from the extension {suffix or '(none)'!r}; "
        f"set format to one of {', '.join(FORMATS)}"
    )


def _shown(source: str | Path, fmt: str) -> str:
    """The source as quoted in a message: a database URL without its password."""
    if fmt != "sql" and "://" not in str(source):
        return str(source)
    try:
        return make_url(str(source)).render_as_string(hide_password=True)
    except (SQLAlchemyError, ValueError, TypeError):
        return "the database source"


def open_reader(source: str | Path, spec: Mapping[str, Any]) -> Reader:
    """The reader `spec["format"]` names (guessed from the extension when absent), with the other keys of
    `spec` as its options. For "sql", `source` is a SQLAlchemy URL and `spec` has "query"."""
    fmt = spec.get("format") or guess_format(source, spec)
    if not isinstance(fmt, str) or fmt not in READERS:
        raise SourceError(
            f"{_shown(source, fmt)}: unknown format {fmt!r}; expected one of {', '.join(FORMATS)}"
        )
    cls = READERS[fmt]
    options = {key: value for key, value in spec.items() if key != "format"}
    unknown = sorted(set(options) - cls.OPTIONS, key=str)
    if unknown:
        allowed = ", ".join(sorted(cls.OPTIONS)) or "none"
        listed = ", ".join(map(repr, unknown))
        raise SourceError(f"{_shown(source, fmt)}: unknown {fmt} option {listed}; allowed: {allowed}")
    reader: Reader = cls(source, **options)
    return reader
