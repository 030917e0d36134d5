"""Checks and helpers every file reader shares, so each format module holds only its own parsing.

Option values come from a mapping's YAML or an API request, so each is checked here with a message naming
the file, the option and what was expected: a wrong option is a 400 before anything is read, never a
TypeError half-way through an import.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from openrms.ingest.rows import RAW_LIMIT, SourceError, SourceRow


def source_file(source: str | Path, what: str) -> Path:
    """The path of a readable, non-empty file; `what` names the format expected ("CSV records")."""
    path = Path(source)
    if not path.exists():
        raise SourceError(f"{path}: file not found; expected a file of {what}")
    if not path.is_file():
        raise SourceError(f"{path}: not a regular file; expected a file of {what}")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SourceError(f"{path}: cannot be read ({exc.strerror}); expected a file of {what}") from exc
    if size == 0:
        raise SourceError(f"{path}: file is empty; expected a file of {what}")
    return path


GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"


def open_binary(path: Path) -> BinaryIO:
    """A text source's bytes, decompressed as they are read if the file is gzip-compressed (an export sent
    as `crimes.csv.gz`): exports are often compressed, and decompressing one first needs disk space the
    size of the file. A zip archive may hold several files, so it is refused with what to do instead."""
    f = path.open("rb")
    head = f.read(len(ZIP_MAGIC))
    f.seek(0)
    if head.startswith(GZIP_MAGIC):
        return _Gunzipped(path, f)
    if head == ZIP_MAGIC:
        f.close()
        raise SourceError(
            f"{path}: a zip archive, not a text file; extract the file to import from it first "
            "(gzip-compressed files, .gz, are read as they are)"
        )
    return f


def text_size(path: Path) -> int | None:
    """About how many bytes of text a source file holds, to estimate how far an import has got: its size,
    or for a gzip file the uncompressed size its trailer gives (modulo 4 GiB, so a larger one is unknown:
    None); None for a zip archive (a workbook), whose rows are not its bytes."""
    try:
        with path.open("rb") as f:
            head = f.read(len(ZIP_MAGIC))
            if head == ZIP_MAGIC:
                return None
            size = f.seek(0, 2)
            if not head.startswith(GZIP_MAGIC) or size < 18:
                return size
            f.seek(-4, 2)
            inflated = int.from_bytes(f.read(4), "little")
    except OSError:
        return None
    return inflated if inflated >= size else None  # smaller than the compressed file: it wrapped round


class _Gunzipped(gzip.GzipFile):
    """A gzip-compressed file read as its contents, whose damage (a file cut short in transfer, a bad
    checksum) is a SourceError naming the file, not a zlib error from deep inside a reader."""

    def __init__(self, path: Path, raw: BinaryIO) -> None:
        super().__init__(fileobj=raw, mode="rb")
        self._path, self._raw = path, raw

    @contextmanager
    def _reading(self) -> Iterator[None]:
        try:
            yield
        except (OSError, EOFError, zlib.error) as exc:
            raise SourceError(
                f"{self._path}: the gzip-compressed file is damaged or cut short ({exc}); fetch the file "
                "again and import it again (the rows already imported are found unchanged, not duplicated)"
            ) from None

    def read(self, size: int | None = -1) -> bytes:
        with self._reading():
            return super().read(size)

    def read1(self, size: int = -1) -> bytes:
        with self._reading():
            return super().read1(size)

    def readline(self, size: int | None = -1) -> bytes:
        with self._reading():
            return super().readline(size)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._raw.close()


def failed(number: int, location: str, raw: str, error: str) -> SourceRow:
    """A row that could not be parsed. NUL characters are replaced in `raw`: quarantine keeps it as text,
    and PostgreSQL text cannot hold NUL."""
    return SourceRow.failed(number, location, raw[:RAW_LIMIT].replace("\x00", "\ufffd"), error)


def lines_location(first: int, last: int) -> str:
    return f"line {first}" if first == last else f"lines {first}-{last}"


def to_json(value: Any) -> str:
    """`raw` for formats whose records are values, not text (JSON elements, spreadsheet rows, SQL rows)."""
    return json.dumps(value, ensure_ascii=False, default=str)


def flatten_objects(record: dict[str, Any]) -> dict[str, Any]:
    """A JSON record with its nested objects' fields named by their paths, as an XML record's are:
    `{"victim": {"surname": "SMITH"}}` gives `victim/surname`. Lists stay lists (of values, or of objects
    flattened alike), for `many` and `each`. Raises RecursionError for absurd nesting."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            for inner, item in flatten_objects(value).items():
                flat[f"{key}/{inner}"] = item
        elif isinstance(value, list):
            flat[key] = [flatten_objects(v) if isinstance(v, dict) else v for v in value]
        else:
            flat[key] = value
    return flat


def object_row(number: int, where: str, raw: str, value: dict[str, Any]) -> SourceRow:
    """A JSON object (from a file, or pushed by a feed) as a row, its nested objects read by their paths."""
    try:
        return SourceRow(number, where, raw, flatten_objects(value))
    except RecursionError:
        return failed(number, where, raw, "objects nested too deeply to read")


def opt_bool(path: object, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SourceError(f"{path}: option {name!r} must be true or false, not {value!r}")
    return value


def opt_int(path: object, name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SourceError(
            f"{path}: option {name!r} must be a whole number of at least {minimum}, not {value!r}"
        )
    return value


def opt_char(path: object, name: str, value: Any) -> str:
    if value in ("\\t", "tab"):
        return "\t"
    if not isinstance(value, str) or len(value) != 1 or value in "\r\n":
        raise SourceError(f"{path}: option {name!r} must be a single character, not {value!r}")
    return value


def opt_names(path: object, name: str, value: Any) -> list[str]:
    """A list of distinct, non-empty column names."""
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        raise SourceError(f"{path}: option {name!r} must be a non-empty list of column names, not {value!r}")
    names = [n.strip() if isinstance(n, str) else n for n in value]
    bad = [n for n in names if not isinstance(n, str) or not n]
    if bad:
        raise SourceError(f"{path}: option {name!r} must list non-empty names; found {bad[0]!r}")
    check_unique(path, names, f"option {name!r}")
    return names


def check_unique(path: object, names: Sequence[str], where: str) -> None:
    seen: set[str] = set()
    dups = [n for n in names if n in seen or seen.add(n)]  # type: ignore[func-returns-value]
    if dups:
        listed = ", ".join(repr(n) for n in dict.fromkeys(dups))
        raise SourceError(
            f"{path}: duplicate column names in the {where}: {listed}; each column needs its own name"
        )
