"""`each`: one record per item of a repeated part of a row (several subjects of one intelligence report), and
the links to each of them: XML and JSON, through the mapping, its errors and a whole import."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from openrms.cli import app
from openrms.ingest.mapping import MappingError, parse_mapping
from openrms.ingest.readers import open_reader
from openrms.store import ids
from openrms.store.database import Database
from openrms.store.links import links_of
from openrms.store.scope import Unrestricted
from openrms.store.views import get_record

SCOPE = Unrestricted("test")

REPORTS = """\
<?xml version="1.0" encoding="UTF-8"?>
<Export>
  <Report id="R1">
    <Summary>Two men seen dealing outside the Crown</Summary>
    <Subject ref="P-100" role="suspect"><Surname>SMITH</Surname><Forenames>John</Forenames>
      <DOB>05/11/1980</DOB></Subject>
    <Subject ref="P-200" role="associate"><Surname>JONES</Surname><Forenames>Mark</Forenames></Subject>
  </Report>
  <Report id="R2">
    <Summary>Lone subject</Summary>
    <Subject ref="P-100" role="suspect"><Surname>SMITH</Surname><Forenames>John</Forenames>
      <DOB>05/11/1980</DOB></Subject>
  </Report>
  <Report id="R3">
    <Summary>No subject named</Summary>
    <Subject/>
  </Report>
  <Report id="R4">
    <Summary>One date of birth that cannot be</Summary>
    <Subject ref="P-300" role="suspect"><Surname>BROWN</Surname><DOB>31/02/1990</DOB></Subject>
    <Subject ref="P-400" role="suspect"><Surname>GREEN</Surname></Subject>
  </Report>
</Export>
"""

MAPPING = textwrap.dedent(
    """\
    name: subjects
    source: {format: xml, record_path: /Export/Report}
    agency: WYP
    source_system: IMS2
    records:
      report:
        entity: intelligence_report
        key: "{@id}"
        fields:
          reference: "@id"
          summary: Summary
          source_evaluation: {const: "1"}
          intelligence_assessment: {const: A}
          handling_code: {const: P}
      subject:
        entity: person
        each: Subject
        key: "{@ref}"
        fields:
          surname: {from: Surname, case: title}
          forenames: Forenames
          date_of_birth: {from: DOB, date: ["%d/%m/%Y"], optional: true}
    links:
      - {type: SUBJECT, from: subject, to: report, key: "{/@id}/subject/{$item}"}
    """
)


def xml_rows(tmp_path: Path) -> list[Any]:
    path = tmp_path / "reports.xml"
    path.write_text(REPORTS)
    return list(open_reader(path, {"format": "xml", "record_path": "/Export/Report"}).rows())


def test_each_subject_of_a_report_is_a_record_with_its_own_fields(tmp_path: Path) -> None:
    mapping = parse_mapping(MAPPING)
    first, second, third, fourth = (mapping.apply(row.fields) for row in xml_rows(tmp_path))
    assert {name: (r.source_key, r.data) for name, r in first.records.items()} == {
        "report": ("R1", first.records["report"].data),
        "subject[1]": ("P-100", {"surname": "Smith", "forenames": "John", "date_of_birth": "1980-11-05"}),
        # Jones has no date of birth: he does not take Smith's, as a list of every DOB would give him
        "subject[2]": ("P-200", {"surname": "Jones", "forenames": "Mark"}),
    }
    assert [(k.source, k.target, k.source_key) for k in first.links] == [
        ("subject[1]", "report", "R1/subject/1"),
        ("subject[2]", "report", "R1/subject/2"),
    ]
    # One occurrence is an item too (the reader gives no "Subject[]" for it)
    assert set(second.records) == {"report", "subject[1]"}
    assert second.records["subject[1]"].data["date_of_birth"] == "1980-11-05"
    assert [k.source_key for k in second.links] == ["R2/subject/1"]
    # An empty <Subject/> names nobody: no record, no link
    assert set(third.records) == {"report"} and third.links == [] and third.reasons == []
    # A problem names the item it is in
    assert fourth.reasons == [
        "subject[1].date_of_birth: '31/02/1990' (from DOB) is not a real date (day is out of range for month)"
    ]


def test_a_condition_on_a_record_with_each_is_asked_of_every_item(tmp_path: Path) -> None:
    suspects = MAPPING.replace(
        "    each: Subject\n", "    each: Subject\n    when: {field: '@role', equals: suspect}\n"
    )
    first = parse_mapping(suspects).apply(xml_rows(tmp_path)[0].fields)
    assert [r.source_key for name, r in first.records.items() if name != "report"] == ["P-100"]
    assert [k.source for k in first.links] == ["subject[1]"]


def test_json_lists_of_objects_a_single_object_and_plain_values() -> None:
    mapping = parse_mapping(
        textwrap.dedent(
            """\
            name: json-each
            records:
              case: {entity: crime, key: "{ref}", fields: {crime_type: {const: BURGLARY}}}
              suspect:
                entity: person
                each: suspects
                key: "{/ref}/{$item}"
                fields: {surname: name}
              alias:
                entity: person
                each: aliases
                key: "{/ref}/alias/{#text}"
                fields: {surname: "#text"}
            links:
              - {type: SUSPECT, from: suspect, to: case}
            """
        )
    )
    row = {"ref": "C1", "suspects": [{"name": "Smith"}, {}, {"name": "Jones"}], "aliases": ["Smyth", ""]}
    mapped = mapping.apply(row)
    assert mapped.reasons == []
    assert {n: (r.source_key, r.data) for n, r in mapped.records.items() if n != "case"} == {
        "suspect[1]": ("C1/1", {"surname": "Smith"}),
        "suspect[2]": ("C1/2", {"surname": "Jones"}),  # the empty object is no item
        "alias[1]": ("C1/alias/Smyth", {"surname": "Smyth"}),
    }
    assert [(k.source, k.source_key) for k in mapped.links] == [
        ("suspect[1]", "C1/1/SUSPECT/C1"),
        ("suspect[2]", "C1/2/SUSPECT/C1"),
    ]
    one = mapping.apply({"ref": "C2", "suspects": {"name": "Brown"}})
    assert [r.data for n, r in one.records.items() if n != "case"] == [{"surname": "Brown"}]
    none = mapping.apply({"ref": "C3"})
    assert set(none.records) == {"case"} and none.links == [] and none.reasons == []


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.fixed_dictionaries({"name": st.text(alphabet="abcXYZ '-", min_size=1, max_size=12)}),
            st.just({}),
        ),
        max_size=8,
    )
)
def test_one_record_and_one_link_per_item_whatever_the_list(items: list[dict[str, str]]) -> None:
    mapping = parse_mapping(
        'name: p\nrecords:\n  case: {entity: crime, key: "{ref}", fields: {crime_type: {const: BURGLARY}}}\n'
        '  suspect: {entity: person, each: s, key: "{/ref}/{$item}", fields: {surname: name}}\n'
        "links:\n  - {type: SUSPECT, from: suspect, to: case}\n"
    )
    mapped = mapping.apply({"ref": "C", "s": items})
    named = [i for i in items if i]
    suspects = [r for n, r in mapped.records.items() if n.startswith("suspect[")]
    assert [r.source_key for r in suspects] == [f"C/{n}" for n in range(1, len(named) + 1)]
    assert len(mapped.links) == len(named)
    for record, item in zip(suspects, named, strict=True):
        if item["name"].strip():
            assert record.data == {"surname": item["name"].strip()}


def problems(text: str) -> list[str]:
    with pytest.raises(MappingError) as caught:
        parse_mapping(textwrap.dedent(text).lstrip("\n"), "each.yaml")
    return caught.value.problems


def test_mapping_errors_of_each_point_at_their_line() -> None:
    assert problems(
        """
        name: e
        records:
          case: {entity: crime, key: "{ref}/{$item}", fields: {crime_type: T}}
          one: {entity: person, each: "$row", key: "{id}"}
          two: {entity: person, each: [a, b], key: "{id}"}
          three: {entity: person, each: s, key: "{id}"}
          four: {entity: person, each: t, key: "{id}"}
        links:
          - {type: ASSOCIATE_OF, from: three, to: four}
          - {type: SUSPECT, from: three, to: case, key: "{$item}"}
          - {type: SUSPECT, from: one, to: case, key: "{ref}/{$item}"}
          - {type: OCCURRED_AT, from: case, to: {lookup: {entity: address, key: "{x}"}}, key: "{@three}"}
        """
    ) == [
        "line 3: $item is the number of an item of `each`; this record or link has no `each`",
        "line 4: record 'one': each must name the repeated part of a row, such as Subject (XML elements) "
        "or subjects (a JSON list of objects), not '$row'",
        "line 5: record 'two': each must name the repeated part of a row, such as Subject (XML elements) "
        "or subjects (a JSON list of objects), not ['a', 'b']",
        "line 9: a ASSOCIATE_OF link between 'three' and 'four', both records with `each`, would not say "
        "which item goes with which; link each of them to a record of the row instead",
        "line 11: $item is the number of an item of `each`; this record or link has no `each`",
        "line 12: {@three}: 'three' is a record with `each`, one per item; only a link to it can use its key",
    ]


def test_the_repeated_part_is_checked_against_the_columns_and_item_fields_are_not() -> None:
    mapping = parse_mapping(
        "name: c\nrecords:\n"
        '  p: {entity: person, each: Subjects, key: "{/Ref}/{$item}", fields: {surname: Name}}\n',
        "c.yaml",
    )
    assert mapping.fields_used == {"Subjects", "Ref"}
    mapping.check_columns(["Subjects", "Ref"])
    with pytest.raises(MappingError) as caught:
        mapping.check_columns(["Subject", "Ref"])
    assert caught.value.problems == ["line 3: source has no field 'Subjects'; did you mean 'Subject'?"]


def openrms(db: Database, *args: str) -> Any:
    result = CliRunner(env={"COLUMNS": "400", "NO_COLOR": "1"}).invoke(app, [*args, "--db", db.url])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_an_import_with_each_links_every_subject_and_is_idempotent(db: Database, tmp_path: Path) -> None:
    source, mapping = tmp_path / "reports.xml", tmp_path / "subjects.yaml"
    source.write_text(REPORTS)
    mapping.write_text(MAPPING)
    args = ("import", str(source), "--mapping", str(mapping), "--json")
    dry = openrms(db, *args, "--dry-run")
    assert dry["rows"] == {"read": 4, "created": 3, "quarantined": 1}
    assert dry["links"] == {"created": 3}  # what the import will do with the links, as with the records
    report = openrms(db, *args)
    assert report["rows"] == {"read": 4, "created": 3, "quarantined": 1}
    assert report["records"] == {"intelligence_report": {"created": 3}, "person": {"created": 2}}
    assert report["links"] == {"created": 3}
    [entry] = openrms(db, "quarantine", "list", "--run", report["run_id"], "--json")
    assert entry["location"].startswith("element 4 ") and entry["reasons"][0].startswith(
        "subject[1].date_of_birth: '31/02/1990' (from DOB) is not a real date"
    )

    def rid(entity: str, key: str) -> str:
        return ids.record_id(entity, "WYP", "IMS2", key)

    with db.read() as conn:
        subjects = links_of(conn, [rid("intelligence_report", "R1")], SCOPE)
        assert sorted(link["from_id"] for link in subjects) == sorted(
            [rid("person", "P-100"), rid("person", "P-200")]
        )
        jones = get_record(conn, rid("person", "P-200"), SCOPE)
        assert jones is not None and "date_of_birth" not in jones["data"]
        smith = links_of(conn, [rid("person", "P-100")], SCOPE)
        assert len(smith) == 2  # the subject of R1 and of R2: one person, two links
    assert openrms(db, *args, "--dry-run")["links"] == {"unchanged": 3}
    again = openrms(db, *args)
    assert again["rows"] == {"read": 4, "unchanged": 3, "quarantined": 1}
    assert again["links"] == {"unchanged": 3}


def test_the_example_in_the_docs_does_what_they_say(tmp_path: Path) -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "mapping.md").read_text()
    section = text.split("### Several records of one name: `each`")[1].split("\n### ")[0]
    xml, yaml = (section.split(f"```{kind}\n")[1].split("```")[0] for kind in ("xml", "yaml"))
    source = tmp_path / "doc.xml"
    source.write_text(f"<Export>{xml}</Export>")
    [row] = open_reader(source, {"format": "xml", "record_path": "/Export/Report"}).rows()
    mapping = parse_mapping("name: doc\nagency: WYP\nsource_system: DOC\n" + yaml)
    mapped = mapping.apply(row.fields)
    # the condition keeps the suspect only; the associate has no record and no link
    assert {n: r.data for n, r in mapped.records.items() if n != "report"} == {
        "subject[1]": {"surname": "Smith", "date_of_birth": "1980-11-05"}
    }
    assert [(k.source, k.target, k.source_key) for k in mapped.links] == [
        ("subject[1]", "report", "R1/subject/1")
    ]
