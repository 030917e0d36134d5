"""Quarantined rows as a file, for the people who correct them where they were keyed.

Rows a legacy export gets wrong are usually fixed in the legacy system, by whoever keeps it, not by the
person running the import. They need the rows as a file they can open: a spreadsheet, one line a row, with
why each was refused, the row as the source gave it, and its fields in columns in the source's order. A
machine gets the same entries as JSON Lines, exactly as `openrms quarantine show` gives them.

Both stream from a server-side cursor, a piece of about 64 KB at a time.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from openrms.errors import BadRequest
from openrms.ingest import runs
from openrms.store.database import Database

FORMATS = ("csv", "jsonl")
# The entry's own columns, before the source's fields (a field of the same name gets " (source)" added)
LEAD = ("entry", "run", "row", "location", "status", "reasons", "raw")
CHUNK_CHARS = 64 * 1024
BOM = "\ufeff"  # so that Excel reads the file as UTF-8, not as the Windows code page (Zoë, Siân)

# A spreadsheet runs a cell starting with one of these as a formula: a source row holding
# `=HYPERLINK("http://...")` would run on the desk of whoever opens the file. Numbers (-1.55, +44) are safe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


@dataclass(frozen=True)
class Export:
    """What to export, checked before the first byte goes out: an error cannot follow a file half-sent.

    `status` is as asked for (a status, or `all`); `agency` narrows to one agency's runs as the API and
    the web pages do (None: every agency's, for the command line's operators)."""

    fmt: str = "csv"
    run_id: str | None = None
    status: str = "open"
    agency: str | None = None
    matching: str | None = None  # only rows one of whose reasons holds this text (see runs.reason_matches)

    def __post_init__(self) -> None:
        if self.fmt not in FORMATS:
            raise BadRequest(f"format must be one of {', '.join(FORMATS)}, not {self.fmt!r}")
        if self.status != "all" and self.status not in runs.STATUSES:
            raise BadRequest(f"status must be one of {', '.join(runs.STATUSES)} or all, not {self.status!r}")

    @property
    def chosen(self) -> runs.Chosen:
        status = None if self.status == "all" else self.status
        return runs.Chosen(self.run_id, status, self.agency, self.matching)

    def count(self, db: Database) -> int:
        """How many entries the export holds; NotFound for a run that is not there (or not the agency's)."""
        with db.read() as conn:
            if self.run_id:
                runs.check_run(conn, self.run_id, agency=self.agency)
            return runs.count_entries(conn, self.chosen)

    def audit_detail(self, count: int) -> dict[str, Any]:
        detail = {"run": self.run_id, "status": self.status, "export": self.fmt, "returned": count}
        return {**detail, "matching": self.matching} if self.matching is not None else detail

    @property
    def media_type(self) -> str:
        return "text/csv; charset=utf-8" if self.fmt == "csv" else "application/x-ndjson"

    @property
    def file_name(self) -> str:
        return f"quarantine-{self.run_id or 'all'}-{self.status}.{self.fmt}"

    def pieces(self, db: Database) -> Iterator[str]:
        """The export in pieces of about 64 KB, the CSV's header first (even with no entries), read in
        one transaction that lasts as long as the pieces are being taken."""
        with db.read() as conn:
            entries = runs.iter_entries(conn, self.chosen)
            if self.fmt == "jsonl":
                yield from _pieces(orjson.dumps(entry).decode() + "\n" for entry in entries)
            else:
                yield from _pieces(csv_lines(entries, runs.field_names(conn, self.chosen)))


def spreadsheet_safe(value: str) -> str:
    """The text as a spreadsheet shows it without running it: a leading apostrophe is how a spreadsheet
    marks a cell as text, and it shows the rest unchanged."""
    if value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def cell(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
    return spreadsheet_safe(text)


def csv_lines(entries: Iterable[dict[str, Any]], names: list[str]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180, and what spreadsheets write

    def line(values: list[str]) -> str:
        writer.writerow(values)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    header = [*LEAD, *(f"{name} (source)" if name in LEAD else name for name in names)]
    yield BOM + line([cell(name) for name in header])
    for entry in entries:
        fields = entry["fields"] or {}
        lead = [entry["id"], entry["run_id"], entry["row_number"], entry["location"], entry["status"]]
        values = [*lead, "\n".join(entry["reasons"]), entry["raw"], *(fields.get(n) for n in names)]
        yield line([cell(v) for v in values])


def _pieces(lines: Iterator[str]) -> Iterator[str]:
    piece: list[str] = []
    size = 0
    for text in lines:
        piece.append(text)
        size += len(text)
        if size >= CHUNK_CHARS:
            yield "".join(piece)
            piece, size = [], 0
    if piece:
        yield "".join(piece)


__all__ = ["FORMATS", "LEAD", "Export", "cell", "csv_lines", "spreadsheet_safe"]
