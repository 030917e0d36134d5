"""Field expressions compiled to `value(row, context)`: None or "" means "leave the field out".

Order of application (docs/mapping.md, "How a field is worked out"):
  when -> read (from / const / template; each source value trimmed and blanked if a null value)
  -> split -> replace -> case -> many (the rest per item) -> translate -> date|datetime|number|boolean
  -> default (when empty) -> optional (empty is fine, and conversions are not asked to convert it)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from openrms.ingest.mapping import convert as cv
from openrms.ingest.mapping.conditions import compile_condition
from openrms.ingest.mapping.context import Build
from openrms.ingest.mapping.errors import RowProblem
from openrms.ingest.mapping.objects import compile_object
from openrms.ingest.mapping.steps import CONVERSIONS, EXPECTED, check_codes, compile_conversions, text_steps
from openrms.ingest.mapping.values import Reader, to_text
from openrms.ingest.mapping.yamlload import LDict, LList, nothing
from openrms.schema import FieldDef

Value = Callable[[Mapping[str, Any], Mapping[str, Any] | None], Any]
SOURCES = ("from", "const", "template")
KEYS = (
    *SOURCES,
    "join",
    "split",
    "trim",
    "case",
    "replace",
    "null_values",
    "many",
    "translate",
    *CONVERSIONS,
    "as",
    "timezone",
    "default",
    "optional",
    "when",
    "fields",
)


def compile_expression(node: Any, line: int, b: Build, *, path: str, target: FieldDef | None = None) -> Value:
    """The compiled expression (a stand-in returning None when the expression is broken: see b.problems)."""
    if target is not None and target.type == "object":
        return compile_object(node, line, b, path, target, compile_expression)
    if isinstance(node, str):
        node = _shorthand(node, line)
    if isinstance(node, LList):
        b.problem(
            line, f"{path}: write several source fields as {{from: [...]}} with `join` or as a fallback"
        )
        return _nothing
    node = b.mapping(node, line, f"{path} (a field expression)")
    if node is None:
        return _nothing
    b.check_keys(node, KEYS, f"field expression {path}")
    if "fields" in node:
        b.problem(node.line_of("fields"), f"{path} is not an object: nested `fields` are for object fields")
    read, source = _source(node, b, path)
    trim = b.flag(node, "trim", True)
    steps = text_steps(node, b, trim, source)
    many = b.text(node, "many")
    if many is not None and target is not None and not target.many:
        b.problem(node.line_of("many"), f"{path} holds one value; `many` would make a list")
    converters = compile_conversions(node, b, path, source, target)
    if "const" in node and not converters:
        check_codes(b, target, [node["const"]], node.line_of("const"), path)
    when = compile_condition(node["when"], node.line_of("when"), b) if "when" in node else None
    default = _default(node, b, path, target)
    optional = b.flag(node, "optional", False)
    if read is None:
        return _nothing
    if not (steps or many or converters or when or default):
        return read
    lenient = optional or default is not None
    empty_problem = None
    if converters and not lenient and "translate" not in node:
        expected = EXPECTED[next(k for k in CONVERSIONS if k in node)]
        empty_problem = (
            f"empty ({source}) where {expected} is expected; add `optional: true` if it may be empty"
        )

    if not (steps or many or when) and len(converters) <= 1:
        return _simple(read, converters[0] if converters else None, default, lenient, empty_problem)

    def convert(value: Any) -> Any:
        for step in converters:
            value = step(value)
            if value is None or value == "":
                return None
        return value

    list_field = node.get("from") if many is not None else None
    if not isinstance(list_field, str) or list_field[:1] in ("$", "@"):
        list_field = None
    nulls = _nulls(node, b)
    nulls = b.null_values if nulls is None else nulls

    def pieces(row: Mapping[str, Any], context: Any) -> list[str]:
        """The items of a `many` field: a list value's items (XML, JSON), or the text split by `many`."""
        raw = row.get(list_field) if list_field is not None else None
        if raw.__class__ is not list and raw.__class__ is not tuple:
            text = read(row, context)
            for step in steps:
                text = step(text)
            return [i.strip() if trim else i for i in text.split(many)]
        out = []
        for item in raw:
            text = to_text(item).strip() if trim else to_text(item)
            if text.strip().casefold() in nulls:
                continue
            for step in steps:
                text = step(text)
            out.append(text)
        return out

    def value(row: Mapping[str, Any], context: Any) -> Any:
        if when is not None and not when(row, context):
            return None
        if many is not None:
            items = [convert(item) for item in pieces(row, context) if item]
            items = [item for item in items if item is not None and item != ""]
            if items:
                return items
            return default(row, context) if default is not None else None
        text = read(row, context)
        for step in steps:
            text = step(text)
        if text:
            result = convert(text) if converters else text
            if result is not None and result != "":
                return result
        elif converters and not lenient:
            if empty_problem:
                raise RowProblem(empty_problem)
            result = convert(text)
            if result is not None and result != "":
                return result
        return default(row, context) if default is not None else None

    return value


def compile_key(
    node: Any, line: int, b: Build, what: str, *, scope: bool = False
) -> tuple[Value | None, str]:
    """A source key: a template ("{Crime ID}") or a field expression ({from: ..., default: ...})."""
    if isinstance(node, str):
        read = b.template(node, line, scope=scope)
        if read is not None and "{" not in node.replace("{{", ""):
            b.problem(
                line,
                f"{what} {node!r} has no {{placeholders}}, so every row would get the same key; "
                f"did you mean '{{{node}}}'?",
            )
        return read, node
    if isinstance(node, LDict):
        return compile_expression(node, line, b, path=what), "the key expression"
    b.problem(line, f'{what} must be a template such as "{{Crime ID}}" or a field expression')
    return None, ""


def _simple(
    read: Reader, conversion: cv.Convert | None, default: Value | None, lenient: bool, empty: str | None
) -> Value:
    """The common shapes (a field, converted and/or with a default) without the general loop."""
    if conversion is None:
        assert default is not None

        def with_default(row: Mapping[str, Any], context: Any) -> Any:
            return read(row, context) or default(row, context)

        return with_default

    def converted(row: Mapping[str, Any], context: Any) -> Any:
        text = read(row, context)
        if text:
            result = conversion(text)
        elif lenient:
            result = None
        elif empty:
            raise RowProblem(empty)
        else:
            result = conversion(text)
        if result is None or result == "":
            return default(row, context) if default is not None else None
        return result

    return converted


def _nothing(row: Any, context: Any) -> None:
    return None


def _shorthand(name: str, line: int) -> LDict:
    node = LDict(**{"from": name})
    node.line, node.lines = line, {"from": line}
    return node


def _nulls(node: LDict, b: Build) -> frozenset[str] | None:
    if "null_values" not in node:
        return None
    values = node["null_values"]
    if not isinstance(values, LList) or not all(isinstance(v, (str, type(None))) for v in values):
        b.problem(node.line_of("null_values"), "null_values must be a list of values")
        return None
    return frozenset((v or "").strip().casefold() for v in values)


def _source(node: LDict, b: Build, path: str) -> tuple[Reader | None, str]:
    given = [k for k in SOURCES if k in node]
    if len(given) != 1:
        what = "needs one of" if not given else "takes only one of"
        b.problem(node.line, f"{path} {what} from, const or template")
        return None, ""
    key, line = given[0], node.line_of(given[0])
    trim, nulls = b.flag(node, "trim", True), _nulls(node, b)
    if "join" in node and (key != "from" or not isinstance(node["from"], LList)):
        b.problem(node.line_of("join"), f"{path}: join needs `from` with a list of fields")
    if key == "const":
        constant = nothing(node["const"])
        if not isinstance(constant, (str, type(None))):
            b.problem(line, f"{path}: const must be a single value")
        return (lambda row, context: constant), "const"
    if key == "template":
        text = b.text(node, "template")
        if text is None:
            return None, ""
        return b.template(text, line, trim=trim, nulls=nulls), f"from template {text!r}"
    names = b.texts(node, "from")
    if names is None:
        return None, ""
    readers = [b.reader(name, line, trim=trim, nulls=nulls) for name in names]
    source = "from " + ", ".join(names)
    if len(readers) == 1:
        return readers[0], source
    separator = b.text(node, "join")
    if separator is not None:

        def joined(row: Mapping[str, Any], context: Any) -> str:
            return separator.join(v for v in (read(row, context) for read in readers) if v)

        return joined, source

    def first(row: Mapping[str, Any], context: Any) -> str:
        for read in readers:
            value = read(row, context)
            if value:
                return value
        return ""

    return first, source


def _default(node: LDict, b: Build, path: str, target: FieldDef | None) -> Value | None:
    if "default" not in node:
        return None
    value, line = nothing(node["default"]), node.line_of("default")
    if isinstance(value, LDict):
        return compile_expression(value, line, b, path=f"{path} default", target=target)
    if not isinstance(value, (str, type(None))):
        b.problem(line, f"{path}: default must be a value, or a field expression {{...}}")
        return None
    check_codes(b, target, [value], line, path)
    return lambda row, context: value
