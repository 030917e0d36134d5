"""A small, known data set for the search tests, written through the store with both index hooks active."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

import openrms.identity.hooks  # duplicates resolve to one master as they are written
import openrms.search.hooks  # noqa: F401  (records are indexed as they are written)
from openrms.search.engine import search
from openrms.search.query import parse_query
from openrms.store.database import Database
from openrms.store.links import NewLink, upsert_links
from openrms.store.provenance import Provenance
from openrms.store.records import NewRecord, create_records
from openrms.store.scope import Unrestricted

LEEDS = (53.8008, -1.5491)


def prov(key: str, agency: str = "WYP", system: str = "NICHE") -> Provenance:
    return Provenance(agency=agency, source_system=system, recorded_by="PC 1234", source_key=key)


class HideAgency:
    """A read scope that cannot see one agency's records or links (the access layer's shape)."""

    def __init__(self, agency: str) -> None:
        self.agency = agency

    @property
    def actor(self) -> str:
        return "analyst"

    @property
    def purpose(self) -> str | None:
        return "test"

    def records(self, record_table: Any, fields: Any = ()) -> Any:
        return record_table.c.agency != self.agency

    def redact(self, agency: str, entity_type: str, data: Any) -> dict[str, Any]:
        return dict(data)

    def links(self, link_table: Any) -> Any:
        return link_table.c.agency != self.agency


RECORDS: dict[str, NewRecord] = {
    "john": NewRecord(
        "person",
        {
            "forenames": "John",
            "surname": "Smith",
            "date_of_birth": "1985-03-02",
            "gender": "M",
            "pnc_id": "05/123456R",
        },
        prov("john"),
    ),
    "john_btp": NewRecord(
        "person",
        {
            "forenames": "John",
            "surname": "Smith",
            "date_of_birth": "1985-03-02",
            "gender": "M",
            "pnc_id": "05/123456R",
        },
        prov("john", "BTP", "CRIMES"),
    ),
    "jonathan": NewRecord(
        "person", {"forenames": "Jonathan", "surname": "Smythe", "date_of_birth": "1984"}, prov("jonathan")
    ),
    "old_john": NewRecord(
        "person", {"forenames": "John", "surname": "Smith", "date_of_birth": "1962-10-30"}, prov("old_john")
    ),
    "bill": NewRecord(
        "person",
        {
            "forenames": "Bill",
            "surname": "Oddie",
            "date_of_birth": "1990-07",
            "gender": "M",
            "aliases": ["Billy Odd"],
        },
        prov("bill"),
    ),
    "mary": NewRecord(
        "person",
        {
            "forenames": "Mary",
            "surname": "Jones",
            "date_of_birth": "2001-05-05",
            "gender": "F",
            "ni_number": "AB123456C",
        },
        prov("mary"),
    ),
    "hidden_person": NewRecord(
        "person",
        {"forenames": "Zebedee", "surname": "Smith", "date_of_birth": "1985-01-01", "gender": "M"},
        prov("zeb", "NCA", "SECRET"),
    ),
    "car1": NewRecord(
        "vehicle", {"vrm": "AB12 CDE", "make": "Ford", "model": "Focus", "colour": "BLUE"}, prov("car1")
    ),
    "car2": NewRecord("vehicle", {"vrm": "AB19CXY", "make": "Vauxhall", "colour": "RED"}, prov("car2")),
    "car3": NewRecord("vehicle", {"vrm": "XB12CDE", "make": "Ford", "colour": "BLUE"}, prov("car3")),
    "car4": NewRecord("vehicle", {"vrm": "AB21CDE", "make": "Ford"}, prov("car4")),
    "phone": NewRecord("telephone", {"number": "0113 496 0000"}, prov("phone")),
    "email": NewRecord("email", {"address": "J.Smith@Example.org"}, prov("email")),
    "home": NewRecord(
        "address",
        {
            "building_number": "12",
            "street": "Park Row",
            "town": "Leeds",
            "postcode": "ls1 5ab",
            "latitude": 53.7990,
            "longitude": -1.5470,
        },
        prov("home"),
    ),
    "far": NewRecord(
        "address",
        {"building_number": "3", "street": "High St", "town": "Bradford", "postcode": "BD1 1AA"},
        prov("far"),
    ),
    "point_centre": NewRecord(
        "point",
        {
            "latitude": 53.8010,
            "longitude": -1.5490,
            "description": "On or near Park Row",
            "lsoa_name": "Leeds 111B",
            "lsoa_code": "E01033010",
        },
        prov("pc"),
    ),
    "point_far": NewRecord(
        "point",
        {"latitude": 53.7950, "longitude": -1.7590, "description": "On or near Thornton Road"},
        prov("pf"),
    ),
    "burglary_centre": NewRecord(
        "crime",
        {
            "crime_type": "BURGLARY",
            "occurred_from": "2018-07-10T02:00:00Z",
            "reference": "13/2018/0001",
            "ho_class": "028/01",
            "offence_code": "TH68010",
            "outcome": "NO_SUSPECT",
            "narrative": "Entry forced via rear window; jewellery and a laptop taken",
            "mo": "Rear window jemmied at night",
        },
        prov("b1"),
    ),
    "burglary_old": NewRecord(
        "crime",
        {"crime_type": "BURGLARY", "occurred_from": "2017-07-04T02:00:00Z", "narrative": "Shed broken into"},
        prov("b2"),
    ),
    "burglary_far": NewRecord(
        "crime", {"crime_type": "BURGLARY", "occurred_from": "2018-07-15T02:00:00Z"}, prov("b3")
    ),
    "robbery_centre": NewRecord(
        "crime",
        {
            "crime_type": "ROBBERY",
            "occurred_from": "2018-07-20T22:00:00Z",
            "hate_crime": True,
            "hate_strands": ["RACE"],
        },
        prov("r1"),
    ),
    "hidden_crime": NewRecord(
        "crime",
        {
            "crime_type": "BURGLARY",
            "occurred_from": "2018-07-11T02:00:00Z",
            "narrative": "Covert jewellery operation",
        },
        prov("hc", "NCA", "SECRET"),
    ),
}
LINKS = [
    ("OCCURRED_AT", "burglary_centre", "point_centre"),
    ("OCCURRED_AT", "burglary_old", "point_centre"),
    ("OCCURRED_AT", "robbery_centre", "point_centre"),
    ("OCCURRED_AT", "burglary_far", "point_far"),
    ("OCCURRED_AT", "hidden_crime", "point_centre"),
]


@dataclass
class Seeded:
    db: Database
    ids: dict[str, str]
    masters: dict[str, str]

    def find(self, scope: Any = None, **params: Any) -> dict[str, Any]:
        with self.db.read() as conn:
            return search(conn, parse_query(params), scope or Unrestricted("test"))

    def first(self, **params: Any) -> dict[str, Any]:
        results = self.find(**params)["results"]
        assert results, f"nothing found for {params}"
        return results[0]

    def found(self, **params: Any) -> set[str]:
        """Names (keys of RECORDS) of every record in the results."""
        names = {v: k for k, v in self.ids.items()}
        return {names[r] for item in self.find(**params)["results"] for r in item["matched_records"]}


@pytest.fixture
def seeded(db: Database) -> Seeded:
    names = list(RECORDS)
    with db.write() as conn:
        outcomes = create_records(conn, [RECORDS[k] for k in names])
        ids = {k: o.id for k, o in zip(names, outcomes, strict=True)}
        upsert_links(
            conn,
            [
                NewLink(
                    t,
                    ids[a],
                    ids[b],
                    prov(f"{a}-{b}", RECORDS[a].provenance.agency, RECORDS[a].provenance.source_system),
                )
                for t, a, b in LINKS
            ],
        )
    with db.read() as conn:
        from sqlalchemy import select

        from openrms.store.tables import record

        masters = dict(conn.execute(select(record.c.id, record.c.master_id)).all())
    return Seeded(db, ids, {k: masters[v] for k, v in ids.items()})
