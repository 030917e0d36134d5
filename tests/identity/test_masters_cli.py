"""`openrms master ...`, `openrms masters export` and `openrms review ...`, in-process on each back end."""

from __future__ import annotations

import csv
import gc
import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from openrms.cli import app
from openrms.identity import judgements
from openrms.store.database import Database
from tests.identity.membership_support import (  # noqa: F401  (no_resolution is an autouse fixture)
    PEOPLE,
    no_resolution,
)


class Cli:
    def __init__(self, db: Database) -> None:
        self.url = db.url
        self.runner = CliRunner(env={"COLUMNS": "400", "NO_COLOR": "1"})

    def run(self, *args: str, expect: int = 0) -> Result:
        result = self.runner.invoke(app, [*args, "--db", self.url])
        assert result.exit_code == expect, (
            f"openrms {' '.join(args)} exited {result.exit_code}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}\nexception: {result.exception!r}"
        )
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args).stdout)

    def person(self, i: int, system: str = "CLI") -> dict[str, Any]:
        forenames, surname, dob, gender = PEOPLE[i]
        sets = [f"forenames={forenames}", f"surname={surname}", f"date_of_birth={dob}", f"gender={gender}"]
        argv = ["record", "add", "person", "--by", "PC 1", "--source-system", system]
        for assignment in sets:
            argv += ["--set", assignment]
        return self.json(*argv)


@pytest.fixture
def cli(db: Database) -> Iterator[Cli]:
    yield Cli(db)
    gc.collect()  # each command opens its own engine; let PostgreSQL connections go now


def test_merge_history_show_and_undo(cli):
    a, b = cli.person(0), cli.person(1, system="CUSTODY")
    merged = cli.json(
        "master", "merge", b["master_id"], a["master_id"], "--reason", "same PNC", "--by", "DS 1"
    )
    assert merged["master_id"] == a["master_id"]
    shown = cli.json("master", "show", a["master_id"], "--history")
    assert sorted(r["id"] for r in shown["records"]) == sorted([a["id"], b["id"]])
    assert shown["golden"]["forenames"]["source_system"] == "CUSTODY"
    assert shown["history"][0]["id"] == merged["event_id"]
    events = cli.json("master", "history", a["master_id"], "--json")
    assert [(e["id"], e["by"], e["reason"]) for e in events] == [(merged["event_id"], "DS 1", "same PNC")]
    table = cli.run("master", "history", a["master_id"]).stdout
    assert merged["event_id"] in table and "merge" in table and b["id"] in table
    undone = cli.json("master", "undo", merged["event_id"], "--reason", "wrong", "--by", "DS 2")
    assert undone["undoes"] == merged["event_id"]
    assert cli.json("record", "show", b["id"])["master_id"] == b["master_id"]
    again = cli.run("master", "undo", merged["event_id"], expect=2)
    assert "already undone" in again.stderr


def test_split(cli):
    a, b = cli.person(0), cli.person(1)
    cli.json("master", "merge", a["master_id"], b["master_id"])
    split = cli.json("master", "split", b["id"], "--reason", "not him")
    assert split["masters"] == {b["id"]: b["master_id"]} and split["event_id"]
    alone = cli.run("master", "split", b["id"], expect=2)
    assert "already alone" in alone.stderr


def test_errors_are_clean_messages(cli):
    a = cli.person(0)
    single = cli.run("master", "merge", a["master_id"], expect=2)
    assert "at least two" in single.stderr and "Traceback" not in single.stderr
    assert "0" * 24 in cli.run("master", "undo", "0" * 24, expect=2).stderr
    assert "0" * 24 in cli.run("master", "history", "0" * 24, expect=2).stderr
    assert "spaceship" in cli.run("masters", "export", "--type", "spaceship", expect=2).stderr


def test_masters_export_writes_one_row_per_record(cli, tmp_path):
    a, b, c = cli.person(0), cli.person(1), cli.person(2)
    cli.json("master", "merge", a["master_id"], c["master_id"])
    out = tmp_path / "masters.csv"
    result = cli.run("masters", "export", "--type", "person", "--out", str(out))
    assert "exported 3 person records" in result.stderr
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["agency", "source_system", "source_key", "record_id", "master_id"]
    assert [r["record_id"] for r in rows] == sorted(r["id"] for r in (a, b, c))
    assert {r["record_id"]: r["master_id"] for r in rows} == {
        a["id"]: a["master_id"],
        b["id"]: b["master_id"],
        c["id"]: a["master_id"],
    }
    assert {(r["agency"], r["source_system"]) for r in rows} == {("LOCAL", "CLI")}
    to_stdout = cli.run("master", "export", "--type", "person").stdout
    assert to_stdout.splitlines()[0] == "agency,source_system,source_key,record_id,master_id"


def test_review_list_show_and_decide(cli, db):
    a, b, c, d = (cli.person(i) for i in range(4))
    with db.write() as conn:
        high = judgements.record_judgement(
            conn,
            a["id"],
            b["id"],
            "review",
            by_kind="model",
            by="m",
            probability=0.91,
            explanation={"why": "x"},
        )
        low = judgements.record_judgement(
            conn, c["id"], d["id"], "review", by_kind="model", by="m", probability=0.6
        )
    listed = cli.json("review", "list", "--type", "person", "--json")
    assert [i["judgement_id"] for i in listed] == [high, low]
    table = cli.run("review", "list", "--limit", "1")
    assert high in table.stdout and "0.910" in table.stdout and low not in table.stdout
    assert f"--after {high}" in table.stderr
    shown = cli.run("review", "show", high).stdout
    assert "surname" in shown and "differs" in shown and "Alice" in shown and "Bartholomew" in shown
    assert cli.json("review", "show", high, "--json")["judgement_id"] == high
    decided = cli.json("review", "decide", high, "same", "--reason", "same PNC", "--by", "DS 1")
    assert decided["effect"]["action"] == "merge"
    assert cli.json("record", "show", b["id"])["master_id"] == a["master_id"]
    assert [i["judgement_id"] for i in cli.json("review", "list", "--json")] == [low]
    unsure = cli.json("review", "decide", low, "unsure")
    assert unsure["effect"]["action"] is None
    assert "already decided" in cli.run("review", "decide", low, "same", expect=2).stderr
    assert cli.run("review", "decide", low, "perhaps", expect=2).exit_code == 2
    assert "0" * 24 in cli.run("review", "show", "0" * 24, expect=2).stderr
