"""From a YAML document to compiled records and links, checked against the schema registry. Every problem
found is collected (with its line) and reported at once by `MappingError`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import yaml

from openrms.ingest.mapping.conditions import Test, compile_condition
from openrms.ingest.mapping.context import Build
from openrms.ingest.mapping.errors import MappingError, suggest
from openrms.ingest.mapping.expressions import Value, compile_expression, compile_key
from openrms.ingest.mapping.links import Link, compile_links
from openrms.ingest.mapping.yamlload import LDict, LList, load
from openrms.schema import registry

TOP_KEYS = (
    "name",
    "description",
    "source",
    "agency",
    "source_system",
    "defaults",
    "null_values",
    "translations",
    "skip_when",
    "records",
    "links",
)
RECORD_KEYS = ("entity", "each", "when", "key", "fields", "classification", "handling", "handling_conditions")
MARKINGS = ("classification", "handling", "handling_conditions")
CODED_MARKINGS = {"classification": "classification", "handling": "handling"}


@dataclass(frozen=True)
class Record:
    name: str
    entity: str
    when: Test | None
    key: Value
    key_text: str
    fields: tuple[tuple[str, Value], ...]
    markings: tuple[tuple[str, Value], ...]
    each: str | None = None  # the repeated part of the row that gives one record per item


@dataclass
class Plan:
    name: str
    description: str
    source: dict[str, Any]
    agency: str | None
    source_system: str | None
    defaults: dict[str, str]
    skip_when: Test | None
    records: tuple[Record, ...]
    links: tuple[Link, ...]
    fields_used: dict[str, list[int]]
    context_used: set[str]
    codelists: dict[str, dict[str, str]]


def compile_mapping(text: str, origin: str) -> Plan:
    document, loader_problems = load(text, origin)
    b = Build(origin)
    for line, message in loader_problems:
        b.problem(line, message)
    reg = registry()
    b.codelists = {
        name: {
            **{label.upper(): code for code, label in cl.codes.items()},
            **{c.upper(): c for c in cl.codes},
        }
        for name, cl in reg.codelists.items()
    }
    if not isinstance(document, LDict):
        b.problem(1, "a mapping is a YAML mapping with name, source, records (and optionally links, ...)")
        b.problems.raise_if_any()
    top = document
    b.check_keys(top, [*TOP_KEYS, *(k for k in top if k.startswith("x-"))], "the mapping")
    name = b.text(top, "name") or PurePath(origin).stem
    for key in ("agency", "source_system", "description"):
        b.text(top, key)
    if "null_values" in top:
        values = top["null_values"]
        if isinstance(values, LList) and all(isinstance(v, (str, type(None))) for v in values):
            b.null_values = frozenset((v or "").strip().casefold() for v in values)
        else:
            b.problem(top.line_of("null_values"), "null_values must be a list of values")
    _translations(top, b)
    defaults = _defaults(top, b)
    skip_when = (
        compile_condition(top["skip_when"], top.line_of("skip_when"), b) if "skip_when" in top else None
    )
    records = _records(top, b, reg)
    declared = top.get("records") if isinstance(top.get("records"), LDict) else {}
    entities = {n: r.get("entity") for n, r in declared.items() if isinstance(r, LDict)}
    links = compile_links(top, b, reg, {n: e for n, e in entities.items() if e in reg.entity_types})
    fields_used: dict[str, list[int]] = {}
    for field, line in b.uses:
        fields_used.setdefault(field, []).append(line)
    if b.problems.items:
        raise MappingError(origin, b.problems.items, fields_used=fields_used, source=_plain_source(text))
    return Plan(
        name=name,
        description=top.get("description") or "",
        source=_source(text, top, b),
        agency=top.get("agency"),
        source_system=top.get("source_system"),
        defaults=defaults,
        skip_when=skip_when,
        records=tuple(records),
        links=tuple(links),
        fields_used=fields_used,
        context_used=b.context_used,
        codelists={k: b.codelists[k] for k in CODED_MARKINGS.values()},
    )


def _source(text: str, top: LDict, b: Build) -> dict[str, Any]:
    """The reader's options with ordinary YAML types (numbers, booleans), untouched otherwise."""
    if "source" not in top:
        return {}
    if not isinstance(top["source"], LDict):
        b.problem(top.line_of("source"), "source must be a mapping of reader options, e.g. {format: csv}")
        b.problems.raise_if_any()
    plain = yaml.safe_load(text)
    return dict(plain.get("source") or {})


def _plain_source(text: str) -> dict[str, Any] | None:
    """The reader's options of a mapping that failed to compile, when they can be read at all."""
    try:
        source = yaml.safe_load(text).get("source")
    except (yaml.YAMLError, AttributeError, RecursionError):
        return None
    return dict(source) if isinstance(source, dict) else None


def _translations(top: LDict, b: Build) -> None:
    tables = top.get("translations")
    if tables is None or b.mapping(tables, top.line_of("translations"), "translations") is None:
        return
    for name, table in tables.items():
        if b.mapping(table, tables.line_of(name), f"translation table {name!r}") is None:
            continue
        for key, value in table.items():
            if not isinstance(value, (str, type(None))):
                b.problem(table.line_of(key), f"translation {name}: {key!r} must translate to a single value")
        b.translations[name] = table
        b.translation_lines[name] = tables.line_of(name)


def _defaults(top: LDict, b: Build) -> dict[str, str]:
    node = top.get("defaults")
    if node is None or b.mapping(node, top.line_of("defaults"), "defaults") is None:
        return {}
    b.check_keys(node, MARKINGS, "defaults")
    out = {}
    for key in MARKINGS:
        value = b.text(node, key)
        if value is None:
            continue
        listed = CODED_MARKINGS.get(key)
        if listed and value.strip().upper() not in b.codelists[listed]:
            codes = sorted(set(b.codelists[listed].values()))
            b.problem(node.line_of(key), f"{key} {value!r} is not one of {', '.join(codes)}")
            continue
        out[key] = b.codelists[listed][value.strip().upper()] if listed else value
    return out


def _records(top: LDict, b: Build, reg: Any) -> list[Record]:
    records = top.get("records")
    if records is None:
        b.problem(top.line, "the mapping has no `records`: say which records each row becomes")
        return []
    if b.mapping(records, top.line_of("records"), "records") is None:
        return []
    b.record_names = set(records)
    b.repeated = {
        name: each
        for name, node in records.items()
        if isinstance(node, LDict) and (each := _each(name, node, b)) is not None
    }
    out = []
    for name, node in records.items():
        b.each = b.repeated.get(name)
        record = _record(name, node, records.line_of(name), b, reg)
        b.each = None
        if record is not None:
            out.append(record)
    return out


def _each(name: str, node: LDict, b: Build) -> str | None:
    """The repeated part a record is made from, once per item: an XML element path or a JSON key."""
    if "each" not in node:
        return None
    each, line = node["each"], node.line_of("each")
    if not isinstance(each, str) or not each.strip() or each.strip().startswith(("$", "/", "{")):
        b.problem(
            line,
            f"record {name!r}: each must name the repeated part of a row, such as Subject (XML elements) "
            f"or subjects (a JSON list of objects), not {each!r}",
        )
        return None
    each = each.strip().removesuffix("[]")
    b.uses.append((each, line))
    return each


def _record(name: str, node: Any, line: int, b: Build, reg: Any) -> Record | None:
    node = b.mapping(node, line, f"record {name!r}")
    if node is None:
        return None
    b.check_keys(node, RECORD_KEYS, f"record {name!r}")
    entity = b.text(node, "entity")
    etype = reg.entity_types.get(entity) if entity else None
    if entity is None:
        b.problem(node.line, f"record {name!r} needs `entity` (one of {', '.join(sorted(reg.entity_types))})")
    elif etype is None:
        b.problem(
            node.line_of("entity"), f"unknown entity type {entity!r}{suggest(entity, reg.entity_types)}"
        )
    when = compile_condition(node["when"], node.line_of("when"), b) if "when" in node else None
    key, key_text = (None, "")
    if "key" not in node:
        b.problem(node.line, f'record {name!r} needs a `key`, e.g. key: "{{Reference}}"')
    else:
        key, key_text = compile_key(node["key"], node.line_of("key"), b, f"{name} key")
    fields = []
    spec = node.get("fields")
    if spec is not None and b.mapping(spec, node.line_of("fields"), f"{name} fields") is not None:
        for field, expr in spec.items():
            target = etype.fields.get(field) if etype else None
            if etype is not None and target is None:
                valid = ", ".join(sorted(etype.fields))
                hint = suggest(field, etype.fields, listing=False)
                b.problem(spec.line_of(field), f"{entity} has no field {field!r}{hint} (fields: {valid})")
            fields.append(
                (
                    field,
                    compile_expression(expr, spec.line_of(field), b, path=f"{name}.{field}", target=target),
                )
            )
    markings = tuple(
        (m, compile_expression(node[m], node.line_of(m), b, path=f"{name}.{m}"))
        for m in MARKINGS
        if m in node
    )
    if etype is None or key is None:
        return None
    return Record(name, entity, when, key, key_text, tuple(fields), markings, b.each)
