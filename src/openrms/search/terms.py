"""What a record contributes to the search index: its filter columns, its keys and its free text.

Pure functions (no database): `doc_of` runs as a prepare hook, in a worker process during bulk loads. Keys
carry their kind as a prefix, so one table holds them all:

    sn:SMITH          a surname (and each part of a double-barrelled one)
    sp:SM0            the surname's phonetic key (metaphone)
    s3:SMI            the surname's first three letters (candidates for fuzzy matching)
    fn:JOHN           a forename
    fp:JN             the first forename's phonetic key
    nr:JOHN           a nickname root of the first forename (BILL -> WILLIAM, and itself)
    sy:SMITH|1985     surname and year of birth; spy: and s3y: the same with the phonetic key and prefix
    snr:SMITH|JOHN    surname and a nickname root of the forename; spfp:SM0|JN both phonetic keys
    ta:JOHN SMITH     a whole name, forename first and surname first, for search-as-you-type
    vg:B12            every 2- and 3-character piece of a VRM, for wildcards in any position
    id:pnc_id:...     a person identifier, normalised (also from identity documents)
    ph:+44...         a phone number in E.164; em:x@y.z an e-mail address
    x:20AB1234        any field the registry marks `searchable: exact`, letters and digits only

Normalisation is the master index's own (`openrms.identity.normalise`), so "Smyth", "0113 496 0000" or
"ls1 4ap" are read the same way by search as by matching.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from openrms.identity import normalise as n
from openrms.schema import registry
from openrms.schema.types import LONDON
from openrms.store.views import title

MAX_BODY = 20000
MAX_TERMS = 400
CELL = 100  # grid squares per degree (0.01 degrees: about 1.1 km north-south)
CELL10 = 10

# Identity document types that are one of a person's identifiers.
_DOC_KINDS = {"PASSPORT": "passport_number", "DRIVING_LICENCE": "driving_licence"}
PERSON_IDS = ("pnc_id", "cro_number", "ni_number", "passport_number", "driving_licence")
# An event's own classification, by entity type.
_EVENT_TYPE_FIELD = {
    "crime": "crime_type",
    "incident": "incident_type",
    "anti_social_behaviour": "asb_category",
    "stop_search": "legislation",
    "safeguarding_concern": "concern_type",
}
_EVENT_DATE_FIELDS = ("occurred_from", "relevant_time", "reported_at", "occurred_to", "arrested_at")


@dataclass(slots=True)
class Doc:
    """One record's index entry: `columns` for search_doc, `terms` for search_term, `body` for free text."""

    record_id: str
    entity_type: str
    category: str
    columns: dict[str, Any] = field(default_factory=dict)
    terms: list[str] = field(default_factory=list)
    body: str = ""
    # The place whose columns an import's worker copied onto this event (`index.place_events`), so the
    # writer knows the event's entry is already right when that one link of a new event is written.
    placed_at: str | None = None


def doc_id(record_id: str) -> int:
    """A stable 63-bit number for a record (the rowid of its SQLite FTS5 row)."""
    return int.from_bytes(hashlib.blake2b(record_id.encode(), digest_size=8).digest(), "big") >> 1


def cell_of(lat: float, lon: float, per_degree: int = CELL) -> int:
    """The grid square holding (lat, lon) at `per_degree` squares per degree."""
    row = math.floor((lat + 90.0) * per_degree)
    col = math.floor((lon + 180.0) * per_degree)
    return row * 360 * per_degree + col


def cells_covering(
    min_lat: float, min_lon: float, max_lat: float, max_lon: float, per_degree: int = CELL
) -> list[int]:
    rows = range(math.floor((min_lat + 90.0) * per_degree), math.floor((max_lat + 90.0) * per_degree) + 1)
    cols = range(math.floor((min_lon + 180.0) * per_degree), math.floor((max_lon + 180.0) * per_degree) + 1)
    return [r * 360 * per_degree + c for r in rows for c in cols]


def geo_columns(lat: Any, lon: Any) -> dict[str, Any]:
    if not isinstance(lat, (int, float)) or not isinstance(lon, (int, float)):
        return {"lat": None, "lon": None, "cell": None, "cell10": None}
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return {"lat": None, "lon": None, "cell": None, "cell10": None}
    return {
        "lat": float(lat),
        "lon": float(lon),
        "cell": cell_of(lat, lon),
        "cell10": cell_of(lat, lon, CELL10),
    }


def compact(value: Any) -> str:
    """Letters and digits only, upper case: the form exact searches compare."""
    return n.fold(str(value)).replace(" ", "") if value not in (None, "") else ""


def street_key(value: Any) -> str | None:
    """A street, folded, with abbreviations written out ('High St' -> 'HIGH STREET')."""
    if not value:
        return None
    key = n.address_key("1", None, str(value), None)
    street = key.split("|")[1] if key else ""
    return street[:120] or None


def town_key(value: Any) -> str | None:
    return n.fold(str(value))[:100] or None if value else None


def vrm_grams(vrm: str) -> list[str]:
    grams = {vrm[i : i + size] for size in (2, 3) for i in range(len(vrm) - size + 1)}
    return sorted(grams)


# ---- person names ----


@dataclass(frozen=True, slots=True)
class NameVariant:
    forenames: tuple[str, ...]
    surname: str  # the surname key
    parts: tuple[str, ...]  # the key and, for a double-barrelled surname, each part

    def encode(self) -> str:
        return f"{' '.join(self.forenames)}|{self.surname}|{' '.join(self.parts)}"


def decode_names(text: str | None) -> list[NameVariant]:
    out = []
    for chunk in (text or "").split(";"):
        if not chunk:
            continue
        fore, sur, parts = ([*chunk.split("|"), "", "", ""])[:3]
        out.append(NameVariant(tuple(fore.split()), sur, tuple(parts.split())))
    return out


def full_name(text: str) -> tuple[str, str]:
    """'Johnny Smith' -> ('Johnny', 'Smith'): an alias or previous name written in full."""
    words = str(text).split()
    if len(words) < 2:
        return "", str(text)
    return " ".join(words[:-1]), words[-1]


def name_variants(data: Mapping[str, Any]) -> list[NameVariant]:
    pairs = [(data.get("forenames") or "", data.get("surname") or "")]
    for key in ("aliases", "previous_names"):
        values = data.get(key) or []
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, str) and value.strip():
                pairs.append(full_name(value))
    out: list[NameVariant] = []
    for fore, sur in pairs:
        surname = n.surname_key(sur) or ""
        forenames = tuple(n.forename_tokens(fore))
        if not surname and not forenames:
            continue
        variant = NameVariant(forenames, surname, tuple(n.surname_parts(sur)))
        if variant not in out:
            out.append(variant)
    return out[:8]


def surname_terms(surname: str, year: int | None) -> list[str]:
    """The keys a surname is stored under (and a query's surname looks up)."""
    terms = [f"sn:{surname}"]
    ph = n.phonetic(surname)
    if ph:
        terms.append(f"sp:{ph}")
    terms.append(f"s3:{surname[:3]}")
    if year is not None:
        terms.append(f"sy:{surname}|{year}")
        if ph:
            terms.append(f"spy:{ph}|{year}")
        terms.append(f"s3y:{surname[:3]}|{year}")
    return terms


def person_terms(variants: Iterable[NameVariant], year: int | None) -> list[str]:
    terms: list[str] = []
    for v in variants:
        if v.surname:
            terms += surname_terms(v.surname, year)
            terms += [f"sn:{p}" for p in v.parts if p != v.surname]
        first = v.forenames[0] if v.forenames else ""
        terms += [f"fn:{token}" for token in v.forenames]
        if first:
            fp = n.phonetic(first)
            roots = n.nickname_roots(first)
            if fp:
                terms.append(f"fp:{fp}")
            terms += [f"nr:{root}" for root in roots]
            if v.surname:
                terms += [f"snr:{v.surname}|{root}" for root in roots]
                sp = n.phonetic(v.surname)
                if sp and fp:
                    terms.append(f"spfp:{sp}|{fp}")
        full = " ".join(v.forenames)
        if v.surname:
            terms.append(f"ta:{(full + ' ' + v.surname).strip()}"[:150])
            if full:
                terms.append(f"ta:{v.surname} {full}"[:150])
    return terms


# ---- the document of a record ----


_FieldSpec = tuple[int, str, str | None, str, str | None, bool]


@cache
def _fields(entity_type: str) -> dict[str, _FieldSpec]:
    """name -> (position, name, searchable, type, codelist, many) of the type's top-level fields."""
    etype = registry().entity_types.get(entity_type)
    if etype is None:
        return {}
    return {
        f.name: (i, f.name, f.searchable, f.type, f.codelist, f.many)
        for i, f in enumerate(etype.fields.values())
    }


def _present_fields(entity_type: str, data: Mapping[str, Any]) -> list[_FieldSpec]:
    """The type's fields that `data` holds, in the type's order: a record fills a few of its type's
    fields, and looking each of them up in the data is most of the cost of an entry."""
    fields = _fields(entity_type)
    return sorted(spec for name in data if (spec := fields.get(name)) is not None)


def _label(codelist: str | None, code: Any) -> str:
    if not codelist:
        return str(code)
    return registry().codelists[codelist].label(str(code))


def _text_values(value: Any) -> Iterable[str]:
    if value is None or value == "":
        return
    if isinstance(value, list):
        for item in value:
            yield from _text_values(item)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _text_values(item)
    else:
        yield str(value)


def _date(value: Any) -> str | None:
    """An event's day as people here give it: a time stored in UTC counts on its UK day (00:30 BST on
    14 July is stored as 23:30Z on the 13th, and is an event of the 14th)."""
    if not isinstance(value, str) or len(value) < 4:
        return None
    return _day_of(value)


@lru_cache(maxsize=8192)
def _day_of(value: str) -> str | None:
    """`_date` of a string, remembered: the events of a load share a few thousand times at most."""
    if len(value) > 10 and value[10] in "T ":
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            value = moment.astimezone(LONDON).date().isoformat()
    parsed = n.parse_date(value[:10]) if len(value) >= 10 else n.parse_date(value)
    return parsed.iso() if parsed and parsed.year else None


def doc_of(record_id: str, entity_type: str, data: Mapping[str, Any]) -> Doc | None:
    """The index entry for a record, or None for a type the registry does not know."""
    reg = registry()
    etype = reg.entity_types.get(entity_type)
    if etype is None:
        return None
    doc = Doc(record_id, entity_type, etype.category)
    cols = doc.columns
    cols["title"] = title(entity_type, dict(data))[:300]
    terms: list[str] = []
    body: list[str] = [cols["title"], etype.label]
    for _, name, searchable, ftype, codelist, many in _present_fields(entity_type, data):
        value = data[name]
        if value in (None, "", []):
            continue
        if ftype == "code":
            body += [_label(codelist, v) for v in (value if many and isinstance(value, list) else [value])]
        elif searchable in ("text", "keyword", "name"):
            body += list(_text_values(value))
        if searchable == "exact":
            for item in value if isinstance(value, list) else [value]:
                key = compact(item)
                if key:
                    terms.append(f"x:{key}"[:160])
    # nested searchable text (a person's distinguishing marks)
    physical = data.get("physical_description")
    if isinstance(physical, Mapping) and physical.get("distinguishing_marks"):
        body.append(str(physical["distinguishing_marks"]))

    if entity_type == "person":
        variants = name_variants(data)
        dob = n.parse_date(str(data["date_of_birth"])) if data.get("date_of_birth") else None
        year = dob.year if dob else None
        cols["names"] = ";".join(v.encode() for v in variants)[:2000] or None
        cols["dob"] = dob.iso() if dob else None
        cols["dob_year"] = year
        cols["gender"] = data.get("gender")
        terms += person_terms(variants, year)
        for kind in PERSON_IDS:
            key = n.identifier(kind, data.get(kind))
            if key:
                terms.append(f"id:{kind}:{key}")
    elif entity_type == "vehicle":
        vrm = n.vrm(data.get("vrm"))
        cols["vrm"] = vrm
        if vrm:
            terms += [f"vg:{g}" for g in vrm_grams(vrm)]
        for name in ("make", "model"):
            cols[name] = n.fold(str(data[name]))[:60] or None if data.get(name) else None
        cols["colour"] = data.get("colour")
        vin = n.vin(data.get("vin"))
        if vin:
            terms.append(f"id:vin:{vin}")
    elif entity_type == "telephone":
        number = n.phone(data.get("number"))
        if number:
            terms.append(f"ph:{number}")
    elif entity_type == "email":
        address = n.email(data.get("address"))
        if address:
            terms.append(f"em:{address}")
    elif entity_type == "organisation":
        number = n.phone(data.get("telephone"))
        if number:
            terms.append(f"ph:{number}")
    elif entity_type == "identity_document":
        kind = _DOC_KINDS.get(str(data.get("document_type")))
        key = n.identifier(kind, data.get("number")) if kind else None
        if kind and key:
            terms.append(f"id:{kind}:{key}")

    if etype.category == "location":
        pc = n.postcode(data.get("postcode")) if data.get("postcode") else None
        cols["postcode"] = pc
        cols["sector"] = pc[:-2] if pc else None
        cols["district"] = pc.split(" ", 1)[0] if pc else None
        cols["street"] = street_key(data.get("street"))
        cols["town"] = town_key(data.get("town"))
        if entity_type == "area":
            cols["area"] = town_key(data.get("name"))
            cols["area_code"] = compact(data.get("code")) or None
        else:
            cols["area"] = town_key(data.get("lsoa_name"))
            cols["area_code"] = compact(data.get("lsoa_code")) or None
        cols.update(geo_columns(data.get("latitude"), data.get("longitude")))
    elif etype.category == "event":
        field_name = _EVENT_TYPE_FIELD.get(entity_type)
        cols["event_type"] = data.get(field_name) if field_name else None
        cols["ho_class"] = data.get("ho_class")
        cols["offence_code"] = data.get("offence_code")
        cols["crime_type"] = data.get("crime_type")
        cols["outcome"] = data.get("outcome")
        cols["hate"] = bool(data["hate_crime"]) if "hate_crime" in data else None
        when = next((d for d in (_date(data.get(f)) for f in _EVENT_DATE_FIELDS) if d), None)
        cols["event_date"] = when
        cols["month"] = when[:7] if when and len(when) >= 7 else None
    doc.terms = list(dict.fromkeys(t for t in terms if len(t) <= 160))[:MAX_TERMS]
    doc.body = " ".join(dict.fromkeys(b.strip() for b in body if b and b.strip()))[:MAX_BODY]
    return doc


__all__ = [
    "Doc",
    "NameVariant",
    "cell_of",
    "cells_covering",
    "compact",
    "decode_names",
    "doc_id",
    "doc_of",
    "geo_columns",
    "name_variants",
    "person_terms",
    "street_key",
    "surname_terms",
    "town_key",
    "vrm_grams",
]
