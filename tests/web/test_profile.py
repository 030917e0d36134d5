"""The person profile on both back ends: many involvements, the "other agencies may hold records" notice
(shown only where match would disclose the holder, never for what no agreement could open), and a master
the caller may see nothing of.

Callers sign in through the real forms as officers of chosen agencies and vetting.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from openrms.access import accounts, agreements
from openrms.access.model import Subject
from openrms.store.database import Database
from openrms.store.links import NewLink, upsert_links
from openrms.store.provenance import Provenance
from openrms.store.records import NewRecord, create_records
from openrms.store.tables import record
from tests.helpers import share_everything
from tests.web.conftest import add_user, sign_in

PASSWORD = "correct horse battery staple"
AGENCY_NAMES = {
    "WYP": "West Yorkshire Police",
    "NYP": "North Yorkshire Police",
    "BTP": "British Transport Police",
}
JOHN = {
    "forenames": "John",
    "surname": "Smith",
    "date_of_birth": "1985-03-02",
    "gender": "M",
    "pnc_id": "05/123456R",
}
NOTICE = "Other agencies may hold records about this person that you cannot see"


def _agencies(db: Database) -> None:
    now = dt.datetime.now(dt.UTC)
    with db.write() as conn:
        known = {a["code"] for a in accounts.list_agencies(conn)}
        for code, name in AGENCY_NAMES.items():
            if code not in known:
                accounts.create_agency(conn, code, name, "police", now)


def web_sign_in(client: TestClient, db: Database, username: str, agency: str, vetting: str = "NPPV2") -> None:
    """A new officer of `agency` signs in through the form and declares a purpose and reason."""
    _agencies(db)
    add_user(db, username, agency=agency, vetting=vetting)
    sign_in(client, "investigation", "Op TEST", username)


def prov(key: str, agency: str = "WYP", **marks: Any) -> Provenance:
    return Provenance(agency=agency, source_system="RMS", recorded_by="PC 1", source_key=key, **marks)


TYPE_FIELD = {"crime": ("crime_type", "BURGLARY"), "incident": ("incident_type", "DOMESTIC")}


def event(kind: str, reference: str, p: Provenance, **data: Any) -> NewRecord:
    """A valid event record of `kind` (crime, incident or anti_social_behaviour)."""
    name, value = TYPE_FIELD.get(kind, ("asb_category", "NUISANCE"))
    return NewRecord(kind, {"reference": reference, name: value, **data}, p)


def write(db: Database, records: dict[str, NewRecord], links: list[tuple[str, str, str, Provenance]]) -> dict:
    """Create the records (resolved by the write hooks) and links between them; returns name -> id."""
    _agencies(db)
    with db.write() as conn:
        outcomes = create_records(conn, list(records.values()))
        ids = {name: o.id for name, o in zip(records, outcomes, strict=True)}
        upsert_links(conn, [NewLink(kind, ids[a], ids[b], p) for kind, a, b, p in links])
    return ids


def master_of(db: Database, record_id: str) -> str:
    with db.read() as conn:
        return conn.execute(select(record.c.master_id).where(record.c.id == record_id)).scalar_one()


def profile(client: TestClient, master_id: str) -> str:
    page = client.get(f"/ui/people/{master_id}")
    assert page.status_code == 200, page.text
    return page.text


# ---- many involvements ----


def test_profile_lists_every_involvement_of_a_person_with_many_links(
    client: TestClient, db: Database
) -> None:
    kinds = ("crime", "incident", "anti_social_behaviour")
    roles = ("SUSPECT", "VICTIM", "WITNESS", "INVOLVED_PARTY")
    events = {
        f"e{i}": event(
            kinds[i % 3],
            f"REF/{i:04d}",
            prov(f"e{i}"),
            occurred_from=f"20{10 + i % 14}-0{1 + i % 9}-1{i % 9}",
        )
        for i in range(120)
    }
    ids = write(
        db,
        {"john": NewRecord("person", JOHN, prov("p1")), **events},
        [(roles[i % 4], "john", f"e{i}", prov(f"k{i}")) for i in range(120)],
    )
    web_sign_in(client, db, "pc.many", "WYP")
    html = profile(client, master_of(db, ids["john"]))
    assert "Involvements (120)" in html
    for i in range(120):
        assert f'href="/ui/records/{ids[f"e{i}"]}"' in html
    assert "Suspect in" in html and "Victim in" in html and "Witness to" in html
    # the timeline is bounded, and says so (120 dated involvements and the source record)
    assert html.count('class="moj-timeline__item"') == 50
    assert "The 50 most recent of 121 dated entries." in html
    assert NOTICE not in html  # everything about him is WYP's own


# ---- the restricted notice ----


def test_notice_names_the_agency_when_an_agreement_would_open_its_record(
    client: TestClient, db: Database
) -> None:
    ids = write(
        db,
        {
            "john": NewRecord("person", JOHN, prov("p1")),
            "nyp_john": NewRecord("person", {**JOHN, "forenames": "Jon"}, prov("p2", agency="NYP")),
            "btp_crime": event("crime", "BTP/1", prov("c1", "BTP"), summary="Theft on a train"),
        },
        [("SUSPECT", "john", "btp_crime", prov("k1"))],
    )
    master = master_of(db, ids["john"])
    assert master_of(db, ids["nyp_john"]) == master  # one person, two agencies' records
    web_sign_in(client, db, "pc.wyp", "WYP")
    html = profile(client, master)
    assert 'id="restricted-notice"' in html and NOTICE in html
    assert "contact British Transport Police (BTP) or North Yorkshire Police (NYP)." in html
    # nothing else of the hidden records shows: not their ids, names or references
    for secret in (ids["nyp_john"], ids["btp_crime"], "Jon Smith", "BTP/1", "Theft on a train"):
        assert secret not in html

    # once NYP and BTP share with WYP their records are shown, and there is nobody left to contact
    share_everything(db, "NYP", "WYP")
    share_everything(db, "BTP", "WYP")
    html = profile(client, master)
    assert NOTICE not in html
    assert f'href="/ui/records/{ids["nyp_john"]}"' in html and "BTP/1" in html


def test_notice_names_only_the_holder_of_what_is_hidden(client: TestClient, db: Database) -> None:
    # BTP linked WYP's man to a crime NYP shares with WYP: only BTP's link is hidden, so only BTP is named
    ids = write(
        db,
        {"john": NewRecord("person", JOHN, prov("p1")), "crime": event("crime", "NYP/1", prov("c1", "NYP"))},
        [("WITNESS", "john", "crime", prov("k1", "BTP"))],
    )
    share_everything(db, "NYP", "WYP")
    web_sign_in(client, db, "pc.link", "WYP")
    html = profile(client, master_of(db, ids["john"]))
    assert "contact British Transport Police (BTP)." in html
    assert "North Yorkshire" not in html and "Witness to" not in html


@pytest.mark.parametrize(
    "hidden_by",
    ["classification above vetting", "handling 4", "handling 5", "restricted to named users", "secret link"],
)
def test_notice_says_nothing_of_what_no_agreement_would_open(
    client: TestClient, db: Database, hidden_by: str
) -> None:
    marks = {
        "classification above vetting": {"classification": "SECRET"},
        "handling 4": {"handling": "4"},
        "handling 5": {"handling": "5"},
    }.get(hidden_by, {})
    other = NewRecord("person", {**JOHN, "forenames": "Jon"}, prov("p2", agency="NYP", **marks))
    crime = event("crime", "NYP/9", prov("c1", "NYP", **marks))
    link_marks = {"classification": "SECRET"} if hidden_by == "secret link" else {}
    link_agency = "NYP" if hidden_by == "secret link" else "WYP"
    ids = write(
        db,
        {"john": NewRecord("person", JOHN, prov("p1")), "nyp_john": other, "nyp_crime": crime},
        [("SUSPECT", "john", "nyp_crime", prov("k1", link_agency, **link_marks))],
    )
    master = master_of(db, ids["john"])
    if hidden_by in ("restricted to named users", "secret link"):
        share_everything(db, "NYP", "WYP")  # an agreement is in force: only the restriction or link hides
    if hidden_by == "restricted to named users":
        nyp = Subject("nyp-1", "nyp.officer", "NYP", frozenset({"investigator"}), "SECRET")
        with db.write() as conn:
            for rid in (ids["nyp_john"], ids["nyp_crime"]):
                agreements.restrict(conn, rid, [], nyp, dt.datetime.now(dt.UTC))
    web_sign_in(client, db, "pc.nppv2", "WYP", vetting="NPPV2")  # cleared to OFFICIAL-SENSITIVE
    html = profile(client, master)
    assert NOTICE not in html and 'id="restricted-notice"' not in html
    secrets = ["NYP/9", ids["nyp_crime"]]
    if hidden_by != "secret link":  # (there, NYP's person record is shared: only the link is secret)
        secrets += ["NYP", "North Yorkshire", ids["nyp_john"]]
    for secret in secrets:
        assert secret not in html


def test_secret_record_of_the_callers_own_agency_stays_unmentioned(client: TestClient, db: Database) -> None:
    ids = write(
        db,
        {
            "john": NewRecord("person", JOHN, prov("p1")),
            "intel": NewRecord("person", {**JOHN, "forenames": "Jon"}, prov("p2", classification="SECRET")),
        },
        [],
    )
    master = master_of(db, ids["john"])
    assert master_of(db, ids["intel"]) == master
    web_sign_in(client, db, "pc.official", "WYP", vetting="OFFICIAL")
    html = profile(client, master)
    assert NOTICE not in html and ids["intel"] not in html and "Source records (1)" in html
    # a SECRET-vetted colleague sees both records, and there is nobody to contact
    client.cookies.clear()
    web_sign_in(client, db, "ds.secret", "WYP", vetting="SECRET")
    html = profile(client, master)
    assert NOTICE not in html and "Source records (2)" in html


# ---- what the caller may not see at all ----


def test_master_of_another_agency_with_nothing_visible_is_not_found(client: TestClient, db: Database) -> None:
    ids = write(db, {"john": NewRecord("person", JOHN, prov("p1"))}, [])
    master = master_of(db, ids["john"])
    web_sign_in(client, db, "pc.nyp", "NYP")
    for path in (f"/ui/people/{master}", f"/ui/people/{ids['john']}", f"/ui/records/{ids['john']}"):
        page = client.get(path)
        assert page.status_code == 404, path
        assert "text/html" in page.headers["content-type"] and "Not found" in page.text
        assert "Smith" not in page.text and NOTICE not in page.text and "WYP" not in page.text


@pytest.mark.parametrize("wanted", ["0000000000000000deadbeef", "x" * 101, "a%09b"])
def test_unknown_or_malformed_ids_are_not_found(client: TestClient, db: Database, wanted: str) -> None:
    web_sign_in(client, db, "pc.lost", "WYP")
    page = client.get(f"/ui/people/{wanted}")
    assert page.status_code == 404 and "Not found" in page.text
