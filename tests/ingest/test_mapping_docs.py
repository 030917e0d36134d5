"""docs/mapping.md's tutorial must work as written: its export, its final mapping and what it says happens."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from openrms.ingest.mapping import MappingError, parse_mapping
from openrms.schema import validator

DOC = (Path(__file__).resolve().parents[2] / "docs" / "mapping.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(\w*)\n(.*?)```", DOC, flags=re.S)


def _tutorial() -> tuple[list[dict[str, str]], str]:
    export = next(body for lang, body in BLOCKS if lang == "csv")
    whole = next(
        body
        for lang, body in BLOCKS
        if lang == "yaml"
        and body.startswith("name: legacy-crimes\n")
        and "records:" in body
        and "_default: OTHER_CRIME" in body
    )
    return list(csv.DictReader(io.StringIO(export))), whole


def test_the_tutorial_mapping_does_what_the_tutorial_says() -> None:
    rows, text = _tutorial()
    mapping = parse_mapping(text, "my.yaml")
    mapping.check_columns(rows[0].keys())
    results = [mapping.apply(row) for row in rows]
    assert [r.reasons for r in results[:3]] == [[], [], []]
    assert results[3].reasons == [
        "suspect.date_of_birth: '31/02/1990' (from SUSPECT_DOB) is not a real date "
        "(day is out of range for month)"
    ]
    first = results[0].records
    assert first["crime"].data == {
        "reference": "13/1001/19",
        "crime_type": "BURGLARY",
        "reported_at": "2019-02-03T14:30:00Z",
        "hate_crime": False,
    }
    assert first["scene"].data == {
        "building_number": "12",
        "street": "Park Row",
        "town": "Leeds",
        "postcode": "LS1 5HD",
    }
    assert first["suspect"].data == {
        "surname": "Smith",
        "forenames": "John Paul",
        "date_of_birth": "1980-11-05",
        "gender": "M",
    }
    assert [link.link_type for link in results[0].links] == ["OCCURRED_AT", "SUSPECT"]
    assert "suspect" not in results[1].records and len(results[1].links) == 1
    assert results[3].records["crime"].data["crime_type"] == "OTHER_CRIME"
    for result in results[:3]:
        for record in result.records.values():
            _, issues = validator(record.entity_type).issues(record.data)
            assert not [i for i in issues if i.severity == "error"], issues


def test_the_tutorial_typo_gives_the_message_the_tutorial_shows() -> None:
    """Step 8's file is the final one without the `_default` line added in step 9."""
    rows, text = _tutorial()
    step8 = text.replace("    _default: OTHER_CRIME\n", "").replace("from: OFFENCE", "from: OFFENSE")
    mapping = parse_mapping(step8, "my.yaml")
    with pytest.raises(MappingError) as caught:
        mapping.check_columns(rows[0].keys())
    assert caught.value.problems == ["line 21: source has no field 'OFFENSE'; did you mean 'OFFENCE'?"]
    assert f"error (400 import mapping is invalid): {caught.value}" in DOC
