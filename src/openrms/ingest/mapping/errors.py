"""The two kinds of mapping problem: a broken mapping (`MappingError`, before any row is read) and a row the
mapping cannot turn into records (`RowProblem`, caught by `apply` and reported as the row's reasons)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from openrms.errors import BadRequest


class MappingError(BadRequest):
    """A mapping that cannot be used; the message lists every problem found, each with its YAML line."""

    kind = "mapping-invalid"
    title = "Import mapping is invalid"

    def __init__(
        self,
        origin: str,
        problems: list[tuple[int, str]],
        *,
        fields_used: dict[str, list[int]] | None = None,
        source: dict[str, Any] | None = None,
    ) -> None:
        ordered = sorted(set(problems), key=lambda p: (p[0], p[1]))
        lines = [f"line {line}: {message}" if line else message for line, message in ordered]
        count = f"{len(lines)} problem" + ("s" if len(lines) != 1 else "")
        detail = f"mapping {origin} has {count}:\n  " + "\n  ".join(lines)
        super().__init__(detail, origin=origin, problems=lines)
        self.origin = origin
        self.problems = lines
        self.items = list(problems)
        # A mapping that failed to compile still knows which source fields it names and its reader's
        # options, so the caller can check them against the source too (see ingest.service) and report
        # every problem in one round.
        self.fields_used = fields_used or {}
        self.source = source


class RowProblem(Exception):
    """Why one source row cannot become a field value. `items` are (sub-path, message) pairs: objects report
    every sub-field at once."""

    def __init__(self, message: str = "", items: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.items = items if items is not None else [("", message)]


class Problems:
    """Collects the problems of one mapping so that all of them are reported together."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.items: list[tuple[int, str]] = []

    def add(self, line: int, message: str) -> None:
        self.items.append((line, message))

    def raise_if_any(self) -> None:
        if self.items:
            raise MappingError(self.origin, self.items)


def suggest(word: str, choices: Iterable[str], *, listing: bool = True) -> str:
    """A hint: "; did you mean 'x'?" for a close match, else the valid choices (when `listing`), else ""."""
    options = sorted(str(c) for c in choices)
    lowered = {c.lower(): c for c in options}
    if str(word).lower() in lowered:
        return f"; did you mean {lowered[str(word).lower()]!r}?"
    close = difflib.get_close_matches(str(word), options, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f" (valid: {', '.join(options)})" if listing and options else ""


def quote(value: object) -> str:
    """A source value as shown in a reason: quoted, and cut short if long."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return repr(text)


def column_problems(fields_used: dict[str, list[int]], columns: Iterable[str]) -> list[tuple[int, str]]:
    """Each source field the mapping names that is not a column of the source, at each line naming it."""
    present = {str(c) for c in columns}
    problems = []
    for field, lines in fields_used.items():
        if field in present:
            continue
        hint = suggest(field, present, listing=False) or f" (columns: {', '.join(sorted(present))})"
        problems += [(line, f"source has no field {field!r}{hint}") for line in sorted(set(lines))]
    return problems


def absent_field_warnings(
    origin: str, fields_used: dict[str, list[int]], absent: Iterable[str], seen: Iterable[str]
) -> list[str]:
    """For a source that declares no columns (JSON, XML): each field the mapping reads that no row had, at
    each line naming it, with the closest name the rows did have. Such a field reads as empty in every row,
    which is almost always a misspelt name or a wrong path, and is otherwise silent."""
    names = sorted({str(s) for s in seen})
    shown = ", ".join(names[:15]) + (", ..." if len(names) > 15 else "")
    warnings = []
    for field in sorted(absent):
        hint = suggest(field, names, listing=False) or (f" (the rows have: {shown})" if names else "")
        for line in sorted(set(fields_used.get(field, []))):
            warnings.append(
                f"{origin} line {line}: no row had a field {field!r}, so it read as empty in every row{hint}"
            )
    return warnings
