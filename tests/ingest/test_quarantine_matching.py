"""Choosing quarantined rows by the text of a reason (`--matching`, `matching=`), on each back end.

A large import's quarantine is worked a class of fault at a time: every row an unknown disposal code
stopped goes back for a retry once the code table has it; every row without a location is discarded with
one reason. The text is found in any case, and characters SQL or JSON treat specially (`%`, `_`, quotes,
backslashes) are only themselves.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openrms.ingest import runs
from openrms.store.database import Database
from tests.ingest.test_import_api_access import importer, upload_custody
from tests.ingest.test_import_cli import CUSTODY, Cli, fixed_custody_mapping

DISPOSALS = "not in translation table 'disposals'"


def custody_run(cli: Cli) -> str:
    return cli.json("import", str(CUSTODY), "--mapping", "custody-fixed-width", "--json")["run_id"]


def locations(entries: list[dict]) -> list[str]:
    return [e["location"] for e in entries]


def test_list_and_export_choose_rows_by_a_reasons_text_in_any_case(cli: Cli) -> None:
    run = custody_run(cli)
    assert locations(cli.json("quarantine", "list", "--matching", DISPOSALS, "--json")) == ["line 8"]
    assert locations(cli.json("quarantine", "list", "--matching", "IS NOT A REAL DATE", "--json")) == [
        "line 15"
    ]
    assert locations(cli.json("quarantine", "list", "--matching", "'REM'", "--json")) == ["line 8"]
    both = cli.json("quarantine", "list", "--run", run, "--matching", "custody.", "--json")
    assert locations(both) == ["line 8", "line 15", "line 36"]
    # % and _ are only themselves: "released%at" would match "released_at" as a LIKE pattern
    assert cli.json("quarantine", "list", "--matching", "released%at", "--json") == []
    assert locations(cli.json("quarantine", "list", "--matching", "released_at", "--json")) == ["line 36"]

    exported = cli.run("quarantine", "export", "--matching", "pnc id", "--format", "jsonl").stdout
    assert [line for line in exported.splitlines() if line].__len__() == 1 and "line 22" in exported
    message = cli.fails("quarantine", "list", "--matching", "  ")
    assert "matching: give the text to look for in the reasons" in message


def test_retry_and_discard_work_the_rows_a_reasons_text_picks(cli: Cli, tmp_path: Path) -> None:
    run = custody_run(cli)
    fixed = fixed_custody_mapping(tmp_path)
    summary = cli.json("quarantine", "retry", "--matching", DISPOSALS, "--mapping", str(fixed))
    assert (summary["retried"], summary["resolved"], summary["still_open"]) == (1, 1, 0)

    result = cli.run(
        "quarantine", "discard", "--run", run, "--matching", "not a real date", "--reason", "wrong in CMS3"
    )
    assert "discarded 1 row(s)" in result.stderr
    discarded = cli.json("quarantine", "list", "--status", "discarded", "--json")
    assert locations(discarded) == ["line 15"] and discarded[0]["resolution"] == "wrong in CMS3"
    assert locations(cli.json("quarantine", "list", "--json")) == ["line 22", "line 29", "line 36"]
    nothing = cli.run("quarantine", "discard", "--matching", "no reason says this", "--reason", "none")
    assert "discarded 0 row(s)" in nothing.stderr
    message = cli.fails("quarantine", "discard", "--reason", "everything")
    assert "name a run (--run), quarantine entry ids or a reason's text (--matching) to discard" in message


def test_the_api_chooses_rows_by_a_reasons_text(db: Database) -> None:
    with importer(db, "admin.wyp", "WYP") as wyp, importer(db, "admin.nyp", "NYP") as nyp:
        upload_custody(wyp)
        upload_custody(nyp)
        found = wyp.get("/quarantine", params={"matching": "PNC ID CHECK"}).json()["items"]
        assert locations(found) == ["line 22"]  # WYP's own row only
        body = {"matching": "released before", "reason": "corrected at source"}
        assert wyp.post("/quarantine/discard", json=body).json() == {"discarded": 1}
        assert len(nyp.get("/quarantine", params={"matching": "released before"}).json()["items"]) == 1
        exported = wyp.get("/quarantine/export", params={"matching": "'REM'", "format": "jsonl"}).text
        assert exported.count("\n") == 1 and '"location":"line 8"' in exported
        assert wyp.get("/quarantine", params={"matching": "x" * 501}).status_code == 422


# ---- any text, on each back end ----

REASON = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1, max_size=30
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reasons=st.lists(REASON, min_size=1, max_size=4), data=st.data())
def test_any_piece_of_a_reason_finds_its_row(db: Database, reasons: list[str], data: st.DataObject) -> None:
    """Quotes, backslashes, `%`, `_`, accents, line breaks: a piece of a reason, as typed, finds the row."""
    now = dt.datetime.now(dt.UTC)
    with db.write() as conn:
        run = runs.start_run(
            conn,
            mapping="m",
            mapping_text=None,
            source="s",
            source_digest=runs.new_id(),
            mapping_digest="d",
            agency="WYP",
            source_system="S",
            snapshot=False,
            started_by="t",
            now=now,
        )
        runs.quarantine_rows(
            conn, run, [{"number": 1, "location": "line 2", "raw": "x", "reasons": reasons}], now
        )
    reason = data.draw(st.sampled_from(reasons))
    start = data.draw(st.integers(0, len(reason) - 1))
    piece = reason[start : data.draw(st.integers(start + 1, len(reason)))]
    if not piece.strip():
        return
    with db.read() as conn:
        found = runs.list_quarantine(conn, run_id=run, matching=piece)
        others = runs.list_quarantine(conn, run_id=run, matching=piece + "\x01never")
    assert len(found) == 1 and found[0]["reasons"] == reasons
    assert others == [] or any(piece + "\x01never" in r for r in reasons)
