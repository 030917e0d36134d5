"""JSON Lines (one object per line) and JSON documents (an array of objects, or objects at a path).

JSON Lines is read a line at a time, so a bad line fails alone. A JSON document is streamed with ijson and
each record built from its parse events, so memory holds one record, not the document. A document that
breaks mid-way cannot be resynchronised (there is no record boundary to look for), so the reader yields
one failed row describing the position (with the partly built record as `raw`) and stops; a document that
breaks before its first record even starts is a SourceError instead, as nothing usable was read. A path
that matches nothing in a well-formed document is a SourceError too (most likely a wrong records_path);
an empty array at the path is simply no rows.

Values are native (str, int, float, bool, None, lists), the same from both readers; numbers are floats or
ints, as `json.loads` gives them. NaN and Infinity are not JSON and fail the record. A nested object's
fields are named by their paths (`victim/surname`), as an XML record's are, so a mapping reads them the
same way whichever format an export comes in.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import ijson
from ijson.common import ObjectBuilder

from openrms.ingest.readers._common import failed, object_row, open_binary, source_file, to_json
from openrms.ingest.rows import SourceError, SourceRow

MAX_LINE_BYTES = 16 << 20
_STARTS = {"start_map", "start_array"}
_ENDS = {"end_map", "end_array"}
_KINDS = {
    "string": "a string",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
    "start_array": "an array",
}


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not valid JSON")


def _skip_bom(f: BinaryIO) -> None:
    if f.read(3) != codecs.BOM_UTF8:
        f.seek(0)


class JsonLinesReader:
    """One JSON object per line (.jsonl, .ndjson); blank lines are skipped and not counted."""

    OPTIONS: frozenset[str] = frozenset()
    columns = None

    def __init__(self, source: str | Path) -> None:
        self.path = source_file(source, "JSON Lines records (one JSON object per line)")

    def rows(self) -> Iterator[SourceRow]:
        number = 0
        with open_binary(self.path) as f:
            _skip_bom(f)
            for line_no, chunk in enumerate(iter(lambda: f.readline(MAX_LINE_BYTES), b""), 1):
                where = f"line {line_no}"
                if len(chunk) == MAX_LINE_BYTES and not chunk.endswith(b"\n"):
                    head = chunk[:65536].decode("utf-8", "replace")
                    while not chunk.endswith(b"\n") and (chunk := f.readline(MAX_LINE_BYTES)):
                        pass
                    number += 1
                    yield failed(number, where, head, f"line is longer than {MAX_LINE_BYTES:,} bytes")
                    continue
                try:
                    text = chunk.decode("utf-8")
                except UnicodeDecodeError as exc:
                    number += 1
                    yield failed(
                        number,
                        where,
                        chunk.decode("utf-8", "replace").rstrip("\r\n"),
                        f"not UTF-8: byte 0x{chunk[exc.start]:02x} at column {exc.start + 1} "
                        "cannot be decoded",
                    )
                    continue
                if not text.strip():
                    continue
                number += 1
                yield self._row(number, where, text.rstrip("\r\n"))

    @staticmethod
    def _row(number: int, where: str, text: str) -> SourceRow:
        try:
            value = json.loads(text, parse_constant=_not_json)
        except json.JSONDecodeError as exc:
            return failed(number, where, text, f"invalid JSON at column {exc.colno}: {exc.msg}")
        except (ValueError, RecursionError) as exc:
            return failed(number, where, text, f"invalid JSON: {exc}")
        if not isinstance(value, dict):
            return failed(number, where, text, f"expected a JSON object, found {_kind(value)}")
        return object_row(number, where, text, value)


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true or false"
    if value is None:
        return "null"
    return "a number"


def _ijson_message(exc: Exception) -> str:
    """yajl's message is "<error>\\n<context>\\n(right here) ------^": keep the error and the context."""
    text = exc.args[0] if exc.args else str(exc)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    parts = [part.strip() for part in str(text).splitlines() if part.strip()]
    if len(parts) >= 2 and "(right here)" in parts[-1]:
        return f"{parts[0]} near: {parts[1][:200]}"
    return " ".join(parts) or type(exc).__name__


class JsonReader:
    """A JSON document whose records are the values at `records_path` (ijson prefix syntax; "item" is each
    element of a top-level array, "data.item" each element of the array under key "data")."""

    OPTIONS = frozenset({"records_path"})
    columns = None

    def __init__(self, source: str | Path, *, records_path: str = "item") -> None:
        self.path = source_file(source, "JSON records (an array of objects)")
        if not isinstance(records_path, str) or not records_path:
            raise SourceError(
                f"{self.path}: option 'records_path' must be an ijson prefix such as 'item' or "
                f"'data.item', not {records_path!r}"
            )
        self.records_path = records_path

    def rows(self) -> Iterator[SourceRow]:
        path = self.records_path
        container = path.rsplit(".", 1)[0] if "." in path else ""
        number, found, depth = 0, False, 0
        builder: ObjectBuilder | None = None
        kind = ""
        with open_binary(self.path) as f:
            _skip_bom(f)
            events = ijson.parse(f, use_float=True)
            while True:
                try:
                    prefix, event, value = next(events)
                except StopIteration:
                    break
                except (ijson.JSONError, UnicodeDecodeError, ValueError) as exc:
                    message = f"malformed JSON: {_ijson_message(exc)}"
                    if number == 0 and builder is None:
                        raise SourceError(f"{self.path}: not a JSON document of records: {message}") from None
                    where = self._where(number + 1)
                    yield failed(
                        number + 1,
                        where,
                        to_json(builder.value) if builder else "",
                        f"{message}; the rest of the file cannot be read",
                    )
                    return
                if builder is not None:
                    builder.event(event, value)
                    depth += (event in _STARTS) - (event in _ENDS)
                    if depth == 0:
                        number += 1
                        yield self._row(number, builder.value, kind)
                        builder = None
                    continue
                if prefix == path and event != "map_key" and event not in _ENDS:
                    found = True
                    if event in _STARTS:
                        builder, depth, kind = ObjectBuilder(), 1, event
                        builder.event(event, value)
                    else:
                        number += 1
                        yield failed(
                            number,
                            self._where(number),
                            to_json(value),
                            f"expected a JSON object, found {_KINDS.get(event, event)}",
                        )
                elif prefix == container and event == "start_array":
                    found = True
        if not found:
            raise SourceError(
                f"{self.path}: found no records at {path!r}; expected a top-level array of "
                "objects, or set records_path to where the records are (e.g. 'data.item')"
            )

    def _where(self, number: int) -> str:
        return f"element {number} ({self.records_path})"

    def _row(self, number: int, value: Any, kind: str) -> SourceRow:
        raw = to_json(value)
        if kind != "start_map":
            return failed(number, self._where(number), raw, "expected a JSON object, found an array")
        return object_row(number, self._where(number), raw, value)
