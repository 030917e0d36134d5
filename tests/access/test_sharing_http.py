"""The issue's 'done when', over HTTP with real users, tokens and agreements: a prosecutor sees what the
agreement gives them and nothing else; a health caseworker sees only safeguarding fields for their purpose;
a SECRET report is invisible to an OFFICIAL-vetted officer, even in counts; revoking applies at once; the
audit trail says who saw what."""

from __future__ import annotations

from fastapi.testclient import TestClient

from openrms.access import audit
from openrms.api.app import create_app
from tests.helpers import sign_in

PROV = {"source_system": "NICHE"}


def _client(db, app, **user):
    return sign_in(TestClient(app, raise_server_exceptions=False), db, **user)


def _agreement(admin_a, admin_b, **terms):
    made = admin_a.post("/agreements", json=terms)
    assert made.status_code == 201, made.text
    assert admin_b.post(f"/agreements/{made.json()['id']}/approve").status_code == 200
    return made.json()["id"]


def test_partners_see_exactly_what_agreements_give(db):
    app = create_app(db)
    officer = _client(db, app, username="dc.wyp", agency="WYP")
    wyp_admin = _client(db, app, username="admin.wyp", agency="WYP", roles=("administrator",))
    cps = _client(
        db,
        app,
        username="cps.lawyer",
        agency="CPS",
        kind="prosecutor",
        roles=("prosecutor",),
        vetting="OFFICIAL-SENSITIVE",
        purpose="prosecution",
    )
    cps_admin = _client(
        db, app, username="admin.cps", agency="CPS", kind="prosecutor", roles=("administrator",)
    )
    nhs = _client(
        db,
        app,
        username="nhs.worker",
        agency="NHS",
        kind="health",
        roles=("partner_caseworker",),
        vetting="OFFICIAL",
        purpose="safeguarding",
    )
    nhs_admin = _client(db, app, username="admin.nhs", agency="NHS", kind="health", roles=("administrator",))
    weak = _client(db, app, username="pc.official", agency="WYP", roles=("officer",), vetting="OFFICIAL")

    person = officer.post(
        "/records/person",
        json={
            "data": {
                "forenames": "Zed",
                "surname": "Quill",
                "date_of_birth": "1990-01-01",
                "gender": "M",
                "ni_number": "JG103759A",
            },
            "provenance": PROV,
        },
    ).json()["id"]
    crime = officer.post(
        "/records/crime",
        json={"data": {"crime_type": "burglary", "summary": "Quill burglary"}, "provenance": PROV},
    ).json()["id"]
    concern = officer.post(
        "/records/safeguarding_concern",
        json={
            "data": {"concern_type": "CHILD_ABUSE", "summary": "Quill household", "action_taken": "referred"},
            "provenance": PROV,
        },
    ).json()["id"]
    secret = officer.post(
        "/records/intelligence_report",
        json={
            "data": {
                "source_evaluation": "1",
                "intelligence_assessment": "A",
                "handling_code": "P",
                "summary": "Quill supplies",
                "source_reference": "CHIS 42",
            },
            "provenance": {**PROV, "classification": "SECRET"},
        },
    )
    assert secret.status_code == 201, secret.text
    secret_id = secret.json()["id"]

    # before any agreement, partners see nothing at all
    assert cps.get(f"/records/{crime}").status_code == 404
    assert cps.get("/records").json()["items"] == []

    prosecution = _agreement(
        wyp_admin,
        cps_admin,
        name="case files",
        provider="WYP",
        recipient="CPS",
        entity_types={"crime": None, "person": ["forenames", "surname", "date_of_birth"]},
        purposes=["prosecution"],
    )
    _agreement(
        wyp_admin,
        nhs_admin,
        name="safeguarding",
        provider="WYP",
        recipient="NHS",
        entity_types={
            "safeguarding_concern": ["concern_type", "action_taken"],
            "person": ["forenames", "surname"],
        },
        purposes=["safeguarding"],
    )

    seen = {r["id"]: r for r in cps.get("/records").json()["items"]}
    assert set(seen) == {person, crime}
    assert set(seen[person]["data"]) == {"forenames", "surname", "date_of_birth"}  # NI number redacted
    # the prosecutor cannot find the person through a redacted field, nor see the concern
    assert cps.get(f"/records/{concern}").status_code == 404
    assert (
        cps.post("/match", json={"entity_type": "person", "data": {"ni_number": "JG103759A"}}).json()[
            "candidates"
        ]
        == []
    )

    # the caseworker: only safeguarding fields, and only for the safeguarding purpose
    view = nhs.get(f"/records/{concern}").json()
    assert set(view["data"]) == {"concern_type", "action_taken"}
    assert nhs.get(f"/records/{concern}", headers={"X-OpenRMS-Purpose": "investigation"}).status_code == 404
    assert nhs.get(f"/records/{crime}").status_code == 404

    # a SECRET report is invisible to an OFFICIAL-vetted officer of the same force, even in counts
    assert weak.get(f"/records/{secret_id}").status_code == 404
    assert secret_id not in {r["id"] for r in weak.get("/records").json()["items"]}
    found = weak.get("/search", params={"q": "Quill"}).json()
    assert all(secret_id not in r["matched_records"] for r in found["results"])
    assert {f["value"] for f in found["facets"]["type"]} <= {"person", "crime", "safeguarding_concern"}
    # ... while the cleared officer sees it, source reference included (intelligence officer)
    assert officer.get(f"/records/{secret_id}").json()["data"]["source_reference"] == "CHIS 42"

    # revoking applies to the very next request
    assert wyp_admin.post(f"/agreements/{prosecution}/revoke").status_code == 200
    assert cps.get(f"/records/{crime}").status_code == 404

    # who saw the person: the prosecutor (while shared) and the officer
    with db.read() as conn:
        who = {e["actor"] for e in audit.who_saw(conn, person)}
        assert {"cps.lawyer", "dc.wyp"} <= who
        assert audit.verify(conn).ok


def test_legacy_markings_are_mapped_before_the_vetting_check(db):
    app = create_app(db)
    pc = _client(db, app, username="pc.os", agency="WYP", roles=("officer",), vetting="OFFICIAL-SENSITIVE")
    ok = pc.post(
        "/records/person",
        json={"data": {"surname": "Old"}, "provenance": {**PROV, "classification": "RESTRICTED"}},
    )
    assert ok.status_code == 201, ok.text
    refused = pc.post(
        "/records/person",
        json={"data": {"surname": "Old"}, "provenance": {**PROV, "classification": "SECRET"}},
    )
    assert refused.status_code == 403
