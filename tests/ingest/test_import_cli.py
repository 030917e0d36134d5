"""Imports through the `openrms` command and the imports API, on each back end (the `db` fixture).

The first test is a newcomer's whole story with the custody sample (docs/examples/custody-export.dat): dry
run, import, read the quarantine, fix the mapping and retry, discard the rest, import again, list the runs.
Then the police-uk built-in on a slice of real data (re-imports, an update, a snapshot), the XML intel
sample, a SQL source, the errors that stop an import before it starts, and the HTTP API.

Tests whose docstring starts with "Regression test" pin a fault once found in the import code, and say
where it was.
"""

from __future__ import annotations

import csv
import gzip
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from openrms.api.app import create_app
from openrms.cli import app
from openrms.ingest import pipeline
from openrms.ingest.mapping import BUILTIN_DIR
from openrms.ingest.service import import_source
from openrms.store import ids
from openrms.store.database import Database
from openrms.store.scope import Unrestricted
from openrms.store.tables import import_run, quarantine, record
from openrms.store.views import get_record, list_records
from tests.helpers import commit_checkpoints, sign_in

ROOT = Path(__file__).resolve().parents[2]
CUSTODY = ROOT / "docs" / "examples" / "custody-export.dat"
INTEL = ROOT / "docs" / "examples" / "intel-export.xml"
STREET = ROOT / "src" / "openrms" / "demo" / "data" / "2018-07-west-yorkshire-street.csv.gz"
DATA = Path(__file__).resolve().parent / "data"
SCOPE = Unrestricted("test")
CUSTODY_BAD = {"line 8", "line 15", "line 22", "line 29", "line 36"}
ROW_KEYS = ("created", "updated", "unchanged", "quarantined", "skipped")


class Cli:
    """`openrms ...` in-process against the test database, wide enough that Rich never wraps a message."""

    def __init__(self, db: Database) -> None:
        self.url = db.url
        self.runner = CliRunner(env={"COLUMNS": "400", "NO_COLOR": "1"})

    def run(self, *args: str, expect: int | None = 0) -> Result:
        result = self.runner.invoke(app, [*args, "--db", self.url])
        if expect is not None:
            assert result.exit_code == expect, (
                f"openrms {' '.join(args)} exited {result.exit_code}\nstdout: {result.stdout}\n"
                f"stderr: {result.stderr}\nexception: {result.exception!r}"
            )
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args).stdout)

    def fails(self, *args: str) -> str:
        """Runs a command that must stop with exit code 2; returns its messages on one line."""
        result = self.run(*args, expect=2)
        return " ".join((result.stderr + result.stdout).split())


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(db), raise_server_exceptions=False) as test_client:
        sign_in(test_client, db)
        yield test_client


def balanced(report: dict[str, Any]) -> dict[str, int]:
    """The report's row figures, checking read = created + updated + unchanged + quarantined + skipped."""
    rows = report["rows"]
    assert report["balanced"] is True
    assert rows["read"] == sum(rows.get(k, 0) for k in ROW_KEYS), rows
    return rows


def fixed_custody_mapping(tmp_path: Path) -> Path:
    """The built-in custody mapping with the disposal code it lacks (REM, remanded in custody) added."""
    text = (BUILTIN_DIR / "custody-fixed-width.yaml").read_text(encoding="utf-8")
    assert "    TRF: TRANSFERRED\n" in text
    path = tmp_path / "fixed.yaml"
    path.write_text(text.replace("    TRF: TRANSFERRED\n", "    TRF: TRANSFERRED\n    REM: REMANDED\n"))
    return path


def record_count(db: Database, **where: Any) -> int:
    query = select(func.count()).select_from(record)
    for column, value in where.items():
        query = query.where(record.c[column] == value)
    with db.read() as conn:
        return conn.execute(query).scalar_one()


# --- the newcomer's story: the custody export ---


def test_newcomer_imports_the_custody_export_and_works_the_quarantine(
    cli: Cli, db: Database, tmp_path: Path
) -> None:
    data = str(CUSTODY)
    # 1. Dry run: the whole file is read and reported, nothing is written.
    dry = cli.json("import", data, "--mapping", "custody-fixed-width", "--dry-run", "--json")
    assert dry["dry_run"] is True and dry["run_id"] is None
    assert balanced(dry) == {"read": 40, "created": 35, "quarantined": 5}
    assert dry["links"] == {"created": 35}
    assert cli.json("import", "runs", "--json") == []
    assert cli.json("record", "list")["items"] == []
    assert cli.json("quarantine", "list", "--json") == []

    # 2. Import: the same figures, and one quarantine entry per bad row.
    report = cli.json("import", data, "--mapping", "custody-fixed-width", "--json")
    run = report["run_id"]
    assert report["status"] == "completed" and report["resumed_after_row"] == 0
    assert balanced(report) == {"read": 40, "created": 35, "quarantined": 5}
    assert report["records"] == {"person": {"created": 35}, "custody": {"created": 35}}
    assert report["links"] == dry["links"]

    # 3. The quarantine: every bad row, where it is and why.
    table = cli.run("quarantine", "list").stdout
    for where, reason in [
        ("line 8", "custody.disposal: 'REM' (from DISPOSAL) is not in translation table 'disposals'"),
        ("line 15", "custody.arrested_at: '31022019 2315' (from ARRESTED) is not a real date and time"),
        ("line 22", "detainee.pnc_id: PNC ID check letter should be 'G' for '2003/0345678', not 'H'"),
        ("line 29", "unreadable: line is 97 characters; the layout needs 206"),
        ("line 36", "custody.released_at: released before the relevant time"),
    ]:
        assert where in table and reason in table, (where, reason)
    entries = {e["location"]: e for e in cli.json("quarantine", "list", "--json")}
    assert set(entries) == CUSTODY_BAD and {e["run_id"] for e in entries.values()} == {run}

    # 4. One entry in full: the raw line as the export has it, the parsed columns, the reasons.
    rem = cli.json("quarantine", "show", entries["line 8"]["id"])
    raw_line = CUSTODY.read_text().splitlines()[7]
    assert rem["raw"] == raw_line and rem["fields"]["DISPOSAL"] == "REM"
    assert rem["fields"]["NAME"] == "WILSON, Claire Louise" and rem["status"] == "open"
    assert rem["reasons"] == entries["line 8"]["reasons"]
    short = cli.json("quarantine", "show", entries["line 29"]["id"])
    assert short["fields"] is None and short["raw"] == CUSTODY.read_text().splitlines()[28]

    # 5. Fix the mapping (REM was missing from the disposal table) and retry the run's open rows.
    fixed = fixed_custody_mapping(tmp_path)
    summary = cli.json("quarantine", "retry", "--run", run, "--mapping", str(fixed))
    assert summary == {"retried": 4, "resolved": 1, "still_open": 3, "unparsed": 1, "runs": summary["runs"]}
    [retry_run] = summary["runs"]
    resolved = cli.json("quarantine", "show", entries["line 8"]["id"])
    assert resolved["status"] == "resolved" and retry_run in resolved["resolution"]
    assert cli.json("quarantine", "list", "--run", retry_run, "--json") == []  # updated, not duplicated
    remanded = cli.json("record", "show", ids.record_id("custody", "WYP", "CMS3", "LD/19/000107"))
    assert remanded["data"]["disposal"] == "REMANDED"
    still_open = {e["location"]: e["id"] for e in cli.json("quarantine", "list", "--json")}
    assert set(still_open) == CUSTODY_BAD - {"line 8"}

    # 6. The rest are faults in the data: discard them, saying why.
    discarded = cli.run(
        "quarantine",
        "discard",
        *still_open.values(),
        "--reason",
        "corrected in CMS3 instead",
        "--by",
        "DC 4521",
    )
    assert "discarded 4 row(s)" in discarded.stderr
    assert cli.json("quarantine", "list", "--json") == []
    gone = cli.json("quarantine", "list", "--status", "discarded", "--json")
    assert {e["location"] for e in gone} == set(still_open)
    assert {(e["resolved_by"], e["resolution"]) for e in gone} == {("DC 4521", "corrected in CMS3 instead")}

    # 7. Import the same file again, with the first mapping. Every record is unchanged. The run is a new
    # run, and the rows that still fail are quarantined again under it. The row retried with the fixed
    # mapping fails again with this one: its entry is open. The four rows discarded are recorded as
    # discarded again, saying by whom and why they were first, so the open list holds only the new fault.
    again = cli.json("import", data, "--mapping", "custody-fixed-width", "--json")
    assert again["run_id"] not in (run, retry_run)
    assert balanced(again) == {"read": 40, "unchanged": 35, "quarantined": 5}
    assert again["earlier_entries"] == {"discarded": 4}
    reopened = cli.json("quarantine", "list", "--json")
    assert [(e["location"], e["run_id"]) for e in reopened] == [("line 8", again["run_id"])]
    discarded_now = cli.json(
        "quarantine", "list", "--status", "discarded", "--run", again["run_id"], "--json"
    )
    assert {e["location"] for e in discarded_now} == set(still_open)
    for entry in discarded_now:
        assert entry["resolution"].startswith("discarded before (entry ")
        assert entry["resolution"].endswith("by DC 4521): corrected in CMS3 instead")
    assert len(cli.json("quarantine", "list", "--status", "discarded", "--json")) == 8
    assert len(cli.json("quarantine", "list", "--status", "resolved", "--json")) == 1
    # A third import names the person's discard again, not the second import's repeat of it.
    third = cli.json("import", data, "--mapping", "custody-fixed-width", "--json")
    repeated = cli.json("quarantine", "list", "--status", "discarded", "--run", third["run_id"], "--json")
    assert {e["resolution"] for e in repeated} == {e["resolution"] for e in discarded_now}
    # With the corrected mapping the retried row is unchanged too: a retry writes what an import writes.
    with_fix = cli.json("import", data, "--mapping", str(fixed), "--json")
    assert balanced(with_fix) == {"read": 40, "unchanged": 36, "quarantined": 4}
    assert record_count(db, entity_type="custody") == 36 and record_count(db, entity_type="person") == 36

    # 8. The runs, newest first, with their figures.
    listed = cli.json("import", "runs", "--json")
    assert [r["id"] for r in listed] == [with_fix["run_id"], third["run_id"], again["run_id"], retry_run, run]
    assert all(r["status"] == "completed" and r["balanced"] for r in listed)
    assert [r["counts"]["rows"] for r in listed] == [
        {"read": 40, "unchanged": 36, "quarantined": 4},
        {"read": 40, "unchanged": 35, "quarantined": 5},
        {"read": 40, "unchanged": 35, "quarantined": 5},
        {"read": 4, "created": 1, "quarantined": 3},
        {"read": 40, "created": 35, "quarantined": 5},
    ]
    assert listed[-1]["mapping"] == "custody-fixed-width" and listed[0]["mapping"] == str(fixed)
    shown = cli.run("import", "runs").stdout
    assert all(r["id"] in shown for r in listed) and f"retry of run {run}" in shown


# --- police-uk on real data ---


def street_slice(tmp_path: Path, rows: int = 200) -> tuple[Path, list[str]]:
    """The header and the first `rows` rows of the demo's July 2018 West Yorkshire file."""
    with gzip.open(STREET, "rt", encoding="utf-8", newline="") as f:
        lines = [next(f) for _ in range(rows + 1)]
    path = tmp_path / "2018-07-west-yorkshire-street.csv"
    path.write_text("".join(lines), encoding="utf-8", newline="")
    return path, lines


def test_a_dry_run_counts_what_the_import_then_reports_across_batches(cli: Cli, tmp_path: Path) -> None:
    """Regression test (fixed: src/openrms/ingest/dryrun.py): a map point that rows of several batches
    share counted as created in every batch of a dry run, where the import creates it once."""
    path, _ = street_slice(tmp_path)
    figures = ("rows", "records", "links")
    dry = cli.json("import", str(path), "--mapping", "police-uk", "--batch-size", "20", "--dry-run", "--json")
    done = cli.json("import", str(path), "--mapping", "police-uk", "--batch-size", "20", "--json")
    assert {k: dry[k] for k in figures} == {k: done[k] for k in figures}
    assert done["records"]["point"].get("unchanged", 0) > 0  # the slice repeats points across batches

    people = tmp_path / "people.csv"  # Smith twice, his sex corrected by the later row (another batch)
    people.write_text("NAME,SEX\nSmith,M\nJones,F\nSmith,F\n")
    mapping = tmp_path / "plain.yaml"
    mapping.write_text(PLAIN)
    args = ("import", str(people), "--mapping", str(mapping), "--batch-size", "2", "--json")
    dry = cli.json(*args, "--dry-run")
    done = cli.json(*args)
    assert {k: dry[k] for k in figures} == {k: done[k] for k in figures}
    assert done["records"] == {"person": {"created": 2, "updated": 1}}


def test_police_uk_slice_imports_reimports_updates_and_snapshots(cli: Cli, tmp_path: Path) -> None:
    path, lines = street_slice(tmp_path)
    rows = list(csv.DictReader(lines))
    crimes = sum(1 for r in rows if r["Crime type"] != "Anti-social behaviour")
    points = {(r["Latitude"], r["Longitude"]) for r in rows}

    first = cli.json("import", str(path), "--mapping", "police-uk", "--json")
    assert balanced(first) == {"read": 200, "created": 200}
    assert first["records"] == {
        "crime": {"created": crimes},
        "anti_social_behaviour": {"created": 200 - crimes},
        "point": {"created": len(points)},
    }
    assert first["links"] == {"created": 200}

    again = cli.json("import", str(path), "--mapping", "police-uk", "--json")
    assert balanced(again) == {"read": 200, "unchanged": 200}
    assert again["run_id"] != first["run_id"]

    # One crime's outcome changes at the source: that row is updated, its record gets a second version.
    target = next(
        r for r in rows if r["Last outcome category"] == "Investigation complete; no suspect identified"
    )
    line = lines.index(next(x for x in lines if x.startswith(target["Crime ID"])))
    lines[line] = lines[line].replace(
        "Investigation complete; no suspect identified", "Unable to prosecute suspect"
    )
    path.write_text("".join(lines), encoding="utf-8", newline="")
    changed = cli.json("import", str(path), "--mapping", "police-uk", "--json")
    assert balanced(changed) == {"read": 200, "updated": 1, "unchanged": 199}
    crime_id = ids.record_id("crime", "WYP", "POLICE-UK", target["Crime ID"])
    history = cli.json("record", "history", crime_id, "--json")
    assert [v["version"] for v in history] == [1, 2]
    assert [v["data"]["outcome"] for v in history] == ["NO_SUSPECT", "UNABLE_TO_PROSECUTE"]

    # A snapshot without the last row: that crime (and its point, if no other row uses it) is deleted.
    last = rows[-1]
    assert last["Crime ID"], "the slice must end with a crime"
    path.write_text("".join(lines[:-1]), encoding="utf-8", newline="")
    shared = any((r["Latitude"], r["Longitude"]) == (last["Latitude"], last["Longitude"]) for r in rows[:-1])
    snap = cli.json("import", str(path), "--mapping", "police-uk", "--snapshot", "--json")
    assert balanced(snap) == {"read": 199, "unchanged": 199, "retracted": 1 if shared else 2}
    assert snap["retracted"] == (1 if shared else 2)
    gone = cli.json("record", "show", ids.record_id("crime", "WYP", "POLICE-UK", last["Crime ID"]))
    assert gone["deleted"] is True
    assert cli.json("record", "show", crime_id)["deleted"] is False


def test_intel_xml_export_imports_with_classifications_mapped(cli: Cli, db: Database) -> None:
    report = cli.json("import", str(INTEL), "--mapping", "intel-xml-5x5x5", "--json")
    assert balanced(report) == {"read": 15, "created": 14, "quarantined": 1}
    with db.read() as conn:
        reports = list_records(conn, SCOPE, entity_type="intelligence_report", limit=100).items
    by_summary = {r["data"]["summary"]: r["id"] for r in reports}
    restricted = cli.json("record", "show", by_summary["Drug supply from flat above shop on Harehills Lane"])
    assert restricted["provenance"]["classification"] == "OFFICIAL-SENSITIVE"
    assert restricted["provenance"]["handling"] == "4"
    assert restricted["data"]["legacy_grading"] == {"source": "B", "intelligence": "2", "handling": "4"}
    assert (
        restricted["data"]["source_evaluation"],
        restricted["data"]["intelligence_assessment"],
        restricted["data"]["handling_code"],
    ) == ("1", "B", "C")
    assert "originating agency only" in restricted["data"]["handling_conditions"]
    firearm = cli.json("record", "show", by_summary["Firearm possibly hidden in garage"])
    assert firearm["provenance"]["classification"] == "SECRET"
    protect = cli.json("record", "show", by_summary["Stolen power tools offered for sale at car boot sale"])
    assert protect["provenance"]["classification"] == "OFFICIAL"


def test_from_sql_reads_a_table_of_another_database(cli: Cli, db: Database, tmp_path: Path) -> None:
    legacy = tmp_path / "legacy.db"
    with sqlite3.connect(legacy) as conn:
        conn.execute(
            "CREATE TABLE nominals (nominal_id TEXT, surname TEXT, forenames TEXT, born TEXT, sex TEXT)"
        )
        conn.executemany(
            "INSERT INTO nominals VALUES (?, ?, ?, ?, ?)",
            [
                ("N1", "SMITH", "John", "1980-11-05", "M"),
                ("N2", "JONES", "Mary", "1975-03-09", "F"),
                ("N3", "BROWN", "Tom", "1990-02-31", "M"),
                ("N4", "KHAN", "Imran", None, "M"),
            ],
        )
    mapping = tmp_path / "nominals.yaml"
    mapping.write_text(
        "name: nominals\nagency: WYP\nsource_system: LEGACY-NOMINALS\n"
        'records:\n  person:\n    entity: person\n    key: "{nominal_id}"\n    fields:\n'
        "      surname: {from: surname, case: title}\n      forenames: forenames\n"
        '      date_of_birth: {from: born, date: ["%Y-%m-%d"], optional: true}\n      gender: sex\n'
    )
    url = f"sqlite:///{legacy}"
    query = "SELECT * FROM nominals ORDER BY nominal_id"
    report = cli.json("import", "--from-sql", url, "--query", query, "--mapping", str(mapping), "--json")
    assert balanced(report) == {"read": 4, "created": 3, "quarantined": 1}
    [entry] = cli.json("quarantine", "list", "--json")
    assert entry["location"] == "result row 3" and "not a real date" in entry["reasons"][0]
    smith = cli.json("record", "show", ids.record_id("person", "WYP", "LEGACY-NOMINALS", "N1"))
    assert smith["data"] == {
        "surname": "Smith",
        "forenames": "John",
        "date_of_birth": "1980-11-05",
        "gender": "M",
    }
    again = cli.json("import", "--from-sql", url, "--query", query, "--mapping", str(mapping), "--json")
    assert balanced(again) == {"read": 4, "unchanged": 3, "quarantined": 1}
    assert "--from-sql needs --query" in cli.fails("import", "--from-sql", url, "--mapping", str(mapping))
    message = cli.fails(
        "import", "--from-sql", url, "--query", "SELECT * FROM nope", "--mapping", str(mapping)
    )
    assert "cannot run the query" in message and "no such table: nope" in message


def test_from_sql_query_may_name_a_table(cli: Cli, tmp_path: Path) -> None:
    """Regression test (fixed: src/openrms/cli/imports.py `--query`, help "SQL query or table to read with
    --from-sql"; the text
    goes to openrms.ingest.readers.sql.SqlReader verbatim): a table name is run as SQL, so `--query nominals`
    stops with exit 2 "cannot run the query: near "nominals": syntax error" instead of reading the table."""
    legacy = tmp_path / "legacy.db"
    with sqlite3.connect(legacy) as conn:
        conn.execute("CREATE TABLE nominals (NAME TEXT, SEX TEXT)")
        conn.execute("INSERT INTO nominals VALUES ('Smith', 'M')")
    mapping = tmp_path / "plain.yaml"
    mapping.write_text(PLAIN)
    args = ("import", "--from-sql", f"sqlite:///{legacy}", "--query", "nominals", "--mapping", str(mapping))
    result = cli.run(*args, "--json", expect=None)
    assert result.exit_code == 0, " ".join(result.stderr.split())
    assert balanced(json.loads(result.stdout)) == {"read": 1, "created": 1}


# --- errors that stop an import before anything is written ---


def test_mapping_naming_a_missing_column_names_the_yaml_line(cli: Cli, tmp_path: Path) -> None:
    data = tmp_path / "crimes.csv"
    data.write_text("CRIME_NO,OFFENCE\n13/1001/19,BURG\n")
    mapping = tmp_path / "my.yaml"
    mapping.write_text(
        "name: legacy-crimes\nsource: {format: csv}\nagency: WYP\nsource_system: LEEDS\n"
        'records:\n  crime:\n    entity: crime\n    key: "{CRIME_NO}"\n    fields:\n'
        "      reference: CRIME_NO\n      crime_type: OFFENSE\n"
    )
    message = cli.fails("import", str(data), "--mapping", str(mapping))
    assert "line 11: source has no field 'OFFENSE'; did you mean 'OFFENCE'?" in message
    assert cli.json("import", "runs", "--json") == []


def test_mapping_with_a_yaml_syntax_error_names_the_line(cli: Cli, tmp_path: Path) -> None:
    data = tmp_path / "crimes.csv"
    data.write_text("CRIME_NO,OFFENCE\n13/1001/19,BURG\n")
    mapping = tmp_path / "broken.yaml"
    mapping.write_text('name: broken\nrecords:\n  crime: {entity: crime, key: "{CRIME_NO}"\n  other: 1\n')
    message = cli.fails("import", str(data), "--mapping", str(mapping))
    assert "import mapping is invalid" in message and "line 4: YAML syntax" in message
    assert "the construct started at line 3" in message


def test_missing_and_empty_files_are_refused(cli: Cli, tmp_path: Path) -> None:
    assert "no file" in cli.fails("import", str(tmp_path / "nowhere.csv"), "--mapping", "police-uk")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    message = cli.fails("import", str(empty), "--mapping", "police-uk")
    assert "file is empty" in message and "empty.csv" in message
    assert "no mapping file 'no-such-mapping'" in cli.fails(
        "import", str(CUSTODY), "--mapping", "no-such-mapping"
    )
    assert cli.json("import", "runs", "--json") == []


def test_billion_laughs_xml_is_refused_and_nothing_is_written(cli: Cli, db: Database) -> None:
    message = cli.fails("import", str(DATA / "billion_laughs.xml"), "--mapping", "intel-xml-5x5x5")
    assert "XML declares a DTD/entities; refused" in message
    assert cli.json("import", "runs", "--json") == []
    assert cli.json("quarantine", "list", "--json") == []
    assert record_count(db) == 0


def test_commit_rows_sets_the_transactions_and_must_be_positive(
    cli: Cli, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commits = commit_checkpoints(monkeypatch)
    data = tmp_path / "people.csv"
    data.write_text("NAME,SEX\n" + "".join(f"Smith{c},M\n" for c in "abcdefg"))
    mapping = tmp_path / "people.yaml"
    mapping.write_text(PLAIN)
    assert "--commit-rows" in cli.fails("import", str(data), "--mapping", str(mapping), "--commit-rows", "0")
    assert commits == []
    args = ["import", str(data), "--mapping", str(mapping), "--batch-size", "2", "--commit-rows", "4"]
    report = cli.json(*args, "--json")
    assert report["rows"]["read"] == 7
    if db.dialect == "sqlite":  # PostgreSQL also commits where it refreshes statistics
        assert commits == [4, 7]  # batches of 2 rows, committed 4 rows at a time


def test_numeric_reader_options_can_be_given_on_the_command_line(cli: Cli, tmp_path: Path) -> None:
    """Regression test (fixed: src/openrms/cli/imports.py, the `--option` parsing in import_command): only
    values starting with
    [ or { and true/false are parsed, so `-o skip_lines=1` reaches the reader as the text '1' and the import
    stops with exit 2 "option 'skip_lines' must be a whole number of at least 0, not '1'". Numeric reader
    options (skip_lines, max_field, header_row, sheet as a number) cannot be given on the command line."""
    data = tmp_path / "people.csv"
    data.write_text("EXPORTED 01/03/2019\nNAME,SEX\nSmith,M\n")
    mapping = tmp_path / "people.yaml"
    mapping.write_text(
        "name: people\nsource: {format: csv}\nagency: WYP\nsource_system: T\nrecords:\n"
        '  p: {entity: person, key: "{NAME}", fields: {surname: NAME, gender: SEX}}\n'
    )
    result = cli.run(
        "import", str(data), "--mapping", str(mapping), "-o", "skip_lines=1", "--json", expect=None
    )
    assert result.exit_code == 0, " ".join(result.stderr.split())
    assert balanced(json.loads(result.stdout)) == {"read": 1, "created": 1}


def test_an_empty_reader_option_value_is_a_clear_error(cli: Cli, tmp_path: Path) -> None:
    """Regression test (fixed: src/openrms/cli/imports.py, the `--option` parsing in import_command):
    `value[:1] in "[{"` is true
    for an empty value, so `-o encoding=` calls json.loads("") and the command dies with an uncaught
    JSONDecodeError (exit 1, a traceback) instead of a message and exit 2."""
    data = tmp_path / "people.csv"
    data.write_text("NAME,SEX\nSmith,M\n")
    result = cli.run("import", str(data), "--mapping", "police-uk", "-o", "encoding=", expect=None)
    assert not isinstance(result.exception, json.JSONDecodeError), repr(result.exception)
    assert result.exit_code == 2


# --- faults found in the pipeline and the quarantine retry ---


PLAIN = """\
name: plain
source: {format: csv}
agency: WYP
source_system: PLAIN
records:
  p:
    entity: person
    key: "{NAME}"
    fields: {surname: NAME, gender: SEX}
"""


def test_a_row_marked_handling_c_without_conditions_is_quarantined_alone(cli: Cli, tmp_path: Path) -> None:
    """Regression test (fixed: src/openrms/ingest/worker.py map_row: `except RecordInvalid` around
    `preparer(item)`): the
    record's provenance is checked by openrms.store.provenance.Provenance.checked, which raises
    BadRequest ("provenance.handling C needs handling_conditions"), not RecordInvalid. So one row whose
    mapped handling is C with empty conditions is not quarantined: the whole import fails (exit 2, run
    status "failed", none of the good rows of its batch written)."""
    data = tmp_path / "marked.csv"
    data.write_text("NAME,SEX,H,COND\nSmith,M,P,\nJones,F,C,\nBrown,M,C,originator only\n")
    mapping = tmp_path / "marked.yaml"
    mapping.write_text(PLAIN + "    handling: {from: H}\n    handling_conditions: {from: COND}\n")
    result = cli.run("import", str(data), "--mapping", str(mapping), "--json", expect=None)
    assert result.exit_code == 0, " ".join(result.stderr.split())
    report = json.loads(result.stdout)
    assert balanced(report) == {"read": 3, "created": 2, "quarantined": 1}
    [entry] = cli.json("quarantine", "list", "--json")
    assert entry["location"] == "line 3" and "handling" in " ".join(entry["reasons"])


def test_retry_gives_a_row_its_own_row_number(cli: Cli, db: Database, tmp_path: Path) -> None:
    """Regression test (fixed: src/openrms/ingest/service.py retry_quarantine: `SourceRow(i, ...)` with `for
    i, e in
    enumerate(parsed, 1)`): retried rows are renumbered 1, 2, ... so `$row` in a mapping is the position
    among the retried entries, not the row's number in the source. A mapping keyed on `{$row}` (a JSON
    export without ids) retries row 3 as key "1" and silently overwrites row 1's record with row 3's data (a
    second version of Smith that says Brown) instead of creating record "3"."""
    data = tmp_path / "people.jsonl"
    data.write_text(
        '{"NAME": "Smith", "SEX": "M"}\n{"NAME": "Jones", "SEX": "F"}\n{"NAME": "Brown", "SEX": "U"}\n'
    )
    mapping = tmp_path / "rowkey.yaml"
    text = (
        "name: rowkey\nsource: {format: jsonl}\nagency: WYP\nsource_system: ROWKEY\n"
        "translations:\n  sexes: {M: M, F: F}\n"
        'records:\n  p:\n    entity: person\n    key: "{$row}"\n'
        "    fields: {surname: NAME, gender: {from: SEX, translate: sexes}}\n"
    )
    mapping.write_text(text)
    fixed = tmp_path / "rowkey-fixed.yaml"
    fixed.write_text(text.replace("{M: M, F: F}", "{M: M, F: F, U: U}"))
    report = cli.json("import", str(data), "--mapping", str(mapping), "--json")
    assert balanced(report) == {"read": 3, "created": 2, "quarantined": 1}
    summary = cli.json("quarantine", "retry", "--run", report["run_id"], "--mapping", str(fixed))
    assert summary["resolved"] == 1
    smith = cli.json("record", "history", ids.record_id("person", "WYP", "ROWKEY", "1"), "--json")
    assert [v["data"]["surname"] for v in smith] == ["Smith"], "row 1's record was overwritten by the retry"
    brown = cli.json("record", "show", ids.record_id("person", "WYP", "ROWKEY", "3"))
    assert brown["data"]["surname"] == "Brown"


def test_retry_keeps_the_source_file_for_keys_that_use_it(cli: Cli, tmp_path: Path) -> None:
    """Regression test (fixed: src/openrms/ingest/service.py retry_quarantine): the retry reads the entries
    from memory with
    source "quarantine retry (N rows)", so `$file` is not supplied and a row keyed on `{$file}/{$line}` (as
    police-uk keys every anti-social behaviour row) can never be resolved by retry: it stays open with
    "p: $file (the source file's name) was not supplied by this import" whatever the mapping fix."""
    data = tmp_path / "people.csv"
    data.write_text("NAME,SEX\nSmith,M\nJones,F\nBrown,U\n")
    text = (
        "name: filekey\nsource: {format: csv}\nagency: WYP\nsource_system: FILEKEY\n"
        "translations:\n  sexes: {M: M, F: F}\n"
        'records:\n  p:\n    entity: person\n    key: "{$file}/{$line}"\n'
        "    fields: {surname: NAME, gender: {from: SEX, translate: sexes}}\n"
    )
    mapping = tmp_path / "filekey.yaml"
    mapping.write_text(text)
    fixed = tmp_path / "filekey-fixed.yaml"
    fixed.write_text(text.replace("{M: M, F: F}", "{M: M, F: F, U: U}"))
    report = cli.json("import", str(data), "--mapping", str(mapping), "--json")
    assert balanced(report) == {"read": 3, "created": 2, "quarantined": 1}
    summary = cli.json("quarantine", "retry", "--run", report["run_id"], "--mapping", str(fixed))
    assert cli.json("quarantine", "list", "--json") == [], cli.json("quarantine", "list", "--json")[0][
        "reasons"
    ]
    assert summary["resolved"] == 1
    brown = cli.json("record", "show", ids.record_id("person", "WYP", "FILEKEY", "people.csv/4"))
    assert brown["data"]["surname"] == "Brown"


def test_snapshot_does_not_delete_records_whose_row_is_in_the_file_but_quarantined(
    cli: Cli, tmp_path: Path
) -> None:
    """Regression test (fixed: src/openrms/ingest/pipeline.py: `_write` marks only the records of rows that
    mapped cleanly as
    seen, and `_retract_unseen` retracts every other record of the source): a row that is still in the
    snapshot but now fails validation (here Jones's sex became 'Q') is quarantined, and its existing record
    is marked deleted at the source although the source still has it."""
    mapping = tmp_path / "plain.yaml"
    mapping.write_text(PLAIN)
    data = tmp_path / "people.csv"
    data.write_text("NAME,SEX\nSmith,M\nJones,F\n")
    assert balanced(cli.json("import", str(data), "--mapping", str(mapping), "--json")) == {
        "read": 2,
        "created": 2,
    }
    data.write_text("NAME,SEX\nSmith,M\nJones,Q\n")
    snap = cli.json("import", str(data), "--mapping", str(mapping), "--snapshot", "--json")
    assert snap["rows"]["quarantined"] == 1
    jones = cli.json("record", "show", ids.record_id("person", "WYP", "PLAIN", "Jones"))
    assert jones["deleted"] is False, "the snapshot deleted a record whose row is in the file"
    assert snap["retracted"] == 0


VICTIMS = """\
name: victims
source: {format: csv}
agency: WYP
source_system: CRIMES
records:
  crime: {entity: crime, key: "{REF}", fields: {crime_type: {const: BURGLARY}}}
links:
  - {type: VICTIM, from: {lookup: {entity: person, key: "{VICTIM}", source_system: PLAIN}}, to: crime}
"""


def test_a_dry_run_counts_the_links_the_import_will_write(cli: Cli, tmp_path: Path) -> None:
    """Links to records looked up in the database, as well as links within a row: a dry run reports what
    the import then does, and a row referring to a record that does not exist is quarantined in both."""
    people, mapping = tmp_path / "people.csv", tmp_path / "plain.yaml"
    people.write_text("NAME,SEX\nSmith,M\nJones,F\n")
    mapping.write_text(PLAIN)
    cli.json("import", str(people), "--mapping", str(mapping), "--json")
    crimes, victims = tmp_path / "crimes.csv", tmp_path / "victims.yaml"
    crimes.write_text("REF,VICTIM\nC1,Smith\nC2,Jones\nC3,Nobody\n")
    victims.write_text(VICTIMS)
    args = ("import", str(crimes), "--mapping", str(victims), "--json")
    dry = cli.json(*args, "--dry-run")
    assert balanced(dry) == {"read": 3, "created": 2, "quarantined": 1}
    assert dry["links"] == {"created": 2}
    report = cli.json(*args)
    assert balanced(report) == {"read": 3, "created": 2, "quarantined": 1}
    assert report["links"] == {"created": 2}
    assert cli.json(*args, "--dry-run")["links"] == {"unchanged": 2}


def test_ids_in_tables_are_whole_in_an_80_column_terminal(cli: Cli, db: Database, tmp_path: Path) -> None:
    """An id shown in a table is one to paste into the next command: a narrow terminal wraps the other
    columns, never the ids (they used to come out as "19cb86915c5f47c7…")."""
    report = cli.json("import", str(CUSTODY), "--mapping", "custody-fixed-width", "--json")
    [entry, *_] = cli.json("quarantine", "list", "--json")
    narrow = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1"})
    for args in (["quarantine", "list"], ["import", "runs"]):
        shown = narrow.invoke(app, [*args, "--db", db.url])
        assert shown.exit_code == 0, shown.output
        assert max(len(line) for line in shown.stdout.splitlines()) <= 80
        assert report["run_id"] in shown.stdout, shown.stdout
    assert entry["id"] in narrow.invoke(app, ["quarantine", "list", "--db", db.url]).stdout


def interrupted_after_two_rows(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, head: str, **reader_options: Any
) -> tuple[Path, Path]:
    """A six-row file and its mapping, imported until its first batch (two rows) is committed and then
    stopped as by Ctrl-C: the run stays "running", resumable."""
    mapping = tmp_path / "plain.yaml"
    mapping.write_text(PLAIN)
    data = tmp_path / "six.csv"
    data.write_text(head + "".join(f"{c}x,M\n" for c in "ABCDEF"))

    def interrupt(rows: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "COMMIT_ROWS", 2)  # each batch its own transaction
    with pytest.raises(KeyboardInterrupt):
        import_source(
            db, data, mapping, reader_options=reader_options, batch_size=2, workers=0, progress=interrupt
        )
    return data, mapping


def test_resuming_an_interrupted_import_as_a_snapshot_keeps_the_rows_written_before(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import interrupted after its first batch, run again with --snapshot, must not resume the plain run
    (whose first rows were never marked seen, so the snapshot would retract them): a snapshot starts a run
    of its own, reads every row, and deletes nothing that is in the file."""
    data, mapping = interrupted_after_two_rows(db, tmp_path, monkeypatch, "NAME,SEX\n")
    with db.read() as conn:
        [(status, checkpoint)] = conn.execute(select(import_run.c.status, import_run.c.checkpoint)).all()
    assert (status, checkpoint) == ("running", 2)
    report = Cli(db).json(
        "import", str(data), "--mapping", str(mapping), "--snapshot", "--batch-size", "2", "--json"
    )
    assert report["resumed_after_row"] == 0 and report["rows"]["read"] == 6
    assert record_count(db, entity_type="person", deleted=False) == 6, (
        "records written before the resume were deleted"
    )
    assert report["retracted"] == 0


def test_an_interrupted_import_resumes_only_with_the_same_reader_options(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same file read with other reader options (`-o`) is other rows: resuming the interrupted run's
    checkpoint with them would skip rows it never read. Only the same options resume it."""
    data, mapping = interrupted_after_two_rows(
        db, tmp_path, monkeypatch, "EXPORTED 01/03/2019\nNAME,SEX\n", skip_lines=1
    )
    cli = Cli(db)
    other = cli.json(
        "import",
        str(data),
        "--mapping",
        str(mapping),
        "-o",
        "encoding=latin-1",
        "-o",
        "skip_lines=1",
        "--json",
    )
    assert other["resumed_after_row"] == 0 and other["rows"]["read"] == 6
    same = cli.json("import", str(data), "--mapping", str(mapping), "-o", "skip_lines=1", "--json")
    assert same["resumed_after_row"] == 2 and same["rows"]["read"] == 6  # the run's whole count


# --- the imports API ---


def police_uk_rows(count: int) -> list[dict[str, str]]:
    with gzip.open(STREET, "rt", encoding="utf-8", newline="") as f:
        crimes = (r for r in csv.DictReader(f) if r["Crime ID"])
        return [next(crimes) for _ in range(count)]


def test_api_upload_feed_quarantine_and_discard(client: TestClient, db: Database) -> None:
    with CUSTODY.open("rb") as f:
        response = client.post(
            "/imports",
            files={"file": ("custody-export.dat", f)},
            data={"mapping": "custody-fixed-width", "recorded_by": "api-test"},
        )
    assert response.status_code == 200, response.text
    report = response.json()
    assert balanced(report) == {"read": 40, "created": 35, "quarantined": 5}
    assert report["records"] == {"person": {"created": 35}, "custody": {"created": 35}}

    rows = police_uk_rows(3)
    response = client.post("/feeds/police-uk", json={"records": rows, "recorded_by": "feed-test"})
    assert response.status_code == 200, response.text
    assert balanced(response.json()) == {"read": 3, "created": 3}
    for row in rows:
        with db.read() as conn:
            crime = get_record(conn, ids.record_id("crime", "WYP", "POLICE-UK", row["Crime ID"]), SCOPE)
        assert crime["provenance"]["recorded_by"] == "feed-test"

    runs = client.get("/imports").json()["items"]
    assert runs[0]["source"] == "pushed records" and len(runs) == 2
    upload = client.get(f"/imports/{report['run_id']}").json()
    assert upload["quarantine_open"] == 5 and upload["mapping"] == "custody-fixed-width"

    listed = client.get("/quarantine").json()
    assert {e["location"] for e in listed["items"]} == CUSTODY_BAD and listed["next_after"] is None
    one = client.get(f"/quarantine/{listed['items'][0]['id']}").json()
    assert one["raw"] and one["reasons"]
    ids_ = [e["id"] for e in listed["items"]]
    response = client.post(
        "/quarantine/discard", json={"entry_ids": ids_, "reason": "bad source rows", "by": "api-test"}
    )
    assert response.status_code == 200 and response.json() == {"discarded": 5}
    assert client.get("/quarantine").json()["items"] == []
    assert len(client.get("/quarantine", params={"status": "discarded"}).json()["items"]) == 5


def test_every_open_row_of_a_run_can_be_discarded_at_once(
    cli: Cli, client: TestClient, tmp_path: Path
) -> None:
    """`quarantine discard --run` (and the API's run_id) closes the run's open rows and no others; naming
    neither a run nor an entry is an error, not a no-op."""
    first = cli.json("import", str(CUSTODY), "--mapping", "custody-fixed-width", "--json")
    fixed = fixed_custody_mapping(tmp_path)
    # another source system's rows: their entries are their own, not a re-import of the first's
    second = cli.json("import", str(CUSTODY), "--mapping", str(fixed), "--source", "CMS3-COPY", "--json")
    assert cli.fails("quarantine", "discard", "--reason", "bad rows").endswith(
        "name a run (--run), quarantine entry ids or a reason's text (--matching) to discard"
    )
    done = cli.run("quarantine", "discard", "--run", first["run_id"], "--reason", "corrected in CMS3")
    assert "discarded 5 row(s)" in done.stderr
    still_open = cli.json("quarantine", "list", "--json")
    assert len(still_open) == 4 and {e["run_id"] for e in still_open} == {second["run_id"]}
    assert (
        client.post("/quarantine/discard", json={"reason": "bad rows", "by": "api-test"}).status_code == 400
    )
    response = client.post(
        "/quarantine/discard", json={"run_id": second["run_id"], "reason": "bad rows", "by": "api-test"}
    )
    assert response.status_code == 200 and response.json() == {"discarded": 4}
    assert cli.json("quarantine", "list", "--json") == []


def test_re_importing_leaves_one_open_entry_per_bad_row_and_none_for_a_row_that_now_imports(
    cli: Cli, db: Database, tmp_path: Path
) -> None:
    """A row quarantined again by a later import of the same agency and source system supersedes its
    earlier entry; a row that now imports resolves it. So after any number of re-imports `quarantine list`
    holds each still-bad row once, and another agency's imports never touch the entries."""
    first = cli.json("import", str(CUSTODY), "--mapping", "custody-fixed-width", "--json")
    assert first["earlier_entries"] == {}
    again = cli.json("import", str(CUSTODY), "--mapping", "custody-fixed-width", "--json")
    assert balanced(again) == {"read": 40, "unchanged": 35, "quarantined": 5}
    assert again["earlier_entries"] == {"superseded": 5}
    open_now = cli.json("quarantine", "list", "--json")
    assert {e["run_id"] for e in open_now} == {again["run_id"]} and len(open_now) == 5

    fixed = fixed_custody_mapping(tmp_path)
    printed = cli.run("import", str(CUSTODY), "--mapping", str(fixed))
    assert (
        "closed 5 open quarantine entries of earlier runs: 4 superseded by this run's (the row is still "
        "bad), 1 resolved (the row now imports)" in " ".join(printed.stderr.split())
    )
    open_now = cli.json("quarantine", "list", "--json")
    assert len(open_now) == 4 and {e["location"] for e in open_now} == CUSTODY_BAD - {"line 8"}
    superseded = cli.json("quarantine", "list", "--status", "superseded", "--json")
    assert len(superseded) == 9 and {e["run_id"] for e in superseded} == {first["run_id"], again["run_id"]}
    [resolved] = cli.json("quarantine", "list", "--status", "resolved", "--json")
    assert resolved["location"] == "line 8" and resolved["resolution"].startswith("imported by run ")
    shown = cli.json("quarantine", "show", superseded[0]["id"])
    assert shown["resolution"].startswith("quarantined again by run ")

    other = cli.json("import", str(CUSTODY), "--mapping", "custody-fixed-width", "--agency", "NYP", "--json")
    assert other["earlier_entries"] == {} and len(cli.json("quarantine", "list", "--json")) == 4 + 5


def test_api_refuses_bad_mapping_names(client: TestClient) -> None:
    with CUSTODY.open("rb") as f:
        response = client.post(
            "/imports", files={"file": ("custody-export.dat", f)}, data={"mapping": "no-such-mapping"}
        )
    assert response.status_code == 400
    assert "no built-in mapping of that name" in response.json()["detail"]
    for name in ("../custody-fixed-width.yaml", "custody-fixed-width.yaml"):
        with CUSTODY.open("rb") as f:
            response = client.post(
                "/imports", files={"file": ("custody-export.dat", f)}, data={"mapping": name}
            )
        assert response.status_code == 400, name
    with CUSTODY.open("rb") as f:
        response = client.post("/imports", files={"file": ("custody-export.dat", f)})
    assert response.status_code == 400 and "exactly one of" in response.json()["detail"]
    response = client.post("/feeds/no-such-mapping", json={"records": [{"a": "b"}]})
    assert response.status_code == 400
    assert client.get("/imports").json()["items"] == []


def test_api_feed_mapping_is_never_a_file_of_the_servers_directory(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression test (fixed: src/openrms/api/routers/imports.py `_mapping_ref` +
    openrms.ingest.mapping.load_mapping): over
    HTTP `mapping` must name a built-in mapping, but load_mapping tries `Path(name).is_file()` first, so
    any file in the server's working directory whose name has no "/" and no .yaml suffix is loaded as a
    mapping: POST /feeds/evil imports through ./evil (200, 1 created) instead of answering 400."""
    (tmp_path / "evil").write_text(PLAIN)
    monkeypatch.chdir(tmp_path)
    response = client.post("/feeds/evil", json={"records": [{"NAME": "Smith", "SEX": "M"}]})
    assert response.status_code == 400, response.text


def test_api_retry_accepts_only_built_in_mapping_names(client: TestClient, tmp_path: Path) -> None:
    """Regression test (fixed: src/openrms/api/routers/imports.py `retry`): the body's `mapping` goes
    straight to
    service.retry_quarantine without `_mapping_ref`, so POST /quarantine/retry loads any path on the server
    as the mapping ({"mapping": "/path/to/file.yaml"} answers 200 and re-maps the rows with it)."""
    with CUSTODY.open("rb") as f:
        run = client.post(
            "/imports", files={"file": ("custody-export.dat", f)}, data={"mapping": "custody-fixed-width"}
        ).json()["run_id"]
    elsewhere = tmp_path / "elsewhere.yaml"
    elsewhere.write_text((BUILTIN_DIR / "custody-fixed-width.yaml").read_text())
    response = client.post("/quarantine/retry", json={"run_id": run, "mapping": str(elsewhere)})
    assert response.status_code == 400, response.text


def test_api_rows_of_an_uploaded_mapping_can_be_retried(client: TestClient) -> None:
    """Regression test (fixed: src/openrms/api/routers/imports.py `upload` + service.retry_quarantine): an
    upload with
    `mapping_yaml` records the run's mapping as the path of a scratch file that is deleted when the request
    ends, so its quarantined rows can never be retried: POST /quarantine/retry {"run_id": ...} answers 400
    "no mapping file '/tmp/openrms-upload-.../mapping.yaml'" (and the API accepts no mapping text for a
    retry)."""
    response = client.post(
        "/imports",
        files={"file": ("people.csv", b"NAME,SEX\nSmith,M\nJones,Q\n")},
        data={"mapping_yaml": PLAIN},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert balanced(report) == {"read": 2, "created": 1, "quarantined": 1}
    response = client.post("/quarantine/retry", json={"run_id": report["run_id"]})
    assert response.status_code == 200, response.text
    assert response.json()["retried"] == 1


BY_FILE = """\
name: police-uk
source: {format: csv}
agency: WYP
source_system: PLAIN
translations:
  sexes: {M: M, F: F}
records:
  p:
    entity: person
    key: "{$file}/{$line}"
    fields: {surname: NAME, gender: {from: SEX, translate: sexes}}
"""


def test_an_uploaded_mapping_and_file_are_shown_by_name_and_retried_with_corrected_yaml(
    client: TestClient,
) -> None:
    """An upload's run names its file and its mapping's `name:` (a scratch path told the user nothing), even
    when that name is a built-in's: its retry re-maps with the uploaded text, not the built-in. A retry may
    send corrected YAML; keys built from `$file` come out as the upload's, so nothing is duplicated."""
    people = b"NAME,SEX\nSmith,M\nJones,Q\nBrown,F\n"
    response = client.post("/imports", files={"file": ("people.csv", people)}, data={"mapping_yaml": BY_FILE})
    report = response.json()
    assert balanced(report) == {"read": 3, "created": 2, "quarantined": 1}
    run = client.get(f"/imports/{report['run_id']}").json()
    assert (run["source"], run["mapping"]) == ("people.csv", "uploaded: police-uk")

    still = client.post("/quarantine/retry", json={"run_id": report["run_id"]}).json()
    assert (still["retried"], still["still_open"]) == (1, 1)  # the uploaded text, not the police-uk built-in
    fixed = BY_FILE.replace("{M: M, F: F}", "{M: M, F: F, Q: U}")
    both = {"run_id": report["run_id"], "mapping": "police-uk", "mapping_yaml": fixed}
    response = client.post("/quarantine/retry", json=both)
    assert response.status_code == 400 and "exactly one of" in response.json()["detail"]
    done = client.post("/quarantine/retry", json={"run_id": report["run_id"], "mapping_yaml": fixed})
    assert done.status_code == 200, done.text
    assert (done.json()["retried"], done.json()["resolved"]) == (1, 1)
    again = client.post(
        "/imports", files={"file": ("people.csv", people)}, data={"mapping_yaml": fixed}
    ).json()
    assert balanced(again) == {"read": 3, "unchanged": 3}
    bad = client.post("/quarantine/retry", json={"run_id": report["run_id"], "mapping_yaml": "records: ["})
    assert bad.status_code == 400 and "mapping_yaml" in bad.json()["detail"]


def test_an_upload_named_dot_dot_is_imported_as_upload(client: TestClient) -> None:
    response = client.post(
        "/imports", files={"file": ("..", b"NAME,SEX\nSmith,M\n")}, data={"mapping_yaml": PLAIN}
    )
    assert response.status_code == 200, response.text
    assert client.get(f"/imports/{response.json()['run_id']}").json()["source"] == "upload"


def test_a_preview_shows_what_rows_become_with_the_imports_verdict_and_writes_nothing(
    cli: Cli, db: Database
) -> None:
    """`--preview N` shows each row's records (key, id, fields), links and problems. Its verdicts are the
    import's own: previewing the whole custody export flags exactly the rows the import quarantines."""
    shown = cli.json("import", str(CUSTODY), "--mapping", "custody-fixed-width", "--preview", "40", "--json")
    assert [r["row"] for r in shown] == list(range(1, 41))
    first = shown[0]
    assert first["status"] == "ok" and first["reasons"] == []
    custody = next(r for r in first["records"] if r["name"] == "custody")
    assert custody["key"] == "LD/19/000101" and custody["fields"]["disposal"] == "CHARGED"
    assert custody["id"] == ids.record_id("custody", "WYP", "CMS3", "LD/19/000101")
    link = first["links"][0]
    assert (link["type"], link["from"], link["to"]) == ("DETAINED_PERSON", "detainee", "custody")
    assert record_count(db) == 0 and cli.json("import", "runs", "--json") == []

    flagged = {r["location"] for r in shown if r["status"] == "quarantined"}
    report = cli.json("import", str(CUSTODY), "--mapping", "custody-fixed-width", "--json")
    entries = cli.json("quarantine", "list", "--run", report["run_id"], "--json")
    assert flagged == {e["location"] for e in entries} == CUSTODY_BAD
    wright = next(r for r in shown if r["location"] == "line 15")
    assert any("arrested_at" in reason and "not a real date" in reason for reason in wright["reasons"])

    printed = cli.run("import", str(CUSTODY), "--mapping", "custody-fixed-width", "--preview", "15")
    assert "row 1 (line 2): would be imported" in printed.stdout
    assert "row 14 (line 15): would be quarantined" in printed.stdout
    assert (
        "disposal = 'CHARGED'" in printed.stdout
        and "link DETAINED_PERSON: detainee → custody" in printed.stdout
    )
    assert "previewed 15 row(s): 13 ok, 2 quarantined; nothing written" in printed.stderr
    assert "--preview" in cli.fails(
        "import", str(CUSTODY), "--mapping", "custody-fixed-width", "--preview", "0"
    )


def test_a_preview_shows_no_id_for_a_record_whose_key_is_empty(cli: Cli, tmp_path: Path) -> None:
    """Regression test (fixed: src/openrms/ingest/preview.py `_row_view`): a row with a blank key was
    rightly flagged, but showed an id as if a record would be made."""
    data = tmp_path / "people.csv"
    data.write_text("NAME,SEX\n ,M\nSmith,M\n")
    mapping = tmp_path / "plain.yaml"
    mapping.write_text(PLAIN)
    blank, smith = cli.json("import", str(data), "--mapping", str(mapping), "--preview", "2", "--json")
    assert blank["status"] == "quarantined" and blank["records"][0]["id"] is None
    assert smith["records"][0]["id"] == ids.record_id("person", "WYP", "PLAIN", "Smith")
    printed = cli.run("import", str(data), "--mapping", str(mapping), "--preview", "1").stdout
    assert "no id (an empty key makes no record)" in " ".join(printed.split())


def test_a_mapping_that_names_no_agency_is_refused_before_any_row(cli: Cli, tmp_path: Path) -> None:
    """Regression test (fixed: src/openrms/ingest/service.py `_prepare_mapping`): a mapping without
    `agency:` and an import without --agency quarantined every row with "p: provenance.agency None must be
    1-40 letters..." instead of saying what to add."""
    data = tmp_path / "people.csv"
    data.write_text("NAME,SEX\nSmith,M\n")
    mapping = tmp_path / "no-agency.yaml"
    mapping.write_text(PLAIN.replace("agency: WYP\n", ""))
    message = cli.fails("import", str(data), "--mapping", str(mapping))
    assert "no agency: add `agency:` to the mapping, or give it with --agency" in message
    assert cli.json("import", "runs", "--json") == []
    report = cli.json("import", str(data), "--mapping", str(mapping), "--agency", "WYP", "--json")
    assert balanced(report) == {"read": 1, "created": 1}


def test_quarantine_is_listed_newest_run_first_then_by_line_and_pages_in_that_order(
    cli: Cli, client: TestClient, tmp_path: Path
) -> None:
    """Regression test (fixed: src/openrms/ingest/runs.py `list_quarantine`): entries came in the order of
    their random ids, so a person fixing rows could not read them down the file."""
    custody = cli.json("import", str(CUSTODY), "--mapping", "custody-fixed-width", "--json")
    data = tmp_path / "people.csv"
    data.write_text("NAME,SEX\nA,Q\nB,M\nC,Q\nD,Q\n")
    mapping = tmp_path / "plain.yaml"
    mapping.write_text(PLAIN)
    people = cli.json("import", str(data), "--mapping", str(mapping), "--json")
    expected = [(people["run_id"], f"line {n}") for n in (2, 4, 5)] + [
        (custody["run_id"], f"line {n}") for n in (8, 15, 22, 29, 36)
    ]
    listed = cli.json("quarantine", "list", "--json")
    assert [(e["run_id"], e["location"]) for e in listed] == expected

    paged, after = [], None
    while True:
        page = client.get("/quarantine", params={"limit": 3, **({"after": after} if after else {})}).json()
        paged += [(e["run_id"], e["location"]) for e in page["items"]]
        if not (after := page["next_after"]):
            break
    assert paged == expected
    unknown = client.get("/quarantine", params={"after": "0" * 24})
    assert unknown.status_code == 400 and "no quarantine entry" in unknown.json()["detail"]


def test_short_csv_lines_fixed_by_allow_short_and_a_re_import(cli: Cli, tmp_path: Path) -> None:
    """A line that stops at its last non-empty value cannot be parsed, so retry cannot map it; the fix is
    `allow_short: true` and importing the file again, which resolves the earlier entry."""
    data = tmp_path / "people.csv"
    data.write_text("NAME;SEX;NOTE\nSmith;M;x\nJones;F\n")
    mapping = tmp_path / "plain.yaml"
    mapping.write_text(PLAIN.replace("{format: csv}", "{format: csv, delimiter: ';'}"))
    first = cli.json("import", str(data), "--mapping", str(mapping), "--json")
    assert balanced(first) == {"read": 2, "created": 1, "quarantined": 1}
    (entry,) = cli.json("quarantine", "list", "--json")
    assert "`allow_short: true`" in entry["reasons"][0]
    retried = cli.run("quarantine", "retry", "--run", first["run_id"])
    assert json.loads(retried.stdout)["unparsed"] == 1
    assert "fix the source or the reader's options" in " ".join(retried.stderr.split())

    mapping.write_text(PLAIN.replace("{format: csv}", "{format: csv, delimiter: ';', allow_short: true}"))
    again = cli.json("import", str(data), "--mapping", str(mapping), "--json")
    assert balanced(again) == {"read": 2, "created": 1, "unchanged": 1}
    assert cli.json("quarantine", "list", "--json") == []
    (closed,) = cli.json("quarantine", "list", "--status", "resolved", "--json")
    assert closed["id"] == entry["id"]


def test_a_broken_mapping_is_checked_against_the_source_columns_in_the_same_round(
    cli: Cli, tmp_path: Path
) -> None:
    """Regression test (fixed: src/openrms/ingest/service.py `_mapping_and_source`): a mapping with a
    compile problem (a link written back to front) reported it alone; only once that was fixed did the
    import say the mapping names a column the file lacks."""
    data = tmp_path / "people.csv"
    data.write_text("NAME,SEX,REF\nSmith,M,1\n")
    mapping = tmp_path / "broken.yaml"
    mapping.write_text(
        PLAIN.replace("fields: {surname: NAME, gender: SEX}", "fields: {surname: NAME, gender: GENDER}")
        + '  i: {entity: incident, key: "{REF}", fields: {incident_type: {const: MISSING_PERSON}}}\n'
        + "links:\n  - {type: MISSING_PERSON, from: i, to: p}\n"
    )
    for args in ((), ("--preview", "1"), ("--dry-run",)):
        message = " ".join(cli.fails("import", str(data), "--mapping", str(mapping), *args).split())
        assert "has 3 problems" in message, message
        assert "line 9: source has no field 'GENDER' (columns: NAME, REF, SEX)" in message
        assert "MISSING_PERSON links cannot go from record 'i' (an incident)" in message
        assert "swap `from` and `to`" in message
    assert cli.json("import", "runs", "--json") == []


def post_custody(client: TestClient, **form: str) -> Any:
    """POST /imports of the custody sample with these form fields."""
    with CUSTODY.open("rb") as f:
        return client.post("/imports", files={"file": ("custody-export.dat", f)}, data=form)


def test_api_preview_of_an_upload(client: TestClient, db: Database) -> None:
    response = post_custody(client, mapping="custody-fixed-width", preview="3")
    assert response.status_code == 200, response.text
    shown = response.json()["preview"]
    assert [r["status"] for r in shown] == ["ok", "ok", "ok"] and shown[0]["records"]
    assert record_count(db) == 0 and client.get("/imports").json()["items"] == []
    assert post_custody(client, mapping="custody-fixed-width", preview="0").status_code == 422


def test_quarantine_show_of_an_unknown_entry_and_row_numbers(cli: Cli, db: Database) -> None:
    cli.json("import", str(CUSTODY), "--mapping", "custody-fixed-width", "--json")
    [entry] = [e for e in cli.json("quarantine", "list", "--json") if e["location"] == "line 36"]
    assert entry["raw"].startswith("LD/19/000135") and entry["row_number"] == 35  # the header is no record
    assert "no quarantine entry no-such-entry" in cli.fails("quarantine", "show", "no-such-entry")
    assert (
        "discarded 0 row(s)" in cli.run("quarantine", "discard", "no-such-entry", "--reason", "typo").stderr
    )
    assert "say why" in cli.fails("quarantine", "discard", entry["id"], "--reason", "x")
    assert "name a run" in cli.fails("quarantine", "retry")
    with db.read() as conn:
        status = conn.execute(select(quarantine.c.status).where(quarantine.c.id == entry["id"])).scalar_one()
    assert status == "open"
