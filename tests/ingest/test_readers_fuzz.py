"""Property tests for openrms.ingest.readers: no input makes a reader raise anything but SourceError,
CSV written by Python's csv module reads back equal, and an unbalanced quote never costs the good rows
after it."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openrms.ingest.readers import open_reader
from openrms.ingest.rows import RAW_LIMIT, SourceError

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

LAYOUT = [{"name": "a", "start": 1, "width": 3}, {"name": "b", "start": 4, "end": 6}]
SPECS: dict[str, dict[str, Any]] = {
    "csv": {"format": "csv"},
    "csv-noheader": {"format": "csv", "header": False, "columns": ["a", "b"], "max_field": 50},
    "jsonl": {"format": "jsonl"},
    "json": {"format": "json"},
    "xml": {"format": "xml", "record_path": "/E/R"},
    "fixed": {"format": "fixed", "columns": LAYOUT},
}

# Inputs near each format's grammar find more paths than uniform bytes do.
NEAR = {
    "csv": st.text(alphabet='ab,;|\t"\n\r\x00é ', max_size=300),
    "jsonl": st.text(alphabet='{}[]":,1a \nNn\x00', max_size=300),
    "xml": st.builds(lambda body: f"<E>{body}", st.text(alphabet='<>/ER="a!-?[]&;x \n', max_size=300)),
    "fixed": st.text(alphabet="ab1 \n\r\x00é\t", max_size=300),
}


def check(path: Path, spec: dict[str, Any]) -> None:
    """Reads everything; only SourceError may escape, and every row is well-formed."""
    try:
        rows = list(open_reader(path, spec).rows())
    except SourceError as exc:
        assert exc.detail
        return
    for number, row in enumerate(rows, 1):
        assert row.number == number
        assert (row.fields is None) != (row.error is None)
        assert isinstance(row.location, str) and row.location
        assert isinstance(row.raw, str) and len(row.raw) <= RAW_LIMIT and "\x00" not in row.raw


@FUZZ
@given(data=st.binary(max_size=1500), kind=st.sampled_from(sorted(SPECS)))
def test_arbitrary_bytes_never_raise_anything_but_source_error(
    tmp_path: Path, data: bytes, kind: str
) -> None:
    path = tmp_path / "fuzz.bin"
    path.write_bytes(data)
    check(path, SPECS[kind])


@FUZZ
@given(data=st.data(), kind=st.sampled_from(sorted(NEAR)), codec=st.sampled_from(["utf-8", "cp1252"]))
def test_near_grammar_text_never_raises_anything_but_source_error(
    tmp_path: Path, data: st.DataObject, kind: str, codec: str
) -> None:
    text = data.draw(NEAR[kind])
    path = tmp_path / "fuzz.txt"
    path.write_bytes(text.encode(codec, "replace"))
    check(path, SPECS[kind])


CELL = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
SPECIAL = st.sampled_from(['"', ",", ";", "\t", "|", "\n", "\r\n", "\r", " ", "é", "£", "\u2028", '""', "'"])
CELLS = st.lists(st.one_of(CELL, SPECIAL), max_size=4).map("".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    width=st.integers(2, 6),
    data=st.data(),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
)
def test_csv_written_by_python_reads_back_equal(
    tmp_path: Path, width: int, data: st.DataObject, delimiter: str, quoting: int
) -> None:
    names = [f"col_{i}" for i in range(width)]
    table = data.draw(st.lists(st.lists(CELLS, min_size=width, max_size=width), max_size=15))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, quoting=quoting)
    writer.writerow(names)
    writer.writerows(table)
    path = tmp_path / "round.csv"
    path.write_bytes(out.getvalue().encode("utf-8"))
    reader = open_reader(path, {"format": "csv"})
    assert reader.columns == tuple(names)
    rows = list(reader.rows())
    assert [r.error for r in rows] == [None] * len(table)
    assert [dict(r.fields) for r in rows if r.fields] == [dict(zip(names, row, strict=True)) for row in table]


WORD = st.text(alphabet="abcdefghij 0123456789é", min_size=1, max_size=8)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    good=st.lists(st.tuples(WORD, WORD), min_size=1, max_size=30),
    bad=st.lists(
        st.tuples(st.integers(0, 30), st.text(alphabet="xyz é", min_size=1, max_size=6)), max_size=4
    ),
)
def test_unbalanced_quotes_never_cost_the_good_rows_around_them(
    tmp_path: Path, good: list[tuple[str, str]], bad: list[tuple[int, str]]
) -> None:
    lines = [f"{a},{b}" for a, b in good]
    for at, text in sorted(bad, reverse=True):
        lines.insert(min(at, len(lines)), f'{text},"{text}')
    path = tmp_path / "quotes.csv"
    path.write_text("a,b\n" + "\n".join(lines) + "\n", encoding="utf-8")
    rows = list(open_reader(path, {"format": "csv"}).rows())
    assert [tuple(r.fields.values()) for r in rows if r.fields] == good
    failed = [r for r in rows if r.error]
    assert len(failed) == len(bad)
    assert all(r.raw.count('"') == 1 and r.location.startswith("line ") for r in failed)
