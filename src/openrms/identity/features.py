"""A record's match features and blocking keys: what the master index compares, computed once per write.

Features are flat, JSON-ready values (strings, integers, lists of strings) under short names, so they can
sit in the `match_features` table, in a DuckDB table for Splink, and in a Python dict for the real-time
scorer, and the comparisons in `comparisons` read the same names in SQL and in Python.

Blocking keys are short strings; two records sharing one are compared. They are chosen to be selective
(about one to a few dozen records each in a million) yet to survive the errors real records carry: a typo in
either name (keys pair the date of birth with the *other* name's initial), swapped forename and surname
(name pairs are sorted), nicknames (nickname roots), day and month swapped, a changed surname (date of birth
with the forename), and any shared identifier.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from openrms.identity import normalise as n

Features = dict[str, Any]

# Person identifiers compared one by one; `other_id` carries a source's own identifier (FEBRL's social
# security number, a partner agency's client number).
PERSON_IDS = {
    "pnc_id": "pnc",
    "cro_number": "cro",
    "ni_number": "ni",
    "passport_number": "pp",
    "driving_licence": "dl",
    "other_id": "oid",
}


def _first(value: Any) -> str | None:
    if isinstance(value, list):
        return str(value[0]) if value else None
    return str(value) if value not in (None, "") else None


def _names(values: Any) -> list[str]:
    if not values:
        return []
    return [str(v) for v in (values if isinstance(values, list) else [values]) if v]


def person_features(data: Mapping[str, Any]) -> Features:
    """The features of a person: names, their phonetic and nickname forms, date of birth parts, identifiers,
    and, when the source gives one, an address."""
    f: Features = {}
    forenames = n.forename_tokens(_first(data.get("forenames")) or "")
    surname = n.surname_key(_first(data.get("surname")))
    if forenames:
        f["fn"] = forenames[0]
        f["fn_dm"] = n.phonetic(forenames[0])
        f["fn_roots"] = list(n.nickname_roots(forenames[0]))
        if len(forenames) > 1:
            f["fn_more"] = forenames[1:]
    if surname:
        f["sn"] = surname
        f["sn_dm"] = n.phonetic(surname)
    # Every surname the person is known by, and each half of a double-barrelled one: a previous or alias
    # surname agreeing is evidence, not proof (marriage, the other half of a hyphenated name).
    alternatives: set[str] = set(n.surname_parts(_first(data.get("surname"))))
    for full in _names(data.get("previous_names")) + _names(data.get("aliases")):
        tokens = n.name_tokens(full)
        if tokens:
            alternatives.update(n.surname_parts(tokens[-1]))
    if alternatives:
        f["sn_alt"] = sorted(alternatives)
    born = n.parse_date(_first(data.get("date_of_birth")))
    if born is not None:
        born = born.matchable()
        f["dob_y"] = born.year
        if born.month:
            f["dob_ym"] = f"{born.year:04d}-{born.month:02d}"
        if born.day:
            f["dob"] = born.iso()
            swapped = n.swapped(born)
            if swapped is not None:
                f["dob_sw"] = swapped.iso()
    gender = _first(data.get("gender"))
    if gender in ("M", "F"):
        f["sex"] = gender
    for field, short in PERSON_IDS.items():
        value = n.identifier(field, _first(data.get(field)))
        if value:
            f[short] = value
    postcode = n.postcode(_first(data.get("postcode"))) or _plain(data.get("postcode"))
    if postcode:
        f["pc"] = postcode
    for field, short in (("street", "st"), ("town", "town"), ("building_number", "bno")):
        value = _plain(data.get(field))
        if value:
            f[short] = value
    return f


def _plain(value: Any) -> str | None:
    text = n.fold(str(value)) if value not in (None, "") else ""
    return text or None


def person_keys(f: Features) -> set[str]:
    """Blocking keys of a person's features (see the module docstring for why these)."""
    keys: set[str] = set()
    for short in PERSON_IDS.values():
        if short in f:
            keys.add(f"id:{short}:{f[short]}")
    fn_i = (f.get("fn_dm") or f.get("fn") or "")[:1]
    sn_i = (f.get("sn_dm") or f.get("sn") or "")[:1]
    for dob in (f.get("dob"), f.get("dob_sw")):
        if dob:
            if sn_i:
                keys.add(f"d:{dob}:s{sn_i}")
            if fn_i:
                keys.add(f"d:{dob}:f{fn_i}")
    year = f.get("dob_y", "-")
    if f.get("fn_dm") and f.get("sn_dm"):
        pair = "|".join(sorted((f["fn_dm"], f["sn_dm"])))
        keys.add(f"n:{pair}:{year}")
    if f.get("sn_dm"):
        for root in f.get("fn_roots", ())[:4]:
            if root != f.get("fn"):
                keys.add(f"r:{f['sn_dm']}:{root}:{year}")
        if f.get("fn"):
            keys.add(f"r:{f['sn_dm']}:{f['fn']}:{year}")
    if f.get("pc"):
        if sn_i:
            keys.add(f"pc:{f['pc']}:s{sn_i}")
        if fn_i:
            keys.add(f"pc:{f['pc']}:f{fn_i}")
        if f.get("dob"):
            keys.add(f"pc:{f['pc']}:d{f['dob']}")  # both names mistyped, the place and the birth agree
    return keys


def vehicle_features(data: Mapping[str, Any]) -> Features:
    f: Features = {}
    if vrm := n.vrm(_first(data.get("vrm"))):
        f["vrm"] = vrm
    if vin := n.vin(_first(data.get("vin"))):
        f["vin"] = vin
    for field in ("make", "model", "colour"):
        if value := _plain(data.get(field)):
            f[field] = value
    return f


def telephone_features(data: Mapping[str, Any]) -> Features:
    f: Features = {}
    if number := n.phone(_first(data.get("number"))):
        f["phone"] = number
    if imei := _plain(data.get("imei")):
        f["imei"] = imei.replace(" ", "")
    return f


def email_features(data: Mapping[str, Any]) -> Features:
    address = n.email(_first(data.get("address")))
    return {"email": address} if address else {}


def address_features(data: Mapping[str, Any]) -> Features:
    f: Features = {}
    if uprn := _plain(data.get("uprn")):
        f["uprn"] = uprn
    if pc := n.postcode(_first(data.get("postcode"))):
        f["pc"] = pc
    key = n.address_key(
        _first(data.get("building_number")),
        " ".join(filter(None, (_first(data.get("sub_building")), _first(data.get("building_name"))))) or None,
        _first(data.get("street")),
        _first(data.get("postcode")),
    )
    if key:
        f["addr"] = key
    return f


def organisation_features(data: Mapping[str, Any]) -> Features:
    f: Features = {}
    if name := n.organisation_key(_first(data.get("name"))):
        f["org"] = name
    if number := _plain(data.get("company_number")):
        f["coh"] = number.replace(" ", "")
    return f


# Types resolved by rules: a shared key *is* the match (a VRM, a VIN, a number, a UPRN); `conflicts` names
# features that, when both records have them and they differ, say the two are different things.
RuleSpec = tuple[Callable[[Mapping[str, Any]], Features], tuple[str, ...], tuple[str, ...]]
RULE_TYPES: dict[str, RuleSpec] = {
    # features, key features, conflicting features
    "vehicle": (vehicle_features, ("vin", "vrm"), ("vin",)),
    "telephone": (telephone_features, ("phone", "imei"), ("imei",)),
    "email": (email_features, ("email",), ()),
    "address": (address_features, ("uprn", "addr"), ("uprn",)),
    "organisation": (organisation_features, ("coh", "org"), ("coh",)),
}

MATCHED_TYPES = ("person", *RULE_TYPES)


def features_of(entity_type: str, data: Mapping[str, Any]) -> Features | None:
    """The features of a record, or None for a type the master index does not resolve (events)."""
    if entity_type == "person":
        return person_features(data)
    spec = RULE_TYPES.get(entity_type)
    return spec[0](data) if spec else None


def keys_of(entity_type: str, f: Features) -> set[str]:
    if entity_type == "person":
        return person_keys(f)
    spec = RULE_TYPES.get(entity_type)
    if spec is None:
        return set()
    return {f"{name}:{f[name]}" for name in spec[1] if f.get(name)}
