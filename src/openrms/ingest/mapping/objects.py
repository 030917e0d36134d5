"""Object fields (`person.physical_description`, `custody.reviews`): nested `fields:` compiled to a value
that is a dict (or a list of dicts), reporting every part's problem at once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from openrms.ingest.mapping.conditions import compile_condition
from openrms.ingest.mapping.context import Build
from openrms.ingest.mapping.errors import RowProblem, suggest
from openrms.ingest.mapping.yamlload import LDict, LList
from openrms.schema import FieldDef

Value = Callable[[Mapping[str, Any], Mapping[str, Any] | None], Any]


def _nothing(row: Any, context: Any) -> None:
    return None


def compile_object(
    node: Any, line: int, b: Build, path: str, target: FieldDef, compile_expression: Callable[..., Value]
) -> Value:
    """`{fields: {...}}` for an object field (a list of them for a field of many objects)."""
    if isinstance(node, LList) and target.many:
        parts = [
            compile_object(item, node.line_of(i), b, f"{path}[{i}]", target, compile_expression)
            for i, item in enumerate(node)
        ]
        return _many_objects(parts)
    subfields = node.get("fields") if isinstance(node, LDict) else None
    if not isinstance(subfields, LDict):
        listed = ", ".join(target.fields)
        b.problem(line, f"{path} is an object: give its parts under `fields:` ({listed})")
        return _nothing
    b.check_keys(node, ("fields", "when"), f"object field {path}")
    subs = []
    for name, expr in subfields.items():
        if name not in target.fields:
            hint = suggest(name, target.fields)
            b.problem(subfields.line_of(name), f"{path} has no field {name!r}{hint}")
            continue
        subs.append(
            (
                name,
                compile_expression(
                    expr, subfields.line_of(name), b, path=f"{path}.{name}", target=target.fields[name]
                ),
            )
        )
    when = compile_condition(node["when"], node.line_of("when"), b) if "when" in node else None
    wrap = target.many

    def value(row: Mapping[str, Any], context: Any) -> Any:
        if when is not None and not when(row, context):
            return None
        out, problems = {}, []
        for name, sub in subs:
            try:
                result = sub(row, context)
            except RowProblem as exc:
                problems += [(f".{name}{where}", message) for where, message in exc.items]
                continue
            if result is not None and result != "":
                out[name] = result
        if problems:
            raise RowProblem(items=problems)
        return ([out] if wrap else out) if out else None

    return value


def _many_objects(parts: list[Value]) -> Value:
    def value(row: Mapping[str, Any], context: Any) -> Any:
        out, problems = [], []
        for index, part in enumerate(parts):
            try:
                result = part(row, context)
            except RowProblem as exc:
                problems += [(f"[{index}]{where}", message) for where, message in exc.items]
                continue
            if result:
                out.extend(result)
        if problems:
            raise RowProblem(items=problems)
        return out or None

    return value
