"""Validation compiled from the registry: one checker per entity type, built once and reused.

Bulk imports validate tens of thousands of records a second, so each entity type's fields are turned into a
flat list of closures up front instead of being interpreted from the declarations per record. Every problem
of a record is reported at once, with the field path, so a form can mark every field in one round trip.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from openrms.errors import Issue, RecordInvalid, with_article
from openrms.schema.model import CodeList, EntityType, FieldDef, Registry
from openrms.schema.rules import RULES, RuleContext
from openrms.schema.types import FIELD_TYPES, FieldTypeError

Check = Callable[[Any, str, list[Issue], str], Any]
_MISSING = object()
_CLOCK_SKEW = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Validated:
    """A record's canonical data plus its warnings (errors would have raised)."""

    data: dict[str, Any]
    warnings: list[Issue]


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == [] or value == {}


def _code_checker(codelist: CodeList) -> Callable[[Any], str]:
    by_code = {c.upper(): c for c in codelist.codes}
    by_label = {label.upper(): c for c, label in codelist.codes.items()}

    def check(value: Any) -> str:
        key = str(value).strip().upper()
        found = by_code.get(key) or by_label.get(key)
        if found is None:
            sample = ", ".join(list(codelist.codes)[:12])
            more = ", ..." if len(codelist.codes) > 12 else ""
            raise FieldTypeError(
                f"{value!r} is not a code of list {codelist.name!r} (expected one of {sample}{more})"
            )
        return found

    return check


_MEMO_SIZE = 4096


def _memo(normalise: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Remember a field's normalised values: imports repeat the same codes, dates and places on row after row.

    Normalisers are pure, so a remembered answer is the answer. Keyed by type as well as value (True == 1
    in Python, but not in a registry field); values that cannot be keys, and failures, are not remembered.
    """
    seen: dict[tuple[type, Any], Any] = {}

    def normalise_once(value: Any) -> Any:
        key = (type(value), value)
        try:
            return seen[key]
        except KeyError:
            result = normalise(value)
            if len(seen) < _MEMO_SIZE:
                seen[key] = result
            return result
        except TypeError:  # unhashable, e.g. a list where one value was expected: let the normaliser say so
            return normalise(value)

    return normalise_once


def _scalar_checker(fdef: FieldDef, registry: Registry) -> Callable[[Any, str], Any]:
    """Type and bounds of one value; `now_iso` is compared as text because stored forms are ISO strings."""
    base = _code_checker(registry.codelists[fdef.codelist]) if fdef.type == "code" else FIELD_TYPES[fdef.type]
    base = _memo(base)
    temporal = fdef.type in ("date", "partial_date", "datetime") and not fdef.future_allowed
    max_length, low, high = fdef.max_length, fdef.min, fdef.max
    if max_length is None and low is None and high is None and not temporal:
        return lambda value, now_iso: base(value)

    def check(value: Any, now_iso: str) -> Any:
        clean = base(value)
        if max_length is not None and isinstance(clean, str) and len(clean) > max_length:
            raise FieldTypeError(f"is {len(clean)} characters long; at most {max_length} allowed")
        if low is not None and clean < low:
            raise FieldTypeError(f"{clean} is below the minimum {low:g}")
        if high is not None and clean > high:
            raise FieldTypeError(f"{clean} is above the maximum {high:g}")
        if temporal and clean > now_iso[: len(clean)]:
            raise FieldTypeError(f"{clean} is in the future")
        return clean

    return check


def _issue(fdef: FieldDef, path: str, exc: Exception, value: Any) -> Issue:
    return Issue("code" if fdef.type == "code" else "format", path, str(exc), value=_short(value))


def _field_checker(fdef: FieldDef, registry: Registry) -> Check:
    """For lists and objects; single values are checked inline by `_fields_checker` (the hot path)."""
    if fdef.type == "object":
        nested = _fields_checker(fdef.fields, registry)

        def one(value: Any, path: str, issues: list[Issue], now_iso: str) -> Any:
            if not isinstance(value, Mapping):
                issues.append(
                    Issue(
                        "type",
                        path,
                        f"expected an object with fields {sorted(fdef.fields)}",
                        value=_short(value),
                    )
                )
                return _MISSING
            return nested(value, path + ".", issues, now_iso)
    else:
        scalar = _scalar_checker(fdef, registry)

        def one(value: Any, path: str, issues: list[Issue], now_iso: str) -> Any:
            try:
                return scalar(value, now_iso)
            except FieldTypeError as exc:
                issues.append(_issue(fdef, path, exc, value))
                return _MISSING

    if not fdef.many:
        return one

    def many(value: Any, path: str, issues: list[Issue], now_iso: str) -> Any:
        items = value if isinstance(value, (list, tuple)) else [value]
        out = []
        for index, item in enumerate(items):
            if _empty(item):
                continue
            clean = one(item, f"{path}[{index}]", issues, now_iso)
            if clean is not _MISSING and clean not in out:
                out.append(clean)
        return out or _MISSING

    return many


def _short(value: Any) -> Any:
    return value[:80] + "..." if isinstance(value, str) and len(value) > 80 else value


def _fields_checker(fields: dict[str, FieldDef], registry: Registry) -> Callable[..., dict[str, Any]]:
    """Checks only the fields present (records are sparse), then reports required ones that are missing.

    Single values, most of every record, are normalised inline: no per-field closure layers on this path.
    """
    scalars = {
        name: (_scalar_checker(f, registry), f)
        for name, f in fields.items()
        if not f.many and f.type != "object"
    }
    composites = {name: _field_checker(f, registry) for name, f in fields.items() if name not in scalars}
    required = [(name, fdef.label) for name, fdef in fields.items() if fdef.required]
    known = ", ".join(sorted(fields))

    def check(data: Mapping[str, Any], prefix: str, issues: list[Issue], now_iso: str) -> dict[str, Any]:
        clean: dict[str, Any] = {}
        for name, value in data.items():
            if value is None or value == "" or value == [] or value == {}:
                continue
            scalar = scalars.get(name)
            if scalar is not None:
                try:
                    clean[name] = scalar[0](value, now_iso)
                except FieldTypeError as exc:
                    issues.append(_issue(scalar[1], prefix + name, exc, value))
                continue
            composite = composites.get(name)
            if composite is None:
                issues.append(
                    Issue(
                        "unknown_field", prefix + str(name), f"no field {name!r} here; known fields: {known}"
                    )
                )
            elif not _empty(value):
                result = composite(value, prefix + name, issues, now_iso)
                if result is not _MISSING:
                    clean[name] = result
        for name, label in required:
            if name not in clean and not any(i.path == prefix + name for i in issues):
                issues.append(Issue("required", prefix + name, f"{label} is required"))
        return clean

    return check


@lru_cache(maxsize=64)
def _future_limit(now: dt.datetime) -> str:
    """The latest stored form not "in the future" (batches share one `now`, so this is computed once)."""
    return (now + _CLOCK_SKEW).strftime("%Y-%m-%dT%H:%M:%SZ")


class EntityValidator:
    """Checks and normalises records of one entity type."""

    def __init__(self, entity_type: EntityType, registry: Registry) -> None:
        self.entity_type = entity_type
        self._fields = _fields_checker(entity_type.fields, registry)
        self._rules = [RULES[name] for name in entity_type.rules]

    def issues(
        self, data: Mapping[str, Any], now: dt.datetime | None = None
    ) -> tuple[dict[str, Any], list[Issue]]:
        now = now or dt.datetime.now(dt.UTC)
        if not isinstance(data, Mapping):
            return {}, [
                Issue("type", "", f"{with_article(self.entity_type.name)} record must be an object of fields")
            ]
        issues: list[Issue] = []
        now_iso = _future_limit(now)
        clean = self._fields(data, "", issues, now_iso)
        if not any(i.severity == "error" for i in issues):
            context = RuleContext(self.entity_type.name, now)
            for rule in self._rules:
                issues.extend(rule(clean, context))
        return clean, issues

    def validate(
        self, data: Mapping[str, Any], ref: str = "record", now: dt.datetime | None = None
    ) -> Validated:
        """Canonical data and warnings; raises RecordInvalid naming `ref` and every error."""
        clean, issues = self.issues(data, now)
        if any(i.severity == "error" for i in issues):
            raise RecordInvalid(ref, issues)
        return Validated(clean, issues)
