"""Checks and helpers every file reader shares, so each format module holds only its own parsing.

Option values come from a mapping's YAML or an API request, so each is checked here with a message naming
the file, the option and what was expected: a wrong option is a 400 before anything is read, never a
TypeError half-way through an import.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
