"""`openrms resolve` and `openrms match` on a synthetic population whose truth is known.

The population's person records are written with the real-time resolver switched off, so every record starts
as its own master and the batch run does all the resolving; its pairwise F1 against the population's truth
is computed here. The run is one master event: `openrms master undo` puts every record back.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import select
from typer.testing import CliRunner

from openrms.cli import app
from openrms.demo.synthetic import Population, generate
from openrms.identity import judgements, saved_models
from openrms.identity.batch import reindex_all
from openrms.store import hooks
from openrms.store.database import Database
from openrms.store.records import NewRecord, bulk_write
from openrms.store.tables import master, master_event, match_model, record

PEOPLE = 400
SEED = 20240607


@pytest.fixture(scope="module")
def population() -> Population:
    return generate(people=PEOPLE, seed=SEED)


@pytest.fixture(autouse=True)
def no_realtime_resolution(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No write hook (records stay their own masters until `openrms resolve`), and no model cached from
    another test (on PostgreSQL tests share the database URL the model cache is keyed on)."""
    monkeypatch.setattr(hooks, "_after_write", [])
    monkeypatch.setattr(saved_models, "_cache", {})
    monkeypatch.setattr(saved_models, "_latest", {})
    yield


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


def load_people(db: Database, population: Population) -> dict[str, NewRecord]:
    """The population's person records by id, written in bulk and indexed, each still its own master."""
    people = [r for r in population.records if r.entity_type == "person"]
    ids: list[str] = []
    counts = bulk_write(
        db, people, upsert=False, workers=0, on_batch=lambda out: ids.extend(o.id for o in out)
    )
    assert counts == {"created": len(people)}
    assert set(ids) == set(population.truth)
    assert reindex_all(db, entity_type="person") == len(people)
    return dict(zip(ids, people, strict=True))


def masters_of(db: Database) -> dict[str, str]:
    with db.read() as conn:
        return dict(conn.execute(select(record.c.id, record.c.master_id)).all())


def master_rows(db: Database) -> dict[str, tuple[str, str | None]]:
    with db.read() as conn:
        return {m.id: (m.status, m.merged_into) for m in conn.execute(select(master))}


def report_of(result: Result) -> dict[str, str]:
    """The figure/value rows of the report table."""
    rows = {}
    for line in result.stdout.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃|]", line)[1:-1]]
        if len(cells) == 2 and cells[0] and cells[0] != "figure":
            rows[cells[0]] = cells[1]
    return rows


def pairwise_f1(truth: dict[str, str], clusters: dict[str, str]) -> tuple[float, float, float]:
    """Precision, recall and F1 of the pairs put in one master against the pairs that are one individual."""

    def pairs(label: dict[str, str]) -> set[tuple[str, str]]:
        groups: dict[str, list[str]] = defaultdict(list)
        for rid, group in label.items():
            groups[group].append(rid)
        return {pair for members in groups.values() for pair in itertools.combinations(sorted(members), 2)}

    true_pairs = pairs(truth)
    found = pairs({rid: clusters[rid] for rid in truth})
    both = len(true_pairs & found)
    precision = both / len(found) if found else 1.0
    recall = both / len(true_pairs) if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


@pytest.mark.slow
def test_resolve_trains_a_model_resolves_the_population_and_undoes_as_one_event(db, population):
    people = load_people(db, population)
    cli = Cli(db)
    before, masters_before = masters_of(db), master_rows(db)
    assert len(set(before.values())) == len(people)  # every record its own master

    result = cli.run("resolve")
    report = report_of(result)
    individuals = len(set(population.truth.values()))
    assert report["records"] == str(len(people))
    assert report["model version"] == "1"
    assert report["masters before"] == str(len(people))
    after = masters_of(db)
    moved = {rid for rid in after if after[rid] != before[rid]}
    assert report["masters after"] == str(len(set(after.values())))
    assert report["records moved"] == str(len(moved)) and moved
    assert int(report["pairs scored"]) >= int(report["pairs linked"]) > 0
    for step in ("read", "train", "score", "apply"):
        assert f"seconds: {step}" in report

    # A trained model is saved as version 1, by the command.
    with db.read() as conn:
        (saved,) = conn.execute(select(match_model)).all()
        (event,) = conn.execute(select(master_event)).all()
    assert (saved.entity_type, saved.version, saved.created_by) == ("person", 1, "openrms resolve")
    assert "forename" in saved.model["comparisons"] and saved.summary["records"] == len(people)

    # Masters follow the truth: pairwise F1 of record -> master against record -> individual.
    precision, recall, f1 = pairwise_f1(population.truth, after)
    assert f1 >= 0.95, (precision, recall, f1)
    assert abs(len(set(after.values())) - individuals) <= 0.05 * individuals

    # The whole run is one event, named in the report and the undo hint.
    assert (event.action, event.entity_type, event.undone_by) == ("resolve", "person", None)
    assert report["event id"] == event.id
    assert f"openrms master undo {event.id}" in result.stderr
    undone = json.loads(cli.run("master", "undo", event.id, "--reason", "test", "--by", "DS Test").stdout)
    assert undone["undoes"] == event.id
    assert masters_of(db) == before
    assert master_rows(db) == masters_before

    # Resolving again with the saved model trains nothing new and comes to the same masters.
    again = report_of(cli.run("resolve", "--no-retrain"))
    assert again["model version"] == "1"
    with db.read() as conn:
        assert [m.version for m in conn.execute(select(match_model.c.version))] == [1]
    assert masters_of(db) == after


@pytest.mark.slow
def test_resolve_never_puts_two_records_a_person_called_different_in_one_master(db, population):
    load_people(db, population)
    by_individual: dict[str, list[str]] = defaultdict(list)
    for rid, individual in population.truth.items():
        by_individual[individual].append(rid)
    # Two records of someone with three or more: the model links each to the third.
    _, (a, b, *_) = next((i, sorted(r)) for i, r in sorted(by_individual.items()) if len(r) >= 3)
    with db.write() as conn:
        judgements.record_judgement(conn, a, b, "different", by_kind="person", by="DS Jones")
    Cli(db).run("resolve")
    after = masters_of(db)
    assert after[a] != after[b]


@pytest.mark.slow
def test_match_prints_the_master_a_record_belongs_to(db, population):
    people = load_people(db, population)
    cli = Cli(db)
    cli.run("resolve")
    after = masters_of(db)
    # Someone with several records: the entry form has what their first record says.
    records: dict[str, list[str]] = defaultdict(list)
    for rid, individual in population.truth.items():
        records[individual].append(rid)
    individual, rids = next((i, r) for i, r in sorted(records.items()) if len(r) >= 3)
    data: dict[str, Any] = dict(people[rids[0]].data)
    args = [
        "match",
        "person",
        "-s",
        f"forenames={data['forenames']}",
        "-s",
        f"surname={data['surname']}",
        "-s",
        f"date_of_birth={data['date_of_birth']}",
    ]
    table = cli.run(*args).stdout
    assert after[rids[0]] in table
    assert re.search(r"\b(certain|probable)\b", table)
    answer = json.loads(cli.run(*args, "--json").stdout)
    assert answer["model_version"] == 1
    top = answer["candidates"][0]
    assert top["master_id"] == after[rids[0]]
    assert top["record_id"] in rids and top["grade"] in ("certain", "probable")

    nobody = cli.run("match", "person", "-s", "forenames=Zebedee", "-s", "surname=Quarrington-Fitch")
    assert "no candidates: this looks like a new person" in nobody.stderr


def test_resolve_refuses_a_type_it_does_not_train(db):
    cli = Cli(db)
    for entity_type in ("crime", "vehicle"):
        result = cli.run("resolve", "--type", entity_type, expect=2)
        assert "error:" in result.stderr and "person" in result.stderr
    with db.read() as conn:
        assert conn.execute(select(match_model)).first() is None


def test_match_refuses_a_type_that_is_not_matched(db):
    result = Cli(db).run("match", "crime", "-s", "reference=13/1/18", expect=2)
    assert "'crime'" in result.stderr and "not matched" in result.stderr


def test_resolve_with_nothing_to_resolve_says_so(db):
    result = Cli(db).run("resolve")
    assert report_of(result)["note"] == "nothing to resolve"
    with db.read() as conn:
        assert conn.execute(select(master_event)).first() is None
