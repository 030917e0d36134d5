"""Loads the registry from the YAML in `schema/data/` and checks it before anything uses it.

A broken reference (unknown field type, code list, base type, rule or link end) fails at load time with
the file and name, so a mistake in the model never reaches storage or a user.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from openrms.schema.model import CATEGORIES, SEARCH_KINDS, CodeList, EntityType, FieldDef, LinkType, Registry
from openrms.schema.rules import RULES
from openrms.schema.types import FIELD_TYPES, STRUCTURAL_TYPES

DATA_DIR = Path(__file__).parent / "data"
_FIELD_KEYS = {
    "type",
    "label",
    "help",
    "required",
    "many",
    "codelist",
    "max_length",
    "min",
    "max",
    "sensitive",
    "identifier",
    "matchable",
    "searchable",
    "future_allowed",
    "fields",
}


class RegistryError(Exception):
    """The model declarations are inconsistent; the message names the file and the declaration."""


def _read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _field(where: str, name: str, spec: dict[str, Any], codelists: dict[str, CodeList]) -> FieldDef:
    if not isinstance(spec, dict):
        raise RegistryError(f"{where}: field {name!r} must be a mapping")
    unknown = set(spec) - _FIELD_KEYS
    if unknown:
        raise RegistryError(f"{where}: field {name!r} has unknown keys {sorted(unknown)}")
    ftype = spec.get("type")
    if ftype not in FIELD_TYPES and ftype not in STRUCTURAL_TYPES:
        raise RegistryError(f"{where}: field {name!r} has unknown type {ftype!r}")
    if ftype == "code" and spec.get("codelist") not in codelists:
        raise RegistryError(f"{where}: field {name!r} names unknown code list {spec.get('codelist')!r}")
    if spec.get("searchable") not in (None, *SEARCH_KINDS):
        raise RegistryError(f"{where}: field {name!r} has unknown searchable kind {spec['searchable']!r}")
    sub = {}
    if ftype == "object":
        if not spec.get("fields"):
            raise RegistryError(f"{where}: object field {name!r} declares no fields")
        sub = {k: _field(f"{where}.{name}", k, v, codelists) for k, v in spec["fields"].items()}
    label = spec.get("label") or name.replace("_", " ").capitalize()
    return FieldDef(
        name=name, label=label, fields=sub, **{k: v for k, v in spec.items() if k not in ("fields", "label")}
    )


def load_codelists(directory: Path) -> dict[str, CodeList]:
    lists: dict[str, CodeList] = {}
    for path in sorted(directory.glob("*.yaml")):
        for name, spec in (_read_yaml(path) or {}).items():
            if name in lists:
                raise RegistryError(f"{path.name}: code list {name!r} is declared twice")
            codes = {str(k): str(v) for k, v in (spec.get("codes") or {}).items()}
            for code, label in (spec.get("codes") or {}).items():
                if label is None or str(label).strip() == "":
                    raise RegistryError(
                        f"{path.name}: code {code!r} of code list {name!r} has no label (in a "
                        "{CODE: label, ...} list, a label holding a comma must be quoted)"
                    )
            if not codes:
                raise RegistryError(f"{path.name}: code list {name!r} has no codes")
            lists[name] = CodeList(name, codes, spec.get("description", ""))
    return lists


def load_entity_types(directory: Path, codelists: dict[str, CodeList]) -> dict[str, EntityType]:
    declared: dict[str, tuple[str, dict[str, Any]]] = {}
    for path in sorted(directory.glob("*.yaml")):
        for spec in _read_yaml(path) or []:
            name = spec.get("name")
            if not name or name in declared:
                raise RegistryError(f"{path.name}: entity type {name!r} is unnamed or declared twice")
            declared[name] = (path.name, spec)

    def fields_of(name: str, seen: tuple[str, ...] = ()) -> tuple[str, dict[str, FieldDef], tuple[str, ...]]:
        if name in seen:
            raise RegistryError(f"entity type {name!r} extends itself")
        filename, spec = declared[name]
        base = spec.get("extends")
        category, fields, rules = spec.get("category"), {}, ()
        if base:
            if base not in declared:
                raise RegistryError(f"{filename}: {name!r} extends unknown type {base!r}")
            category, fields, rules = fields_of(base, (*seen, name))
        own = {
            k: _field(f"{filename}:{name}", k, v, codelists) for k, v in (spec.get("fields") or {}).items()
        }
        clash = set(own) & set(fields)
        if clash:
            raise RegistryError(f"{filename}: {name!r} redeclares inherited fields {sorted(clash)}")
        return spec.get("category", category), {**fields, **own}, (*rules, *spec.get("rules", ()))

    types: dict[str, EntityType] = {}
    for name, (filename, spec) in declared.items():
        category, fields, rules = fields_of(name)
        if category not in CATEGORIES:
            raise RegistryError(
                f"{filename}: {name!r} has category {category!r}; expected one of {CATEGORIES}"
            )
        for rule_name in rules:
            if rule_name not in RULES:
                raise RegistryError(f"{filename}: {name!r} uses unknown rule {rule_name!r}")
        if spec.get("abstract"):
            continue
        label = spec.get("label") or name.replace("_", " ").capitalize()
        title = tuple(spec.get("title") or list(fields)[:2])
        unknown = [t for t in title if t not in fields]
        if unknown:
            raise RegistryError(f"{filename}: {name!r} title names unknown fields {unknown}")
        types[name] = EntityType(
            name,
            category,
            label,
            fields,
            tuple(rules),
            " ".join((spec.get("description") or "").split()),
            title,
        )
    return types


def load_link_types(path: Path, entity_types: dict[str, EntityType]) -> dict[str, LinkType]:
    links: dict[str, LinkType] = {}
    for name, spec in (_read_yaml(path) or {}).items():
        ends = {}
        for end in ("from", "to"):
            names = spec.get(end) or []
            for ref in names:
                if ref not in entity_types and ref not in CATEGORIES:
                    raise RegistryError(f"{path.name}: link {name!r} {end} names unknown type {ref!r}")
            ends[end] = frozenset(t for ref in names for t in _expand(ref, entity_types))
        links[name] = LinkType(
            name, spec.get("label", name), ends["from"], ends["to"], bool(spec.get("symmetric"))
        )
    return links


def _expand(ref: str, entity_types: dict[str, EntityType]) -> list[str]:
    if ref in entity_types:
        return [ref]
    return [t.name for t in entity_types.values() if t.category == ref]


def load_registry(directory: Path = DATA_DIR) -> Registry:
    codelists = load_codelists(directory / "codelists")
    entity_types = load_entity_types(directory / "entities", codelists)
    link_types = load_link_types(directory / "links.yaml", entity_types)
    return Registry(entity_types, link_types, codelists)
