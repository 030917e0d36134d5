"""The built-in legacy mappings (custody-fixed-width, intel-xml-5x5x5) on their sample files in docs/examples.

Each test imports through the `openrms` command on the `db` fixture (SQLite, and PostgreSQL when
OPENRMS_TEST_DATABASE_URL is set) and checks what was stored through the store's read functions. The
figures asserted here are the ones docs/imports.md gives for the samples.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from typer.testing import CliRunner

from openrms.cli import app
from openrms.ingest.mapping import MappingError, builtin_mappings, parse_mapping
from openrms.store import ids
from openrms.store.database import Database
from openrms.store.links import links_of
from openrms.store.scope import Unrestricted
from openrms.store.views import get_record, list_records

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
CUSTODY = EXAMPLES / "custody-export.dat"
INTEL = EXAMPLES / "intel-export.xml"
SCOPE = Unrestricted("test")

# The bad lines of custody-export.dat (line 1 is the header) and exactly why each is quarantined.
CUSTODY_BAD = {
    "line 8": [
        "custody.disposal: 'REM' (from DISPOSAL) is not in translation table 'disposals' "
        "(known: 'CHG', 'BAIL', 'RUI', 'NFA', 'CAU', 'CCAU', 'PND', 'TRF')"
    ],
    "line 15": [
        "custody.arrested_at: '31022019 2315' (from ARRESTED) is not a real date and time "
        "(day is out of range for month)"
    ],
    "line 22": ["detainee.pnc_id: PNC ID check letter should be 'G' for '2003/0345678', not 'H'"],
    "line 29": ["unreadable: line is 97 characters; the layout needs 206"],
    "line 36": ["custody.released_at: released before the relevant time"],
}

# The translations the intel mapping documents as "(check)", written out independently of its YAML.
SOURCE = {"A": "1", "B": "1", "C": "2", "E": "2", "D": "3"}
INTELLIGENCE = {"1": "A", "2": "B", "3": "B", "4": "C", "5": "E"}
HANDLING = {"1": "P", "2": "P", "3": "P", "4": "C", "5": "C"}
CONDITIONS = {"4": "originating agency only", "5": "no further dissemination without the originator"}
MARKINGS = {
    None: "OFFICIAL",
    "UNCLASSIFIED": "OFFICIAL",
    "PROTECT": "OFFICIAL",
    "RESTRICTED": "OFFICIAL-SENSITIVE",
    "CONFIDENTIAL": "SECRET",
    "SECRET": "SECRET",
}


def openrms(db: Database, *args: str, expect: int = 0) -> Any:
    """Runs `openrms ARGS --db URL` in-process; returns the parsed JSON output when there is some."""
    result = CliRunner(env={"COLUMNS": "400", "NO_COLOR": "1"}).invoke(app, [*args, "--db", db.url])
    assert result.exit_code == expect, f"openrms {' '.join(args)}: {result.exit_code}\n{result.output}"
    text = result.stdout.strip()
    return json.loads(text) if text[:1] in "[{" else result


def records(db: Database, entity_type: str) -> list[dict[str, Any]]:
    with db.read() as conn:
        return list_records(conn, SCOPE, entity_type=entity_type, limit=500).items


def links(db: Database, record_id: str) -> list[dict[str, Any]]:
    with db.read() as conn:
        return links_of(conn, [record_id], SCOPE)


def report_rows(report: dict[str, Any]) -> dict[str, int]:
    rows = report["rows"]
    assert report["balanced"] and rows["read"] == sum(
        rows.get(k, 0) for k in ("created", "updated", "unchanged", "quarantined", "skipped")
    )
    return rows


def test_both_legacy_mappings_are_built_in() -> None:
    assert {"custody-fixed-width", "intel-xml-5x5x5", "police-uk"} <= set(builtin_mappings())


# --- custody-fixed-width ---


def test_custody_dry_run_loads_the_mapping_and_writes_nothing(db: Database) -> None:
    report = openrms(db, "import", str(CUSTODY), "--mapping", "custody-fixed-width", "--dry-run", "--json")
    assert report["dry_run"] and report["run_id"] is None
    assert report_rows(report) == {"read": 40, "created": 35, "quarantined": 5}
    assert report["records"] == {"person": {"created": 35}, "custody": {"created": 35}}
    assert openrms(db, "import", "runs", "--json") == []
    assert records(db, "custody") == [] and records(db, "person") == []


def test_custody_import_quarantines_exactly_the_bad_rows_with_their_reasons(db: Database) -> None:
    report = openrms(db, "import", str(CUSTODY), "--mapping", "custody-fixed-width", "--json")
    assert report_rows(report) == {"read": 40, "created": 35, "quarantined": 5}
    assert report["records"] == {"person": {"created": 35}, "custody": {"created": 35}}
    assert report["links"] == {"created": 35}
    entries = openrms(db, "quarantine", "list", "--run", report["run_id"], "--json")
    assert {e["location"]: e["reasons"] for e in entries} == CUSTODY_BAD
    assert len(records(db, "custody")) == 35 and len(records(db, "person")) == 35


def test_custody_records_links_and_translations(db: Database) -> None:
    openrms(db, "import", str(CUSTODY), "--mapping", "custody-fixed-width", "--json")
    custody = {r["data"]["custody_number"]: r for r in records(db, "custody")}
    first = custody["LD/19/000101"]
    assert first["data"] == {
        "reference": "LD/19/000101",
        "custody_number": "LD/19/000101",
        "custody_suite": "LDS",
        "arrested_at": "2019-02-01T08:05:00Z",
        "arrived_at": "2019-02-01T08:40:00Z",
        "relevant_time": "2019-02-01T08:40:00Z",
        "detention_authorised_at": "2019-02-01T08:55:00Z",
        "detention_authorised_by": "4521",
        "reviews": [{"reviewed_at": "2019-02-01T13:30:00Z"}],
        "released_at": "2019-02-01T17:15:00Z",
        "disposal": "CHARGED",
        "offence_codes": ["TH68010"],
        "intoxicated": False,
    }
    assert (
        first["provenance"]["source_system"] == "CMS3" and first["provenance"]["source_key"] == "LD/19/000101"
    )
    second = custody["LD/19/000102"]["data"]
    assert second["offence_codes"] == ["OF61016", "CD71036"] and "reviews" not in second
    assert custody["LD/19/000103"]["data"]["intoxicated"] is True
    # A detention over midnight keeps its date; every legacy disposal code was translated.
    assert custody["LD/19/000110"]["data"]["released_at"] == "2019-02-11T02:15:00Z"
    assert {r["data"]["disposal"] for r in custody.values()} == {
        "CHARGED",
        "BAIL",
        "RUI",
        "NFA",
        "CAUTION",
        "CONDITIONAL_CAUTION",
        "PENALTY_NOTICE",
        "TRANSFERRED",
    }
    # The detainee: the NAME column split, the PNC ID kept (and absent where the export had none).
    person_id = ids.record_id("person", "WYP", "CMS3", "LD/19/000101/detainee")
    with db.read() as conn:
        person = get_record(conn, person_id, SCOPE)
        obrien = get_record(conn, ids.record_id("person", "WYP", "CMS3", "LD/19/000104/detainee"), SCOPE)
        hyphen = get_record(conn, ids.record_id("person", "WYP", "CMS3", "LD/19/000105/detainee"), SCOPE)
        no_pnc = get_record(conn, ids.record_id("person", "WYP", "CMS3", "LD/19/000102/detainee"), SCOPE)
    assert person["data"] == {
        "surname": "Smith",
        "forenames": "John Paul",
        "date_of_birth": "1980-11-05",
        "gender": "M",
        "pnc_id": "1990/0127919L",
    }
    assert (obrien["data"]["surname"], obrien["data"]["forenames"]) == ("O'Brien", "Sean Patrick")
    assert hyphen["data"]["surname"] == "Smith-Jones"
    assert "pnc_id" not in no_pnc["data"] and no_pnc["data"]["surname"] == "Jones"
    [link] = links(db, person_id)
    assert (link["link_type"], link["from_id"], link["to_id"]) == ("DETAINED_PERSON", person_id, first["id"])
    assert (link["valid_from"], link["valid_to"]) == ("2019-02-01", "2019-02-01")
    # The bad rows wrote nothing: neither the detainee nor the custody record of line 22 (bad PNC ID).
    assert "LD/19/000121" not in custody
    with db.read() as conn, pytest.raises(Exception, match="no record"):
        get_record(conn, ids.record_id("person", "WYP", "CMS3", "LD/19/000121/detainee"), SCOPE)


def test_custody_import_again_is_unchanged_and_quarantines_the_bad_rows_again(db: Database) -> None:
    first = openrms(db, "import", str(CUSTODY), "--mapping", "custody-fixed-width", "--json")
    again = openrms(db, "import", str(CUSTODY), "--mapping", "custody-fixed-width", "--json")
    assert again["run_id"] != first["run_id"]
    assert report_rows(again) == {"read": 40, "unchanged": 35, "quarantined": 5}
    assert again["records"] == {"person": {"unchanged": 35}, "custody": {"unchanged": 35}}
    second = openrms(db, "quarantine", "list", "--run", again["run_id"], "--json")
    assert {e["location"]: e["reasons"] for e in second} == CUSTODY_BAD


# --- intel-xml-5x5x5 ---


def _intel_source() -> list[dict[str, Any]]:
    """The sample's reports as plain dicts, read with lxml (not through the import)."""
    reports = []
    for el in etree.parse(str(INTEL)).getroot().iter("Report"):
        reports.append(
            {
                "id": el.get("id"),
                "created": el.findtext("Created"),
                "summary": el.findtext("Summary"),
                "grading": tuple(
                    el.findtext(f"Grading/{part}") for part in ("Source", "Intelligence", "Handling")
                ),
                "surname": el.findtext("Subject/Surname"),
                "protective": el.findtext("Protective"),
            }
        )
    return reports


def test_intel_dry_run_and_import_figures(db: Database) -> None:
    dry = openrms(db, "import", str(INTEL), "--mapping", "intel-xml-5x5x5", "--dry-run", "--json")
    assert report_rows(dry) == {"read": 15, "created": 14, "quarantined": 1}
    assert openrms(db, "import", "runs", "--json") == []
    report = openrms(db, "import", str(INTEL), "--mapping", "intel-xml-5x5x5", "--json")
    assert report_rows(report) == {"read": 15, "created": 14, "quarantined": 1}
    assert report["records"] == {"intelligence_report": {"created": 14}, "person": {"created": 13}}
    assert report["links"] == {"created": 13}
    [entry] = openrms(db, "quarantine", "list", "--run", report["run_id"], "--json")
    assert entry["location"] == "element 12 (/IntelExport/Report, line 90)"
    assert entry["reasons"] == [
        "report.source_evaluation: 'F' (from Grading/Source) is not in translation table "
        "'source_5x5x5_to_3x5x2' (known: 'A', 'B', 'C', 'E', 'D')",
        "report.legacy_grading.source: 'F' is not a code of list 'source_evaluation_5x5x5' "
        "(expected one of A, B, C, D, E)",
        "report.source_evaluation: Source evaluation (1-3) is required",
    ]
    assert 'id="IR/2018/000112"' in entry["raw"]
    again = openrms(db, "import", str(INTEL), "--mapping", "intel-xml-5x5x5", "--json")
    assert report_rows(again) == {"read": 15, "unchanged": 14, "quarantined": 1}


def test_intel_grading_is_kept_and_mapped_to_3x5x2_with_markings(db: Database) -> None:
    openrms(db, "import", str(INTEL), "--mapping", "intel-xml-5x5x5", "--json")
    stored = {r["data"]["summary"]: r for r in records(db, "intelligence_report")}
    source = [r for r in _intel_source() if r["grading"][0] in SOURCE]
    assert len(source) == len(stored) == 14
    for report in source:
        record = stored[report["summary"]]
        s, i, h = report["grading"]
        data, prov = record["data"], record["provenance"]
        assert data["legacy_grading"] == {"source": s, "intelligence": i, "handling": h}
        assert (data["source_evaluation"], data["intelligence_assessment"], data["handling_code"]) == (
            SOURCE[s],
            INTELLIGENCE[i],
            HANDLING[h],
        ), report["id"]
        if h in CONDITIONS:
            assert CONDITIONS[h] in data["handling_conditions"]
        else:
            assert "handling_conditions" not in data
        assert prov["classification"] == MARKINGS[report["protective"]], report["id"]
        assert prov["handling"] == (h if h in ("4", "5") else "P")
        assert data["reported_at"].startswith(report["created"][:10])
        subjects = [link for link in links(db, record["id"]) if link["link_type"] == "SUBJECT"]
        if report["surname"] is None:
            assert subjects == []
            continue
        [link] = subjects
        with db.read() as conn:
            person = get_record(conn, link["from_id"], SCOPE)
        assert person["data"]["surname"] == report["surname"].title()
        assert person["provenance"]["classification"] == prov["classification"]


def test_intel_report_without_subject_and_a_confidential_one(db: Database) -> None:
    openrms(db, "import", str(INTEL), "--mapping", "intel-xml-5x5x5", "--json")
    stored = {r["data"]["summary"]: r for r in records(db, "intelligence_report")}
    knives = stored["Group of youths carrying knives near the bus station"]
    assert links(db, knives["id"]) == []
    threats = stored["Threats made against a former partner"]
    assert threats["provenance"]["classification"] == "SECRET" and threats["provenance"]["handling"] == "5"
    assert threats["data"]["handling_conditions"] == (
        "Legacy 5x5x5 handling 5: no further dissemination without the originator"
    )
    [link] = links(db, threats["id"])
    with db.read() as conn:
        person = get_record(conn, link["from_id"], SCOPE)
    assert person["data"] == {
        "surname": "O'Brien",
        "forenames": "Sean Patrick",
        "date_of_birth": "1988-01-22",
    }


def test_xml_record_attribute_can_be_read_by_a_mapping() -> None:
    """Regression test (fixed: src/openrms/ingest/mapping/context.py `Build.use`, values.py `field_reader`):
    docs/mapping.md says
    source fields are named "exactly as the source has them (... XML path such as `Subject/Surname` or
    `@id` ...)", and the XML reader flattens `<Report id="R1">` to {"@id": "R1"}. But every name starting
    with "@" is taken as `{@record}` (a record's key, allowed only in link keys), so a mapping cannot read a
    record element's own attributes: this mapping is refused with "line 6: {@id} (a record's key) can only
    be used in a link's key". That is why intel-xml-5x5x5 keys reports on Created/Summary, not their id."""
    text = (
        "source: {format: xml, record_path: /IntelExport/Report}\n"
        "agency: WYP\n"
        "source_system: IMS\n"
        "records:\n"
        "  report:\n"
        "    key: {from: '@id'}\n"
        "    entity: intelligence_report\n"
        "    fields: {reference: '@id', summary: Summary}\n"
    )
    try:
        mapping = parse_mapping(text, "attribute.yaml")
    except MappingError as exc:
        pytest.fail(f"a mapping reading the XML attribute @id is refused: {exc.detail}")
    mapped = mapping.apply({"@id": "IR/2017/000101", "Summary": "Drug supply"})
    assert mapped.reasons == []
    assert mapped.records["report"].source_key == "IR/2017/000101"
    assert mapped.records["report"].data == {"reference": "IR/2017/000101", "summary": "Drug supply"}


def test_docs_imports_page_gives_the_samples_figures_and_reasons() -> None:
    doc = (ROOT / "docs" / "imports.md").read_text(encoding="utf-8")
    for reasons in CUSTODY_BAD.values():
        assert f"`{reasons[0]}`" in doc
    assert "report.source_evaluation: 'F' (from Grading/Source) is not in translation table" in doc
    assert "| dry run, first import | 40 | 35 (35 person, 35 custody, 35 links) | | 5 |" in doc
    assert "| dry run, first import | 15 | 14 | 1 | intelligence_report 14, person 13; links 13 |" in doc
    assert "`python -m benchmarks.bench_import`" in doc
    for name in ("custody-fixed-width", "intel-xml-5x5x5", "police-uk"):
        assert f"### {name}" in doc
