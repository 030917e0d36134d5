"""Compressed exports: a gzip-compressed file is read as its contents, in every text format.

Exports arrive compressed (police.uk's own archives, a nightly `crimes.csv.gz`); decompressing one first
needs as much disk again. A gzip file's format is that of its name without `.gz`, its rows and keys are
those of the same file uncompressed (so importing either after the other changes nothing), and a damaged
one is a clear error naming the file. Zip archives, which may hold several files, are refused with what to
do. Through the readers and the `openrms` command, on each back end.
"""

from __future__ import annotations

import csv
import gzip
import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.ingest.test_import_cli import Cli, balanced, street_slice
from tests.ingest.test_readers import read, refused, write


def test_a_gzipped_police_uk_file_imports_as_the_same_file_uncompressed(cli: Cli, tmp_path: Path) -> None:
    plain, _ = street_slice(tmp_path, 120)
    packed = tmp_path / "gz" / f"{plain.name}.gz"
    packed.parent.mkdir()
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    first = cli.json("import", str(packed), "--mapping", "police-uk", "--json")
    assert balanced(first) == {"read": 120, "created": 120}
    # anti-social behaviour rows are keyed by file name and line: the same with or without .gz
    again = cli.json("import", str(plain), "--mapping", "police-uk", "--json")
    assert balanced(again) == {"read": 120, "unchanged": 120}


@pytest.mark.parametrize(
    ("name", "content", "spec", "fields"),
    [
        ("a.csv.gz", "ID;NAME\n1;Zoë\n", {}, {"ID": "1", "NAME": "Zoë"}),
        ("a.jsonl.gz", '{"id": 1, "who": {"name": "Zoë"}}\n', {}, {"id": 1, "who/name": "Zoë"}),
        ("a.json.gz", '[{"id": 1}]', {}, {"id": 1}),
        ("a.xml.gz", '<E><R id="1"><N>Zoë</N></R></E>', {"record_path": "/E/R"}, {"@id": "1", "N": "Zoë"}),
        (
            "a.dat.gz",
            "0001 Zoë  \n",
            {"columns": [{"name": "ID", "start": 1, "width": 4}, {"name": "NAME", "start": 6, "width": 5}]},
            {"ID": "0001", "NAME": "Zoë"},
        ),
    ],
)
def test_every_text_format_reads_gzipped(
    tmp_path: Path, name: str, content: str, spec: dict, fields: dict
) -> None:
    [row] = read(write(tmp_path, name, gzip.compress(content.encode("utf-8"))), **spec)
    assert row.fields == fields


def test_a_gzipped_file_in_another_encoding_is_detected_inside(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv.gz", gzip.compress("NAME\nCafé\n".encode("cp1252")))
    [row] = read(path)
    assert row.fields == {"NAME": "Café"}


def test_a_damaged_gzip_file_is_a_clear_error(cli: Cli, tmp_path: Path) -> None:
    plain, _ = street_slice(tmp_path, 2000)
    packed = gzip.compress(plain.read_bytes())
    cut = write(tmp_path, "cut.csv.gz", packed[: len(packed) // 2])
    message = cli.fails("import", str(cut), "--mapping", "police-uk")
    assert "cut.csv.gz: the gzip-compressed file is damaged or cut short" in message
    assert "fetch the file again" in message


def test_a_zip_archive_is_refused_with_what_to_do(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("crimes.csv", "ID\n1\n")
    message = refused(write(tmp_path, "crimes.csv", buffer.getvalue()))
    assert "a zip archive, not a text file; extract the file to import from it first" in message


def test_a_gzipped_workbook_is_refused(tmp_path: Path) -> None:
    message = refused(write(tmp_path, "book.xlsx.gz", gzip.compress(b"PK\x03\x04")))
    assert "a compressed workbook; decompress it" in message


CSV_TEXT = st.lists(
    st.lists(st.text(st.characters(blacklist_categories=("Cs",)), max_size=8), min_size=2, max_size=2),
    min_size=1,
    max_size=20,
)


@settings(max_examples=60, deadline=None)
@given(rows=CSV_TEXT)
def test_a_gzipped_csv_reads_as_the_same_csv_uncompressed(
    tmp_path_factory: pytest.TempPathFactory, rows: list
) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([["A", "B"], *rows])
    data = out.getvalue().encode("utf-8")
    folder = tmp_path_factory.mktemp("gz")
    plain = read(write(folder, "x.csv", data))
    packed = read(write(folder, "x.csv.gz", gzip.compress(data)))
    assert [(r.location, r.fields, r.error, r.raw) for r in packed] == [
        (r.location, r.fields, r.error, r.raw) for r in plain
    ]
