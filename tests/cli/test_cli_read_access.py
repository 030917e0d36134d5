"""Read commands are audited, and `openrms --as USER --purpose P [--reason R]` reads exactly as that user
would through the API (their agency, vetting and agreements); without --as the operator reads everything
and the entry names the login as cli:<login>."""

from __future__ import annotations

import json

from openrms.access import audit
from openrms.store.database import Database
from tests.cli.conftest import Cli
from tests.helpers import user_token

AS_PC1 = ("--as", "pc1", "--purpose", "investigation")


def _setup(cli: Cli, db: Database) -> tuple[str, str]:
    ours = cli.add("vehicle", "vrm=AB12CDE", agency="WYP")["id"]
    theirs = cli.add("vehicle", "vrm=AB12CDF", agency="NYP")["id"]
    user_token(db, "pc1", agency="WYP", roles=("officer",), vetting="OFFICIAL")
    return ours, theirs


def test_operator_reads_are_audited_under_the_login(cli: Cli, db: Database) -> None:
    _ours, theirs = _setup(cli, db)
    shown = cli.json("record", "show", theirs)
    assert shown["data"]["vrm"] == "AB12CDF"
    with db.read() as conn:
        seen = audit.who_saw(conn, theirs)
    assert len(seen) == 1 and seen[0]["actor"].startswith("cli:") and seen[0]["action"] == "read"


def test_reading_as_a_user_applies_their_policy_and_names_them(cli: Cli, db: Database) -> None:
    ours, theirs = _setup(cli, db)
    hidden = cli.run(*AS_PC1, "record", "show", theirs, expect=2)
    assert "no record" in hidden.stderr  # another agency's record, no agreement: as if it did not exist
    assert cli.json(*AS_PC1, "record", "show", ours)["id"] == ours
    with db.read() as conn:
        assert [(e["actor"], e["purpose"]) for e in audit.who_saw(conn, ours)] == [("pc1", "investigation")]
        assert audit.who_saw(conn, theirs) == []


def test_searching_as_a_user_needs_a_reason_and_sees_only_what_they_may(cli: Cli, db: Database) -> None:
    ours, _theirs = _setup(cli, db)
    refused = cli.run(*AS_PC1, "search", "--vrm", "AB12CD*", "--json", expect=2)
    assert "--reason" in refused.stderr
    answer = json.loads(
        cli.run(*AS_PC1, "--reason", "Op Nimbus", "search", "--vrm", "AB12CD*", "--json").stdout
    )
    found = {rid for item in answer["results"] for rid in item["matched_records"]}
    assert found == {ours}
    with db.read() as conn:
        entry = audit.by_user(conn, "pc1")[0]
    assert entry["action"] == "search" and entry["reason"] == "Op Nimbus" and entry["record_ids"] == [ours]


def test_bad_callers_are_refused_clearly(cli: Cli, db: Database) -> None:
    ours, _ = _setup(cli, db)
    assert (
        "no user 'nobody'"
        in cli.run("--as", "nobody", "--purpose", "investigation", "record", "show", ours, expect=2).stderr
    )
    assert "needs --purpose" in cli.run("--as", "pc1", "record", "show", ours, expect=2).stderr
    assert (
        "unknown purpose"
        in cli.run(*AS_PC1[:2], "--purpose", "curiosity", "record", "show", ours, expect=2).stderr
    )


def test_quarantine_reads_are_audited_and_read_as_a_user_are_their_agencys_only(
    cli: Cli, db: Database
) -> None:
    """Regression test (fixed: src/openrms/cli/imports.py `_importer`): `quarantine list|show` printed raw
    source rows without an audit entry, and with `--as` showed every agency's runs and rows."""
    from pathlib import Path

    custody = Path(__file__).resolve().parents[2] / "docs" / "examples" / "custody-export.dat"
    cli.run("import", str(custody), "--mapping", "custody-fixed-width")  # WYP's (the mapping's agency)
    user_token(db, "admin.nyp", agency="NYP", roles=("administrator",))
    user_token(db, "pc1", agency="WYP", roles=("officer",))
    entries = cli.json("quarantine", "list", "--json")
    assert len(entries) == 5
    cli.json("quarantine", "show", entries[0]["id"])
    with db.read() as conn:
        reads = audit.entries(conn, action="quarantine-read")
    assert [r["actor"].startswith("cli:") for r in reads] == [True, True]

    as_nyp = ("--as", "admin.nyp", "--purpose", "data_quality")
    assert cli.json(*as_nyp, "quarantine", "list", "--json") == []
    assert cli.json(*as_nyp, "import", "runs", "--json") == []
    assert "no quarantine entry" in cli.run(*as_nyp, "quarantine", "show", entries[0]["id"], expect=2).stderr
    assert (
        "discarded 0 row(s)"
        in cli.run(*as_nyp, "quarantine", "discard", entries[0]["id"], "--reason", "x" * 3).stderr
    )
    refused = cli.run("--as", "pc1", "--purpose", "investigation", "quarantine", "list", expect=2)
    assert "do not allow 'import'" in refused.stderr
    assert len(cli.json("quarantine", "list", "--json")) == 5
