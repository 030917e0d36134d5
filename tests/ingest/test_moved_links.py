"""Links the source no longer gives: a moved end retracts the old link (keyed as the new one), and a
snapshot retracts the links it does not give.

police-uk keys a crime's OCCURRED_AT link by the crime ("{@crime}/at"), and a link's id also covers its
ends: when the source moves a crime to another map point, the re-import creates a link to the new point,
and the one to the old point, which the source no longer states, must go, or the crime happened at both.
Through the `openrms` command, on each back end.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from openrms.ingest.mapping import BUILTIN_DIR
from openrms.ingest.service import import_source
from openrms.store import ids
from openrms.store.database import Database
from tests.ingest.test_import_cli import Cli, street_slice


def _rows(lines: list[str]) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(lines))))


def _write(path: Path, rows: list[list[str]]) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8", newline="")


def _point(row: list[str]) -> str:
    return ids.record_id("point", "WYP", "POLICE-UK", f"{row[5]},{row[4]}")


def test_a_moved_crime_keeps_one_place_and_the_old_link_names_its_replacement(
    cli: Cli, tmp_path: Path
) -> None:
    path, lines = street_slice(tmp_path, 120)
    rows = _rows(lines)
    first = cli.json("import", str(path), "--mapping", "police-uk", "--json")
    assert "retracted" not in first["links"]
    crime_row = next(row for row in rows[1:] if row[0])
    crime = ids.record_id("crime", "WYP", "POLICE-UK", crime_row[0])
    [old] = cli.json("link", "list", crime, "--type", "OCCURRED_AT")
    assert old["to_id"] == _point(crime_row)

    crime_row[4], crime_row[5] = "-1.549200", "53.800900"  # a point no row of the slice has
    _write(path, rows)
    dry = cli.json("import", str(path), "--mapping", "police-uk", "--dry-run", "--json")
    moved = cli.json("import", str(path), "--mapping", "police-uk", "--json")
    assert moved["links"] == dry["links"] == {"created": 1, "unchanged": 119, "retracted": 1}
    assert moved["rows"] == {"read": 120, "created": 1, "unchanged": 119}
    [new] = cli.json("link", "list", crime, "--type", "OCCURRED_AT")
    assert new["to_id"] == _point(crime_row) and new["id"] != old["id"]
    first_version, retracted = cli.json("link", "history", old["id"])  # the history is kept
    assert first_version["deleted"] is False and first_version["to_id"] == old["to_id"]
    assert retracted["deleted"] is True and new["id"] in retracted["reason"]
    assert cli.json("link", "show", old["id"])["deleted"] is True
    same = cli.run("import", str(path), "--mapping", "police-uk")
    assert "retracted" not in same.stdout + same.stderr  # the same file again: nothing created or retracted

    crime_row[4], crime_row[5] = rows[2][4], rows[2][5]  # moved again, to a point another crime has
    _write(path, rows)
    again = cli.run("import", str(path), "--mapping", "police-uk").stderr
    assert "retracted 1 link(s) the source no longer gives (an end it moved" in " ".join(again.split())
    [latest] = cli.json("link", "list", crime, "--type", "OCCURRED_AT")
    assert latest["to_id"] == _point(rows[2])
    assert {x["from_id"] for x in cli.json("link", "list", _point(rows[2]))} >= {crime}


def _shared_key_mapping(tmp_path: Path) -> Path:
    """police-uk with every crime of a month "at" its place under one key: a key that names no one link."""
    text = (BUILTIN_DIR / "police-uk.yaml").read_text(encoding="utf-8")
    mapping = tmp_path / "shared-key.yaml"
    mapping.write_text(text.replace('key: "{@crime}/at"', 'key: "{Month}/at"'), encoding="utf-8")
    return mapping


def test_links_sharing_a_key_are_replaced_only_by_a_later_import_and_not_when_given_again(
    cli: Cli, tmp_path: Path
) -> None:
    """A key that several rows share (here every crime of a month is "at" under one key) names no one
    link: the import that writes them retracts none of them, and a later one retracts only those it does
    not give again (several subjects of one report may share a key, as may these)."""
    path, lines = street_slice(tmp_path, 60)
    mapping = _shared_key_mapping(tmp_path)
    report = cli.json("import", str(path), "--mapping", str(mapping), "--batch-size", "20", "--json")
    assert "retracted" not in report["links"] and report["links"]["created"] == 60

    rows = _rows(lines)
    crime_row, neighbour = [row for row in rows[1:] if row[0]][:2]
    assert _point(crime_row) != _point(neighbour)
    crime_row[4], crime_row[5] = neighbour[4], neighbour[5]  # moved to where another crime is
    _write(path, rows)
    args = ("import", str(path), "--mapping", str(mapping), "--batch-size", "20", "--json")
    dry = cli.json(*args, "--dry-run")
    moved = cli.json(*args)
    assert moved["links"] == dry["links"] == {"created": 1, "unchanged": 59, "retracted": 1}
    for row in (crime_row, neighbour):
        crime = ids.record_id("crime", "WYP", "POLICE-UK", row[0])
        [now_at] = cli.json("link", "list", crime, "--type", "OCCURRED_AT")
        assert now_at["to_id"] == _point(neighbour)


def test_a_resumed_import_keeps_the_links_its_interrupted_start_wrote(db: Database, tmp_path: Path) -> None:
    """Regression test (fixed: src/openrms/ingest/pipeline.py `Importer._open_run`): a resumed run took
    the moment it resumed as the import's start, so links its interrupted start had written under a key
    the rows share counted as an earlier import's, and were retracted as replaced."""
    path, _ = street_slice(tmp_path, 120)
    mapping = _shared_key_mapping(tmp_path)

    def interrupted(rows: int) -> None:
        raise KeyboardInterrupt  # after the first commit, as Ctrl-C would: the run stays resumable

    options = {"batch_size": 20, "commit_rows": 20, "workers": 0}
    with pytest.raises(KeyboardInterrupt):
        import_source(db, path, mapping, progress=interrupted, **options)
    resumed = import_source(db, path, mapping, **options)
    assert resumed.resumed_after == 20 and resumed.status == "completed"
    assert resumed.tally.links == {"created": 120}


def test_a_snapshot_retracts_the_links_the_source_no_longer_gives(cli: Cli, tmp_path: Path) -> None:
    path, lines = street_slice(tmp_path, 120)
    rows = _rows(lines)
    cli.json("import", str(path), "--mapping", "police-uk", "--snapshot", "--json")
    crime_row = next(row for row in rows[1:] if row[0])
    crime = ids.record_id("crime", "WYP", "POLICE-UK", crime_row[0])
    [at] = cli.json("link", "list", crime, "--type", "OCCURRED_AT")
    crime_row[4] = crime_row[5] = ""  # the source no longer says where it happened: no point, no link
    _write(path, rows)

    plain = cli.json("import", str(path), "--mapping", "police-uk", "--json")
    assert plain["links"] == {"unchanged": 119}  # a plain import cannot tell a link gone from one not given
    assert cli.json("link", "list", crime, "--type", "OCCURRED_AT") == [at]

    snapshot = cli.json("import", str(path), "--mapping", "police-uk", "--snapshot", "--json")
    assert snapshot["links"] == {"unchanged": 119, "retracted": 1}
    assert cli.json("link", "list", crime, "--type", "OCCURRED_AT") == []
    gone = cli.json("link", "history", at["id"])[-1]
    assert gone["deleted"] is True and gone["reason"] == f"not in snapshot import {snapshot['run_id']}"
    again = cli.json("import", str(path), "--mapping", "police-uk", "--snapshot", "--json")
    assert again["links"] == {"unchanged": 119} and again["retracted"] == 0
