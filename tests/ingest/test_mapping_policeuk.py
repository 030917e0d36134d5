"""The built-in police-uk mapping gives what the demo loader (openrms.demo.policeuk) gives, row for row."""

from __future__ import annotations

import csv
import gzip
import io
import time
from pathlib import Path

import pytest

from openrms.demo import policeuk
from openrms.ingest.mapping import load_mapping
from openrms.schema import validator

SAMPLE = policeuk.DATA_DIR / "2018-07-west-yorkshire-street.csv.gz"


def _head(path: Path, rows: int) -> str:
    with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as handle:
        return "".join(line for _, line in zip(range(rows + 1), handle, strict=False))


@pytest.fixture(scope="module")
def sample_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 20 rows of a real file, plus rows without a location or outcome, as plain CSV."""
    path = tmp_path_factory.mktemp("policeuk") / "2018-07-west-yorkshire-street.csv"
    text = _head(SAMPLE, 20)
    text += ",2018-07,West Yorkshire Police,West Yorkshire Police,,,No Location,,,Anti-social behaviour,,\n"
    text += (
        "abc123,2018-07,West Yorkshire Police,West Yorkshire Police,,,No Location,,,Drugs,,Found in a car\n"
    )
    path.write_text(text, encoding="utf-8")
    return path


def _rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(enumerate(csv.DictReader(handle), start=2))


def test_same_records_keys_and_data_as_the_demo_loader(sample_csv: Path) -> None:
    mapping = load_mapping("police-uk")
    assert (mapping.agency, mapping.source_system) == (policeuk.AGENCY, policeuk.SYSTEM)
    rows = _rows(sample_csv)
    assert len(rows) == 22
    with sample_csv.open(encoding="utf-8-sig", newline="") as handle:
        mapping.check_columns(next(csv.reader(handle)))
    kinds = set()
    for line, row in rows:
        expected = policeuk._row(row, line, sample_csv.name)
        got = mapping.apply(row, {"file": sample_csv.name, "line": line, "row": line - 1})
        assert got.reasons == [] and not got.skipped
        events = [r for name, r in got.records.items() if name in ("crime", "asb")]
        assert len(events) == 1
        event = events[0]
        assert event.entity_type == expected.event.entity_type
        assert event.source_key == expected.event.provenance.source_key
        assert event.data == expected.event.data
        kinds.add(event.entity_type)
        if expected.point is None:
            assert "place" not in got.records and got.links == []
            continue
        place = got.records["place"]
        assert (place.entity_type, place.source_key) == ("point", expected.point.provenance.source_key)
        assert place.data == expected.point.data
        [link] = got.links
        assert link.link_type == expected.link.link_type == "OCCURRED_AT"
        assert link.source_key == expected.link.provenance.source_key
        assert (link.source, link.target) == (("crime" if event.entity_type == "crime" else "asb"), "place")
    assert kinds == {"crime", "anti_social_behaviour"}


def test_every_record_passes_the_registry_validator(sample_csv: Path) -> None:
    mapping = load_mapping("police-uk")
    for line, row in _rows(sample_csv):
        for record in mapping.apply(row, {"file": sample_csv.name, "line": line}).records.values():
            _, issues = validator(record.entity_type).issues(record.data)
            assert [i for i in issues if i.severity == "error"] == [], (record, issues)


def test_rows_without_their_position_are_refused_not_guessed(sample_csv: Path) -> None:
    """An anti-social behaviour row has no Crime ID: its key needs the file and line."""
    mapping = load_mapping("police-uk")
    asb = next(row for _, row in _rows(sample_csv) if not row["Crime ID"])
    assert mapping.apply(asb).reasons == [
        "asb: $file (the source file's name) was not supplied by this import"
    ]


def test_apply_speed_is_reported() -> None:
    """Printed, not asserted: run with -s to see it (target > 100k rows/s on one core)."""
    mapping = load_mapping("police-uk")
    with io.TextIOWrapper(gzip.open(SAMPLE), encoding="utf-8-sig", newline="") as handle:
        rows = [row for _, row in zip(range(20_000), csv.DictReader(handle), strict=False)]
    context = {"file": SAMPLE.name, "line": 2}
    apply = mapping.apply
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for row in rows:
            apply(row, context)
        best = min(best, time.perf_counter() - started)
    print(f"\npolice-uk apply: {len(rows) / best:,.0f} rows/s ({best / len(rows) * 1e6:.1f} µs a row)")
