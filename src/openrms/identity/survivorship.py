"""Survivorship: the golden view of a master, one value per field, each naming the record it came from.

Which record's value survives is a rule per entity type and field, declared in `data/survivorship.yaml`
(or the file OPENRMS_SURVIVORSHIP names): the most trusted source, the most recent, or the most frequent
value. The store's plain golden view (most recent per field) is the `most_recent` rule.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import yaml
from sqlalchemy import Connection

from openrms.errors import BadRequest
from openrms.identity import membership
from openrms.schema import registry
from openrms.store import masters as store_masters
from openrms.store.scope import ReadScope

RULES_FILE = Path(__file__).parent / "data" / "survivorship.yaml"
RULES = ("most_trusted", "most_recent", "most_frequent")


@dataclass(frozen=True)
class TypeRules:
    default: str
    trust: tuple[str, ...]
    fields: dict[str, str] = field(default_factory=dict)

    def rule(self, name: str) -> str:
        return self.fields.get(name, self.default)

    def rank(self, provenance: dict[str, Any]) -> int:
        """0 for the most trusted source; sources not in `trust` come after every listed one."""
        for key in (provenance["source_system"], provenance["agency"]):
            if key in self.trust:
                return self.trust.index(key)
        return len(self.trust)


@dataclass(frozen=True)
class Survivorship:
    default: TypeRules
    types: dict[str, TypeRules]

    def of(self, entity_type: str) -> TypeRules:
        return self.types.get(entity_type, self.default)


def _rule(value: Any, where: str) -> str:
    if value not in RULES:
        raise BadRequest(f"survivorship: {where} has rule {value!r}; rules are {', '.join(RULES)}")
    return value


def parse(spec: dict[str, Any], source: str = "survivorship rules") -> Survivorship:
    """Check a rules document against the registry: every type, field and rule must exist."""
    reg = registry()
    default_rule = _rule(spec.get("default", "most_recent"), f"{source}: default")
    trust = tuple(str(s) for s in spec.get("trust") or ())
    types: dict[str, TypeRules] = {}
    for name, body in (spec.get("types") or {}).items():
        etype = reg.entity_types.get(name)
        if etype is None:
            raise BadRequest(f"{source}: unknown entity type {name!r}")
        body = body or {}
        rules: dict[str, str] = {}
        for field_name, rule in (body.get("fields") or {}).items():
            if field_name not in etype.fields:
                raise BadRequest(f"{source}: {name} has no field {field_name!r}")
            rules[field_name] = _rule(rule, f"{source}: {name}.{field_name}")
        own_default = _rule(body.get("default", default_rule), f"{source}: {name} default")
        own_trust = tuple(str(s) for s in body["trust"]) if body.get("trust") else trust
        types[name] = TypeRules(own_default, own_trust, rules)
    return Survivorship(TypeRules(default_rule, trust), types)


@cache
def load(path: Path | None = None) -> Survivorship:
    """The rules in use: `path`, else $OPENRMS_SURVIVORSHIP, else the packaged file."""
    path = path or Path(os.environ.get("OPENRMS_SURVIVORSHIP") or RULES_FILE)
    with path.open(encoding="utf-8") as handle:
        return parse(yaml.safe_load(handle) or {}, str(path))


def _recency(rec: dict[str, Any]) -> tuple[dt.datetime, dt.datetime, str]:
    p = rec["provenance"]
    return dt.datetime.fromisoformat(p["recorded_at"]), dt.datetime.fromisoformat(p["created_at"]), rec["id"]


def _key(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _entry(value: Any, rec: dict[str, Any], rule: str) -> dict[str, Any]:
    p = rec["provenance"]
    return {
        "value": value,
        "record_id": rec["id"],
        "agency": p["agency"],
        "source_system": p["source_system"],
        "rule": rule,
    }


def golden(
    entity_type: str, records: list[dict[str, Any]], rules: Survivorship | None = None
) -> dict[str, dict[str, Any]]:
    """Per field: {value, record_id, agency, source_system, rule}, by the type's survivorship rules.

    `records` are record views (data and provenance), as a master view holds them.
    """
    type_rules = (rules or load()).of(entity_type)
    newest_first = sorted(records, key=_recency, reverse=True)
    by_id = {rec["id"]: rec for rec in newest_first}
    recent = store_masters.golden(newest_first)  # most recent per field (a stable sort keeps ties ordered)
    names = list(recent)
    chosen: dict[str, dict[str, Any]] = {}
    for name in names:
        rule = type_rules.rule(name)
        givers = [rec for rec in newest_first if name in rec["data"]]
        if rule == "most_trusted":
            best = min(givers, key=lambda rec: type_rules.rank(rec["provenance"]))  # first: most recent
            chosen[name] = _entry(best["data"][name], best, rule)
        elif rule == "most_frequent":
            counts = Counter(_key(rec["data"][name]) for rec in givers)
            top = max(counts.values())
            best = next(rec for rec in givers if counts[_key(rec["data"][name])] == top)
            chosen[name] = _entry(best["data"][name], best, rule)
        else:
            pick = recent[name]
            chosen[name] = _entry(pick["value"], by_id[pick["record_id"]], rule)
    return chosen


def master_view(
    conn: Connection, master_id: str, scope: ReadScope, *, with_history: bool = False
) -> dict[str, Any]:
    """The store's master view (records and links the caller may see) with the survivorship golden view,
    and the master's membership history if asked for."""
    view = store_masters.master_view(conn, master_id, scope, choose=golden)
    if with_history:
        view["history"] = membership.history(conn, master_id, scope=scope)
    return view


__all__ = ["Survivorship", "TypeRules", "golden", "load", "master_view", "parse"]
