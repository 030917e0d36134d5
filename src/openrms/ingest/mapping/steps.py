"""The middle of a field expression: text steps (split, replace, case) and conversions (translate, date,
datetime, number, boolean), checked and compiled once; plus the load-time check of constants written for
code-list fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openrms.ingest.mapping import convert as cv
from openrms.ingest.mapping.context import Build
from openrms.ingest.mapping.errors import suggest
from openrms.ingest.mapping.yamlload import LDict
from openrms.schema import FieldDef

CONVERSIONS = ("date", "datetime", "number", "boolean")
EXPECTED = {"date": "a date", "datetime": "a date and time", "number": "a number", "boolean": "yes or no"}
CASES = {"upper": str.upper, "lower": str.lower, "title": str.title}


def text_steps(node: LDict, b: Build, trim: bool, source: str) -> list[Callable[[str], str]]:
    steps: list[Callable[[str], str]] = []
    if "split" in node and (split := b.mapping(node["split"], node.line_of("split"), "split")) is not None:
        b.check_keys(split, ("by", "part"), "split")
        by, part = b.text(split, "by"), split.get("part", "0")
        try:
            index = int(part)
        except (TypeError, ValueError):
            b.problem(
                split.line_of("part"), f"split part must be a whole number (0 is the first), not {part!r}"
            )
            index = 0
        if not by:
            b.problem(split.line, "split needs `by`, the separator")
        else:

            def split_step(text: str) -> str:
                parts = text.split(by)
                if -len(parts) <= index < len(parts):
                    return parts[index].strip() if trim else parts[index]
                return ""

            steps.append(split_step)
    if "replace" in node and (pairs := b.mapping(node["replace"], node.line_of("replace"), "replace")):
        for pattern, replacement in pairs.items():
            regex = b.regex(pattern, pairs.line_of(pattern))
            if regex is None:
                continue
            try:
                regex.sub(replacement or "", "")
            except Exception as exc:  # a bad group reference in the replacement
                b.problem(pairs.line_of(pattern), f"replacement '{replacement}' for '{pattern}': {exc}")
                continue
            steps.append(lambda text, sub=regex.sub, repl=replacement or "": sub(repl, text))
    if "case" in node:
        case = b.text(node, "case")
        if case not in CASES:
            b.problem(node.line_of("case"), f"case must be upper, lower or title, not {case!r}")
        else:
            steps.append(CASES[case])
    return steps


def compile_conversions(
    node: LDict, b: Build, path: str, source: str, target: FieldDef | None
) -> list[cv.Convert]:
    out: list[cv.Convert] = []
    if "translate" in node:
        name = b.text(node, "translate")
        if name is not None and name not in b.translations:
            hint = suggest(name, b.translations, listing=True) if b.translations else " (none are declared)"
            b.problem(node.line_of("translate"), f"unknown translation table {name!r}{hint}")
        elif name is not None:
            out.append(cv.translator(name, b.translations[name], source))
            check_translation(b, target, name, f"{path} (line {node.line_of('translate')})")
    kinds = [k for k in CONVERSIONS if k in node]
    if len(kinds) > 1:
        b.problem(node.line_of(kinds[1]), f"{path} takes only one of {', '.join(kinds)}")
    for key in ("as", "timezone"):
        if key in node and kinds[:1] not in (["date"], ["datetime"]):
            b.problem(node.line_of(key), f"`{key}` goes with date or datetime")
    if not kinds:
        return out
    kind, line = kinds[0], node.line_of(kinds[0])
    if kind in ("date", "datetime"):
        patterns = b.texts(node, kind) or []
        bad = [p for p in (cv.pattern_problem(pattern, kind) for pattern in patterns) if p]
        for problem in bad:
            b.problem(line, problem)
        position, zone = b.text(node, "as"), b.text(node, "timezone")
        if position is not None and position not in cv.DATE_POSITIONS:
            b.problem(
                node.line_of("as"), f"as must be one of {', '.join(cv.DATE_POSITIONS)}, not {position!r}"
            )
        if zone is not None and kind == "date":
            b.problem(node.line_of("timezone"), "timezone goes with datetime (dates have no time zone)")
        elif zone is not None and (problem := cv.timezone_problem(zone)):
            b.problem(node.line_of("timezone"), problem)
        elif patterns and not bad:
            with_time = kind == "datetime"
            out.append(
                cv.date_converter(
                    patterns, with_time=with_time, position=position, timezone=zone, source=source
                )
            )
    elif kind == "number":
        number = b.text(node, "number")
        if number not in ("int", "float"):
            b.problem(line, f"number must be int or float, not {number!r}")
        else:
            out.append(cv.number_converter(number, source))
    elif b.flag(node, "boolean", True):
        out.append(cv.boolean_converter(source))
    return out


def check_codes(b: Build, target: FieldDef | None, values: Any, line: int, path: str) -> None:
    """Constants written for a code-list field must be codes or labels of its list."""
    codes = b.codelists.get(target.codelist) if target is not None and target.codelist else None
    if codes is None:
        return
    for value in values:
        if isinstance(value, str) and value.strip().upper() not in codes:
            b.problem(
                line,
                f"{path}: {value!r} is not a code of list {target.codelist!r}"
                f"{suggest(value, codes.values(), listing=False)}",
            )


def check_translation(b: Build, target: FieldDef | None, name: str, user: str) -> None:
    """A table used for a code-list field must translate to codes (or labels) of that list."""
    codes = b.codelists.get(target.codelist) if target is not None and target.codelist else None
    table = b.translations[name]
    for key, value in table.items() if codes else ():
        if isinstance(value, str) and value.strip().upper() not in codes:
            hint = suggest(value, codes.values(), listing=False)
            b.problem(
                table.line_of(key),
                f"translation {name!r} gives {value!r} for {key!r}, which is not a code "
                f"of list {target.codelist!r} (used by {user}){hint}",
            )
