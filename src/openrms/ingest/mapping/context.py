"""What compiling a mapping shares between its parts: the problems found so far, the source fields named
(with their lines, for `check_columns`), the translation tables and the mapping-wide cleaning settings."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from openrms.ingest.mapping.errors import Problems, suggest
from openrms.ingest.mapping.values import (
    ITEM,
    PSEUDO_FIELDS,
    Reader,
    field_reader,
    parse_template,
    placeholders,
    template_reader,
)
from openrms.ingest.mapping.yamlload import LDict, LList

_FLAGS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


class Build:
    def __init__(self, origin: str) -> None:
        self.problems = Problems(origin)
        self.uses: list[tuple[str, int]] = []  # (source field, YAML line)
        self.translations: dict[str, dict[str, Any]] = {}
        self.translation_lines: dict[str, int] = {}
        self.null_values: frozenset[str] = frozenset()
        self.record_names: set[str] = set()
        self.context_used: set[str] = set()  # $file, $line, $row
        # While a record with `each` is compiled: its repeated part. Names are then read in each item, and
        # a name starting with "/" in the row around it.
        self.each: str | None = None
        self.repeated: dict[str, str] = {}  # the records with `each`: name -> repeated part
        self.repeated_end: str | None = None  # while a link to a record with `each` is compiled: that record
        self.codelists: dict[str, dict[str, str]] = {}  # list -> {CODE or LABEL upper-cased: code}

    def problem(self, line: int, message: str) -> None:
        self.problems.add(line, message)

    def check_keys(self, node: LDict, allowed: Iterable[str], where: str) -> None:
        allowed = list(allowed)
        for key in node:
            if key not in allowed:
                hint = suggest(key, allowed)
                self.problem(node.line_of(key), f"unknown key {key!r} in {where}{hint}")

    def mapping(self, node: Any, line: int, what: str) -> LDict | None:
        if isinstance(node, LDict):
            return node
        self.problem(line, f"{what} must be a mapping of keys to values, not {_kind(node)}")
        return None

    def text(self, node: LDict, key: str, what: str | None = None) -> str | None:
        value = node.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            return value
        self.problem(node.line_of(key), f"{what or key} must be a single value, not {_kind(value)}")
        return None

    def texts(self, node: LDict, key: str) -> list[str] | None:
        """A value or a list of values (as for `from`, `in`, `date`)."""
        value = node.get(key)
        if isinstance(value, str):
            return [value]
        if isinstance(value, LList) and value and all(isinstance(v, str) for v in value):
            return list(value)
        self.problem(node.line_of(key), f"{key} must be a value or a list of values")
        return None

    def flag(self, node: LDict, key: str, default: bool) -> bool:
        value = node.get(key)
        if value is None:
            return default
        found = _FLAGS.get(str(value).lower()) if isinstance(value, str) else None
        if found is None:
            self.problem(node.line_of(key), f"{key} must be true or false, not {value!r}")
            return default
        return found

    def use(self, name: str, line: int, *, scope: bool = False) -> bool:
        """Records a source field named at `line`; False (with a problem) when it cannot be used here."""
        if name.startswith("$") and name not in PSEUDO_FIELDS:
            self.problem(line, f"unknown row value {name!r}{suggest(name, PSEUDO_FIELDS)}")
            return False
        if name == ITEM and self.each is None:
            self.problem(
                line, f"{ITEM} is the number of an item of `each`; this record or link has no `each`"
            )
            return False
        if self.is_record_key(name, scope):
            if name[1:] in self.repeated and name[1:] != self.repeated_end:
                self.problem(
                    line,
                    f"{{{name}}}: {name[1:]!r} is a record with `each`, one per item; only a link to it "
                    "can use its key",
                )
                return False
            return True
        if name == ITEM:
            return True  # given with each item, not by the pipeline
        if name.startswith("$"):
            self.context_used.add(name)
        elif self.each is None:
            self.uses.append((name, line))
        elif name.startswith("/"):
            self.uses.append((name[1:], line))
        # else a name within an item of `each`: not a column of the source (the repeated part is)
        return True

    def is_record_key(self, name: str, scope: bool) -> bool:
        """`{@crime}` in a link's key is the key of the row's record named "crime"; anywhere else, and for a
        name that is no record, `@name` is a source field (an XML attribute such as `@id`)."""
        return scope and name.startswith("@") and name[1:] in self.record_names

    def reader(
        self, name: str, line: int, *, trim: bool = True, nulls: frozenset[str] | None = None
    ) -> Reader:
        self.use(name, line)
        return field_reader(name, trim, self.null_values if nulls is None else nulls)

    def template(
        self,
        text: str,
        line: int,
        *,
        trim: bool = True,
        nulls: frozenset[str] | None = None,
        scope: bool = False,
    ) -> Reader | None:
        try:
            parts = parse_template(text)
        except ValueError as exc:
            self.problem(line, f"template {text!r}: {exc}")
            return None
        if not all([self.use(name, line, scope=scope) for name in placeholders(parts)]):
            return None
        chosen = self.null_values if nulls is None else nulls
        return template_reader(
            parts, lambda name: field_reader(name, trim, chosen, record_key=self.is_record_key(name, scope))
        )

    def regex(self, pattern: str, line: int) -> re.Pattern[str] | None:
        try:
            return re.compile(pattern)
        except re.error as exc:
            self.problem(line, f"invalid regular expression '{pattern}': {exc}")
            return None


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return repr(value)
