"""Every field expression and condition of the mapping language, applied to small rows."""

from __future__ import annotations

import datetime as dt
import textwrap
from typing import Any

import pytest

from openrms.ingest.mapping import parse_mapping


def mapping_text(fields: str, *, entity: str = "person", extra: str = "", when: str = "") -> str:
    body = textwrap.indent(textwrap.dedent(fields).strip(), " " * 6)
    record_when = f"    when: {when}\n" if when else ""
    return (
        f"name: t\n{textwrap.dedent(extra).strip()}\nrecords:\n  r:\n    entity: {entity}\n"
        f'    key: "{{id}}"\n{record_when}    fields:\n{body}\n'
    )


def run(fields: str, row: dict[str, Any], **kw: Any) -> tuple[dict[str, Any], list[str]]:
    out = parse_mapping(mapping_text(fields, **kw)).apply({"id": "1", **row})
    return (out.records["r"].data if "r" in out.records else {}), out.reasons


def value(expr: str, row: dict[str, Any], field: str = "surname", **kw: Any) -> Any:
    data, reasons = run(f"{field}: {expr}", row, **kw)
    assert not reasons, reasons
    return data.get(field)


def reasons_of(expr: str, row: dict[str, Any], field: str = "surname", **kw: Any) -> list[str]:
    return run(f"{field}: {expr}", row, **kw)[1]


# --- reading: from, const, template, join, trim, null_values ---------------------------------------------


def test_shorthand_and_from_take_a_source_field_trimmed() -> None:
    assert value("Name", {"Name": "  Smith "}) == "Smith"
    assert value("{from: Name}", {"Name": "Smith"}) == "Smith"
    assert value("{from: Name, trim: false}", {"Name": " Smith "}) == " Smith "


def test_empty_and_missing_values_leave_the_field_out() -> None:
    data, reasons = run("surname: Name\nforenames: Other", {"Name": "   "})
    assert data == {} and reasons == []


def test_from_a_list_takes_the_first_non_empty_or_joins_with_join() -> None:
    row = {"A": "", "B": "second", "C": "third"}
    assert value("{from: [A, B, C]}", row) == "second"
    assert value('{from: [A, B, C], join: " "}', row) == "second third"
    assert value('{from: [A, B], join: "-"}', {"A": "x", "B": None}) == "x"


def test_const_and_template() -> None:
    assert value("{const: SMITH}", {}) == "SMITH"
    assert value('{template: "{Last}, {First}"}', {"Last": "Smith", "First": "Jo"}) == "Smith, Jo"
    assert value('{template: "{{{Ref}}}"}', {"Ref": "X1"}) == "{X1}"
    # every placeholder empty: the template is empty, so the field is left out (or default applies)
    assert value('{template: "{Last}, {First}"}', {"Last": "", "First": ""}) is None
    assert value('{template: "{A}/{B}/{C}", default: none}', {"A": "", "B": "", "C": ""}) == "none"


def test_null_values_per_expression_and_for_the_whole_mapping() -> None:
    expr = '{from: Name, null_values: ["NULL", "N/A", UNKNOWN]}'
    assert value(expr, {"Name": "null"}) is None
    assert value(expr, {"Name": " N/A "}) is None
    assert value(expr, {"Name": "Smith"}) == "Smith"
    extra = 'null_values: ["NULL", "-"]'
    assert value("Name", {"Name": "NULL"}, extra=extra) is None
    assert value('{template: "{A} {B}"}', {"A": "Jo", "B": "-"}, extra=extra) == "Jo "


def test_non_text_source_values_are_read_as_text() -> None:
    assert value("N", {"N": 42}) == "42"
    assert value("N", {"N": True}) == "true"
    assert value("N", {"N": ["a", " b ", ""]}) == "a, b"
    assert value("N", {"N": None}) is None


# --- text steps: split, replace, case ----------------------------------------------------------------


def test_split_smith_john_paul() -> None:
    row = {"Name": "SMITH, John Paul"}
    data, reasons = run(
        """
        surname: {from: Name, split: {by: ",", part: 0}}
        forenames: {from: Name, split: {by: ",", part: 1}}
        title: {from: Name, split: {by: ",", part: 2}}
        """,
        row,
    )
    assert reasons == []
    assert data == {"surname": "SMITH", "forenames": "John Paul"}  # a missing part is empty
    assert value('{from: Name, split: {by: " ", part: -1}}', row) == "Paul"


def test_replace_in_order_then_case() -> None:
    expr = '{from: Name, replace: {"[^A-Za-z ]": "", "\\\\s+": " "}, case: title}'
    assert value(expr, {"Name": "o'brien   SMITH-1"}) == "Obrien Smith"
    assert value("{from: Name, case: upper}", {"Name": "smith"}) == "SMITH"
    assert value("{from: Name, case: lower}", {"Name": "SMITH"}) == "smith"
    assert (
        value('{from: Name, replace: {"(\\\\w+) (\\\\w+)": "\\\\2 \\\\1"}}', {"Name": "Jo Smith"})
        == "Smith Jo"
    )


def test_many_splits_into_a_list_and_later_steps_apply_per_item() -> None:
    assert value('{from: A, many: ";"}', {"A": "Jo; Joe ;;Joey"}, field="aliases") == ["Jo", "Joe", "Joey"]
    assert value('{from: A, many: ";"}', {"A": " ; "}, field="aliases") is None
    extra = "translations:\n  markers: {V: VI, W: WE}"
    got = value(
        '{from: M, many: ",", translate: markers}', {"M": "V,W"}, field="warning_markers", extra=extra
    )
    assert got == ["VI", "WE"]


def test_many_takes_the_items_of_a_list_value_as_they_are() -> None:
    """XML repeated elements and JSON arrays arrive as lists: their items are not split again."""
    row = {"Subject/Alias": ["Smith, J", " jones ", "", None, "NULL"]}
    expr = '{from: Subject/Alias, many: ";", case: upper, null_values: ["NULL"]}'
    assert value(expr, row, field="aliases") == ["SMITH, J", "JONES"]
    assert value("Subject/Alias", row) == "Smith, J, jones, NULL"  # not `many`: the items joined with ", "


# --- translate ---------------------------------------------------------------------------------------

TABLES = """
translations:
  legacy_gender: {"1": M, "2": F, "9": U}
  yes_no: {Y: "true", N: "false", _default: "false"}
  blanks: {"": U, M: M}
"""


def test_translate_maps_legacy_codes() -> None:
    assert value("{from: G, translate: legacy_gender}", {"G": "2"}, field="gender", extra=TABLES) == "F"


def test_translate_unknown_code_is_a_row_error_listing_known_codes() -> None:
    reasons = reasons_of("{from: G, translate: legacy_gender}", {"G": "XB"}, field="gender", extra=TABLES)
    assert reasons == [
        "r.gender: 'XB' (from G) is not in translation table 'legacy_gender' (known: '1', '2', '9')"
    ]


def test_translate_default_answers_unknown_and_empty_values() -> None:
    expr = "{from: H, translate: yes_no, boolean: true}"
    assert value(expr, {"H": "Y"}, field="hate_crime", entity="crime", extra=TABLES) is True
    assert value(expr, {"H": "Q"}, field="hate_crime", entity="crime", extra=TABLES) is False
    assert value(expr, {"H": ""}, field="hate_crime", entity="crime", extra=TABLES) is False


def test_translate_of_an_empty_value_needs_optional_or_an_entry_for_it() -> None:
    reasons = reasons_of("{from: G, translate: legacy_gender}", {"G": ""}, field="gender", extra=TABLES)
    assert reasons and "an empty value (from G) is not in translation table 'legacy_gender'" in reasons[0]
    assert (
        value("{from: G, translate: legacy_gender, optional: true}", {"G": ""}, "gender", extra=TABLES)
        is None
    )
    assert value("{from: G, translate: blanks}", {"G": ""}, field="gender", extra=TABLES) == "U"


def test_translating_to_null_leaves_the_field_out() -> None:
    extra = "translations:\n  t: {X: ~, A: M}"
    assert value("{from: G, translate: t}", {"G": "X"}, field="gender", extra=extra) is None


def test_scalars_are_text_as_written() -> None:
    """`yes`, `01` and `Y` stay text: no YAML 1.1 booleans or octal numbers."""
    extra = "translations:\n  t: {yes: M, no: F, 01: X}"
    assert value("{from: G, translate: t}", {"G": "yes"}, field="gender", extra=extra) == "M"
    assert value("{from: G, translate: t}", {"G": "01"}, field="gender", extra=extra) == "X"


# --- dates and times ---------------------------------------------------------------------------------


def test_date_patterns_are_tried_in_order_and_the_first_that_parses_wins() -> None:
    expr = '{from: D, date: ["%d/%m/%Y", "%Y-%m-%d", "%d %b %Y", "%Y%m%d"]}'
    assert value(expr, {"D": "05/11/1980"}, field="date_of_birth") == "1980-11-05"
    assert value(expr, {"D": "1980-11-05"}, field="date_of_birth") == "1980-11-05"
    assert value(expr, {"D": "5 Nov 1980"}, field="date_of_birth") == "1980-11-05"
    assert value(expr, {"D": "19801105"}, field="date_of_birth") == "1980-11-05"
    # ambiguous day/month: the first pattern decides; a later one is used when an earlier cannot be real
    both = '{from: D, date: ["%d/%m/%Y", "%m/%d/%Y"]}'
    assert value(both, {"D": "02/03/2001"}, field="date_of_birth") == "2001-03-02"
    assert value(both, {"D": "12/31/2001"}, field="date_of_birth") == "2001-12-31"


def test_a_date_no_pattern_parses_is_a_row_error_naming_value_and_patterns() -> None:
    reasons = reasons_of(
        '{from: D, date: ["%d/%m/%Y", "%Y-%m-%d"]}', {"D": "July 2018"}, field="date_of_birth"
    )
    assert reasons == [
        "r.date_of_birth: 'July 2018' (from D) matches none of the date patterns %d/%m/%Y, %Y-%m-%d"
    ]


@pytest.mark.parametrize("raw", ["31/02/2018", "29/02/2019", "00/01/2018", "12/13/2018"])
def test_impossible_dates_are_row_errors(raw: str) -> None:
    reasons = reasons_of('{from: D, date: ["%d/%m/%Y"]}', {"D": raw}, field="date_of_birth")
    assert len(reasons) == 1 and raw in reasons[0]
    assert "is not a real date" in reasons[0] or "matches none" in reasons[0]
    assert (
        "is not a real date (day is out of range for month)"
        in reasons_of('{from: D, date: ["%d/%m/%Y"]}', {"D": "31/02/2018"}, field="date_of_birth")[0]
    )


def test_date_cells_of_a_spreadsheet_or_database_are_dates_whatever_the_patterns() -> None:
    """Excel and SQL give real date and time values, and one column often mixes them with dates typed as
    text: the patterns are for the text, and a real date needs none. ISO 8601 text is as unambiguous, so it
    is taken too; the patterns are still tried first."""
    typed = '{from: D, date: ["%d/%m/%Y"]}'
    assert value(typed, {"D": dt.date(1980, 11, 5)}, field="date_of_birth") == "1980-11-05"
    assert value(typed, {"D": dt.datetime(1980, 11, 5, 0, 0)}, field="date_of_birth") == "1980-11-05"
    assert value(typed, {"D": "05/11/1980"}, field="date_of_birth") == "1980-11-05"
    assert value(typed, {"D": "1980-11-05"}, field="date_of_birth") == "1980-11-05"
    assert value('{from: D, date: ["%Y-%d-%m"]}', {"D": "1980-05-11"}, field="date_of_birth") == "1980-11-05"
    moment = '{from: M, datetime: ["%d/%m/%Y %H:%M"], timezone: Europe/London}'
    when = value(moment, {"M": dt.datetime(2019, 3, 1, 14, 30)}, field="occurred_from", entity="crime")
    assert when == "2019-03-01T14:30:00Z"  # GMT in March: London's offset is +00:00
    summer = value(moment, {"M": dt.datetime(2019, 7, 1, 14, 30)}, field="occurred_from", entity="crime")
    assert summer == "2019-07-01T14:30:00+01:00"
    stored = value(moment, {"M": "2019-07-01 14:30:00"}, field="occurred_from", entity="crime")  # SQLite's
    assert stored == "2019-07-01T14:30:00+01:00"
    assert "is not a real date" in reasons_of(typed, {"D": "1980-02-30"}, field="date_of_birth")[0]
    assert (
        "matches none of the date patterns" in reasons_of(typed, {"D": "1980-11"}, field="date_of_birth")[0]
    )


def test_partial_dates_keep_their_precision_unless_as_is_given() -> None:
    assert value('{from: D, date: ["%Y-%m"]}', {"D": "1980-11"}, field="date_of_birth") == "1980-11"
    assert value('{from: D, date: ["%Y"]}', {"D": "1980"}, field="date_of_birth") == "1980"
    assert (
        value('{from: D, date: ["%Y-%m"], as: month_end}', {"D": "2020-02"}, "date_of_birth") == "2020-02-29"
    )
    assert (
        value('{from: D, date: ["%Y-%m"], as: month_start}', {"D": "2020-02"}, "date_of_birth")
        == "2020-02-01"
    )
    assert (
        value('{from: D, date: ["%Y"], as: year_end}', {"D": "1999"}, field="date_of_birth") == "1999-12-31"
    )


def test_datetime_with_month_start_end_and_time_zones() -> None:
    def dt(expr: str, raw: str) -> Any:
        return value(expr, {"M": raw}, field="occurred_from", entity="crime")

    assert dt('{from: M, datetime: ["%Y-%m"], as: month_start}', "2018-07") == "2018-07-01T00:00:00"
    assert dt('{from: M, datetime: ["%Y-%m"], as: month_end}', "2018-07") == "2018-07-31T23:59:59"
    assert (
        dt('{from: M, datetime: ["%Y-%m"], as: month_end, timezone: UTC}', "2018-07")
        == "2018-07-31T23:59:59Z"
    )
    assert dt('{from: M, datetime: ["%d/%m/%Y %H:%M"], timezone: Europe/London}', "01/07/2018 13:45") == (
        "2018-07-01T13:45:00+01:00"
    )
    assert dt('{from: M, datetime: ["%d/%m/%Y %H:%M", "%d/%m/%Y"]}', "01/07/2018") == "2018-07-01T00:00:00"
    assert dt('{from: M, datetime: ["%d/%m/%Y"], as: day_end}', "01/07/2018") == "2018-07-01T23:59:59"
    assert (
        dt('{from: M, datetime: ["%Y-%m-%dT%H:%M:%S%z"]}', "2018-07-01T10:00:00+0000")
        == "2018-07-01T10:00:00Z"
    )


def test_empty_input_to_a_conversion_is_an_error_unless_optional_or_defaulted() -> None:
    reasons = reasons_of('{from: D, date: ["%d/%m/%Y"]}', {"D": ""}, field="date_of_birth")
    assert reasons == [
        "r.date_of_birth: empty (from D) where a date is expected; add `optional: true` if it may be empty"
    ]
    assert value('{from: D, date: ["%d/%m/%Y"], optional: true}', {"D": ""}, field="date_of_birth") is None
    assert value('{from: D, date: ["%d/%m/%Y"], default: "1900"}', {"D": ""}, field="date_of_birth") == "1900"


# --- numbers and booleans ----------------------------------------------------------------------------


def test_number_int_and_float() -> None:
    assert value("{from: L, number: float}", {"L": "53.5"}, field="latitude", entity="point") == 53.5
    got = run(
        "physical_description: {fields: {height_cm: {from: H, number: int}}}",
        {"H": "180.0"},
    )
    assert got == ({"physical_description": {"height_cm": 180}}, [])
    reasons = reasons_of("{from: L, number: float}", {"L": "north"}, field="latitude", entity="point")
    assert reasons == ["r.latitude: 'north' (from L) is not a number"]
    reasons = run("physical_description: {fields: {height_cm: {from: H, number: int}}}", {"H": "1.8"})[1]
    assert reasons == ["r.physical_description.height_cm: '1.8' (from H) is not a whole number"]


def test_boolean() -> None:
    for raw, expected in [("Y", True), ("yes", True), ("1", True), ("N", False), ("false", False)]:
        assert value("{from: H, boolean: true}", {"H": raw}, field="hate_crime", entity="crime") is expected
    reasons = reasons_of("{from: H, boolean: true}", {"H": "maybe"}, field="hate_crime", entity="crime")
    assert reasons == ["r.hate_crime: 'maybe' (from H) is not a yes/no value (true/false, yes/no, y/n, 1/0)"]


# --- default, optional, when -------------------------------------------------------------------------


def test_default_constant_and_default_expression() -> None:
    assert value("{from: G, default: U}", {"G": ""}, field="gender") == "U"
    assert value("{from: G, default: U}", {"G": "M"}, field="gender") == "M"
    assert value("{from: A, default: {from: B, case: upper}}", {"A": "", "B": "smith"}) == "SMITH"


def test_field_when() -> None:
    expr = "{from: Name, when: {field: Kind, equals: P}}"
    assert value(expr, {"Name": "Smith", "Kind": "P"}) == "Smith"
    assert value(expr, {"Name": "Smith", "Kind": "O"}) is None


def test_object_fields_are_nested_and_report_each_part() -> None:
    fields = """
    source_evaluation: {const: "1"}
    intelligence_assessment: {const: A}
    handling_code: {const: P}
    legacy_grading:
      fields:
        source: {from: Grade, split: {by: "/", part: 0}}
        intelligence: {from: Grade, split: {by: "/", part: 1}}
        handling: {from: Grade, split: {by: "/", part: 2}, translate: h}
    """
    extra = "translations:\n  h: {'1': '1', '4': '4'}"
    data, reasons = run(fields, {"Grade": "B/2/4"}, entity="intelligence_report", extra=extra)
    assert reasons == []
    assert data["legacy_grading"] == {"source": "B", "intelligence": "2", "handling": "4"}
    _, reasons = run(fields, {"Grade": "B/2/7"}, entity="intelligence_report", extra=extra)
    assert reasons == [
        "r.legacy_grading.handling: '7' (from Grade) is not in translation table 'h' (known: '1', '4')"
    ]


def test_many_objects_from_a_list_of_nested_fields() -> None:
    fields = """
    relevant_time: {from: T, datetime: ["%d/%m/%Y %H:%M"]}
    reviews:
      - fields: {reviewed_at: {from: R1, datetime: ["%d/%m/%Y %H:%M"], optional: true}, decision: D1}
      - fields: {reviewed_at: {from: R2, datetime: ["%d/%m/%Y %H:%M"], optional: true}, decision: D2}
    """
    row = {"T": "01/07/2018 10:00", "R1": "01/07/2018 16:00", "D1": "continue", "R2": "", "D2": ""}
    data, reasons = run(fields, row, entity="custody")
    assert reasons == []
    assert data["reviews"] == [{"reviewed_at": "2018-07-01T16:00:00", "decision": "continue"}]


# --- conditions --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "row", "expected"),
    [
        ("{field: K, equals: P}", {"K": " P "}, True),
        ("{field: K, equals: P}", {"K": "p"}, False),
        ("{field: K, equals: P, ignore_case: true}", {"K": "p"}, True),
        ('{field: K, equals: ""}', {"K": ""}, True),
        ("{field: K, in: [A, B]}", {"K": "B"}, True),
        ("{field: K, in: [A, B]}", {"K": "C"}, False),
        ("{field: K, in: [a, b], ignore_case: true}", {"K": "B"}, True),
        ("{field: K, present: true}", {"K": "x"}, True),
        ("{field: K, present: true}", {"K": "  "}, False),
        ("{field: K, present: false}", {}, True),
        ("{field: K, matches: '^[A-Z]{2}\\d+$'}", {"K": "AB12"}, True),
        ("{field: K, matches: '^[A-Z]{2}\\d+$'}", {"K": "AB12x"}, False),
        ("{field: K, matches: 'theft'}", {"K": "other theft"}, True),
        ("{all: [{field: K, present: true}, {field: L, equals: Y}]}", {"K": "x", "L": "Y"}, True),
        ("{all: [{field: K, present: true}, {field: L, equals: Y}]}", {"K": "x", "L": "N"}, False),
        ("{all: [{field: K, present: true}, {field: L, present: true}, {field: M, present: true}]}",
         {"K": "1", "L": "1", "M": ""}, False),
        ("{any: [{field: K, equals: A}, {field: L, equals: A}]}", {"K": "B", "L": "A"}, True),
        ("{any: [{field: K, equals: A}, {field: L, equals: A}, {field: M, equals: A}]}", {}, False),
        ("{not: {field: K, equals: A}}", {"K": "A"}, False),
        ("{not: {any: [{field: K, equals: A}]}}", {"K": "B"}, True),
    ],
)  # fmt: skip
def test_conditions(condition: str, row: dict[str, Any], expected: bool) -> None:
    out = parse_mapping(mapping_text("surname: Name", when=condition)).apply({"id": "1", "Name": "x", **row})
    assert ("r" in out.records) is expected
    assert out.reasons == []


def test_condition_sees_mapping_null_values() -> None:
    text = mapping_text("surname: Name", when="{field: K, present: true}", extra="null_values: [NULL]")
    assert "r" not in parse_mapping(text).apply({"id": "1", "Name": "x", "K": "null"}).records


def test_skip_when_skips_the_whole_row() -> None:
    text = mapping_text("surname: Name", extra="skip_when: {field: Type, equals: DELETED}")
    m = parse_mapping(text)
    skipped = m.apply({"id": "1", "Name": "x", "Type": "DELETED"})
    assert skipped.skipped and skipped.records == {} and skipped.reasons == []
    assert not m.apply({"id": "1", "Name": "x", "Type": "LIVE"}).skipped
