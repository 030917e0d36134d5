"""A handful of hand-written records the documentation's search examples find in the demo.

"Jon Smyth born about 1985" finds John Smith (two agencies' records of one man, resolved to one master),
and "plate AB1?C*" finds his car AB12 CDE and another, AB19 CXY; near-misses (Jon Smythe born 1991, a John
Smith born 1962, AB21 CDE) show what does not match and why. The police.uk crimes supply the third example,
burglaries within 500 m of Leeds city centre in July 2018.
"""

from __future__ import annotations

from openrms.store import ids
from openrms.store.links import NewLink
from openrms.store.provenance import Provenance
from openrms.store.records import NewRecord

SYSTEMS = {"WYP": "NICHE", "BTP": "CRIMES"}


def _prov(agency: str, key: str) -> Provenance:
    return Provenance(
        agency=agency, source_system=SYSTEMS[agency], recorded_by="demo showcase", source_key=key
    )


RECORDS = [
    NewRecord(
        "person",
        {
            "forenames": "John",
            "surname": "Smith",
            "date_of_birth": "1985-03-02",
            "gender": "M",
            "pnc_id": "05/123456R",
        },
        _prov("WYP", "showcase-person-1"),
    ),
    NewRecord(
        "person",
        {
            "forenames": "Johnny",
            "surname": "Smith",
            "date_of_birth": "1985-03-02",
            "gender": "M",
            "pnc_id": "05/123456R",
        },
        _prov("BTP", "showcase-person-1"),
    ),
    NewRecord(
        "person",
        {"forenames": "Jon", "surname": "Smythe", "date_of_birth": "1991-06-11"},
        _prov("WYP", "showcase-person-2"),
    ),
    NewRecord(
        "person",
        {"forenames": "John", "surname": "Smith", "date_of_birth": "1962-10-30"},
        _prov("WYP", "showcase-person-3"),
    ),
    NewRecord(
        "vehicle",
        {"vrm": "AB12 CDE", "make": "Ford", "model": "Focus", "colour": "BLUE"},
        _prov("WYP", "showcase-vehicle-1"),
    ),
    NewRecord(
        "vehicle",
        {"vrm": "AB19 CXY", "make": "Vauxhall", "model": "Corsa", "colour": "RED"},
        _prov("WYP", "showcase-vehicle-2"),
    ),
    NewRecord(
        "vehicle",
        {"vrm": "AB21 CDE", "make": "Ford", "model": "Fiesta", "colour": "BLUE"},
        _prov("WYP", "showcase-vehicle-3"),
    ),
]


def record_id(item: NewRecord) -> str:
    p = item.provenance
    return ids.record_id(item.entity_type, p.agency, p.source_system, p.source_key or "")


LINKS = [
    NewLink("KEEPER_OF", record_id(RECORDS[0]), record_id(RECORDS[4]), _prov("WYP", "showcase-keeper-1")),
]
