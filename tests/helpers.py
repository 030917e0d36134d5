"""Small builders shared by the tests."""

from __future__ import annotations

from typing import Any

from openrms.store.provenance import Provenance
from openrms.store.records import NewRecord


def prov(key: str | None = None, agency: str = "WYP", system: str = "NICHE", **extra: Any) -> Provenance:
    return Provenance(agency=agency, source_system=system, recorded_by="PC 1234", source_key=key, **extra)


def person(key: str | None = None, **data: Any) -> NewRecord:
    base = {"forenames": "John", "surname": "Smith", "date_of_birth": "1985-03-02", "gender": "M"}
    return NewRecord("person", {**base, **data}, prov(key))
