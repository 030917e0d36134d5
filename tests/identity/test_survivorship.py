"""Survivorship: each golden value is chosen by its field's rule and names the record it came from."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from openrms.errors import BadRequest
from openrms.identity import membership, survivorship
from openrms.identity.survivorship import golden, parse
from openrms.store.records import NewRecord, create_records
from openrms.store.scope import Unrestricted
from tests.identity.membership_support import (  # noqa: F401  (no_resolution is an autouse fixture)
    T0,
    no_resolution,
    person_data,
    provenance,
)


def rec(rid: str, system: str, days: int, agency: str = "WYP", **data: Any) -> dict[str, Any]:
    """A record view as a master view holds it: data plus provenance."""
    when = (T0 + dt.timedelta(days=days)).isoformat()
    return {
        "id": rid,
        "data": data,
        "provenance": {"agency": agency, "source_system": system, "recorded_at": when, "created_at": when},
    }


def chosen(view: dict[str, Any], name: str) -> tuple[Any, str, str]:
    entry = view[name]
    return entry["value"], entry["record_id"], entry["rule"]


def test_most_trusted_source_wins_over_a_more_recent_one():
    records = [
        rec("niche", "NICHE", 30, forenames="Jon"),
        rec("pnc", "PNC", 1, agency="ACRO", forenames="John"),
        rec("custody", "CUSTODY", 20, forenames="Johnny"),
    ]
    view = golden("person", records)
    assert view["forenames"] == {
        "value": "John",
        "record_id": "pnc",
        "agency": "ACRO",
        "source_system": "PNC",
        "rule": "most_trusted",
    }


def test_most_trusted_ties_go_to_the_most_recent_and_unlisted_sources_come_last():
    records = [
        rec("old", "NICHE", 1, date_of_birth="1980-01-01"),
        rec("new", "NICHE", 5, date_of_birth="1980-01-02"),
        rec("intel", "INTEL", 9, date_of_birth="1980-01-03"),
    ]
    assert chosen(golden("person", records), "date_of_birth") == ("1980-01-02", "new", "most_trusted")
    only_unlisted = [rec("i1", "INTEL", 1, pnc_id="A"), rec("i2", "SOMETHING", 2, pnc_id="B")]
    assert chosen(golden("person", only_unlisted), "pnc_id") == ("B", "i2", "most_trusted")


def test_most_recent_takes_the_latest_recorded_value():
    records = [
        rec("a", "PNC", 1, surname="Smith"),
        rec("b", "NICHE", 9, surname="Smyth"),
        rec("c", "RMS", 5, surname="Smithe"),
    ]
    assert chosen(golden("person", records), "surname") == ("Smyth", "b", "most_recent")


def test_most_frequent_counts_values_and_breaks_ties_by_recency():
    records = [
        rec("f1", "NICHE", 1, gender="F", nationality=["GBR", "IRL"]),
        rec("f2", "RMS", 2, gender="F", nationality=["GBR", "IRL"]),
        rec("m1", "PNC", 3, gender="M", nationality=["GBR"]),
    ]
    view = golden("person", records)
    assert chosen(view, "gender") == ("F", "f2", "most_frequent")  # the newest record giving it
    assert chosen(view, "nationality") == (["GBR", "IRL"], "f2", "most_frequent")
    tie = [rec("f", "NICHE", 1, gender="F"), rec("m", "NICHE", 2, gender="M")]
    assert chosen(golden("person", tie), "gender") == ("M", "m", "most_frequent")


def test_every_field_of_every_record_appears_once_with_its_provenance():
    records = [rec("a", "NICHE", 1, forenames="Ann", occupation="Nurse"), rec("b", "CMS", 2, surname="Lee")]
    view = golden("person", records)
    assert set(view) == {"forenames", "occupation", "surname"}
    for entry in view.values():
        assert set(entry) == {"value", "record_id", "agency", "source_system", "rule"}
    assert view["surname"]["source_system"] == "CMS"


def test_rules_are_configurable_per_type_field_and_trust_ranking():
    rules = parse(
        {
            "default": "most_recent",
            "trust": ["NICHE"],
            "types": {
                "person": {
                    "default": "most_frequent",
                    "trust": ["HMPPS"],
                    "fields": {"surname": "most_trusted"},
                },
            },
        }
    )
    records = [
        rec("wyp1", "NICHE", 5, surname="Smith", occupation="Driver"),
        rec("wyp2", "NICHE", 6, surname="Smith", occupation="Driver"),
        rec("prison", "NOMIS", 1, agency="HMPPS", surname="Smyth", occupation="Cook"),
    ]
    view = golden("person", records, rules)
    assert chosen(view, "surname") == ("Smyth", "prison", "most_trusted")  # HMPPS matched as an agency
    assert chosen(view, "occupation") == ("Driver", "wyp2", "most_frequent")  # the type's default
    vehicles = [rec("v1", "NICHE", 1, colour="RED"), rec("v2", "RMS", 2, colour="BLUE")]
    assert chosen(golden("vehicle", vehicles, rules), "colour") == ("BLUE", "v2", "most_recent")


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"types": {"spaceship": {}}}, "unknown entity type"),
        ({"types": {"person": {"fields": {"shoe_size": "most_recent"}}}}, "no field 'shoe_size'"),
        ({"types": {"person": {"fields": {"surname": "loudest"}}}}, "rule 'loudest'"),
        ({"default": "oldest"}, "rule 'oldest'"),
    ],
)
def test_broken_rules_are_refused_when_loaded(spec, message):
    with pytest.raises(BadRequest, match=message):
        parse(spec)


def test_the_packaged_rules_load():
    rules = survivorship.load()
    person = rules.of("person")
    assert person.rule("forenames") == "most_trusted" and person.rule("surname") == "most_recent"
    assert person.trust[:3] == ("PNC", "NOMIS", "CUSTODY")
    assert person.rank({"source_system": "NICHE", "agency": "WYP"}) < person.rank(
        {"source_system": "INTEL", "agency": "WYP"}
    )


def test_a_master_view_shows_the_golden_view_of_all_its_records_and_its_history(db):
    with db.write() as conn:
        niche = create_records(
            conn,
            [NewRecord("person", person_data(0, forenames="Alicia"), provenance("NICHE", at=T0))],
            now=T0,
        )[0]
        later = T0 + dt.timedelta(days=3)
        custody = create_records(
            conn,
            [NewRecord("person", person_data(0, surname="Ashworth-Lee"), provenance("CUSTODY", at=later))],
            now=later,
        )[0]
        merged = membership.merge_masters(conn, [niche.master_id, custody.master_id], by="DS 1")
        view = survivorship.master_view(conn, merged.master_id, Unrestricted("t"), with_history=True)
        plain = survivorship.master_view(conn, merged.master_id, Unrestricted("t"))
    assert merged.master_id == niche.master_id
    assert chosen(view["golden"], "forenames") == ("Alice", custody.id, "most_trusted")  # CUSTODY > NICHE
    assert chosen(view["golden"], "surname") == ("Ashworth-Lee", custody.id, "most_recent")
    assert view["title"] == "Alice Ashworth-Lee 1961-01-11"
    assert [e["id"] for e in view["history"]] == [merged.event_id]
    assert "history" not in plain
