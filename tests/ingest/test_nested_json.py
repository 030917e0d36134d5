"""JSON exports with nested objects, and fields a mapping reads that no row has.

A newcomer's JSON export nests (`"victim": {"surname": ...}`). Its fields are named by their paths, as an
XML record's are (`victim/surname`). JSON and XML declare no columns, so a misspelt name cannot be refused
before the import as it is for CSV; it read as empty in every row, silently. Now the preview, the dry run
and the import warn of each field no row had, with its YAML line and the closest name the rows had.
Through the `openrms` command and the imports API, on each back end.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from openrms.ingest.readers._common import flatten_objects
from openrms.ingest.service import import_source
from openrms.store import ids
from openrms.store.database import Database
from tests.ingest.test_import_cli import Cli, balanced, client  # noqa: F401 (a fixture)

EXPORT = {
    "exported": "2024-01-01",
    "crimes": [
        {
            "ref": "CR/1",
            "type": "BURGLARY",
            "victim": {"name": {"surname": "SMITH", "forenames": "John"}, "dob": "1980-01-02"},
            "suspects": [
                {"id": "S1", "name": {"surname": "JONES"}},
                {"id": "S2", "name": {"surname": "BROWN"}},
            ],
        },
        {
            "ref": "CR/2",
            "type": "THEFT",
            "victim": {"name": {"surname": "KHAN", "forenames": "Imran"}},
            "suspects": [],
        },
    ],
}

MAPPING = """\
name: nested-crimes
source: {format: json, records_path: crimes.item}
agency: WYP
source_system: NESTED
records:
  victim:
    entity: person
    key: "{ref}/victim"
    fields:
      surname: {from: victim/name/surname, case: title}
      forenames: victim/name/forenames
      date_of_birth: {from: victim/dob, date: ["%Y-%m-%d"], optional: true}
  suspect:
    entity: person
    each: suspects
    key: "{id}"
    fields:
      surname: {from: name/surname, case: title}
"""


def _files(tmp_path: Path, mapping: str = MAPPING) -> tuple[Path, Path]:
    export, yaml = tmp_path / "crimes.json", tmp_path / "crimes.yaml"
    export.write_text(json.dumps(EXPORT), encoding="utf-8")
    yaml.write_text(mapping, encoding="utf-8")
    return export, yaml


def _said(result: Any) -> str:
    return " ".join((result.stdout + result.stderr).split())


def test_fields_of_nested_objects_are_read_by_their_paths(cli: Cli, tmp_path: Path) -> None:
    export, yaml = _files(tmp_path)
    report = cli.json("import", str(export), "--mapping", str(yaml), "--json")
    assert balanced(report) == {"read": 2, "created": 2} and report["warnings"] == []
    assert report["records"] == {"person": {"created": 4}}
    smith = cli.json("record", "show", ids.record_id("person", "WYP", "NESTED", "CR/1/victim"))
    assert smith["data"] == {"surname": "Smith", "forenames": "John", "date_of_birth": "1980-01-02"}
    jones = cli.json("record", "show", ids.record_id("person", "WYP", "NESTED", "S1"))
    assert jones["data"] == {"surname": "Jones"}  # an object in a list, its own nested object by path


def test_a_misspelt_field_of_a_json_export_is_warned_of_with_its_line(cli: Cli, tmp_path: Path) -> None:
    export, yaml = _files(tmp_path, MAPPING.replace("victim/name/forenames", "victim.name.forenames"))
    expected = (
        f"{yaml} line 11: no row had a field 'victim.name.forenames', so it read as empty in every row; "
        "did you mean 'victim/name/forenames'?"
    )
    preview = cli.run("import", str(export), "--mapping", str(yaml), "--preview", "2")
    # the terminal wraps a long path anywhere: compare without the spaces
    assert expected.replace(" ", "") in _said(preview).replace(" ", "")
    dry = cli.json("import", str(export), "--mapping", str(yaml), "--dry-run", "--json")
    assert dry["warnings"] == [expected]
    done = cli.json("import", str(export), "--mapping", str(yaml), "--json")
    assert done["warnings"] == dry["warnings"]
    assert balanced(done) == {"read": 2, "created": 2}  # a warning, not an error: the rows still import


def test_a_field_some_rows_have_is_not_warned_of(cli: Cli, tmp_path: Path) -> None:
    """CR/2's victim has no date of birth, and its suspects list is empty: CR/1 has both."""
    export, yaml = _files(tmp_path)
    result = cli.run("import", str(export), "--mapping", str(yaml), "--preview", "2")
    assert "warning" not in _said(result)
    only_second = cli.run("import", str(export), "--mapping", str(yaml), "--dry-run")
    assert "no row had" not in _said(only_second)


def test_a_resumed_import_warns_as_the_whole_import_would(cli: Cli, db: Database, tmp_path: Path) -> None:
    """Only the first crime, imported before the interruption, has a victim's date of birth: the resumed
    run, which reads the rows before its checkpoint without importing them, must not warn of it, and must
    still warn of the misspelt field."""
    crimes = [EXPORT["crimes"][0]] + [
        {"ref": f"CR/{n}", "type": "THEFT", "victim": {"name": {"surname": "KHAN", "forenames": "Imran"}}}
        for n in range(2, 12)
    ]
    export, yaml = _files(tmp_path, MAPPING.replace("victim/name/forenames", "victim.name.forenames"))
    export.write_text(json.dumps({"crimes": crimes}), encoding="utf-8")

    def stop(rows: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_source(db, export, yaml, batch_size=2, commit_rows=2, workers=0, progress=stop)
    resumed = cli.json("import", str(export), "--mapping", str(yaml), "--batch-size", "2", "--json")
    assert resumed["resumed_after_row"] == 2 and balanced(resumed) == {"read": 11, "created": 11}
    [warning] = resumed["warnings"]
    assert "no row had a field 'victim.name.forenames'" in warning
    assert "victim/dob" not in warning  # CR/1, before the checkpoint, had it


def test_an_xml_export_with_a_wrong_path_is_warned_of(cli: Cli, tmp_path: Path) -> None:
    export, yaml = tmp_path / "intel.xml", tmp_path / "intel.yaml"
    export.write_text(
        '<Export><Report id="R1"><Subject ref="P1"><Surname>SMITH</Surname></Subject>'
        '<Subject ref="P2"><Surname>JONES</Surname></Subject></Report></Export>'
    )
    yaml.write_text(
        "name: intel\nsource: {format: xml, record_path: /Export/Report}\nagency: WYP\nsource_system: INTEL\n"
        "records:\n"
        "  subject:\n    entity: person\n    each: Subject\n    key: '{@ref}'\n"
        "    fields: {surname: {from: Surname, case: title}, forenames: {from: /Forenames, optional: true}}\n"
    )
    report = cli.json("import", str(export), "--mapping", str(yaml), "--json")
    assert balanced(report) == {"read": 1, "created": 1}
    [warning] = report["warnings"]  # `each: Subject` was found; the row-level /Forenames was not
    assert "line 10: no row had a field 'Forenames'" in warning and "the rows have: @id, Subject" in warning


def test_the_api_preview_warns_of_fields_no_row_had(client: TestClient) -> None:  # noqa: F811 (the fixture)
    mapping = MAPPING.replace("victim/dob", "victim/DOB")
    response = client.post(
        "/imports",
        files={"file": ("crimes.json", json.dumps(EXPORT).encode())},
        data={"mapping_yaml": mapping, "preview": "2"},
    )
    assert response.status_code == 200, response.text
    [warning] = response.json()["warnings"]
    assert "no row had a field 'victim/DOB'" in warning and "did you mean 'victim/dob'?" in warning


def test_a_csv_mapping_naming_a_missing_column_is_still_refused_before_any_row(
    cli: Cli, tmp_path: Path
) -> None:
    data, yaml = tmp_path / "people.csv", tmp_path / "people.yaml"
    data.write_text("NAME,SEX\nSmith,M\n")
    yaml.write_text(
        "name: p\nagency: WYP\nsource_system: P\nrecords:\n  p: {entity: person, key: '{NAME}', "
        "fields: {surname: SURNAME}}\n"
    )
    message = cli.fails("import", str(data), "--mapping", str(yaml))
    assert "source has no field 'SURNAME'" in message


KEYS = st.text(st.characters(blacklist_characters="/", blacklist_categories=("Cs",)), min_size=1, max_size=5)
LEAVES = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
JSON = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=15,
)


def _leaves(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Each value of a record that is not an object, with its path: what a mapping can name."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _leaves(inner, (*path, key))
    else:
        yield "/".join(path), value


@given(st.dictionaries(KEYS, JSON, max_size=4))
def test_flattening_keeps_every_value_under_its_path(record: dict[str, Any]) -> None:
    flat = flatten_objects(record)
    expected = {path: value for path, value in _leaves(record) if path}
    assert flat.keys() == expected.keys()
    for path, value in expected.items():
        if isinstance(value, list):  # lists stay lists, their objects flattened alike
            assert flat[path] == [flatten_objects(v) if isinstance(v, dict) else v for v in value]
        else:
            assert flat[path] == value
    assert not any(isinstance(v, dict) for v in flat.values())


def test_a_feed_pushing_nested_objects_is_read_by_the_same_paths_as_an_xml_export(
    client: TestClient,  # noqa: F811 (the fixture)
) -> None:
    """The intelligence mapping reads an XML export's `Grading/Source` and `Subject/Surname`: a live feed
    pushing the same reports as nested JSON objects goes through it unchanged."""
    report = {
        "@id": "IR/2019/000901",
        "Created": "2019-03-01T10:00:00",
        "Summary": "Cannabis grown in the loft of a terraced house",
        "Text": "Strong smell and covered windows reported by neighbours.",
        "Grading": {"Source": "B", "Intelligence": "2", "Handling": "1"},
        "Subject": {"Surname": "SMITH", "Forenames": "John Paul", "DOB": "05/11/1980"},
        "Protective": "RESTRICTED",
    }
    response = client.post("/feeds/intel-xml-5x5x5", json={"records": [report]})
    assert response.status_code == 200, response.text
    done = response.json()
    assert balanced(done) == {"read": 1, "created": 1} and done["warnings"] == []
    record_id = ids.record_id("intelligence_report", "WYP", "IMS", "IR/2019/000901")
    stored = client.get(f"/records/{record_id}").json()
    assert stored["data"]["source_evaluation"] == "1" and stored["data"]["legacy_grading"]["source"] == "B"
