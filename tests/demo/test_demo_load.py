"""`openrms demo` loads a slice of the police.uk crimes and a small population, on both databases."""

from __future__ import annotations

from collections import Counter

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from openrms.api.app import create_app
from openrms.cli import app
from openrms.demo.load import load_demo
from openrms.store.scope import Unrestricted
from openrms.store.views import count_records, get_record, list_records
from tests.helpers import sign_in


def test_demo_loads_crimes_people_and_links(db):
    summary = load_demo(db, people=300, max_crimes=500)
    assert not summary.already_loaded
    assert summary.records["crime"] + summary.records["anti_social_behaviour"] == 500
    assert summary.records["person"] > 300  # duplicates across systems
    assert summary.outcomes["created"] == sum(summary.records.values())
    with db.read() as conn:
        assert count_records(conn, Unrestricted()) == sum(summary.records.values())
        agencies = Counter(
            r["provenance"]["agency"]
            for r in list_records(conn, Unrestricted(), entity_type="person", limit=500).items
        )
    assert len(agencies) >= 3  # several agencies' systems, as the demo promises
    assert set(summary.truth.values()) and len(set(summary.truth.values())) == 300
    person = next(iter(summary.truth))
    with db.read() as conn:
        owner = get_record(conn, person, Unrestricted())["provenance"]["agency"]
    client = sign_in(TestClient(create_app(db)), db, agency=owner)
    view = client.get(f"/records/{person}").json()
    assert view["entity_type"] == "person"
    assert "orphan" not in {q["code"] for q in view["quality"]}  # every synthetic person lives somewhere
    assert client.get(f"/records/{person}/links").json()["links"]


def test_demo_is_not_loaded_twice(db):
    load_demo(db, people=50, max_crimes=100)
    again = load_demo(db, people=50, max_crimes=100)
    assert again.already_loaded


def test_demo_command_without_serving(tmp_path):
    target = tmp_path / "demo.db"
    result = CliRunner().invoke(app, ["demo", "--no-serve", "--db", str(target), "--people", "200"])
    assert result.exit_code == 0, result.output
    assert "Demo loaded" in result.output
    again = CliRunner().invoke(app, ["demo", "--no-serve", "--db", str(target)])
    assert again.exit_code == 0 and "already holds the demo" in " ".join(again.output.split())


def test_demo_people_resolve_to_one_master_each(db):
    """The demo's several source systems key the same people again and again; loading them leaves each
    synthetic individual with one master (pairwise, against the generator's truth), and doubtful pairs wait
    for review."""
    from sqlalchemy import select

    from openrms.identity.judgements import review_queue
    from openrms.store.tables import record

    summary = load_demo(db, people=1500, max_crimes=100)
    with db.read() as conn:
        master_of = dict(
            conn.execute(
                select(record.c.id, record.c.master_id).where(record.c.entity_type == "person")
            ).all()
        )
        queued = review_queue(conn, entity_type="person", limit=5)
    truth = summary.truth
    assert set(truth) <= set(master_of)

    def pairs(groups: Counter) -> int:
        return sum(n * (n - 1) // 2 for n in groups.values())

    together = pairs(Counter((master_of[r], truth[r]) for r in truth))
    precision = together / pairs(Counter(master_of[r] for r in truth))
    recall = together / pairs(Counter(truth.values()))
    assert precision >= 0.99, precision
    assert recall >= 0.97, recall
    one_master = Counter(len({master_of[r] for r in truth if truth[r] == ind}) for ind in set(truth.values()))
    assert one_master[1] / sum(one_master.values()) >= 0.98, one_master
    assert queued, "uncertain pairs wait in the review queue"
