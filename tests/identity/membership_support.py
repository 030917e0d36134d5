"""Shared by the membership, judgement, survivorship and masters API/CLI tests.

These tests drive membership by hand, so `no_resolution` keeps the real-time resolver (a store write hook
that the API and CLI register) out of them: a record stays its own master until a test moves it.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from sqlalchemy import select

from openrms.store import hooks
from openrms.store.database import Database
from openrms.store.links import NewLink, upsert_links
from openrms.store.provenance import Provenance
from openrms.store.records import NewRecord, create_records
from openrms.store.tables import master, record

T0 = dt.datetime(2024, 1, 1, 9, 0, tzinfo=dt.UTC)

# People who share nothing a blocking key could catch: different names, dates of birth and genders.
PEOPLE = [
    ("Alice", "Ashworth", "1961-01-11", "F"),
    ("Bartholomew", "Brennan", "1972-02-22", "M"),
    ("Cordelia", "Castellano", "1983-03-13", "F"),
    ("Desmond", "Dvorak", "1994-04-24", "M"),
    ("Evangeline", "Eriksen", "1955-05-15", "F"),
    ("Fitzgerald", "Fairweather", "1966-06-26", "M"),
    ("Gwendolyn", "Grimaldi", "1977-07-17", "F"),
    ("Horatio", "Hollingsworth", "1988-08-28", "M"),
]
_keys = itertools.count()


@pytest.fixture(autouse=True)
def no_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hooks, "_after_write", [])


def person_data(i: int, **changes: Any) -> dict[str, Any]:
    forenames, surname, dob, gender = PEOPLE[i % len(PEOPLE)]
    return {"forenames": forenames, "surname": surname, "date_of_birth": dob, "gender": gender, **changes}


def provenance(
    system: str = "NICHE", agency: str = "WYP", at: dt.datetime | None = None, key: str | None = None
) -> Provenance:
    return Provenance(
        agency=agency,
        source_system=system,
        recorded_by="PC 1234",
        source_key=key or f"K{next(_keys)}",
        recorded_at=at,
    )


def add_people(db: Database, *indexes: int, system: str = "NICHE", start: dt.datetime = T0) -> list[Any]:
    """One person record per index, each created a minute after the last (so the first is the oldest)."""
    outcomes = []
    with db.write() as conn:
        for n, i in enumerate(indexes):
            when = start + dt.timedelta(minutes=n)
            item = NewRecord("person", person_data(i), provenance(system, at=when))
            outcomes += create_records(conn, [item], now=when)
    return outcomes


def add_crime(db: Database, reference: str) -> str:
    with db.write() as conn:
        item = NewRecord("crime", {"crime_type": "BURGLARY", "reference": reference}, provenance())
        return create_records(conn, [item])[0].id


def link(db: Database, link_type: str, from_id: str, to_id: str) -> str:
    with db.write() as conn:
        prov = Provenance(agency="WYP", source_system="NICHE", recorded_by="PC 1234")
        return upsert_links(conn, [NewLink(link_type, from_id, to_id, prov)])[0]["id"]


def snapshot(db: Database) -> tuple[dict[str, str], dict[str, tuple[Any, ...]]]:
    """Every record's master, and every master row: what an undo must restore exactly."""
    with db.read() as conn:
        members = {r.id: r.master_id for r in conn.execute(select(record.c.id, record.c.master_id))}
        masters = {
            m.id: (m.entity_type, m.created_at, m.status, m.merged_into) for m in conn.execute(select(master))
        }
    return members, masters


def assert_consistent(db: Database) -> None:
    """Every record is in exactly one master, which is active; every merged master is empty."""
    members, masters = snapshot(db)
    for record_id, master_id in members.items():
        assert master_id in masters, f"record {record_id} is in missing master {master_id}"
        assert masters[master_id][2] == "active", f"record {record_id} is in {masters[master_id]}"
        assert masters[master_id][3] is None
    held = set(members.values())
    for master_id, (_, _, status, merged_into) in masters.items():
        if status != "active":
            assert master_id not in held
            assert merged_into is None or merged_into in masters


def master_of(db: Database, record_id: str) -> str:
    with db.read() as conn:
        return conn.execute(select(record.c.master_id).where(record.c.id == record_id)).scalar_one()
