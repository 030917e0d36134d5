"""Record entry and edit forms on both back ends: forms generated from the registry, records created and
changed through the real pages, field-level errors with nothing written, CSRF, roles, other agencies, and
the live possible-matches panel that lets an officer use an existing person instead of a duplicate.

Callers sign in through the real forms (tests.web.conftest and tests.web.test_profile).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from openrms.access import accounts
from openrms.schema import registry
from openrms.store.database import Database
from openrms.store.tables import link, record, record_version
from openrms.web import forms
from tests.web.conftest import hidden, make_client
from tests.web.test_profile import PASSWORD, web_sign_in

HTMX = {"HX-Request": "true"}


def count(db: Database, entity_type: str) -> int:
    with db.read() as conn:
        return conn.execute(
            select(func.count()).select_from(record).where(record.c.entity_type == entity_type)
        ).scalar_one()


def form_token(client: TestClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return hidden(page.text, "csrf_token")


def post(client: TestClient, path: str, data: dict[str, Any], token: str | None = None) -> Any:
    body = {**data, "csrf_token": token if token is not None else form_token(client, path)}
    return client.post(path, data=body)


def labels_of(html: str) -> set[str]:
    """The ids of every input, select and textarea, and the ids every label or legend names."""
    return set(re.findall(r'<label[^>]* for="([^"]+)"', html))


def input_ids(html: str) -> set[str]:
    return set(re.findall(r'<(?:input|select|textarea)[^>]* id="([^"]+)"', html))


def error_summary(html: str) -> str:
    found = re.search(r'<div class="govuk-error-summary".*?</ul>', html, re.S)
    assert found, "no error summary on the page"
    return found.group(0)


def person_form(**data: str) -> dict[str, str]:
    base = {
        "forenames": "Mary",
        "surname": "Jones",
        "date_of_birth-day": "4",
        "date_of_birth-month": "11",
        "date_of_birth-year": "1990",
        "gender": "F",
        "marking.classification": "OFFICIAL",
        "marking.handling": "P",
    }
    return {**base, **data}


# ---- forms generated from the registry ----


@pytest.mark.parametrize(
    "entity_type", ["person", "vehicle", "address", "crime", "incident", "intelligence_report"]
)
def test_every_input_of_the_form_has_a_label(signed_in: TestClient, entity_type: str) -> None:
    page = signed_in.get(f"/ui/records/new/{entity_type}")
    assert page.status_code == 200, page.text
    ids = input_ids(page.text) - {"csrf_token"}
    unlabelled = {i for i in ids if i not in labels_of(page.text)}
    assert unlabelled == set(), unlabelled
    for f in forms.form_fields(entity_type):
        assert f.label in page.text  # every registry field is asked, by its registry label
    assert 'name="marking.classification"' in page.text


def test_choose_page_lists_the_main_types(signed_in: TestClient) -> None:
    page = signed_in.get("/ui/records/new")
    assert page.status_code == 200
    for name in ("person", "vehicle", "address", "crime", "incident", "intelligence_report"):
        assert f'href="/ui/records/new/{name}"' in page.text
    assert signed_in.get("/ui/records/new/spaceship").status_code == 404


def test_intelligence_report_asks_for_3x5x2_grading(signed_in: TestClient) -> None:
    page = signed_in.get("/ui/records/new/intelligence_report").text
    reg = registry()
    for name, codelist in (
        ("source_evaluation", "source_evaluation_3x5x2"),
        ("intelligence_assessment", "intelligence_assessment_3x5x2"),
        ("handling_code", "handling_3x5x2"),
    ):
        for code in reg.codelists[codelist].codes:
            assert f'name="{name}" type="radio" value="{code}"' in page
    assert "legacy_grading" not in page  # imported 5x5x5 grading is not keyed by hand


def test_classification_is_capped_by_vetting(signed_in: TestClient) -> None:
    page = signed_in.get("/ui/records/new/person").text  # pc1234 is NPPV2: up to OFFICIAL-SENSITIVE
    assert 'value="OFFICIAL-SENSITIVE"' in page
    assert 'value="SECRET"' not in page
    token = hidden(page, "csrf_token")
    before = count(signed_in.app.state.db, "person")  # type: ignore[attr-defined]
    refused = post(
        signed_in, "/ui/records/new/person", person_form(**{"marking.classification": "SECRET"}), token
    )
    assert refused.status_code == 403
    assert "above your vetting" in refused.text
    assert count(signed_in.app.state.db, "person") == before  # type: ignore[attr-defined]


# ---- creating ----


def test_create_a_person_and_land_on_the_profile(signed_in: TestClient, db: Database) -> None:
    made = post(signed_in, "/ui/records/new/person", person_form(aliases="Molly Jones\nM Jones"))
    assert made.status_code == 303, made.text
    assert made.headers["location"].startswith("/ui/people/")
    profile = signed_in.get(made.headers["location"])
    assert profile.status_code == 200
    assert "Mary" in profile.text and "Jones" in profile.text
    with db.read() as conn:
        row = conn.execute(
            select(record.c.source_system, record.c.agency, record.c.created_by, record_version.c.data)
            .join(record_version, record_version.c.record_id == record.c.id)
            .where(record.c.entity_type == "person")
        ).one()
    assert (row.source_system, row.agency, row.created_by) == ("OPENRMS-WEB", "WYP", "pc1234")
    assert row.data["date_of_birth"] == "1990-11-04"
    assert row.data["aliases"] == ["Molly Jones", "M Jones"]


def test_create_a_vehicle_and_a_partial_date_of_birth(signed_in: TestClient, db: Database) -> None:
    made = post(
        signed_in,
        "/ui/records/new/vehicle",
        {
            "vrm": "yk 19 abc",
            "make": "Vauxhall",
            "colour": "RED",
            "year_of_manufacture": "2019",
            "marking.classification": "OFFICIAL",
            "marking.handling": "P",
        },
    )
    assert made.status_code == 303, made.text
    page = signed_in.get(made.headers["location"])
    assert "YK19ABC" in page.text and "Vauxhall" in page.text
    partial = post(
        signed_in,
        "/ui/records/new/person",
        person_form(**{"date_of_birth-day": "", "date_of_birth-month": "", "date_of_birth-year": "1971"}),
    )
    assert partial.status_code == 303, partial.text


def test_create_a_crime_with_a_new_suspect_in_one_go(signed_in: TestClient, db: Database) -> None:
    made = post(
        signed_in,
        "/ui/records/new/crime",
        {
            "crime_type": "ROBBERY",
            "reference": "13/999/24",
            "occurred_from": "14/07/2018 21:30",
            "hate_crime": "no",
            "suspect.forenames": "Peter",
            "suspect.surname": "Quince",
            "suspect.date_of_birth-year": "1979",
            "suspect.record_id": "new",
            "marking.classification": "OFFICIAL",
            "marking.handling": "P",
        },
    )
    assert made.status_code == 303, made.text
    crime_id = made.headers["location"].rsplit("/", 1)[1]
    page = signed_in.get(made.headers["location"])
    assert "Robbery" in page.text and "Peter Quince" in page.text
    with db.read() as conn:
        data = conn.execute(
            select(record_version.c.data).where(record_version.c.record_id == crime_id)
        ).scalar_one()
        links = conn.execute(select(link.c.link_type).where(link.c.to_id == crime_id)).scalars().all()
    assert data["occurred_from"] == "2018-07-14T20:30:00Z"  # UK summer time typed, UTC stored
    assert data["hate_crime"] is False
    assert links == ["SUSPECT"]
    assert count(db, "person") == 1


# ---- bad input ----


@pytest.mark.parametrize(
    ("changes", "anchor", "words"),
    [
        ({"date_of_birth-day": "31", "date_of_birth-month": "2"}, "date_of_birth-day", "not a real date"),
        ({"date_of_birth-day": "first"}, "date_of_birth-day", "as numbers"),
        ({"date_of_birth-year": "2090"}, "date_of_birth-day", "in the future"),
        ({"gender": "Q"}, "gender", "is not a code of list"),
        ({"forenames": "J0hn"}, "forenames", "Forename(s)"),
        ({"physical_description.height_cm": "tall"}, "physical_description-height_cm", "whole number"),
    ],
)
def test_invalid_person_shows_errors_by_field_and_writes_nothing(
    signed_in: TestClient, db: Database, changes: dict[str, str], anchor: str, words: str
) -> None:
    answer = post(signed_in, "/ui/records/new/person", person_form(**changes))
    assert answer.status_code == 400, answer.text
    summary = error_summary(answer.text)
    assert f'href="#{anchor}"' in summary
    assert words in summary
    assert answer.text.count("govuk-form-group--error") >= 1
    assert 'value="Jones"' in answer.text  # what was typed is kept
    assert answer.text.startswith("<!DOCTYPE html>") and "<title>Error: " in answer.text
    assert count(db, "person") == 0


def test_missing_required_and_unknown_code_are_named(signed_in: TestClient, db: Database) -> None:
    answer = post(
        signed_in,
        "/ui/records/new/crime",
        {
            "reference": "X1",
            "status": "NOT_A_STATUS",
            "marking.classification": "OFFICIAL",
            "marking.handling": "P",
        },
    )
    assert answer.status_code == 400
    summary = error_summary(answer.text)
    assert 'href="#crime_type"' in summary and "Crime type is required" in summary
    assert 'href="#status"' in summary and "NOT_A_STATUS" in summary
    assert 'value="X1"' in answer.text
    handling = post(
        signed_in,
        "/ui/records/new/intelligence_report",
        {
            "source_evaluation": "1",
            "intelligence_assessment": "A",
            "handling_code": "C",
            "marking.classification": "OFFICIAL",
            "marking.handling": "C",
        },
    )
    assert handling.status_code == 400
    summary = error_summary(handling.text)
    assert 'href="#handling_conditions"' in summary
    assert 'href="#marking-handling_conditions"' in summary
    assert count(db, "crime") == count(db, "intelligence_report") == 0


def test_invalid_suspect_is_marked_and_the_crime_is_not_saved(signed_in: TestClient, db: Database) -> None:
    answer = post(
        signed_in,
        "/ui/records/new/crime",
        {
            "crime_type": "ROBBERY",
            "suspect.surname": "Qu1nce",
            "marking.classification": "OFFICIAL",
            "marking.handling": "P",
        },
    )
    assert answer.status_code == 400
    assert 'href="#suspect-surname"' in error_summary(answer.text)
    assert count(db, "crime") == count(db, "person") == 0


def test_form_posts_without_the_csrf_token_are_refused(signed_in: TestClient, db: Database) -> None:
    missing = signed_in.post("/ui/records/new/person", data=person_form())
    assert missing.status_code == 403
    wrong = post(signed_in, "/ui/records/new/person", person_form(), token="not-the-token")
    assert wrong.status_code == 403
    matches = signed_in.post("/ui/records/new/person/matches", data=person_form(), headers=HTMX)
    assert matches.status_code == 403
    assert count(db, "person") == 0


# ---- possible matches ----


def test_matches_fragment_finds_the_existing_john_smith(
    signed_in: TestClient, seeded: dict[str, str]
) -> None:
    token = form_token(signed_in, "/ui/records/new/person")
    typed = {
        "forenames": "Jon",
        "surname": "Smyth",
        "date_of_birth-day": "2",
        "date_of_birth-month": "3",
        "date_of_birth-year": "1985",
    }
    found = signed_in.post(
        "/ui/records/new/person/matches", data=typed, headers={**HTMX, "X-CSRF-Token": token}
    )
    assert found.status_code == 200, found.text
    assert "Smith" in found.text and "2 March 1985" in found.text
    assert "2005/0123456R" in found.text  # a key identifier, as stored
    assert "Use this person" in found.text
    with signed_in.app.state.db.read() as conn:  # type: ignore[attr-defined]
        master = conn.execute(select(record.c.master_id).where(record.c.id == seeded["john"])).scalar_one()
    assert f'href="/ui/people/{master}"' in found.text
    assert 'hx-swap-oob="innerHTML"' in found.text and "1 possible match." in found.text
    empty = signed_in.post(
        "/ui/records/new/person/matches", data={"forenames": ""}, headers={**HTMX, "X-CSRF-Token": token}
    )
    assert "As you type" in empty.text
    assert (
        signed_in.post(
            "/ui/records/new/incident/matches", data={}, headers={**HTMX, "X-CSRF-Token": token}
        ).status_code
        == 404
    )


def test_vehicle_matches_by_registration(signed_in: TestClient, seeded: dict[str, str]) -> None:
    token = form_token(signed_in, "/ui/records/new/vehicle")
    found = signed_in.post(
        "/ui/records/new/vehicle/matches", data={"vrm": "AB12 CDE"}, headers={**HTMX, "X-CSRF-Token": token}
    )
    assert found.status_code == 200
    assert f'href="/ui/records/{seeded["car"]}"' in found.text
    assert "Use this vehicle" in found.text


def test_restricted_candidate_appears_only_as_its_agency(client: TestClient, db: Database) -> None:
    web_sign_in(client, db, "pc.btp", "BTP")  # sees nothing of WYP's
    from tests.web.conftest import seed

    seed(db)
    token = form_token(client, "/ui/records/new/person")
    typed = {
        "forenames": "John",
        "surname": "Smith",
        "date_of_birth-day": "2",
        "date_of_birth-month": "3",
        "date_of_birth-year": "1985",
        "pnc_id": "05/123456R",
    }
    found = client.post("/ui/records/new/person/matches", data=typed, headers={**HTMX, "X-CSRF-Token": token})
    assert found.status_code == 200
    assert "A restricted record may match" in found.text and "contact WYP" in found.text
    assert "Use this person" not in found.text and "05/123456R" not in found.text


def test_choosing_the_existing_person_as_suspect_creates_no_duplicate(
    signed_in: TestClient, db: Database, seeded: dict[str, str]
) -> None:
    token = form_token(signed_in, "/ui/records/new/crime")
    typed = {
        "crime_type": "ROBBERY",
        "suspect.forenames": "Jon",
        "suspect.surname": "Smyth",
        "suspect.date_of_birth-day": "2",
        "suspect.date_of_birth-month": "3",
        "suspect.date_of_birth-year": "1985",
        "marking.classification": "OFFICIAL",
        "marking.handling": "P",
    }
    panel = signed_in.post(
        "/ui/records/new/crime/matches", data=typed, headers={**HTMX, "X-CSRF-Token": token}
    )
    assert panel.status_code == 200
    choice = re.search(r'name="suspect.record_id" type="radio" value="([^"]+)"', panel.text)
    assert choice and choice.group(1) in (seeded["john"], seeded["johnny"])
    people = count(db, "person")
    made = post(signed_in, "/ui/records/new/crime", {**typed, "suspect.record_id": choice.group(1)}, token)
    assert made.status_code == 303, made.text
    crime_id = made.headers["location"].rsplit("/", 1)[1]
    assert count(db, "person") == people
    with db.read() as conn:
        linked = conn.execute(select(link.c.link_type, link.c.from_id).where(link.c.to_id == crime_id)).all()
    assert [tuple(r) for r in linked] == [("SUSPECT", choice.group(1))]


def test_suspect_of_another_agency_cannot_be_chosen_blind(client: TestClient, db: Database) -> None:
    from tests.web.conftest import seed

    ids = seed(db)
    web_sign_in(client, db, "pc.nyp", "NYP")
    token = form_token(client, "/ui/records/new/crime")
    answer = post(
        client,
        "/ui/records/new/crime",
        {
            "crime_type": "ROBBERY",
            "suspect.record_id": ids["john"],
            "marking.classification": "OFFICIAL",
            "marking.handling": "P",
        },
        token,
    )
    assert answer.status_code == 404
    assert count(db, "crime") == 1  # only the seeded one: the new crime was rolled back


# ---- roles ----


def test_a_user_without_the_create_role_is_refused(client: TestClient, db: Database) -> None:
    now = dt.datetime.now(dt.UTC)
    with db.write() as conn:
        accounts.create_agency(conn, "CPS", "Crown Prosecution Service", "prosecutor", now)
        accounts.create_user(conn, "lawyer1", "A Lawyer", "CPS", ["prosecutor"], "NPPV2", PASSWORD, now, "t")
    token = hidden(client.get("/ui/sign-in").text, "csrf_token")
    client.post("/ui/sign-in", data={"username": "lawyer1", "password": PASSWORD, "csrf_token": token})
    form = client.get("/ui/purpose?next=/ui/")
    client.post(
        "/ui/purpose",
        data={
            "purpose": "prosecution",
            "reason": "Case 1",
            "csrf_token": hidden(form.text, "csrf_token"),
            "next": "/ui/",
        },
    )
    assert client.get("/ui/records/new").status_code == 403
    assert client.get("/ui/records/new/person").status_code == 403
    session_token = hidden(client.get("/ui/purpose?next=/ui/").text, "csrf_token")
    refused = post(client, "/ui/records/new/person", person_form(), session_token)
    assert refused.status_code == 403
    assert count(db, "person") == 0


# ---- editing ----


def test_edit_shows_the_record_and_saves_a_new_version(
    signed_in: TestClient, db: Database, seeded: dict[str, str]
) -> None:
    path = f"/ui/records/{seeded['john']}/edit"
    page = signed_in.get(path)
    assert page.status_code == 200, page.text
    assert (
        'value="John"' in page.text
        and 'name="date_of_birth-year" type="text" inputmode="numeric" value="1985"' in page.text
    )
    assert 'name="warning_markers" type="checkbox" value="VI" checked' in page.text
    token = hidden(page.text, "csrf_token")
    data = {
        "version": "1",
        "forenames": "John",
        "surname": "Smith",
        "date_of_birth-day": "2",
        "date_of_birth-month": "3",
        "date_of_birth-year": "1985",
        "gender": "M",
        "pnc_id": "05/123456R",
        "occupation": "Roofer",
        "marking.classification": "OFFICIAL",
        "marking.handling": "P",
        "change_reason": "Occupation given at interview",
    }
    saved = post(signed_in, path, data, token)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"/ui/records/{seeded['john']}"
    shown = signed_in.get(saved.headers["location"]).text
    assert "Roofer" in shown and "Occupation given at interview" in shown
    with db.read() as conn:
        current = conn.execute(
            select(record.c.current_version).where(record.c.id == seeded["john"])
        ).scalar_one()
        latest = conn.execute(
            select(record_version.c.data).where(
                record_version.c.record_id == seeded["john"], record_version.c.version == 2
            )
        ).scalar_one()
    assert current == 2
    assert "warning_markers" not in latest  # unticked, so removed
    stale = post(signed_in, path, data, token)
    assert stale.status_code == 409
    assert "Someone else changed this record" in stale.text


def test_edit_with_bad_input_keeps_the_record_unchanged(
    signed_in: TestClient, db: Database, seeded: dict[str, str]
) -> None:
    path = f"/ui/records/{seeded['crime']}/edit"
    token = form_token(signed_in, path)
    answer = post(
        signed_in,
        path,
        {
            "version": "1",
            "crime_type": "",
            "occurred_from": "yesterday",
            "marking.classification": "OFFICIAL",
            "marking.handling": "P",
        },
        token,
    )
    assert answer.status_code == 400
    summary = error_summary(answer.text)
    assert 'href="#crime_type"' in summary and 'href="#occurred_from"' in summary
    with db.read() as conn:
        assert (
            conn.execute(select(record.c.current_version).where(record.c.id == seeded["crime"])).scalar_one()
            == 1
        )


def test_edit_by_another_agency_is_refused(client: TestClient, db: Database) -> None:
    from tests.helpers import share_everything
    from tests.web.conftest import seed

    ids = seed(db)
    web_sign_in(client, db, "pc.hidden", "NYP")
    assert client.get(f"/ui/records/{ids['crime']}/edit").status_code == 404  # cannot even see it
    share_everything(db, "WYP", "NYP")
    with make_client(db) as shared:
        web_sign_in(shared, db, "pc.shared", "NYP")
        assert shared.get(f"/ui/records/{ids['crime']}").status_code == 200  # seen through the agreement
        assert shared.get(f"/ui/records/{ids['crime']}/edit").status_code == 403
        token = form_token(shared, "/ui/records/new/person")
        data = {"version": "1", "crime_type": "ROBBERY", "marking.classification": "OFFICIAL"}
        posted = post(shared, f"/ui/records/{ids['crime']}/edit", {**data, "marking.handling": "P"}, token)
        assert posted.status_code == 403
    with db.read() as conn:
        version = conn.execute(
            select(record.c.current_version).where(record.c.id == ids["crime"])
        ).scalar_one()
    assert version == 1


def test_edit_keeps_a_sensitive_field_the_editor_may_not_see(signed_in: TestClient, db: Database) -> None:
    from openrms.store.provenance import Provenance
    from openrms.store.records import NewRecord, create_record

    data = {"source_evaluation": "1", "intelligence_assessment": "B", "handling_code": "P"}
    prov = Provenance(agency="WYP", source_system="NICHE", recorded_by="DC 1", source_key="ir1")
    with db.write() as conn:
        rid = create_record(
            conn, NewRecord("intelligence_report", {**data, "source_reference": "CHIS 42"}, prov)
        ).id
    page = signed_in.get(f"/ui/records/{rid}/edit")  # an investigator: no see_sensitive
    assert page.status_code == 200
    assert "CHIS 42" not in page.text and 'name="source_reference"' not in page.text
    form = {**data, "summary": "Seen at the address", "version": "1"}
    saved = post(
        signed_in,
        f"/ui/records/{rid}/edit",
        {**form, "marking.classification": "OFFICIAL", "marking.handling": "P"},
        hidden(page.text, "csrf_token"),
    )
    assert saved.status_code == 303, saved.text
    with db.read() as conn:
        latest = conn.execute(
            select(record_version.c.data).where(
                record_version.c.record_id == rid, record_version.c.version == 2
            )
        ).scalar_one()
    assert latest["source_reference"] == "CHIS 42" and latest["summary"] == "Seen at the address"
