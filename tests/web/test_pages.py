"""The web UI through HTTP: sign-in and purpose, CSRF, search, person profile, record and map pages."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from openrms.access import authn
from openrms.web.session import SIGN_IN_COOKIE
from tests.web.conftest import PASSWORD, USERNAME, hidden, sign_in


def test_pages_redirect_to_sign_in_and_come_back(client: TestClient) -> None:
    for path in ("/ui/", "/ui/search?q=smith", "/ui/people/abc", "/ui/map"):
        response = client.get(path)
        assert response.status_code == 303, path
        location = response.headers["location"]
        assert location.startswith("/ui/sign-in?next=%2Fui%2F"), location
    assert client.get("/ui/search?q=smith").headers["location"].endswith("%2Fui%2Fsearch%3Fq%3Dsmith")


def test_htmx_requests_get_a_client_side_redirect(client: TestClient) -> None:
    response = client.get("/ui/suggest?q=smi", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/ui/sign-in")


def test_sign_in_page_is_accessible_markup(client: TestClient) -> None:
    page = client.get("/ui/sign-in")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="en-GB"' in html
    assert 'class="govuk-skip-link"' in html and 'id="main-content"' in html
    assert '<label class="govuk-label govuk-label--s" for="username">' in html
    assert 'autocomplete="current-password"' in html
    assert (
        SIGN_IN_COOKIE in page.headers["set-cookie"]
        and "samesite=strict" in page.headers["set-cookie"].lower()
    )
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


def test_sign_in_without_the_form_token_is_refused(client: TestClient) -> None:
    response = client.post(
        "/ui/sign-in", data={"username": USERNAME, "password": PASSWORD, "csrf_token": "x"}
    )
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    assert authn.SESSION_COOKIE not in response.headers.get("set-cookie", "")


def test_empty_sign_in_shows_an_error_summary(client: TestClient) -> None:
    token = hidden(client.get("/ui/sign-in").text, "csrf_token")
    response = client.post("/ui/sign-in", data={"username": "", "password": "", "csrf_token": token})
    assert response.status_code == 400
    assert "govuk-error-summary" in response.text
    assert '<a href="#username">Enter your username</a>' in response.text
    assert '<a href="#password">Enter your password</a>' in response.text
    assert response.text.count("govuk-form-group--error") == 2


def test_sign_in_flow_with_real_accounts(client: TestClient, real_auth: None) -> None:
    token = hidden(client.get("/ui/sign-in?next=/ui/search%3Fq%3Dsmith").text, "csrf_token")
    wrong = client.post("/ui/sign-in", data={"username": USERNAME, "password": "nope", "csrf_token": token})
    assert wrong.status_code == 401
    assert "The username or password is not right" in wrong.text
    response = client.post(
        "/ui/sign-in",
        data={"username": USERNAME, "password": PASSWORD, "csrf_token": token, "next": "/ui/search?q=smith"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/purpose?next=%2Fui%2Fsearch%3Fq%3Dsmith"
    cookie = response.headers["set-cookie"].lower()
    assert authn.SESSION_COOKIE in cookie and "httponly" in cookie and "samesite=lax" in cookie
    _choose_purpose_and_sign_out(client)


def test_sign_in_flow_against_the_authn_contract(client: TestClient, auth: str) -> None:
    """The same flow whichever authn is in place (the real one, or the contract stand-in)."""
    token = sign_in(client, purpose=None)
    assert token == ""
    _choose_purpose_and_sign_out(client)


def _choose_purpose_and_sign_out(client: TestClient) -> None:
    form = client.get("/ui/purpose?next=/ui/search%3Fq%3Dsmith")
    assert form.status_code == 200
    assert form.text.count('type="radio"') >= 10
    token = hidden(form.text, "csrf_token")
    refused = client.post("/ui/purpose", data={"purpose": "investigation", "csrf_token": "forged"})
    assert refused.status_code == 403
    missing = client.post("/ui/purpose", data={"csrf_token": token, "next": "/ui/"})
    assert missing.status_code == 400 and '<a href="#purpose">' in missing.text
    chosen = client.post(
        "/ui/purpose",
        data={
            "purpose": "investigation",
            "reason": "Op X",
            "csrf_token": token,
            "next": "/ui/search?q=smith",
        },
    )
    assert chosen.status_code == 303 and chosen.headers["location"] == "/ui/search?q=smith"
    home = client.get("/ui/")
    assert home.status_code == 200
    assert "moj-identity-bar" in home.text and USERNAME in home.text
    assert "Investigating an offence" in home.text
    forged = client.post("/ui/sign-out", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    out = client.post("/ui/sign-out", data={"csrf_token": token})
    assert out.status_code == 303 and out.headers["location"] == "/ui/sign-in?signed_out=1"
    client.cookies.clear()
    assert client.get("/ui/").status_code == 303


def test_next_cannot_send_the_browser_to_another_site(client: TestClient, auth: str) -> None:
    token = hidden(client.get("/ui/sign-in").text, "csrf_token")
    response = client.post(
        "/ui/sign-in",
        data={"username": USERNAME, "password": PASSWORD, "csrf_token": token, "next": "//evil.example/ui/"},
    )
    assert response.headers["location"] == "/ui/purpose?next=%2Fui%2F"


def test_signed_in_without_purpose_is_asked_for_one(client: TestClient, auth: str) -> None:
    sign_in(client, purpose=None)
    response = client.get("/ui/search?q=smith")
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/purpose?next=%2Fui%2Fsearch%3Fq%3Dsmith"


def test_search_renders_results_grouped_by_master(signed_in: TestClient, seeded: dict[str, str]) -> None:
    response = signed_in.get("/ui/search", params={"q": "Jon Smyth", "vrm": "", "type": "person"})
    assert response.status_code == 200, response.text
    html = response.text
    assert "1 result" in html
    assert html.count('class="app-result"') == 1
    assert "2 source records" in html
    assert "Why it matched:" in html
    assert re.search(r'href="/ui/people/[0-9a-f]+"', html)


def test_search_snippets_are_marked_and_escaped(signed_in: TestClient, seeded: dict[str, str]) -> None:
    html = signed_in.get("/ui/search", params={"q": "screwdriver"}).text
    assert "<mark>screwdriver</mark>" in html
    burglary = signed_in.get("/ui/search", params={"q": "dwelling"}).text
    assert "<script>alert(1)</script>" not in burglary
    assert "&lt;script&gt;" in burglary


def test_search_filters_and_bad_input(signed_in: TestClient, seeded: dict[str, str]) -> None:
    html = signed_in.get("/ui/search", params={"vrm": "AB12*"}).text
    assert "Ford" in html and "1 result" in html
    bad = signed_in.get("/ui/search", params={"dob": "not a date"})
    assert bad.status_code == 400
    assert '<a href="#dob">' in bad.text and "govuk-input--error" in bad.text
    empty = signed_in.get("/ui/search")
    assert empty.status_code == 200 and "app-result" not in empty.text


def test_suggestions_fragment(signed_in: TestClient, seeded: dict[str, str]) -> None:
    html = signed_in.get("/ui/suggest", params={"q": "smi"}, headers={"HX-Request": "true"}).text
    assert "<html" not in html
    assert "Smith" in html and 'href="/ui/people/' in html
    assert 'role="status"' in html
    assert "app-suggestions__list" not in signed_in.get("/ui/suggest", params={"q": "s"}).text


def test_person_profile(signed_in: TestClient, seeded: dict[str, str]) -> None:
    response = signed_in.get(f"/ui/people/{seeded['john']}", follow_redirects=True)
    assert response.status_code == 200, response.text
    assert re.search(r"/ui/people/[0-9a-f]+$", str(response.url))
    html = response.text
    assert "Smith" in html
    assert "Violent" in html  # warning marker, in words
    assert "Johnny Smith" in html or "John Smith" in html  # alias or golden name
    assert "Suspect in" in html and "13/1234/18" in html  # involvement
    assert "AB12CDE" in html and "Registered keeper of" in html  # linked vehicle
    assert "moj-timeline" in html
    assert "NICHE" in html and "CUSTODY" in html  # the source records' provenance
    assert f'href="/ui/records/{seeded["crime"]}"' in html


def test_record_page_and_unknown_record(signed_in: TestClient, seeded: dict[str, str]) -> None:
    crime = signed_in.get(f"/ui/records/{seeded['crime']}")
    assert crime.status_code == 200
    assert "Burglary" in crime.text and "Briggate, Leeds" in crime.text and "History" in crime.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in crime.text
    car = signed_in.get(f"/ui/people/{seeded['car']}")
    assert car.status_code == 303 and car.headers["location"] == f"/ui/records/{seeded['car']}"
    missing = signed_in.get("/ui/records/0000000000000000deadbeef")
    assert missing.status_code == 404
    assert "text/html" in missing.headers["content-type"] and "Not found" in missing.text


def test_map_page_and_points(signed_in: TestClient, seeded: dict[str, str]) -> None:
    page = signed_in.get("/ui/map")
    assert page.status_code == 200 and 'id="map"' in page.text and "leaflet.js" in page.text
    box = "-1.6,53.75,-1.5,53.85"
    listed = signed_in.get("/ui/map", params={"bbox": box})
    assert "13/1234/18" in listed.text
    points = signed_in.get("/ui/map/points", params={"bbox": box}).json()
    assert points["total"] == 1
    assert points["clusters"][0]["href"] == f"/ui/records/{seeded['crime']}"
    too_big = signed_in.get("/ui/map/points", params={"bbox": "-3,52,0,55"})
    assert too_big.status_code == 400 and "error" in too_big.json()


def test_static_assets_are_served(client: TestClient) -> None:
    for path in (
        "/ui/static/vendor/frontend/govuk-frontend.min.css",
        "/ui/static/vendor/frontend/moj-frontend.min.js",
        "/ui/static/vendor/htmx/htmx.min.js",
        "/ui/static/vendor/leaflet/leaflet.js",
        "/ui/static/app.js",
    ):
        assert client.get(path).status_code == 200, path
