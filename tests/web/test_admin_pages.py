"""The administrator's import pages and the auditor's audit pages, through the real app on each back end:
import runs and their quarantine, uploading a file through the form, audit search by user and by record,
verifying the hash chain (intact, then tampered with), and refusals for the wrong roles or agency."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from openrms.access import audit
from openrms.ingest import service
from openrms.store.database import Database
from tests.web.conftest import add_user, make_client, sign_in

ROOT = Path(__file__).resolve().parents[2]
CUSTODY = ROOT / "docs" / "examples" / "custody-export.dat"  # 40 rows, 5 of them bad
INTEL = ROOT / "docs" / "examples" / "intel-export.xml"
PASSWORD = "correct horse battery staple"
# Three police.uk rows: two good, one with a month that is not a real month.
STREET_CSV = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
    "Last outcome category,Context\n"
    "aaa111,2018-07,West Yorkshire Police,West Yorkshire Police,-1.5491,53.8008,On or near Briggate,"
    "E01011365,Leeds 111B,Burglary,Under investigation,\n"
    "bbb222,2018-07,West Yorkshire Police,West Yorkshire Police,-1.5501,53.7997,On or near Boar Lane,"
    "E01011365,Leeds 111B,Vehicle crime,Under investigation,\n"
    "ccc333,2018-13,West Yorkshire Police,West Yorkshire Police,-1.5511,53.7990,On or near Call Lane,"
    "E01011365,Leeds 111B,Shoplifting,Under investigation,\n"
)


def web_user(
    client: TestClient, db: Database, username: str, roles: list[str], purpose: str, agency: str = "WYP"
) -> str:
    """A user of `agency` with `roles` signs in through the form and declares `purpose`; returns the
    session's CSRF token."""
    add_user(db, username, agency=agency, roles=roles, vetting="NPPV3")
    return sign_in(client, purpose, "Monthly check", username)


def admin(client: TestClient, db: Database, agency: str = "WYP", name: str = "admin.wyp") -> str:
    return web_user(client, db, name, ["administrator"], "administration", agency)


def auditor(client: TestClient, db: Database, name: str = "auditor1") -> str:
    return web_user(client, db, name, ["auditor"], "audit")


def import_custody(db: Database) -> str:
    """The custody sample through the library, as `openrms import` does: 35 rows in, 5 quarantined."""
    report = service.import_source(db, CUSTODY, "custody-fixed-width", agency="WYP", workers=0)
    assert report.tally.rows["quarantined"] == 5
    assert report.run_id is not None
    return report.run_id


def cells(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>|\s+", " ", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", html, re.S)]


# ---- imports ----


def test_administrator_sees_the_run_and_its_quarantined_rows(client: TestClient, db: Database) -> None:
    run_id = import_custody(db)
    admin(client, db)
    listing = client.get("/ui/imports")
    assert listing.status_code == 200, listing.text
    assert f"/ui/imports/{run_id}" in listing.text
    row = cells(listing.text)
    assert "custody-export.dat" in row and "custody-fixed-width" in row
    at = row.index("custody-fixed-width")
    assert row[at + 2 : at + 5] == ["40", "35", "5"]  # read, imported, quarantined

    page = client.get(f"/ui/imports/{run_id}")
    assert page.status_code == 200, page.text
    assert "Balanced" in page.text and "5 still open" in page.text
    assert "line 15" in page.text and "custody.arrested_at" in page.text
    assert "is not a real date and time" in page.text
    assert "LD/19/000114   WKF  WRIGHT, Stacey" in page.text  # the raw row, as it is in the file
    assert page.text.count("/rows/") == 5

    entry = re.search(rf'href="(/ui/imports/{run_id}/rows/[0-9a-f]+)">Row 14<', page.text)
    assert entry, "no link to row 14"
    whole = client.get(entry.group(1))
    assert whole.status_code == 200
    assert "Quarantined row 14" in whole.text and "ARRESTED" in whole.text and "31022019 2315" in whole.text

    with db.read() as conn:
        reads = audit.entries(conn, actor="admin.wyp", action="quarantine-read")
    assert len(reads) == 2 and reads[0]["purpose"] == "administration"


def test_quarantine_pages_and_status_filter(
    client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import openrms.web.pages_admin as pages

    monkeypatch.setattr(pages, "ROWS_PER_PAGE", 2)
    run_id = import_custody(db)
    admin(client, db)
    first = client.get(f"/ui/imports/{run_id}")
    assert first.text.count("/rows/") == 2
    following = re.search(r'href="([^"]+after=[0-9a-f]+)"', first.text)
    assert following, "no next page link"
    second = client.get(following.group(1).replace("&amp;", "&"))
    assert second.status_code == 200 and second.text.count("/rows/") == 2
    assert "First page" in second.text
    none = client.get(f"/ui/imports/{run_id}?status=discarded")
    assert "No discarded rows are in quarantine" in none.text
    bad = client.get(f"/ui/imports/{run_id}?status=lost")
    assert (
        bad.status_code == 400
        and "status must be one of open, resolved, discarded, superseded, all" in bad.text
    )
    assert client.get(f"/ui/imports/{run_id}?after=x'--").status_code == 400
    assert client.get("/ui/imports/nosuchrun").status_code == 404
    assert client.get("/ui/imports?page=two").status_code == 400


def test_upload_through_the_form_imports_and_quarantines(client: TestClient, db: Database) -> None:
    token = admin(client, db)
    sent = client.post(
        "/ui/imports",
        data={"mapping": "police-uk", "csrf_token": token},
        files={"file": ("july.csv", STREET_CSV.encode(), "text/csv")},
    )
    assert sent.status_code == 303, sent.text
    run_page = client.get(sent.headers["location"])
    assert run_page.status_code == 200
    assert "july.csv" in run_page.text and "Completed" in run_page.text
    assert "Month" in run_page.text and "line 4" in run_page.text  # the bad month, where it is
    with db.read() as conn:
        [entry] = audit.entries(conn, actor="admin.wyp", action="import")
    assert entry["detail"]["mapping"] == "police-uk" and entry["detail"]["file"] == "july.csv"


def test_upload_through_the_form_with_the_administrators_own_mapping(
    client: TestClient, db: Database, tmp_path: Path
) -> None:
    from tests.ingest.test_import_cli import fixed_custody_mapping

    token = admin(client, db)
    own = fixed_custody_mapping(tmp_path).read_bytes().replace(b"agency: WYP", b"agency: NYP")
    files = {
        "file": ("custody-export.dat", CUSTODY.read_bytes(), "text/plain"),
        "mapping_file": ("custody-fixed.yaml", own, "application/yaml"),
    }
    dry = client.post("/ui/imports", data={"csrf_token": token, "dry_run": "yes"}, files=files)
    assert dry.status_code == 200, dry.text
    said = html.unescape(dry.text)
    assert "custody-export.dat through uploaded: custody-fixed-width: nothing was written" in said
    assert "40 rows read: 36 would be created" in said  # REM is known to this mapping
    assert "the mapping says agency NYP; on the web records are imported for your own agency, WYP" in said

    sent = client.post("/ui/imports", data={"csrf_token": token}, files=files)
    assert sent.status_code == 303
    page = html.unescape(client.get(sent.headers["location"]).text)
    assert "uploaded: custody-fixed-width" in page and "4 still open" in page

    both = client.post("/ui/imports", data={"csrf_token": token, "mapping": "police-uk"}, files=files)
    assert both.status_code == 400
    assert "Select a built-in mapping or choose your own mapping&#39;s file, not both" in both.text
    broken = {**files, "mapping_file": ("broken.yaml", b"name: x\nrecords: [oops\n", "application/yaml")}
    bad = client.post("/ui/imports", data={"csrf_token": token}, files=broken)
    assert bad.status_code == 400 and 'href="#mapping_file">Your mapping cannot be used:' in bad.text
    assert "broken.yaml" in bad.text
    with db.read() as conn:
        imports = audit.entries(conn, actor="admin.wyp", action="import")
    assert [e["detail"]["mapping"] for e in imports] == ["uploaded: custody-fixed-width"] * 2


def test_a_run_page_shows_the_links_a_moved_crime_retracted(client: TestClient, db: Database) -> None:
    token = admin(client, db)
    moved = STREET_CSV.replace("-1.5491,53.8008", "-1.5501,53.7997")  # aaa111 now where bbb222 is
    pages = []
    for name, csv_text in (("july.csv", STREET_CSV), ("july-corrected.csv", moved)):
        sent = client.post(
            "/ui/imports",
            data={"mapping": "police-uk", "csrf_token": token},
            files={"file": (name, csv_text.encode(), "text/csv")},
        )
        assert sent.status_code == 303, sent.text
        pages.append(" ".join(html.unescape(client.get(sent.headers["location"]).text).split()))
    assert "2 created, 0 updated, 0 unchanged" in pages[0] and "retracted" not in pages[0]
    assert "1 created, 0 updated, 1 unchanged, 1 retracted: the source no longer gives them" in pages[1]


def test_dry_run_writes_nothing_and_shows_the_reconciliation(client: TestClient, db: Database) -> None:
    token = admin(client, db)
    sent = client.post(
        "/ui/imports",
        data={"mapping": "custody-fixed-width", "dry_run": "yes", "csrf_token": token},
        files={"file": ("custody.dat", CUSTODY.read_bytes(), "text/plain")},
    )
    assert sent.status_code == 200, sent.text
    assert "Dry run finished" in sent.text
    assert "40 rows read: 35 would be created" in sent.text and "5 quarantined" in sent.text
    assert "No files have been imported for WYP yet" in sent.text


def test_import_warnings_show_on_the_dry_run_and_stay_with_the_run(client: TestClient, db: Database) -> None:
    """An intelligence export whose reports carry no <Protective> marking: the mapping's field reads as
    empty in every row, which the dry run and the run's page (later too) say, with the mapping's line."""
    token = admin(client, db)
    export = re.sub(r"\s*<Protective>[^<]*</Protective>", "", INTEL.read_text(encoding="utf-8"))
    form = {"mapping": "intel-xml-5x5x5", "csrf_token": token}
    files = {"file": ("intel.xml", export.encode(), "application/xml")}
    warning = "no row had a field &#39;Protective&#39;, so it read as empty in every row"
    dry = client.post("/ui/imports", data={**form, "dry_run": "yes"}, files=files)
    assert dry.status_code == 200 and "Dry run finished" in dry.text
    assert warning in dry.text and "govuk-warning-text" in dry.text
    sent = client.post("/ui/imports", data=form, files=files)
    assert sent.status_code == 303, sent.text
    page = client.get(sent.headers["location"]).text
    assert warning in page
    run_id = sent.headers["location"].rsplit("/", 1)[-1]
    assert any("Protective" in w for w in client.get(f"/imports/{run_id}").json()["warnings"])


def test_upload_errors_name_the_field(client: TestClient, db: Database) -> None:
    token = admin(client, db)
    nothing = client.post("/ui/imports", data={"mapping": "", "csrf_token": token})
    assert nothing.status_code == 400
    assert 'href="#file">Select a file to import' in nothing.text
    assert 'href="#mapping">Select the mapping that describes the file' in nothing.text
    unknown = client.post(
        "/ui/imports",
        data={"mapping": "../../etc/passwd", "csrf_token": token},
        files={"file": ("a.csv", b"x\n1\n", "text/csv")},
    )
    assert unknown.status_code == 400 and "Select one of the built-in mappings" in unknown.text
    empty = client.post(
        "/ui/imports",
        data={"mapping": "police-uk", "csrf_token": token},
        files={"file": ("empty.csv", b"", "text/csv")},
    )
    assert empty.status_code == 400
    assert "The file could not be imported" in empty.text and "empty" in empty.text
    forged = client.post(
        "/ui/imports",
        data={"mapping": "police-uk", "csrf_token": "forged"},
        files={"file": ("july.csv", STREET_CSV.encode(), "text/csv")},
    )
    assert forged.status_code == 403
    with db.read() as conn:
        assert audit.entries(conn, action="import") == []
    assert "No files have been imported" in client.get("/ui/imports").text


def test_non_administrators_cannot_see_or_import(client: TestClient, db: Database) -> None:
    run_id = import_custody(db)
    token = web_user(client, db, "pc.wyp", ["investigator"], "investigation")
    assert client.get("/ui/imports").status_code == 403
    assert client.get(f"/ui/imports/{run_id}").status_code == 403
    refused = client.post(
        "/ui/imports",
        data={"mapping": "police-uk", "csrf_token": token},
        files={"file": ("july.csv", STREET_CSV.encode(), "text/csv")},
    )
    assert refused.status_code == 403 and "do not allow 'import'" in html.unescape(refused.text)
    assert "/ui/imports" not in client.get("/ui/").text  # no Imports in the navigation


def _rows_of(page_html: str) -> dict[str, str]:
    """Row number -> entry id, from a run page's quarantine table."""
    return {
        n: e for e, n in re.findall(r'href="/ui/imports/[0-9a-f]+/rows/([0-9a-f]+)">Row (\d+)<', page_html)
    }


def test_an_administrator_discards_a_row_saying_why(client: TestClient, db: Database) -> None:
    run_id = import_custody(db)
    token = admin(client, db)
    entry = _rows_of(client.get(f"/ui/imports/{run_id}").text)["21"]  # line 22: a PNC ID typed wrong
    page = client.get(f"/ui/imports/{run_id}/rows/{entry}")
    assert "Retry or discard this row" in page.text and 'name="reason"' in page.text

    url = f"/ui/imports/{run_id}/quarantine"
    form = {"csrf_token": token, "action": "discard", "entry": entry, "reason": " "}
    refused = client.post(url, data=form)
    assert refused.status_code == 400 and "Error: Quarantined row 21" in refused.text
    assert (
        "There is a problem" in refused.text and "Say why these rows should not be imported" in refused.text
    )
    assert "5 still open" in client.get(f"/ui/imports/{run_id}").text  # nothing discarded

    form["reason"] = "corrected in CMS3; due in the next export"
    done = client.post(url, data=form, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == f"/ui/imports/{run_id}/rows/{entry}?done=discard&count=1"
    shown = client.get(done.headers["location"])
    assert "Discarded 1 row. They stay on record with your reason." in shown.text
    assert "Discarded" in shown.text and "corrected in CMS3; due in the next export" in shown.text
    assert "Retry or discard this row" not in shown.text  # no longer open
    assert "4 still open" in client.get(f"/ui/imports/{run_id}").text
    with db.read() as conn:
        [entry_row] = audit.entries(conn, actor="admin.wyp", action="quarantine-discard")
    assert (entry_row["detail"]["run"], entry_row["detail"]["discarded"]) == (run_id, 1)


def test_an_administrator_retries_the_open_rows_with_a_corrected_mapping(
    client: TestClient, db: Database, tmp_path: Path
) -> None:
    from tests.ingest.test_import_cli import fixed_custody_mapping

    run_id = import_custody(db)
    token = admin(client, db)
    page = client.get(f"/ui/imports/{run_id}")
    assert "Retry or discard the 5 open rows" in page.text
    url = f"/ui/imports/{run_id}/quarantine"
    form = {"csrf_token": token, "action": "retry"}

    bad = client.post(url, data=form, files={"mapping_file": ("fixed.yaml", b"name: x\nrecords: [oops\n")})
    assert bad.status_code == 400 and "The rows could not be retried:" in bad.text
    assert "fixed.yaml" in bad.text and "line" in bad.text  # the YAML's own line
    assert "5 still open" in bad.text

    corrected = fixed_custody_mapping(tmp_path).read_bytes()
    done = client.post(
        url, data=form, files={"mapping_file": ("fixed.yaml", corrected)}, follow_redirects=False
    )
    assert done.status_code == 303
    shown = client.get(done.headers["location"])
    assert (
        "Retried 4 rows: 1 now imported, 3 still quarantined; 1 could not be read from the file, so have "
        "nothing to map again: correct the file and import it again." in html.unescape(shown.text)
    )
    assert "4 still open" in shown.text and "line 8" not in cells(shown.text)

    again = client.post(url, data=form, follow_redirects=False)  # the run's own mapping: REM still unknown
    assert "Retried 3 rows: 0 now imported, 3 still quarantined" in html.unescape(
        client.get(again.headers["location"]).text
    )
    with db.read() as conn:
        retries = audit.entries(conn, actor="admin.wyp", action="quarantine-retry")
    assert [r["detail"]["retried"] for r in retries] == [4, 3]


def test_an_administrator_works_one_kind_of_fault_at_a_time(client: TestClient, db: Database) -> None:
    run_id = import_custody(db)
    token = admin(client, db)
    page = client.get(f"/ui/imports/{run_id}", params={"matching": "NOT A REAL DATE"})
    assert page.status_code == 200 and list(_rows_of(page.text)) == ["14"]
    text = html.unescape(page.text)
    assert "Retry or discard the 1 open row whose reason contains “NOT A REAL DATE”" in text
    link = f"/ui/imports/{run_id}/quarantine.csv?status=open&amp;matching=NOT+A+REAL+DATE"
    assert link in page.text
    assert client.get(html.unescape(link)).text.count(",open,") == 1
    assert 'name="matching" value="NOT A REAL DATE"' in page.text  # the forms work the rows shown

    form = {"csrf_token": token, "action": "discard", "matching": "not a real date", "reason": "keyed wrong"}
    done = client.post(f"/ui/imports/{run_id}/quarantine", data=form, follow_redirects=False)
    assert done.headers["location"].endswith("done=discard&count=1&matching=not+a+real+date")
    after = html.unescape(client.get(done.headers["location"]).text)
    assert "Discarded 1 row." in after and "No open rows whose reason contains “not a real date”" in after
    assert "4 still open" in after
    none = client.get(f"/ui/imports/{run_id}", params={"matching": "<script>x</script>"})
    assert none.status_code == 200 and "<script>x</script>" not in none.text  # shown as text only
    assert client.get(f"/ui/imports/{run_id}", params={"matching": "x" * 501}).status_code == 400


def test_quarantine_forms_are_refused_without_the_token_role_or_agency(
    client: TestClient, db: Database
) -> None:
    run_id = import_custody(db)
    url = f"/ui/imports/{run_id}/quarantine"
    token = web_user(client, db, "analyst1", ["analyst"], "investigation")
    form = {"csrf_token": token, "action": "discard", "reason": "not wanted"}
    assert client.post(url, data=form).status_code == 403  # not an administrator
    other = make_client(db)
    nyp = admin(other, db, agency="NYP", name="admin.nyp")
    assert other.post(url, data={**form, "csrf_token": nyp}).status_code == 404  # another agency's run
    mine = make_client(db)
    wyp = admin(mine, db)
    assert mine.post(url, data={**form, "csrf_token": "forged"}).status_code == 403
    assert mine.post(url, data={**form, "csrf_token": wyp, "action": "delete"}).status_code == 400
    assert mine.post(url, data={**form, "csrf_token": wyp, "entry": "x'--"}).status_code == 400
    assert "5 still open" in mine.get(f"/ui/imports/{run_id}").text  # nothing was discarded


def test_another_agencys_administrator_cannot_see_the_run(client: TestClient, db: Database) -> None:
    run_id = import_custody(db)
    admin(client, db, agency="NYP", name="admin.nyp")
    listing = client.get("/ui/imports")
    assert listing.status_code == 200 and run_id not in listing.text
    assert "No files have been imported for NYP yet" in listing.text
    assert client.get(f"/ui/imports/{run_id}").status_code == 404
    page = client.get(f"/ui/imports/{run_id}?status=all")
    assert "WRIGHT" not in page.text


def test_unsigned_visitor_is_sent_to_sign_in(client: TestClient) -> None:
    answer = client.get("/ui/imports")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/ui/sign-in")


# ---- audit ----


def officer_reads_a_record(db: Database) -> str:
    """Another client: an officer opens a record, so the trail says who saw it."""
    from tests.web.conftest import seed

    ids = seed(db)
    with make_client(db) as other:
        web_user(other, db, "pc.reader", ["investigator"], "investigation")
        assert other.get(f"/ui/records/{ids['crime']}").status_code == 200
    return ids["crime"]


def test_auditor_searches_by_user_and_by_record(client: TestClient, db: Database) -> None:
    crime = officer_reads_a_record(db)
    auditor(client, db)
    form = client.get("/ui/audit")
    assert form.status_code == 200 and "Search the audit trail" in form.text and "<tbody" not in form.text

    by_user = client.get(
        "/ui/audit", params={"user": "pc.reader", "record": "", "action": "", "from": "", "to": ""}
    )
    assert by_user.status_code == 200, by_user.text
    row = cells(by_user.text)
    assert (
        "pc.reader" in row and "WYP" in row and "Investigating an offence" in row and "Monthly check" in row
    )
    assert crime in by_user.text

    by_record = client.get("/ui/audit", params={"record": crime})
    assert by_record.status_code == 200
    assert "who saw or changed record" in by_record.text and "pc.reader" in by_record.text
    with db.read() as conn:
        saw = audit.who_saw(conn, crime)
    assert [e["actor"] for e in saw if e["action"] == "read"] == ["pc.reader"]
    assert by_record.text.count("/ui/audit/entries/") == len(saw)

    today = dt.datetime.now(dt.UTC).date()
    dated = client.get(
        "/ui/audit",
        params={"action": "read", "from": today.strftime("%d/%m/%Y"), "to": today.isoformat()},
    )
    assert "pc.reader" in dated.text
    earlier = client.get("/ui/audit", params={"from": "1/1/2000", "to": "2/1/2000"})
    assert "No audit entries match your search" in earlier.text

    with db.read() as conn:
        looks = audit.entries(conn, actor="auditor1", action="audit-read")
    assert len(looks) == 4 and looks[0]["purpose"] == "audit"
    assert looks[1]["detail"]["query"] == {"record": crime}


def test_audit_entry_page_and_pages_of_results(
    client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import openrms.web.pages_admin as pages

    monkeypatch.setattr(pages, "ENTRIES_PER_PAGE", 2)
    with db.write() as conn:
        for n in range(5):
            audit.append(conn, actor="bulk", agency="WYP", action="read", record_ids=[f"r{n}"])
    auditor(client, db)
    first = client.get("/ui/audit", params={"user": "bulk"})
    assert re.findall(r">(r\d)</a>", first.text) == ["r4", "r3"]
    older = re.search(r'href="([^"]+older=\d+)"', first.text)
    assert older and "Newer entries" not in first.text
    second = client.get(older.group(1).replace("&amp;", "&"))
    assert re.findall(r">(r\d)</a>", second.text) == ["r2", "r1"]
    newer = re.search(r'href="([^"]+newer=\d+)"', second.text)
    assert newer
    back = client.get(newer.group(1).replace("&amp;", "&"))
    assert re.findall(r">(r\d)</a>", back.text) == ["r4", "r3"]

    entry = client.get("/ui/audit/entries/1")
    assert entry.status_code == 200 and "Audit entry 1" in entry.text and "r0" in entry.text
    assert client.get("/ui/audit/entries/999").status_code == 404
    assert client.get("/ui/audit/entries/abc").status_code == 400
    assert client.get("/ui/audit?user=bulk&older=-1").status_code == 400


def test_audit_search_errors_name_the_field(client: TestClient, db: Database) -> None:
    auditor(client, db)
    bad = client.get("/ui/audit", params={"from": "31/2/2026", "to": "yesterday"})
    assert bad.status_code == 400
    assert 'href="#from">Enter the from date as a real date' in bad.text
    assert 'href="#to">Enter the to date as a real date' in bad.text
    backwards = client.get("/ui/audit", params={"from": "2/1/2026", "to": "1/1/2026"})
    assert backwards.status_code == 400
    assert "The to date must be the same as or after the from date" in backwards.text
    long = client.get("/ui/audit", params={"user": "x" * 201})
    assert long.status_code == 400 and "Username must be 200 characters or fewer" in long.text
    anchor = client.get("/ui/audit/verify", params={"anchor": "not a hash"})
    assert anchor.status_code == 400 and 'href="#anchor"' in anchor.text


def test_verify_says_ok_then_shows_where_the_chain_breaks(client: TestClient, db: Database) -> None:
    with db.write() as conn:
        for n in range(5):
            audit.append(conn, actor=f"user{n}", agency="WYP", action="read", record_ids=[f"r{n}"])
    auditor(client, db)
    intact = client.get("/ui/audit/verify")
    assert intact.status_code == 200
    assert "OK: the audit trail is intact" in intact.text
    head = re.search(r"<code[^>]*>(\d+:[0-9a-f]{64})</code>", intact.text)
    assert head, "the head to record is shown"
    anchored = client.get("/ui/audit/verify", params={"anchor": head.group(1)})
    assert "OK: the audit trail is intact" in anchored.text

    with db.write() as conn:
        conn.execute(text("UPDATE audit_entry SET actor = 'someone-else' WHERE seq = 3"))
    broken = client.get("/ui/audit/verify")
    assert broken.status_code == 200
    assert "The audit trail is broken" in broken.text and "OK:" not in broken.text
    assert "The first break is at entry 3" in broken.text
    assert "entry 3 was changed: its content no longer matches its hash" in broken.text
    with db.read() as conn:
        looks = audit.entries(conn, actor="auditor1", action="audit-read")
    assert [e["detail"]["ok"] for e in looks] == [True, True, False]  # oldest first


def test_non_auditors_cannot_read_the_trail(client: TestClient, db: Database) -> None:
    admin(client, db)
    for path in ("/ui/audit", "/ui/audit?user=admin.wyp", "/ui/audit/verify", "/ui/audit/entries/1"):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "do not allow 'audit'" in html.unescape(answer.text)
    assert "/ui/audit" not in client.get("/ui/imports").text  # no Audit in the navigation
    with db.read() as conn:
        assert audit.entries(conn, action="audit-read") == []
