"""The registry's vocabulary: entity types, fields, link types and code lists as frozen declarations.

These objects are built once from the YAML in `schema/data/` and then only read, by storage, validation,
the API's models, search indexing, imports and forms alike: one definition, many consumers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CATEGORIES = ("person", "object", "location", "event")
SEARCH_KINDS = ("name", "text", "exact", "keyword", "vrm", "postcode")


@dataclass(frozen=True)
class CodeList:
    name: str
    codes: dict[str, str]
    description: str = ""

    def label(self, code: str) -> str:
        return self.codes.get(code, code)


@dataclass(frozen=True)
class FieldDef:
    """One field of an entity type. `type` names a field type in `schema.types`, or "object"."""

    name: str
    type: str
    label: str
    help: str = ""
    required: bool = False
    many: bool = False
    codelist: str | None = None
    max_length: int | None = None
    min: float | None = None
    max: float | None = None
    sensitive: bool = False
    identifier: bool = False
    matchable: bool = False
    searchable: str | None = None
    future_allowed: bool = False
    fields: dict[str, FieldDef] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type, "label": self.label}
        for key in (
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
        ):
            value = getattr(self, key)
            if value not in (None, False, ""):
                out[key] = value
        if self.fields:
            out["fields"] = [f.as_dict() for f in self.fields.values()]
        return out


@dataclass(frozen=True)
class EntityType:
    name: str
    category: str
    label: str
    fields: dict[str, FieldDef]
    rules: tuple[str, ...] = ()
    description: str = ""
    title: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "category": self.category,
            "label": self.label,
            "description": self.description,
            "title": list(self.title),
            "fields": [f.as_dict() for f in self.fields.values()],
            "rules": list(self.rules),
        }


@dataclass(frozen=True)
class LinkType:
    name: str
    label: str
    from_types: frozenset[str]
    to_types: frozenset[str]
    symmetric: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "from": sorted(self.from_types),
            "to": sorted(self.to_types),
            "symmetric": self.symmetric,
        }


@dataclass(frozen=True)
class Registry:
    entity_types: dict[str, EntityType]
    link_types: dict[str, LinkType]
    codelists: dict[str, CodeList]

    def entity(self, name: str) -> EntityType:
        try:
            return self.entity_types[name]
        except KeyError:
            known = ", ".join(sorted(self.entity_types))
            raise KeyError(f"unknown entity type {name!r}; known types: {known}") from None

    def of_category(self, category: str) -> list[EntityType]:
        return [e for e in self.entity_types.values() if e.category == category]

    def as_dict(self) -> dict[str, Any]:
        return {
            "entity_types": [e.as_dict() for e in self.entity_types.values()],
            "link_types": [lt.as_dict() for lt in self.link_types.values()],
            "codelists": {
                n: {"description": c.description, "codes": c.codes} for n, c in self.codelists.items()
            },
        }
