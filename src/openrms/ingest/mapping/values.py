"""Reading source values: a field of the row as clean text, the row's position (`$file`, `$line`, `$row`),
and templates ("{Surname}, {Forenames}") built from them.

Every reader is a closure `read(row, context) -> str` made once per mapping; "" means empty.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from openrms.ingest.mapping.errors import RowProblem

Reader = Callable[[Mapping[str, Any], Mapping[str, Any] | None], str]

# What the pipeline knows about a row besides its fields (see `row_context`), usable wherever a field is.
PSEUDO_FIELDS = {
    "$file": "the source file's name",
    "$line": "the line the row starts on (CSV and fixed-width sources)",
    "$row": "the row's number, counting from 1",
    "$item": "the item's number in the repeated part a record is made from (`each`), counting from 1",
}
ITEM = "$item"


def to_text(value: Any) -> str:
    """A source value of any reader as text: None is empty, lists are joined with ", "."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return ", ".join(t for t in (to_text(v).strip() for v in value) if t)
    if isinstance(value, Mapping):
        raise RowProblem(f"holds a nested structure ({', '.join(map(str, list(value)[:5]))}), not a value")
    return str(value)


def _named_text(name: str, value: Any) -> str:
    try:
        return to_text(value)
    except RowProblem as exc:
        raise RowProblem(f"source field {name!r} {exc}") from None


def field_reader(name: str, trim: bool, nulls: frozenset[str], record_key: bool = False) -> Reader:
    """Reads source field `name`: text, stripped when `trim`, and "" when it is one of the `nulls`.

    With `record_key`, `name` is `@record` in a link key: the row's record's source key.
    """
    if name in PSEUDO_FIELDS:
        return _pseudo_reader(name)
    if record_key:
        return _scope_reader(name)
    if trim and nulls:

        def read(row: Mapping[str, Any], context: Any) -> str:
            value = row.get(name)
            if value.__class__ is not str:
                value = _named_text(name, value)
            value = value.strip()
            return "" if value.casefold() in nulls else value

    elif trim:

        def read(row: Mapping[str, Any], context: Any) -> str:
            value = row.get(name)
            if value.__class__ is not str:
                value = _named_text(name, value)
            return value.strip()

    elif nulls:

        def read(row: Mapping[str, Any], context: Any) -> str:
            value = row.get(name)
            if value.__class__ is not str:
                value = _named_text(name, value)
            return "" if value.strip().casefold() in nulls else value

    else:

        def read(row: Mapping[str, Any], context: Any) -> str:
            value = row.get(name)
            return value if value.__class__ is str else _named_text(name, value)

    return read


def _pseudo_reader(name: str) -> Reader:
    key = name[1:]

    def read(row: Mapping[str, Any], context: Any) -> str:
        value = context.get(key) if context is not None else None
        if value is None or value == "":
            raise RowProblem(f"{name} ({PSEUDO_FIELDS[name]}) was not supplied by this import")
        return to_text(value)

    return read


def _scope_reader(name: str) -> Reader:
    """`{@crime}` in a link key: the source key of the row's record named "crime"."""

    def read(row: Mapping[str, Any], context: Any) -> str:
        return context.get(name, "") if context is not None else ""

    return read


def parse_template(text: str) -> list[str | tuple[str]]:
    """Literal text and `(field,)` placeholders; `{{` and `}}` are literal braces. Raises ValueError."""
    parts: list[str | tuple[str]] = []
    literal: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char in "{}" and text[i + 1 : i + 2] == char:
            literal.append(char)
            i += 2
        elif char == "}":
            raise ValueError(f"unmatched '}}' at position {i + 1} (write '}}}}' for a literal brace)")
        elif char == "{":
            end = text.find("}", i + 1)
            inner = text[i + 1 : end] if end != -1 else ""
            if end == -1 or "{" in inner:
                raise ValueError(f"'{{' at position {i + 1} is not closed (write '{{{{' for a literal brace)")
            if not inner.strip():
                raise ValueError(f"empty placeholder '{{}}' at position {i + 1}")
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append((inner,))
            i = end + 1
        else:
            literal.append(char)
            i += 1
    if literal:
        parts.append("".join(literal))
    return parts


def placeholders(parts: list[str | tuple[str]]) -> list[str]:
    return [p[0] for p in parts if isinstance(p, tuple)]


def template_reader(parts: list[str | tuple[str]], make: Callable[[str], Reader]) -> Reader:
    """Renders the template; when every placeholder is empty the result is empty (so `default` applies)."""
    readers = [make(p[0]) for p in parts if isinstance(p, tuple)]
    fmt = "".join("{}" if isinstance(p, tuple) else p.replace("{", "{{").replace("}", "}}") for p in parts)
    if not readers:
        constant = "".join(p for p in parts if isinstance(p, str))
        return lambda row, context: constant
    if len(readers) == 1 and fmt == "{}":
        return readers[0]
    if len(readers) == 1:
        only = readers[0]

        def render_one(row: Mapping[str, Any], context: Any) -> str:
            value = only(row, context)
            return fmt.format(value) if value else ""

        return render_one

    literals = [p for p in parts if isinstance(p, str)]
    if len(readers) == 2 and len(parts) == 3 and isinstance(parts[1], str):
        first, middle, second = readers[0], literals[0], readers[1]

        def render_two(row: Mapping[str, Any], context: Any) -> str:
            a, b = first(row, context), second(row, context)
            return a + middle + b if a or b else ""

        return render_two

    def render(row: Mapping[str, Any], context: Any) -> str:
        values = [read(row, context) for read in readers]
        return fmt.format(*values) if any(values) else ""

    return render
