"""A broken mapping is refused before any row is read, with every problem and the YAML line of each."""

from __future__ import annotations

import textwrap

import pytest

from openrms.errors import BadRequest
from openrms.ingest.mapping import MappingError, builtin_mappings, load_mapping, parse_mapping


def problems(text: str) -> list[str]:
    with pytest.raises(MappingError) as caught:
        parse_mapping(textwrap.dedent(text).lstrip("\n"), "test.yaml")
    assert isinstance(caught.value, BadRequest) and caught.value.status == 400
    return caught.value.problems


def only(text: str) -> str:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


BROKEN = """
name: broken
sorce: {format: csv}
translations:
  outcomes: {A: NO_SUSPECT, B: NO_SUSPCT}
records:
  crime:
    entity: crim
    key: Crime ID
  person:
    entity: person
    key: "{Ref"
    fields:
      surname: {from: Name, split: {by: ",", part: x}, translte: foo}
      forenames: {from: Name, translate: nope, date: ["%Q"]}
      date_of_birth: {from: DOB, date: ["%d/%m"], replace: {"(": x}}
      shoe_size: Shoe
      physical_description: Desc
  ev:
    entity: crime
    key: "{Ref}"
    fields:
      outcome: {from: O, translate: outcomes}
      crime_type: {const: BURGLRY}
    when: {field: X, equal: "1"}
links:
  - {type: OCCURED_AT, from: crime, to: place}
  - {type: OCCURRED_AT, from: person, to: ev, key: "{@nobody}"}
  - {type: SUSPECT, from: {lookup: {entity: persn, key: "{P}"}}, to: ev}
"""


def test_every_problem_is_reported_at_once_with_its_line() -> None:
    found = problems(BROKEN)
    expected = [
        "line 2: unknown key 'sorce' in the mapping; did you mean 'source'?",
        "line 4: translation 'outcomes' gives 'NO_SUSPCT' for 'B', which is not a code of list "
        "'crime_outcome' (used by ev.outcome (line 22)); did you mean 'NO_SUSPECT'?",
        "line 7: unknown entity type 'crim'; did you mean 'crime'?",
        "line 8: crime key 'Crime ID' has no {placeholders}, so every row would get the same key; "
        "did you mean '{Crime ID}'?",
        "line 11: template '{Ref': '{' at position 1 is not closed (write '{{' for a literal brace)",
        "line 13: split part must be a whole number (0 is the first), not 'x'",
        "line 13: unknown key 'translte' in field expression person.surname; did you mean 'translate'?",
        "line 14: invalid date pattern '%Q': 'Q' is a bad directive in format '%Q'",
        "line 14: unknown translation table 'nope' (valid: outcomes)",
        "line 15: date pattern '%d/%m' has no year (%Y or %y)",
        "line 15: invalid regular expression '(': missing ), unterminated subpattern at position 0",
        "line 17: person.physical_description is an object: give its parts under `fields:` "
        "(height_cm, build, hair_colour, eye_colour, distinguishing_marks)",
        "line 23: ev.crime_type: 'BURGLRY' is not a code of list 'crime_type'; did you mean 'BURGLARY'?",
        "line 24: a field condition needs exactly one of equals, in, present, matches",
        "line 24: unknown key 'equal' in a condition; did you mean 'equals'?",
        "line 26: link to 'place': no record of that name (valid: crime, ev, person)",
        "line 26: unknown link type 'OCCURED_AT'; did you mean 'OCCURRED_AT'?",
        "line 27: OCCURRED_AT links cannot go from record 'person' (a person); from must be one of "
        "anti_social_behaviour, crime, custody, incident, intelligence_report, safeguarding_concern, "
        "stop_search",
        "line 27: OCCURRED_AT links cannot go to record 'ev' (a crime); to must be one of "
        "address, area, no_fixed_abode, point",
        "line 28: lookup needs a known `entity` (not 'persn'); did you mean 'person'?",
    ]
    unknown_field = [p for p in found if "shoe_size" in p]
    assert found == sorted(expected + unknown_field, key=lambda p: (int(p.split(":")[0][5:]), p))
    assert unknown_field[0].startswith(
        "line 16: person has no field 'shoe_size' (fields: aliases, cro_number,"
    )


def test_the_message_lists_every_problem_under_the_origin() -> None:
    with pytest.raises(MappingError) as caught:
        parse_mapping(BROKEN.lstrip("\n"), "legacy.yaml")
    message = str(caught.value)
    assert message.startswith("mapping legacy.yaml has 21 problems:\n  line 2: ")
    assert "\n  line 28: lookup needs" in message


def test_yaml_syntax_errors_give_their_line() -> None:
    problem = only("name: x\nrecords:\n  crime: {entity: crime\n  other: 1\n")
    assert problem.startswith("line 4: YAML syntax") and "line 3" in problem
    assert only("name: x\nrecords:\n\tcrime: 1\n").startswith("line 3: YAML syntax")


def test_yaml_tags_are_refused_like_safe_load() -> None:
    assert "YAML syntax" in only("name: !!python/object:os.system x\nrecords: {}\n")


def test_duplicate_record_names_and_keys() -> None:
    found = problems(
        """
        name: dup
        records:
          crime: {entity: crime, key: "{A}", fields: {crime_type: T}}
          crime: {entity: crime, key: "{B}", fields: {crime_type: T, crime_type: U}}
        """
    )
    assert found == [
        "line 4: duplicate key 'crime' (first at line 3)",
        "line 4: duplicate key 'crime_type' (first at line 4)",
    ]


def test_unknown_keys_at_every_level_suggest_the_closest() -> None:
    found = problems(
        """
        name: k
        record:
          x: 1
        records:
          p:
            entiy: person
            entity: person
            key: "{A}"
            fields:
              surname: {form: A}
        """
    )
    assert "line 2: unknown key 'record' in the mapping; did you mean 'records'?" in found
    assert "line 6: unknown key 'entiy' in record 'p'; did you mean 'entity'?" in found
    assert "line 10: unknown key 'form' in field expression p.surname; did you mean 'from'?" in found
    assert "line 10: p.surname needs one of from, const or template" in found


def test_unknown_target_field_lists_the_valid_ones() -> None:
    problem = only(
        """
        name: f
        records:
          e:
            entity: point
            key: "{A}"
            fields: {lat: A}
        """
    )
    assert problem == (
        "line 6: point has no field 'lat' (fields: description, latitude, longitude, lsoa_code, lsoa_name)"
    )


def test_link_problems() -> None:
    found = problems(
        """
        name: l
        records:
          c: {entity: crime, key: "{A}", fields: {crime_type: T}}
          p: {entity: person, key: "{B}"}
        links:
          - {type: SUSPECT, from: c, to: p}
          - {type: SUSPECT, from: p, to: crme}
          - {type: NOPE, from: p, to: c}
          - {from: p, to: c}
        """
    )
    assert found[:3] == [
        "line 6: SUSPECT links cannot go from record 'c' (a crime); from must be one of person; "
        "swap `from` and `to`",
        "line 6: SUSPECT links cannot go to record 'p' (a person); to must be one of anti_social_behaviour, "
        "crime, custody, incident, intelligence_report, safeguarding_concern, stop_search; "
        "swap `from` and `to`",
        "line 7: link to 'crme': no record of that name (valid: c, p)",
    ]
    assert found[3].startswith("line 8: unknown link type 'NOPE' (valid: ASSOCIATE_OF, DETAINED_PERSON,")
    assert found[4:] == ["line 9: a link needs a `type`, e.g. OCCURRED_AT"]


def test_link_end_messages_name_the_entity_with_its_article() -> None:
    """A wrong end that swapping would not mend gets no swap hint, and "an incident", not "a incident"."""
    found = problems(
        """
        name: l
        records:
          i: {entity: incident, key: "{A}", fields: {incident_type: OTHER}}
          v: {entity: vehicle, key: "{B}"}
        links:
          - {type: MISSING_PERSON, from: i, to: v}
        """
    )
    assert found == [
        "line 6: MISSING_PERSON links cannot go from record 'i' (an incident); from must be one of person",
        "line 6: MISSING_PERSON links cannot go to record 'v' (a vehicle); to must be one of incident",
    ]


def test_lookup_and_key_problems() -> None:
    found = problems(
        """
        name: l
        records:
          c:
            entity: crime
            key: {template: "{A"}
        links:
          - type: SUSPECT
            from: {lookup: {entity: person}}
            to: c
          - type: SUSPECT
            from: {lookup: {entity: person, key: "{P}", system: X}}
            to: c
        """
    )
    assert "line 5: template '{A': '{' at position 1 is not closed (write '{{' for a literal brace)" in found
    assert 'line 8: lookup needs a `key` template, e.g. "{PersonRef}"' in found
    assert "line 11: unknown key 'system' in a lookup; did you mean 'source_system'?" in found


def test_template_brace_problems() -> None:
    assert "unmatched '}'" in only('name: t\nrecords:\n  p: {entity: person, key: "{A}}"}\n')
    assert "empty placeholder" in only('name: t\nrecords:\n  p: {entity: person, key: "{A}{}"}\n')
    # Outside a link's key, `@name` is a source field (an XML attribute), never an error
    assert parse_mapping('name: t\nrecords:\n  c: {entity: person, key: "{@id}"}\n').fields_used == {"@id"}
    assert "unknown row value '$lin'; did you mean '$line'?" in only(
        'name: t\nrecords:\n  c: {entity: person, key: "{$lin}"}\n'
    )


def test_expression_value_problems() -> None:
    found = problems(
        """
        name: e
        records:
          c:
            entity: crime
            key: "{A}"
            fields:
              crime_type: {from: T, case: shouting}
              occurred_from: {from: D, datetime: ["%Y"], as: midnight, timezone: Mars/Olympus}
              occurred_to: {from: D, date: ["%Y"], timezone: UTC, number: int}
              hate_crime: {from: H, boolean: true, optional: perhaps}
              reference: {from: R, many: ","}
              narrative: {from: [A, B], const: x}
              summary: {from: A, join: " "}
        """
    )
    assert found == [
        "line 7: case must be upper, lower or title, not 'shouting'",
        "line 8: as must be one of month_start, month_end, year_start, year_end, day_start, day_end, "
        "not 'midnight'",
        "line 8: unknown time zone 'Mars/Olympus' (e.g. UTC, Europe/London)",
        "line 9: c.occurred_to takes only one of date, number",
        "line 9: timezone goes with datetime (dates have no time zone)",
        "line 10: optional must be true or false, not 'perhaps'",
        "line 11: c.reference holds one value; `many` would make a list",
        "line 12: c.narrative takes only one of from, const or template",
        "line 13: c.summary: join needs `from` with a list of fields",
    ]
    problem = only(
        'name: r\nrecords:\n  p:\n    entity: person\n    key: "{A}"\n'
        "    fields: {surname: {from: S, replace: {'(a)': '\\2'}}}\n"
    )
    assert problem.startswith("line 6: replacement '\\2' for '(a)': invalid group reference 2")


def test_condition_problems() -> None:
    found = problems(
        """
        name: c
        skip_when: {field: A, matches: "("}
        records:
          c:
            entity: person
            key: "{A}"
            when: {all: {field: A, present: true}}
            fields:
              surname: {from: S, when: {field: A, equals: x, not: {field: B, present: true}}}
              forenames: {from: S, when: {field: A}}
        """
    )
    assert found == [
        "line 2: invalid regular expression '(': missing ), unterminated subpattern at position 0",
        "line 7: all must be a list of conditions",
        "line 9: a condition is one of {field: ...}, {all: [...]}, {any: [...]} or {not: ...}",
        "line 10: a field condition needs exactly one of equals, in, present, matches",
    ]


def test_defaults_are_checked_against_the_marking_code_lists() -> None:
    problem = only(
        'name: d\ndefaults: {classification: OFFICAL}\nrecords:\n  p: {entity: person, key: "{A}"}\n'
    )
    assert (
        problem
        == "line 2: classification 'OFFICAL' is not one of OFFICIAL, OFFICIAL-SENSITIVE, SECRET, TOP-SECRET"
    )


def test_a_mapping_without_records_or_not_a_mapping() -> None:
    assert only("name: x\n") == "line 1: the mapping has no `records`: say which records each row becomes"
    assert only("- a\n- b\n").startswith("line 1: a mapping is a YAML mapping")


# --- check_columns -------------------------------------------------------------------------------------

COLUMNS_MAPPING = """
name: cols
skip_when: {field: Status, equals: DELETED}
records:
  crime:
    entity: crime
    key: "{Crime Ref}"
    when: {field: Kind, in: [C]}
    fields:
      crime_type: Crime Type
      reference: {template: "{Crime Ref}/{$row}"}
      narrative: {from: [Notes, Summary], join: " "}
"""


def test_check_columns_reports_every_use_with_suggestions() -> None:
    m = parse_mapping(COLUMNS_MAPPING.lstrip("\n"), "cols.yaml")
    assert m.fields_used == {"Status", "Crime Ref", "Kind", "Crime Type", "Notes", "Summary"}
    m.check_columns(["Status", "Crime Ref", "Kind", "Crime Type", "Notes", "Summary", "Other"])
    m.check_columns(None)  # formats without declared columns are not checked
    with pytest.raises(MappingError) as caught:
        m.check_columns(["Status", "Crime ref", "Kind", "Crime type", "Note", "Summary"])
    assert caught.value.problems == [
        "line 6: source has no field 'Crime Ref'; did you mean 'Crime ref'?",
        "line 9: source has no field 'Crime Type'; did you mean 'Crime type'?",
        "line 10: source has no field 'Crime Ref'; did you mean 'Crime ref'?",
        "line 11: source has no field 'Notes'; did you mean 'Note'?",
    ]


def test_check_columns_lists_the_columns_when_nothing_is_close() -> None:
    m = parse_mapping(COLUMNS_MAPPING.lstrip("\n"))
    with pytest.raises(MappingError) as caught:
        m.check_columns(["Status", "Crime Ref", "Kind", "Crime Type", "Summary", "Zzz"])
    assert caught.value.problems == [
        "line 11: source has no field 'Notes' (columns: Crime Ref, Crime Type, Kind, Status, Summary, Zzz)"
    ]


# --- loading -----------------------------------------------------------------------------------------


def test_builtin_and_file_mappings(tmp_path) -> None:
    assert "police-uk" in builtin_mappings()
    assert load_mapping("police-uk").name == "police-uk"
    custom = tmp_path / "mine.yaml"
    custom.write_text('records:\n  p: {entity: person, key: "{A}", fields: {surname: S}}\n')
    m = load_mapping(custom, agency="NYP", source_system="RMS")
    assert (m.name, m.agency, m.source_system) == ("mine", "NYP", "RMS")
    with pytest.raises(MappingError, match="no mapping file 'nosuch' and no built-in mapping"):
        load_mapping("nosuch")


def test_alias_bombs_and_deep_nesting_are_refused() -> None:
    """Mappings can arrive over the HTTP API: a "billion laughs" must not hang the server."""
    levels = "".join(f"x-{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]\n" for i in range(1, 9))
    bomb = "name: b\nx-0: &l0 [a, a, a, a, a, a, a, a, a]\n" + levels + "records: {}\n"
    assert "expands to more than 200,000 values" in only(bomb)
    deep = "{not: " * 3000 + "{field: A, present: true}" + "}" * 3000
    assert only(f'name: d\nrecords:\n  p: {{entity: person, key: "{{A}}", when: {deep}}}\n') == (
        "the mapping is nested too deeply"
    )
