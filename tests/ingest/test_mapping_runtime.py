"""Records, keys, links, lookups and markings of a row; pickling and fork; `apply` never raises."""

from __future__ import annotations

import os
import pickle
import textwrap
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from openrms.ingest.mapping import load_mapping, parse_mapping, row_context
from openrms.ingest.rows import MappedLink, RecordRef, SourceRow

CASE_FILE = textwrap.dedent(
    """
    name: case-file
    agency: WYP
    source_system: NICHE
    defaults: {classification: OFFICIAL, handling: P}
    translations:
      roles: {S: SUSPECT, V: VICTIM, W: WITNESS}
      legacy_marking: {PROTECT: OFFICIAL, RESTRICTED: OFFICIAL-SENSITIVE}
    records:
      crime:
        entity: crime
        key: "{CrimeNo}"
        fields:
          reference: CrimeNo
          crime_type: {from: Type, case: upper}
        classification: {from: Marking, translate: legacy_marking, optional: true}
      person:
        entity: person
        when: {field: Surname, present: true}
        key: "{PersonId}"
        fields:
          surname: Surname
        handling: {from: Handling}
        handling_conditions: {from: Conditions}
      place:
        entity: address
        when: {field: Postcode, present: true}
        key: {from: UPRN, default: {template: "{Postcode}/{Street}"}}
        fields: {street: Street, postcode: Postcode}
    links:
      - {type: SUSPECT, from: person, to: crime, valid_from: {from: Seen, date: ["%d/%m/%Y"], optional: true}}
      - {type: OCCURRED_AT, from: crime, to: place, key: "{@crime}/at/{@place}"}
      - type: VICTIM
        from: {lookup: {entity: person, key: "{VictimRef}", source_system: NOMIS, agency: HMPPS}}
        to: crime
        when: {field: VictimRef, matches: "^V"}
      - {type: WITNESS, from: {lookup: {entity: person, key: "{WitnessRef}"}}, to: crime}
    """
)

ROW = {
    "CrimeNo": "13/1234/18",
    "Type": "burglary",
    "Marking": "RESTRICTED",
    "PersonId": "P1",
    "Surname": "Smith",
    "Handling": "c",
    "Conditions": "Not to be shared with schools",
    "UPRN": "",
    "Postcode": "LS1 4AP",
    "Street": "Park Row",
    "Seen": "05/07/2018",
    "VictimRef": "V77",
    "WitnessRef": "",
}


def test_records_keys_markings_and_links_of_a_row() -> None:
    out = parse_mapping(CASE_FILE).apply(ROW)
    assert out.reasons == []
    crime, person, place = out.records["crime"], out.records["person"], out.records["place"]
    assert (crime.entity_type, crime.source_key, crime.data) == (
        "crime",
        "13/1234/18",
        {"reference": "13/1234/18", "crime_type": "BURGLARY"},
    )
    assert (crime.classification, crime.handling, crime.handling_conditions) == (
        "OFFICIAL-SENSITIVE",
        "P",
        None,
    )
    assert (person.classification, person.handling) == ("OFFICIAL", "C")
    assert person.handling_conditions == "Not to be shared with schools"
    assert place.source_key == "LS1 4AP/Park Row"  # the key's default expression
    assert out.links == [
        MappedLink("SUSPECT", "person", "crime", "P1/SUSPECT/13/1234/18", valid_from="2018-07-05"),
        MappedLink("OCCURRED_AT", "crime", "place", "13/1234/18/at/LS1 4AP/Park Row"),
        MappedLink("VICTIM", RecordRef("person", "V77", "NOMIS", "HMPPS"), "crime", "V77/VICTIM/13/1234/18"),
    ]  # no witness: its lookup key is empty


def test_links_touching_a_record_left_out_by_when_are_dropped() -> None:
    out = parse_mapping(CASE_FILE).apply({**ROW, "Surname": "", "Postcode": "", "VictimRef": "X1"})
    assert set(out.records) == {"crime"}
    assert out.links == [] and out.reasons == []


def test_lookup_with_this_imports_system() -> None:
    out = parse_mapping(CASE_FILE).apply({**ROW, "WitnessRef": "W9"})
    witness = [link for link in out.links if link.link_type == "WITNESS"]
    assert witness == [MappedLink("WITNESS", RecordRef("person", "W9"), "crime", "W9/WITNESS/13/1234/18")]


def test_an_empty_key_is_a_row_error() -> None:
    out = parse_mapping(CASE_FILE).apply({**ROW, "CrimeNo": "  "})
    assert out.reasons == [
        "crime: the key ({CrimeNo}) is empty for this row, so the record cannot be identified"
    ]


def test_a_bad_marking_is_a_row_error() -> None:
    out = parse_mapping(CASE_FILE).apply({**ROW, "Handling": "Z"})
    assert out.reasons == ["person.handling: 'Z' is not a handling (4, 5, C, P)"]


def test_every_problem_of_a_row_is_reported() -> None:
    text = CASE_FILE.replace(
        "surname: Surname", 'surname: Surname\n      date_of_birth: {from: DOB, date: ["%d/%m/%Y"]}'
    )
    out = parse_mapping(text).apply({**ROW, "DOB": "31/02/1980", "Seen": "yesterday", "Handling": "Z"})
    assert out.reasons == [
        "person.date_of_birth: '31/02/1980' (from DOB) is not a real date (day is out of range for month)",
        "person.handling: 'Z' is not a handling (4, 5, C, P)",
        "link SUSPECT: 'yesterday' (from Seen) matches none of the date patterns %d/%m/%Y",
    ]


def test_agency_and_source_system_overrides() -> None:
    m = parse_mapping(CASE_FILE)
    assert (m.agency, m.source_system, m.defaults) == (
        "WYP",
        "NICHE",
        {"classification": "OFFICIAL", "handling": "P"},
    )
    other = parse_mapping(CASE_FILE, agency="NYP", source_system="RMS")
    assert (other.agency, other.source_system) == ("NYP", "RMS")
    assert other.digest != m.digest


# --- $file, $line, $row ------------------------------------------------------------------------------

POSITIONAL = textwrap.dedent(
    """
    name: pos
    records:
      e:
        entity: incident
        key: {from: Ref, default: {template: "{$file}/{$line}/{$row}"}}
        fields: {incident_type: {const: OTHER}}
    """
)


def test_row_context_gives_file_line_and_row() -> None:
    source_row = SourceRow(number=6, location="line 7", raw="", fields={"Ref": ""})
    context = row_context(source_row, "/exports/2018/incidents.csv")
    assert context == {"row": 6, "file": "incidents.csv", "line": 7}
    m = parse_mapping(POSITIONAL)
    assert m.context_used == {"$file", "$line", "$row"}
    assert m.apply({"Ref": ""}, context).records["e"].source_key == "incidents.csv/7/6"
    assert row_context(SourceRow(3, "element 3 at /Export/Item", "")) == {"row": 3}


def test_a_missing_context_value_is_a_row_error() -> None:
    out = parse_mapping(POSITIONAL).apply({"Ref": ""})
    assert out.reasons == ["e: $file (the source file's name) was not supplied by this import"]
    assert parse_mapping(POSITIONAL).apply({"Ref": "R1"}).records["e"].source_key == "R1"


# --- a compiled mapping in other processes -----------------------------------------------------------


def test_a_mapping_pickles_and_works_after_fork() -> None:
    m = parse_mapping(CASE_FILE, agency="NYP")
    copy = pickle.loads(pickle.dumps(m))
    assert copy.apply(ROW) == m.apply(ROW) and copy.agency == "NYP" and copy.digest == m.digest
    assert pickle.loads(pickle.dumps(load_mapping("police-uk"))).ref == "police-uk"
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: apply the inherited mapping and report
        os.close(read)
        ok = m.apply(ROW).records["crime"].data == {"reference": "13/1234/18", "crime_type": "BURGLARY"}
        os.write(write, b"ok" if ok else b"no")
        os._exit(0)
    os.close(write)
    assert os.read(read, 2) == b"ok"
    os.waitpid(pid, 0)


# --- apply never raises --------------------------------------------------------------------------------

EVERYTHING = textwrap.dedent(
    """
    name: all
    null_values: ["NULL", "-"]
    translations:
      g: {"1": M, "2": F}
      h: {Y: "true", _default: "false"}
    skip_when: {field: A, equals: SKIP}
    records:
      p:
        entity: person
        when: {any: [{field: A, present: true}, {field: B, matches: "^x"}]}
        key: "{A}{B}"
        fields:
          surname: {from: A, split: {by: ",", part: 0}, case: title}
          forenames: {from: A, split: {by: ",", part: 1}, replace: {"\\\\d": ""}}
          gender: {from: B, translate: g}
          aliases: {from: [C, A], join: ";", many: ";"}
          date_of_birth: {from: C, date: ["%d/%m/%Y", "%Y-%m-%d", "%Y"], as: year_start}
          physical_description: {fields: {height_cm: {from: B, number: int}}}
        handling: {from: C}
      c:
        entity: crime
        key: {template: "{B}-{C}", default: {from: A}}
        fields:
          crime_type: {const: BURGLARY}
          hate_crime: {from: C, translate: h, boolean: true}
          occurred_from: {from: A, datetime: ["%d/%m/%Y %H:%M", "%Y-%m"], as: month_end, timezone: UTC}
          reference: {template: "{$row}-{A}"}
        classification: {from: B}
    links:
      - {type: SUSPECT, from: p, to: c, key: "{@p}~{@c}~{C}", valid_from: {from: C, number: float}}
      - {type: VICTIM, from: {lookup: {entity: person, key: "{B}"}}, to: c}
    """
)
_values = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.sampled_from(["", " ", "NULL", "1", "2", "Y", "31/02/2019", "2018-07", "1999", "x,y", "SKIP", "{A}"]),
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
)
_rows = st.dictionaries(st.sampled_from(["A", "B", "C", "D", "Other"]), _values, max_size=5)
_contexts = st.one_of(st.none(), st.fixed_dictionaries({"row": st.integers(), "file": st.text(max_size=5)}))


@settings(max_examples=400, deadline=None)
@given(row=_rows, context=_contexts)
def test_apply_never_raises(row: dict[str, Any], context: dict[str, Any] | None) -> None:
    out = parse_mapping_once().apply(row, context)
    assert isinstance(out.reasons, list)
    assert all(isinstance(r, str) and r for r in out.reasons)
    for record in out.records.values():
        assert isinstance(record.source_key, str)


_compiled: list[Any] = []


def parse_mapping_once() -> Any:
    if not _compiled:
        _compiled.append(parse_mapping(EVERYTHING))
    return _compiled[0]
