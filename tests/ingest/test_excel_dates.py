"""An Excel export whose date column mixes real date cells with dates typed as text, imported through the
`openrms` command on each back end: the real dates need no pattern, the typed ones use the mapping's."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl

from openrms.store import ids
from tests.ingest.test_import_cli import Cli, balanced

MAPPING = """\
name: nominals
agency: WYP
source_system: XL
records:
  p:
    entity: person
    key: "{ID}"
    fields:
      surname: {from: SURNAME, case: title}
      date_of_birth: {from: DOB, date: ["%d/%m/%Y"]}
"""


def test_real_date_cells_and_typed_dates_both_import(cli: Cli, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["ID", "SURNAME", "DOB"])
    sheet.append(["P1", "SMITH", dt.date(1980, 11, 5)])  # a date cell
    sheet.append(["P2", "JONES", "09/03/1975"])  # a date typed as text
    sheet.append(["P3", "BROWN", "March 1990"])  # neither: quarantined, as before
    path = tmp_path / "nominals.xlsx"
    book.save(path)
    mapping = tmp_path / "nominals.yaml"
    mapping.write_text(MAPPING)
    report = cli.json("import", str(path), "--mapping", str(mapping), "--json")
    assert balanced(report) == {"read": 3, "created": 2, "quarantined": 1}
    smith = cli.json("record", "show", ids.record_id("person", "WYP", "XL", "P1"))
    assert smith["data"]["date_of_birth"] == "1980-11-05"
    jones = cli.json("record", "show", ids.record_id("person", "WYP", "XL", "P2"))
    assert jones["data"]["date_of_birth"] == "1975-03-09"
    [reason] = report["reasons"]
    assert "matches none of the date patterns %d/%m/%Y" in reason
