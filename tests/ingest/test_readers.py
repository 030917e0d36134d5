"""Tests for openrms.ingest.readers: each format's normal files, every bad-input case, and flat memory."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import sqlite3
import time
import tracemalloc
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from openrms.ingest.readers import (
    FORMATS,
    CsvReader,
    FixedWidthReader,
    JsonLinesReader,
    JsonReader,
    SqlReader,
    XlsxReader,
    XmlReader,
    guess_format,
    open_reader,
)
from openrms.ingest.rows import SourceError, SourceRow

DATA = Path(__file__).parent / "data"


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_bytes(content.encode("utf-8"))
    else:
        path.write_bytes(content)
    return path


def read(source: Path | str, /, **spec: Any) -> list[SourceRow]:
    rows = list(open_reader(source, spec).rows())
    for row in rows:
        assert (row.fields is None) != (row.error is None), row
    assert [r.number for r in rows] == list(range(1, len(rows) + 1))
    return rows


def refused(source: Path | str, /, **spec: Any) -> str:
    with pytest.raises(SourceError) as info:
        read(source, **spec)
    assert info.value.status == 400
    return info.value.detail


def good(rows: list[SourceRow]) -> list[dict[str, Any]]:
    return [dict(r.fields) for r in rows if r.fields is not None]


# --- open_reader, FORMATS, guess_format ------------------------------------------------------------------


def test_formats_and_dispatch(tmp_path: Path) -> None:
    assert FORMATS == ("csv", "jsonl", "json", "xml", "fixed", "xlsx", "sql")
    path = write(tmp_path, "a.csv", "a,b\n1,2\n")
    assert isinstance(open_reader(path, {"format": "csv"}), CsvReader)
    assert isinstance(open_reader(path, {}), CsvReader)  # guessed from the extension
    assert isinstance(open_reader(write(tmp_path, "a.jsonl", "{}\n"), {"format": "jsonl"}), JsonLinesReader)
    assert isinstance(open_reader(write(tmp_path, "a.json", "[]"), {"format": "json"}), JsonReader)


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("x.csv", "csv"),
        ("x.TSV", "csv"),
        ("x.txt", "csv"),
        ("x.jsonl", "jsonl"),
        ("x.ndjson", "jsonl"),
        ("x.json", "json"),
        ("x.xml", "xml"),
        ("x.xlsx", "xlsx"),
        ("x.dat", "fixed"),
        ("x.fw", "fixed"),
    ],
)
def test_guess_format(name: str, fmt: str) -> None:
    assert guess_format(name) == fmt


def test_guess_format_txt_with_layout_is_fixed_and_unknown_extensions_refused() -> None:
    assert guess_format("extract.txt", {"columns": [{"name": "id", "start": 1, "width": 4}]}) == "fixed"
    assert guess_format("extract.txt", {"columns": ["id", "name"]}) == "csv"
    with pytest.raises(SourceError, match="cannot tell the format"):
        guess_format("extract.bin")
    with pytest.raises(SourceError, match=r"legacy Excel \.xls"):
        guess_format("old.xls")


def test_unknown_format_and_unknown_options_are_named(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "a,b\n1,2\n")
    assert "unknown format 'parquet'" in refused(path, format="parquet")
    detail = refused(path, format="csv", delimeter=";")
    assert "'delimeter'" in detail and "allowed: allow_short, columns, delimiter, encoding" in detail
    assert "a.csv" in detail
    assert "allowed: records_path" in refused(write(tmp_path, "a.json", "[]"), format="json", path="x")


def test_missing_and_empty_files(tmp_path: Path) -> None:
    for fmt in ("csv", "jsonl", "json", "fixed", "xlsx"):
        spec: dict[str, Any] = {"format": fmt}
        if fmt == "fixed":
            spec["columns"] = [{"name": "a", "start": 1, "width": 1}]
        assert "file not found" in refused(tmp_path / f"nope.{fmt}", **spec)
        detail = refused(write(tmp_path, f"empty.{fmt}", b""), **spec)
        assert "file is empty" in detail and f"empty.{fmt}" in detail
    assert "file is empty" in refused(write(tmp_path, "e.xml", b""), format="xml", record_path="/a/b")


# --- CSV -------------------------------------------------------------------------------------------------


def test_csv_sample_file() -> None:
    reader = open_reader(DATA / "crimes.csv", {"format": "csv"})
    assert reader.columns == ("crime_ref", "reported", "offence", "narrative")
    rows = list(reader.rows())
    assert [r.number for r in rows] == [1, 2, 3]
    assert [r.location for r in rows] == ["line 2", "lines 3-4", "line 5"]
    assert rows[0].fields == {
        "crime_ref": "CR/1001/24",
        "reported": "2024-01-05",
        "offence": "Burglary",
        "narrative": 'Entry forced via rear door, "jemmy" marks',
    }
    assert rows[1].fields["narrative"] == "Bicycle taken\nfrom outside the library"
    assert rows[1].raw == 'CR/1002/24,2024-01-06,Theft,"Bicycle taken\nfrom outside the library"'
    assert rows[2].raw == "CR/1003/24,2024-01-07,Criminal damage,Window smashed"
    assert list(reader.rows()) == rows  # rows() starts again on every call


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_sniffs_the_delimiter(tmp_path: Path, delimiter: str) -> None:
    others = "".join(c for c in ",;\t|" if c != delimiter)
    table = [{"id": "1", "name": "Ann", "note": others}, {"id": "2", "name": f"B{delimiter}ob", "note": "x"}]
    out = io.StringIO()
    writer = csv.DictWriter(out, ["id", "name", "note"], delimiter=delimiter)
    writer.writeheader()
    writer.writerows(table)
    reader = open_reader(write(tmp_path, "d.csv", out.getvalue()), {"format": "csv"})
    assert reader.delimiter == delimiter
    assert good(list(reader.rows())) == table


def test_csv_explicit_delimiter_and_quotechar(tmp_path: Path) -> None:
    path = write(tmp_path, "t.tsv", "a\tb\n'x\ty'\tz\n")
    rows = read(path, format="csv", delimiter="tab", quotechar="'")
    assert good(rows) == [{"a": "x\ty", "b": "z"}]
    assert "single character" in refused(path, format="csv", delimiter=";;")


def test_csv_unbalanced_quote_mid_file_keeps_the_good_rows_after_it(tmp_path: Path) -> None:
    text = (
        "id,name,note\n"
        '1,Ann,"fine"\n'
        '2,Bob,"never closed\n'
        "3,Cy,plain\n"
        '4,Di,"quoted, ok"\n'
        '5,Ed,"two\nlines"\n'
        "6,Fy,last\n"
    )
    rows = read(write(tmp_path, "q.csv", text), format="csv")
    assert [r.number for r in rows] == [1, 2, 3, 4, 5, 6]
    bad = rows[1]
    assert bad.fields is None and bad.location == "line 3" and bad.raw == '2,Bob,"never closed'
    assert "unbalanced quote" in bad.error and "line 3" in bad.error
    assert [r.fields["id"] for r in rows if r.fields] == ["1", "3", "4", "5", "6"]
    assert rows[4].fields["note"] == "two\nlines" and rows[4].location == "lines 6-7"


def test_csv_unbalanced_quote_without_any_later_quote_runs_to_the_end_then_recovers(tmp_path: Path) -> None:
    lines = ["id,note", '1,"opened'] + [f"{i},row {i}" for i in range(2, 200)]
    rows = read(write(tmp_path, "q.csv", "\n".join(lines) + "\n"), format="csv")
    assert rows[0].error and "unbalanced quote" in rows[0].error and rows[0].location == "line 2"
    assert "end of the file" in rows[0].error
    assert [r.fields["id"] for r in rows[1:]] == [str(i) for i in range(2, 200)]
    assert rows[1].location == "line 3"


def test_csv_unbalanced_quote_at_the_end_of_the_file(tmp_path: Path) -> None:
    rows = read(write(tmp_path, "q.csv", 'a,b\n1,2\n3,"4'), format="csv")
    assert good(rows) == [{"a": "1", "b": "2"}]
    assert rows[1].location == "line 3" and rows[1].raw == '3,"4'
    assert "not closed before the end of the file" in rows[1].error


def test_csv_runaway_quote_is_capped(tmp_path: Path) -> None:
    """With no closing quote and no other quote, a record stops at the cap instead of eating the file."""
    body = "".join(f"{i},{'x' * 20}\n" for i in range(2, 6000))
    rows = read(write(tmp_path, "q.csv", 'id,note\n1,"open\n' + body), format="csv", max_field=20)
    assert rows[0].location == "line 2" and "unbalanced quote" in rows[0].error
    assert "no closing quote within" in rows[0].error
    assert len(rows) == 5999 and all(r.fields for r in rows[1:])
    assert rows[1].location == "line 3"


def test_csv_wrong_column_counts(tmp_path: Path) -> None:
    rows = read(write(tmp_path, "c.csv", "a,b,c\n1,2\n1,2,3\n1,2,3,4\n"), format="csv")
    assert (rows[0].raw, rows[0].location) == ("1,2", "line 2")
    assert (
        rows[0].error.startswith("expected 3 columns, found 2; ") and "`allow_short: true`" in rows[0].error
    )
    assert rows[1].fields == {"a": "1", "b": "2", "c": "3"}
    assert rows[2].error == "expected 3 columns, found 4" and rows[2].raw == "1,2,3,4"


def test_csv_allow_short_reads_left_off_trailing_columns_as_empty(tmp_path: Path) -> None:
    """Exports that end a line at its last non-empty value: with `allow_short`, the columns left off
    read as empty. A line with too many columns still fails, as does a short one without the option."""
    text = "a;b;c\n1\n1;2\n1;2;3\n1;2;3;4\n"
    rows = read(write(tmp_path, "c.csv", text), format="csv", allow_short=True)
    assert [r.fields for r in rows[:3]] == [
        {"a": "1", "b": "", "c": ""},
        {"a": "1", "b": "2", "c": ""},
        {"a": "1", "b": "2", "c": "3"},
    ]
    assert rows[3].error == "expected 3 columns, found 4"
    header_less = read(
        write(tmp_path, "h.csv", "1,2\n"),
        format="csv",
        header=False,
        columns=["a", "b", "c"],
        allow_short=True,
    )
    assert header_less[0].fields == {"a": "1", "b": "2", "c": ""}
    with pytest.raises(SourceError, match="allow_short"):
        read(write(tmp_path, "o.csv", "a\n1\n"), format="csv", allow_short="sometimes")


def test_csv_wrong_count_in_a_properly_quoted_multi_line_record_fails_as_a_whole(tmp_path: Path) -> None:
    text = 'a,b,c\n1,"x\ny, z"\n2,3,4\n'
    rows = read(write(tmp_path, "c.csv", text), format="csv")
    assert rows[0].location == "lines 2-3" and rows[0].error.startswith("expected 3 columns, found 2;")
    assert rows[0].raw == '1,"x\ny, z"'
    assert rows[1].fields == {"a": "2", "b": "3", "c": "4"}


def test_csv_stray_quote_after_a_quoted_field(tmp_path: Path) -> None:
    rows = read(write(tmp_path, "c.csv", 'a,b\n"x"y,1\n2,3\n'), format="csv")
    assert rows[0].location == "line 2" and "malformed quoting" in rows[0].error
    assert rows[1].fields == {"a": "2", "b": "3"}


def test_csv_bare_quotes_inside_unquoted_fields_are_kept(tmp_path: Path) -> None:
    rows = read(write(tmp_path, "c.csv", 'height,name\n5\'11",O"Neil\n'), format="csv")
    assert good(rows) == [{"height": "5'11\"", "name": 'O"Neil'}]


def test_csv_cp1252_decoded_under_auto(tmp_path: Path) -> None:
    path = write(tmp_path, "w.csv", "name;amount\nCafé;£5 €\n".encode("cp1252"))
    reader = open_reader(path, {"format": "csv"})
    assert reader.encoding == "cp1252"
    assert good(list(reader.rows())) == [{"name": "Café", "amount": "£5 €"}]


def test_csv_latin1_decoded_under_auto(tmp_path: Path) -> None:
    # 0x8d is undefined in Windows-1252, so only Latin-1 can decode this file
    path = write(tmp_path, "l.csv", "name,amount,code\nJosé,£5,\x8d\n".encode("latin-1"))
    reader = open_reader(path, {"format": "csv"})
    assert reader.encoding == "latin-1"
    assert good(list(reader.rows())) == [{"name": "José", "amount": "£5", "code": "\x8d"}]


def test_csv_utf8_bom_and_header_names_cleaned(tmp_path: Path) -> None:
    path = write(tmp_path, "b.csv", b"\xef\xbb\xbf id , name ,\r\n1,\xc3\xa9,x\r\n")
    reader = open_reader(path, {"format": "csv"})
    assert reader.encoding == "utf-8"
    assert reader.columns == ("id", "name", "column_3")
    assert good(list(reader.rows())) == [{"id": "1", "name": "é", "column_3": "x"}]


def test_csv_declared_encoding(tmp_path: Path) -> None:
    path = write(tmp_path, "w.csv", "name\nCafé £\n".encode("cp1252"))
    assert good(read(path, format="csv", encoding="cp1252")) == [{"name": "Café £"}]
    detail = refused(path, format="csv", encoding="utf-8")
    assert "w.csv" in detail and "not valid utf-8" in detail and "byte offset 8" in detail
    assert "unknown encoding 'klingon'" in refused(path, format="csv", encoding="klingon")


def test_csv_bad_bytes_after_the_sample_fail_only_their_row(tmp_path: Path) -> None:
    head = "id,note\n" + "".join(f"{i},{'x' * 100}\n" for i in range(1, 12000))  # > 1 MiB of UTF-8
    path = write(tmp_path, "late.csv", head.encode() + b"12000,caf\xe9\n12001,ok\n")
    rows = read(path, format="csv")
    assert len(head.encode()) > 1 << 20
    bad = rows[-2]
    assert bad.location == "line 12001" and bad.raw == "12000,caf\ufffd"
    assert bad.error == f"byte 0xe9 at byte offset {len(head.encode()) + 9:,} cannot be decoded as utf-8"
    assert rows[-1].fields == {"id": "12001", "note": "ok"}


def test_csv_header_only_and_blank_lines(tmp_path: Path) -> None:
    reader = open_reader(write(tmp_path, "h.csv", "a,b,c\n"), {"format": "csv"})
    assert reader.columns == ("a", "b", "c") and list(reader.rows()) == []
    assert read(write(tmp_path, "h2.csv", "a;b"), format="csv") == []
    rows = read(write(tmp_path, "e.csv", "a,b\n\n1,2\n\r\n,\n"), format="csv")
    assert [(r.location, r.fields) for r in rows] == [
        ("line 3", {"a": "1", "b": "2"}),
        ("line 5", {"a": "", "b": ""}),
    ]
    assert "found none" in refused(write(tmp_path, "blank.csv", "\n\n"), format="csv")


def test_csv_duplicate_header_names(tmp_path: Path) -> None:
    detail = refused(write(tmp_path, "d.csv", "id,name,id,x,name\n"), format="csv")
    assert "d.csv" in detail and "duplicate column names" in detail and "'id', 'name'" in detail


def test_csv_enormous_field(tmp_path: Path) -> None:
    big = "x" * 1_000_001
    path = write(tmp_path, "big.csv", f'id,note\n1,{"y" * 1_000_000}\n2,"{big}"\n3,ok\n')
    rows = read(path, format="csv")
    assert rows[0].fields is not None and len(rows[0].fields["note"]) == 1_000_000
    assert rows[1].location == "line 3" and rows[1].error.startswith("field longer than 1,000,000 characters")
    assert len(rows[1].raw) == 65536
    assert rows[2].fields == {"id": "3", "note": "ok"}


def test_csv_line_over_the_byte_cap(tmp_path: Path) -> None:
    path = write(tmp_path, "long.csv", "id,note\n1," + "z" * 200_000 + "\n2,ok\n")
    rows = read(path, format="csv", max_field=1000)
    assert rows[0].location == "line 2" and "longer than" in rows[0].error
    assert rows[1].fields == {"id": "2", "note": "ok"}


def test_csv_nul_bytes(tmp_path: Path) -> None:
    path = write(tmp_path, "n.csv", b"a,b\n1,2\n\x00\x00\xff\x00,\x01\n3,4\n")
    rows = read(path, format="csv", encoding="latin-1")
    assert rows[1].error == "contains NUL bytes" and rows[1].location == "line 3"
    assert "\x00" not in rows[1].raw
    assert good(rows) == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]


def test_csv_without_header(tmp_path: Path) -> None:
    path = write(tmp_path, "n.csv", "skip me\n1|Ann\n2|Bob\n")
    reader = open_reader(path, {"format": "csv", "header": False, "columns": ["id", "name"], "skip_lines": 1})
    assert reader.columns == ("id", "name") and reader.delimiter == "|"
    rows = list(reader.rows())
    assert [(r.location, r.fields) for r in rows] == [
        ("line 2", {"id": "1", "name": "Ann"}),
        ("line 3", {"id": "2", "name": "Bob"}),
    ]
    assert "must list the column names" in refused(path, format="csv", header=False)
    assert "header: false" in refused(path, format="csv", columns=["a"])
    assert "duplicate" in refused(path, format="csv", header=False, columns=["a", "a"])
    assert "true or false" in refused(path, format="csv", header="no")


def test_csv_old_mac_line_endings(tmp_path: Path) -> None:
    rows = read(write(tmp_path, "mac.csv", 'a,b\r1,"x\ry"\r2,3\r'), format="csv")
    assert good(rows) == [{"a": "1", "b": "x\ry"}, {"a": "2", "b": "3"}]
    assert rows[0].location == "lines 2-3"


def test_csv_utf16_with_bom(tmp_path: Path) -> None:
    """Excel's "Unicode Text": UTF-16LE with a BOM, tab-separated."""
    path = write(tmp_path, "u.txt", "id\tname\r\n1\tZoë £\r\n".encode("utf-16"))
    reader = open_reader(path, {"format": "csv"})
    assert reader.encoding == "utf-16-le" and reader.delimiter == "\t"
    assert good(list(reader.rows())) == [{"id": "1", "name": "Zoë £"}]


def test_csv_malformed_header(tmp_path: Path) -> None:
    assert "cannot read the header" in refused(write(tmp_path, "h.csv", '"a"x,b\n1,2\n'), format="csv")


# --- JSON Lines and JSON ---------------------------------------------------------------------------------


def test_jsonl_reads_objects_and_fails_bad_lines_alone(tmp_path: Path) -> None:
    text = '{"id": 1, "name": "Ann"}\n\n   \n{"id": 2, oops}\n[1, 2]\n{"id": 3, "v": 1.5, "x": null}\n'
    data = b"\xef\xbb\xbf" + text.encode() + b'{"n": "\xff"}\n'
    rows = read(write(tmp_path, "a.jsonl", data), format="jsonl")
    assert [r.location for r in rows] == ["line 1", "line 4", "line 5", "line 6", "line 7"]
    assert rows[0].fields == {"id": 1, "name": "Ann"} and rows[0].raw == '{"id": 1, "name": "Ann"}'
    assert rows[1].error == "invalid JSON at column 11: Expecting property name enclosed in double quotes"
    assert rows[1].raw == '{"id": 2, oops}'
    assert rows[2].error == "expected a JSON object, found an array"
    assert rows[3].fields == {"id": 3, "v": 1.5, "x": None}
    assert "not UTF-8" in rows[4].error
    assert read(write(tmp_path, "b.jsonl", '{"a": NaN}\n'), format="jsonl")[0].error


def test_json_array_of_objects(tmp_path: Path) -> None:
    path = write(tmp_path, "a.json", '[{"id": 1, "tags": ["a"], "v": 2.5}, "text", {"id": 2, "o": {"k": 1}}]')
    rows = read(path, format="json")
    assert rows[0].fields == {"id": 1, "tags": ["a"], "v": 2.5} and rows[0].location == "element 1 (item)"
    assert json.loads(rows[0].raw) == rows[0].fields
    assert rows[1].error == "expected a JSON object, found a string" and rows[1].raw == '"text"'
    assert rows[2].fields == {"id": 2, "o/k": 1}  # a nested object's fields by their paths
    assert read(write(tmp_path, "e.json", " [ ] "), format="json") == []


def test_json_records_path(tmp_path: Path) -> None:
    path = write(tmp_path, "a.json", '{"meta": {"n": 2}, "data": [{"id": 1}, [1], {"id": 2}]}')
    rows = read(path, format="json", records_path="data.item")
    assert [(r.location, r.fields, r.error) for r in rows] == [
        ("element 1 (data.item)", {"id": 1}, None),
        ("element 2 (data.item)", None, "expected a JSON object, found an array"),
        ("element 3 (data.item)", {"id": 2}, None),
    ]
    assert "found no records at 'item'" in refused(path, format="json")
    assert "found no records at 'rows.item'" in refused(path, format="json", records_path="rows.item")


def test_json_malformed_mid_stream_yields_a_failed_row_and_stops(tmp_path: Path) -> None:
    path = write(tmp_path, "m.json", '[{"id": 1}, {"id": 2}, {"id": 3, oops}, {"id": 4}]')
    rows = read(path, format="json")
    assert good(rows) == [{"id": 1}, {"id": 2}]
    assert rows[2].number == 3 and rows[2].location == "element 3 (item)"
    assert "malformed JSON" in rows[2].error and "the rest of the file cannot be read" in rows[2].error
    assert len(rows) == 3
    truncated = read(write(tmp_path, "t.json", '[{"id": 1}, {"id": 2'), format="json")
    assert truncated[-1].error and "premature EOF" in truncated[-1].error


def test_json_malformed_before_any_record_is_a_source_error(tmp_path: Path) -> None:
    assert "not a JSON document" in refused(write(tmp_path, "x.json", "id,name\n1,2\n"), format="json")


# --- XML -------------------------------------------------------------------------------------------------


def test_xml_sample_file_flattened() -> None:
    reader = open_reader(DATA / "reports.xml", {"format": "xml", "record_path": "/Export/Reports/Report"})
    assert reader.columns is None
    rows = list(reader.rows())
    assert [r.number for r in rows] == [1, 2]
    assert rows[0].location == "element 1 (/Export/Reports/Report, line 6)"
    assert rows[0].fields == {
        "@id": "R1",
        "@status": "open",
        "Offence/@code": "0510",
        "Offence": "Burglary",
        "Subject/@role": ["suspect", "witness"],
        "Subject/Surname": ["Smith", "Jones"],
        "Subject/Forename": ["John", "Ann"],
        # each occurrence on its own as well, for a mapping's `each`
        "Subject[]": [
            {"@role": "suspect", "Surname": "Smith", "Forename": "John"},
            {"@role": "witness", "Surname": "Jones", "Forename": "Ann"},
        ],
    }
    assert rows[0].raw.startswith('<Report xmlns="urn:example:legacy" id="R1" status="open">')
    assert rows[0].raw.endswith("</Report>")
    assert rows[1].fields == {"@id": "R2", "@status": "closed", "Offence/@code": "0490", "Offence": "Theft"}


def test_xml_wildcard_steps_and_record_text(tmp_path: Path) -> None:
    path = write(tmp_path, "w.xml", "<A><B><R>one</R></B><C><R k='2'>two</R><X>no</X></C></A>")
    rows = read(path, format="xml", record_path="/A/*/R")
    assert [(r.location, r.fields) for r in rows] == [
        ("element 1 (/A/B/R, line 1)", {"#text": "one"}),
        ("element 2 (/A/C/R, line 1)", {"@k": "2", "#text": "two"}),
    ]


@pytest.mark.parametrize("name", ["billion_laughs.xml", "xxe.xml"])
def test_xml_with_entities_is_refused_before_anything_is_read(name: str) -> None:
    with pytest.raises(SourceError) as info:
        open_reader(DATA / name, {"format": "xml", "record_path": "/Export/Report"})
    assert name in info.value.detail
    assert (
        "XML declares a DTD/entities; refused to protect against entity expansion (billion laughs) "
        "and external entities (XXE)" in info.value.detail
    )


def test_xml_external_dtd_and_doctype_after_a_long_comment_are_refused(tmp_path: Path) -> None:
    external = '<?xml version="1.0"?>\n<!DOCTYPE Export SYSTEM "http://example.com/x.dtd">\n<Export/>'
    assert "refused" in refused(write(tmp_path, "d.xml", external), format="xml", record_path="/Export/R")
    hidden = "<?xml version='1.0'?><!--" + "x" * 200_000 + "--><!doctype a [<!ENTITY e 'x'>]><a>&e;</a>"
    assert "refused" in refused(write(tmp_path, "h.xml", hidden), format="xml", record_path="/a")
    utf16 = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>'
    path = write(tmp_path, "u.xml", utf16.encode("utf-16"))
    assert "refused" in refused(path, format="xml", record_path="/a")
    bare = write(tmp_path, "b.xml", '<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>'.encode("utf-16-le"))
    assert "refused" in refused(bare, format="xml", record_path="/a", encoding="utf-16-le")
    for pad in range(65536 - 30, 65536 - 18):  # "<!DOCTYPE" straddling the scanner's 64 KiB chunks
        text = "<?xml version='1.0'?>" + " " * pad + "<!DOCTYPE a [<!ENTITY e 'x'>]><a>&e;</a>"
        assert "refused" in refused(write(tmp_path, "s.xml", text), format="xml", record_path="/a")
    comment = "<!-- <!DOCTYPE in a comment is only text -->\n<a><R>1</R></a>"
    assert good(read(write(tmp_path, "c.xml", comment), format="xml", record_path="/a/R")) == [{"#text": "1"}]


def test_xml_malformed_midway_yields_a_failed_row_and_stops(tmp_path: Path) -> None:
    text = "<E>\n<R><n>1</n></R>\n<R><n>2</n></R>\n<R><n>3</x></R>\n<R><n>4</n></R>\n</E>"
    rows = read(write(tmp_path, "m.xml", text), format="xml", record_path="/E/R")
    assert good(rows) == [{"n": "1"}, {"n": "2"}]
    bad = rows[2]
    assert bad.number == 3 and bad.location == "element 3 (/E/R, line 4)"
    assert bad.error.startswith("malformed XML at line 4, column") and "cannot be read" in bad.error
    assert bad.raw.startswith("<R>")
    assert len(rows) == 3


def test_xml_source_errors(tmp_path: Path) -> None:
    assert "malformed XML at line 1" in refused(
        write(tmp_path, "a.xml", "not xml"), format="xml", record_path="/a"
    )
    path = write(tmp_path, "b.xml", "<Export><R/></Export>")
    assert "root element is <Export>" in refused(path, format="xml", record_path="/Other/R")
    assert "record_path" in refused(path, format="xml", record_path="Export/R")
    assert "record_path" in refused(path, format="xml")
    assert "unknown encoding" in refused(path, format="xml", record_path="/Export/R", encoding="nope")


def test_xml_declared_encoding_from_the_prolog(tmp_path: Path) -> None:
    text = '<?xml version="1.0" encoding="ISO-8859-1"?><E><R>Café £</R></E>'
    rows = read(write(tmp_path, "l.xml", text.encode("latin-1")), format="xml", record_path="/E/R")
    assert good(rows) == [{"#text": "Café £"}]


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs Linux /proc")
def test_xml_memory_stays_flat(tmp_path: Path) -> None:
    """libxml2's memory is invisible to tracemalloc, so this watches the resident size: without clearing,
    the tree of this 10 MB file would grow it by about 35 MB."""
    path = tmp_path / "big.xml"
    record = "<Report id='{}'><Subject><Surname>Smith</Surname></Subject><Note>{}</Note></Report>\n"
    with path.open("w") as f:
        f.write("<Export><Header/><Reports>\n")
        for i in range(30_000):
            f.write(record.format(i, "n" * 200))
        f.write("</Reports></Export>\n")
    samples = []
    for i, row in enumerate(XmlReader(path, record_path="/Export/Reports/Report").rows()):
        assert row.fields is not None and row.fields["@id"] == str(i)
        if i % 2500 == 0:
            samples.append(_rss())
    assert i == 29_999
    assert max(samples) - samples[1] < 8_000_000, samples


# --- Fixed width -----------------------------------------------------------------------------------------

LAYOUT = [
    {"name": "id", "start": 1, "width": 4},
    {"name": "surname", "start": 5, "end": 14},
    {"name": "forename", "start": 15, "width": 10},
    {"name": "born", "start": 25, "width": 8},
]


def test_fixed_sample_file() -> None:
    reader = open_reader(DATA / "people.dat", {"format": "fixed", "columns": LAYOUT, "skip_lines": 1})
    assert isinstance(reader, FixedWidthReader)
    assert reader.columns == ("id", "surname", "forename", "born")
    rows = list(reader.rows())
    assert [(r.number, r.location) for r in rows] == [(1, "line 2"), (2, "line 3"), (3, "line 5")]
    assert rows[0].fields == {"id": "0001", "surname": "SMITH", "forename": "JOHN", "born": "19850302"}
    assert rows[0].raw == "0001SMITH     JOHN      19850302"


def test_fixed_short_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "s.dat", "0001SMITH     JOHN      19850302\r\n0002JONES     ANN\r\n")
    rows = read(path, format="fixed", columns=LAYOUT)
    assert rows[1].error == "line is 17 characters; the layout needs 32"
    assert rows[1].location == "line 2" and rows[1].raw == "0002JONES     ANN"
    rows = read(path, format="fixed", columns=LAYOUT, allow_short=True, strip=False)
    assert rows[1].fields == {"id": "0002", "surname": "JONES     ", "forename": "ANN", "born": ""}


def test_fixed_encoding_and_bad_bytes(tmp_path: Path) -> None:
    layout = [{"name": "name", "start": 1, "width": 5}, {"name": "amount", "start": 6, "width": 3}]
    path = write(tmp_path, "c.dat", "Café £10\n".encode("cp1252"))
    assert good(read(path, format="fixed", columns=layout)) == [{"name": "Café", "amount": "£10"}]
    # a bad byte after the first MiB (which decided UTF-8) fails only its line
    first_mib = ("Zoë  £10" + " " * 90 + "\n").encode() * 11_000
    path = write(tmp_path, "u.dat", first_mib + b"Bad\xff \xc2\xa310\n" + "Ok   £1 \n".encode())
    rows = read(path, format="fixed", columns=layout)
    assert rows[0].fields == {"name": "Zoë", "amount": "£10"}
    assert "0xff" in rows[-2].error and rows[-2].location == "line 11001" and rows[-2].raw == "Bad\ufffd £10"
    assert rows[-1].fields == {"name": "Ok", "amount": "£1"}


def test_fixed_bad_layouts(tmp_path: Path) -> None:
    path = write(tmp_path, "x.dat", "abc\n")
    assert "option 'columns'" in refused(path, format="fixed")
    assert "exactly one of width or end" in refused(path, format="fixed", columns=[{"name": "a", "start": 1}])
    assert "at least 1" in refused(path, format="fixed", columns=[{"name": "a", "start": 0, "width": 2}])
    dup = [{"name": "a", "start": 1, "width": 1}, {"name": "a", "start": 2, "width": 1}]
    assert "duplicate" in refused(path, format="fixed", columns=dup)


# --- XLSX ------------------------------------------------------------------------------------------------


def _workbook(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Notes"
    ws.append(["ignored"])
    crimes = wb.create_sheet("Crimes")
    crimes.append(["Title row"])
    crimes.append(["crime_ref", "reported", "value", None])
    crimes.append(["CR/1", dt.datetime(2024, 1, 5, 9, 30), 12.5])
    crimes.append([])
    crimes.append([None, "  ", None])
    crimes.append(["CR/2", dt.date(2024, 1, 6), 3])
    crimes.append(["CR/3", None, None, "stray"])
    wb.save(path)
    return path


def test_xlsx_sheet_by_name_and_index(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "c.xlsx")
    for sheet in ("Crimes", 2):
        reader = open_reader(path, {"format": "xlsx", "sheet": sheet, "header_row": 2})
        assert isinstance(reader, XlsxReader)
        assert reader.columns == ("crime_ref", "reported", "value")
        rows = list(reader.rows())
        assert [(r.number, r.location) for r in rows] == [
            (1, "sheet Crimes row 3"),
            (2, "sheet Crimes row 6"),
            (3, "sheet Crimes row 7"),
        ]
        when = dt.datetime(2024, 1, 5, 9, 30)
        assert rows[0].fields == {"crime_ref": "CR/1", "reported": when, "value": 12.5}
        assert json.loads(rows[0].raw) == {"crime_ref": "CR/1", "reported": str(when), "value": 12.5}
        assert rows[1].fields["value"] == 3
        assert rows[2].error == "a value in column 4 is beyond the header's 3 columns"
    assert read(path, format="xlsx") == []  # the first sheet: header only


def test_xlsx_bad_workbooks_and_options(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "c.xlsx")
    assert "no sheet named 'Nope'" in refused(path, format="xlsx", sheet="Nope")
    assert "there is no sheet 3" in refused(path, format="xlsx", sheet=3)
    assert "row 9 of sheet 'Crimes' is empty" in refused(path, format="xlsx", sheet="Crimes", header_row=9)
    corrupt = write(tmp_path, "bad.xlsx", path.read_bytes()[:2000])
    detail = refused(corrupt, format="xlsx")
    assert "bad.xlsx" in detail and "not a readable .xlsx workbook" in detail
    assert "not a readable .xlsx" in refused(write(tmp_path, "csv.xlsx", "a,b\n1,2\n"), format="xlsx")


def test_xlsx_parts_are_parsed_with_defusedxml() -> None:
    """openpyxl parses a workbook's XML parts through defusedxml when it is installed (a dependency)."""
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML


# --- SQL -------------------------------------------------------------------------------------------------


def test_sql_reads_a_sqlite_table(tmp_path: Path) -> None:
    db = tmp_path / "legacy.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE offences (id INTEGER, code TEXT, value REAL)")
        rows = [(i, f"C{i}", i / 2) for i in range(1, 2501)]
        conn.executemany("INSERT INTO offences VALUES (?, ?, ?)", rows)
    conn.close()
    reader = open_reader(f"sqlite:///{db}", {"format": "sql", "query": "SELECT * FROM offences ORDER BY id"})
    assert isinstance(reader, SqlReader) and reader.columns == ("id", "code", "value")
    rows = list(reader.rows())
    assert len(rows) == 2500
    assert rows[0] == SourceRow(
        1, "result row 1", '{"id": 1, "code": "C1", "value": 0.5}', {"id": 1, "code": "C1", "value": 0.5}
    )
    assert rows[-1].location == "result row 2500"


def test_sql_errors_never_show_the_password(tmp_path: Path) -> None:
    db = tmp_path / "legacy.db"
    sqlite3.connect(db).close()
    detail = refused(f"sqlite:///{db}", format="sql", query="SELECT * FROM missing")
    assert "no such table: missing" in detail and "legacy.db" in detail
    assert "option 'query'" in refused(f"sqlite:///{db}", format="sql")
    url = "postgresql+psycopg://officer:hunter2@127.0.0.1:1/rms"
    for spec in ({"query": "SELECT 1"}, {"query": "SELECT 1", "bogus": 1}):
        detail = refused(url, format="sql", **spec)
        assert "hunter2" not in detail and "officer:***@127.0.0.1" in detail
    assert "hunter2" not in refused("not a url hunter2", format="sql", query="SELECT 1")


# --- memory ----------------------------------------------------------------------------------------------


def test_csv_memory_does_not_grow_with_file_size(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    columns = [f"col{i}" for i in range(12)]
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(",".join(columns) + "\r\n")
        block = "".join(
            f'{i},"Smith, John",{"é" * 90},2024-01-05,' + ",".join(["x" * 200] * 8) + "\r\n"
            for i in range(1000)
        )
        for _ in range(30):
            f.write(block)
    size = path.stat().st_size
    assert size > 50_000_000
    started = time.perf_counter()
    tracemalloc.start()
    try:
        count = 0
        for row in CsvReader(path).rows():
            assert row.fields is not None
            count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 30_000
    assert peak < 20_000_000, f"peak {peak:,} bytes for a {size:,} byte file"
    assert time.perf_counter() - started < 30
