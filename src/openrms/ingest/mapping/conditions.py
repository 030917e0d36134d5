"""Conditions (`skip_when`, a record's or field's or link's `when`) compiled to `test(row, context) -> bool`.

    {field: X, equals: v}         {field: X, in: [a, b]}       {field: X, present: true}
    {field: X, matches: regex}    {all: [...]}  {any: [...]}  {not: condition}

The field's value is read as everywhere else: trimmed, and empty when it is one of the mapping's
`null_values`. `equals` and `in` compare exactly, or ignoring case with `ignore_case: true`;
`matches` searches the value (anchor with ^ and $ to match all of it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from openrms.ingest.mapping.context import Build
from openrms.ingest.mapping.yamlload import LDict, LList

Test = Callable[[Mapping[str, Any], Mapping[str, Any] | None], bool]
TESTS = ("equals", "in", "present", "matches")
KEYS = ("field", *TESTS, "ignore_case", "all", "any", "not")


def _never(row: Any, context: Any) -> bool:
    return False


def compile_condition(node: Any, line: int, b: Build) -> Test:
    """The test, or one that is always false after reporting why the condition is broken."""
    node = b.mapping(node, line, "a condition")
    if node is None:
        return _never
    b.check_keys(node, KEYS, "a condition")
    combinators = [k for k in ("all", "any", "not") if k in node]
    if (combinators and "field" in node) or len(combinators) > 1:
        b.problem(node.line, "a condition is one of {field: ...}, {all: [...]}, {any: [...]} or {not: ...}")
        return _never
    if combinators:
        return _combined(node, combinators[0], b)
    if "field" not in node:
        b.problem(
            node.line, "a condition needs `field` (with one of equals, in, present, matches), or all/any/not"
        )
        return _never
    return _field_test(node, b)


def _combined(node: LDict, key: str, b: Build) -> Test:
    if key == "not":
        inner = compile_condition(node["not"], node.line_of("not"), b)
        return lambda row, context: not inner(row, context)
    items = node[key]
    if not isinstance(items, LList) or not items:
        b.problem(node.line_of(key), f"{key} must be a list of conditions")
        return _never
    tests = tuple(compile_condition(item, items.line_of(i), b) for i, item in enumerate(items))
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        first, second = tests
        if key == "all":
            return lambda row, context: first(row, context) and second(row, context)
        return lambda row, context: first(row, context) or second(row, context)
    wanted = key == "any"  # all: stop at the first false; any: at the first true

    def combined(row: Any, context: Any) -> bool:
        for test in tests:
            if test(row, context) is wanted:
                return wanted
        return not wanted

    return combined


def _field_test(node: LDict, b: Build) -> Test:
    name = b.text(node, "field")
    tests = [k for k in TESTS if k in node]
    if len(tests) != 1:
        b.problem(node.line, f"a field condition needs exactly one of {', '.join(TESTS)}")
        return _never
    if name is None:
        b.problem(node.line_of("field"), "field must name a source field")
        return _never
    read = b.reader(name, node.line_of("field"))
    fold = b.flag(node, "ignore_case", False)
    kind = tests[0]
    if kind == "present":
        wanted = b.flag(node, "present", True)
        if wanted:
            return lambda row, context: read(row, context) != ""
        return lambda row, context: read(row, context) == ""
    if kind == "matches":
        pattern = b.text(node, "matches")
        regex = b.regex(pattern, node.line_of("matches")) if pattern is not None else None
        if regex is None:
            return _never
        search = regex.search
        return lambda row, context: search(read(row, context)) is not None
    if kind == "equals":
        value = node["equals"]
        if not isinstance(value, (str, type(None))):
            b.problem(node.line_of("equals"), "equals must be a single value (use `in` for several)")
            return _never
        expected = (value or "").casefold() if fold else value or ""
        if fold:
            return lambda row, context: read(row, context).casefold() == expected
        return lambda row, context: read(row, context) == expected
    values = node["in"]
    if not isinstance(values, LList) or not all(isinstance(v, (str, type(None))) for v in values):
        b.problem(node.line_of("in"), "in must be a list of values")
        return _never
    choices = frozenset((v or "").casefold() if fold else v or "" for v in values)
    if fold:
        return lambda row, context: read(row, context).casefold() in choices
    return lambda row, context: read(row, context) in choices
