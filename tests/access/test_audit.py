"""The tamper-evident audit trail: the chain, its verification, scrubbing, who-saw, the CLI and the API.

Tampering is done the way an insider would: SQL straight at the two tables. Every kind must be caught by
`audit.verify` and by `openrms audit verify` (exit code 1, a message naming the entry).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import hypothesis.strategies as st
import pytest
from fastapi import Depends
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from sqlalchemy import Connection, cast, delete, insert, select, text, update
from sqlalchemy.types import Text
from typer.testing import CliRunner

from openrms.access import audit
from openrms.access.model import Subject
from openrms.api.app import create_app
from openrms.api.deps import current_subject
from openrms.api.routers import audit as audit_routes
from openrms.cli.audit import audit_app
from openrms.store.database import Database
from openrms.store.tables import audit_entry, audit_record

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)


# ---- helpers ----


def _fill(db: Database, n: int = 6) -> list[int]:
    """n entries of varied content, entry k naming records r{k}a and r{k}b (k = 1..n)."""
    seqs = []
    with db.write() as conn:
        for k in range(1, n + 1):
            seqs.append(
                audit.append(
                    conn,
                    actor=f"user{k % 3}",
                    agency="WYP" if k % 2 else None,
                    action="read" if k % 2 else "update",
                    purpose="investigation" if k % 3 else None,
                    reason=f"case {k}" if k % 2 else None,
                    detail={"method": "GET", "path": f"/records/r{k}a", "version": k},
                    record_ids=[f"r{k}b", f"r{k}a", f"r{k}a"],
                    now=T0 + dt.timedelta(minutes=k),
                )
            )
    return seqs


def _rows(conn: Connection) -> list[Any]:
    return conn.execute(select(audit_entry).order_by(audit_entry.c.seq)).all()


def _records(conn: Connection) -> set[tuple[str, int]]:
    return {(r.record_id, r.seq) for r in conn.execute(select(audit_record))}


def _set_seq(conn: Connection, old: int, new: int) -> None:
    """Renumber one entry and its records (what an insider reordering entries would do)."""
    conn.execute(update(audit_entry).where(audit_entry.c.seq == old).values(seq=new))
    conn.execute(update(audit_record).where(audit_record.c.seq == old).values(seq=new))


def _verify(db: Database, **kwargs: Any) -> audit.VerifyResult:
    with db.read() as conn:
        return audit.verify(conn, **kwargs)


def _cli(db: Database, *args: str) -> Any:
    return CliRunner(env={"COLUMNS": "400", "NO_COLOR": "1"}).invoke(audit_app, [*args, "--db", db.url])


# ---- the chain ----


def test_appends_form_a_chain(db: Database) -> None:
    assert _fill(db, 5) == [1, 2, 3, 4, 5]
    with db.read() as conn:
        rows = _rows(conn)
        records = _records(conn)
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == audit.GENESIS == "0" * 64
    for before, after in itertools.pairwise(rows):
        assert after.prev_hash == before.hash
    for row in rows:
        ids = sorted(rid for rid, seq in records if seq == row.seq)
        assert ids == [f"r{row.seq}a", f"r{row.seq}b"]  # deduplicated
        assert row.hash == audit.entry_hash(row._mapping, ids)
        assert len(row.hash) == 64
    assert rows[0].at == T0 + dt.timedelta(minutes=1)
    assert rows[0].at.tzinfo is not None


def test_the_hash_is_sha256_of_documented_canonical_json(db: Database) -> None:
    with db.write() as conn:
        audit.append(
            conn,
            actor="ana",
            agency="WYP",
            action="read",
            purpose="investigation",
            reason="Ünïcode reason",
            detail={"b": 1, "a": [1, 2]},
            record_ids=["y", "x"],
            now=dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
        )
    with db.read() as conn:
        row = _rows(conn)[0]

    payload = {
        "seq": 1,
        "at": "2026-01-02T03:04:05.000006+00:00",
        "actor": "ana",
        "agency": "WYP",
        "action": "read",
        "purpose": "investigation",
        "reason": "Ünïcode reason",
        "detail": row.detail,
        "records": ["x", "y"],
        "prev_hash": "0" * 64,
    }
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert row.hash == hashlib.sha256(raw).hexdigest()
    assert row.detail["a"] == [1, 2] and row.detail["b"] == 1


def test_append_many_continues_the_chain(db: Database) -> None:
    _fill(db, 2)
    events = [
        audit.AuditEvent("ana", "WYP", "search", "investigation", None, {"q": "smith"}, ["a", "b"]),
        audit.AuditEvent("bob", None, "read", record_ids=["c"]),
        audit.AuditEvent("cy", "BTP", "list"),
    ]
    with db.write() as conn:
        assert audit.append_many(conn, events) == [3, 4, 5]
        assert audit.append_many(conn, []) == []
    result = _verify(db)
    assert result.ok and result.checked == 5
    with db.read() as conn:
        assert audit.who_saw(conn, "c")[0]["actor"] == "bob"


def test_verify_an_empty_trail(db: Database) -> None:
    result = _verify(db)
    assert result == audit.VerifyResult(ok=True, checked=0, problems=[], head_seq=0, head_hash="0" * 64)


def test_verify_pages_through_entries_and_records(db: Database) -> None:
    _fill(db, 7)
    with db.write() as conn:  # one entry with more records than a page
        audit.append(conn, actor="x", agency=None, action="list", record_ids=[f"m{i:02d}" for i in range(11)])
    _fill(db, 2)
    for batch in (1, 2, 3, 4, 10000):
        result = _verify(db, batch=batch)
        assert result.ok, (batch, result.problems)
        assert result.checked == 10
    with db.read() as conn:
        head = audit.head(conn)
        assert audit.verify(conn, batch=3).ok
        if db.dialect == "sqlite":  # the walk's sort spilled to a file; the engine's setting is back
            assert conn.exec_driver_sql("PRAGMA temp_store").scalar() == 2
    assert (result.head_seq, result.head_hash) == head


def test_verify_reports_progress(db: Database) -> None:
    _fill(db, 5)
    seen: list[tuple[int, int]] = []
    with db.read() as conn:
        audit.verify(conn, batch=2, progress=lambda checked, total: seen.append((checked, total)))
    assert seen == [(2, 5), (4, 5), (5, 5)]


def test_a_caller_rollback_leaves_no_entry_and_no_gap(db: Database) -> None:
    _fill(db, 2)
    with pytest.raises(RuntimeError), db.write() as conn:
        audit.append(conn, actor="x", agency=None, action="update", record_ids=["q"])
        raise RuntimeError("the write failed")
    with db.write() as conn:
        assert audit.append(conn, actor="y", agency=None, action="read") == 3
    assert _verify(db).ok


def test_naive_times_are_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="timezone-aware"), db.write() as conn:
        audit.append(conn, actor="x", agency=None, action="read", now=dt.datetime(2026, 1, 1))


# ---- tampering ----


def _edit_actor(conn: Connection) -> None:
    conn.execute(text("UPDATE audit_entry SET actor = 'someone-else' WHERE seq = 4"))


def _edit_detail(conn: Connection) -> None:
    conn.execute(update(audit_entry).where(audit_entry.c.seq == 4).values(detail={"path": "/records/x"}))


def _edit_time(conn: Connection) -> None:
    at = conn.execute(select(audit_entry.c.at).where(audit_entry.c.seq == 4)).scalar_one()
    conn.execute(update(audit_entry).where(audit_entry.c.seq == 4).values(at=at + dt.timedelta(hours=3)))


def _edit_reason(conn: Connection) -> None:
    conn.execute(text("UPDATE audit_entry SET reason = NULL, purpose = 'safeguarding' WHERE seq = 4"))


def _delete_entry(conn: Connection) -> None:
    conn.execute(text("DELETE FROM audit_entry WHERE seq = 4"))


def _delete_entry_and_records(conn: Connection) -> None:
    conn.execute(text("DELETE FROM audit_record WHERE seq = 4"))
    conn.execute(text("DELETE FROM audit_entry WHERE seq = 4"))


def _delete_record_row(conn: Connection) -> None:
    conn.execute(text("DELETE FROM audit_record WHERE seq = 4 AND record_id = 'r4a'"))


def _add_record_row(conn: Connection) -> None:
    conn.execute(text("INSERT INTO audit_record (record_id, seq) VALUES ('r9z', 4)"))


def _move_record_row(conn: Connection) -> None:
    conn.execute(text("UPDATE audit_record SET seq = 5 WHERE seq = 4 AND record_id = 'r4b'"))


def _swap_entries(conn: Connection) -> None:
    _set_seq(conn, 4, -1)
    _set_seq(conn, 5, 4)
    _set_seq(conn, -1, 5)


def _swap_entry_rows_only(conn: Connection) -> None:
    conn.execute(text("UPDATE audit_entry SET seq = -1 WHERE seq = 4"))
    conn.execute(text("UPDATE audit_entry SET seq = 4 WHERE seq = 5"))
    conn.execute(text("UPDATE audit_entry SET seq = 5 WHERE seq = -1"))


def _forge(conn: Connection, seq: int, prev_hash: str) -> None:
    forged = {
        "seq": seq,
        "at": T0 + dt.timedelta(minutes=4, seconds=30),
        "actor": "innocent",
        "agency": "WYP",
        "action": "read",
        "purpose": "investigation",
        "reason": None,
        "detail": {},
        "prev_hash": prev_hash,
    }
    conn.execute(insert(audit_entry).values(**forged, hash=audit.entry_hash(forged, [])))


def _insert_forged_entry(conn: Connection) -> None:
    """Make room after entry 3 (renumbering 4.. up by one) and put a well-formed entry there."""
    top = conn.execute(select(audit_entry.c.seq).order_by(audit_entry.c.seq.desc())).scalars().first()
    for seq in range(top, 3, -1):
        _set_seq(conn, seq, seq + 1)
    prev = conn.execute(select(audit_entry.c.hash).where(audit_entry.c.seq == 3)).scalar_one()
    _forge(conn, 4, prev)


def _replace_entry(conn: Connection) -> None:
    """Replace entry 4 with a well-formed forgery (its own hash is right; the next link is not)."""
    prev = conn.execute(select(audit_entry.c.hash).where(audit_entry.c.seq == 3)).scalar_one()
    conn.execute(delete(audit_record).where(audit_record.c.seq == 4))
    conn.execute(delete(audit_entry).where(audit_entry.c.seq == 4))
    _forge(conn, 4, prev)


def _edit_hash_too(conn: Connection) -> None:
    """Edit entry 4 and recompute its own hash: the link from entry 5 breaks."""
    row = conn.execute(select(audit_entry).where(audit_entry.c.seq == 4)).one()
    ids = sorted(conn.execute(select(audit_record.c.record_id).where(audit_record.c.seq == 4)).scalars())
    entry = {**row._mapping, "actor": "someone-else"}
    conn.execute(
        update(audit_entry)
        .where(audit_entry.c.seq == 4)
        .values(actor="someone-else", hash=audit.entry_hash(entry, ids))
    )


def _edit_first_prev_hash(conn: Connection) -> None:
    conn.execute(text("UPDATE audit_entry SET prev_hash = :h WHERE seq = 1"), {"h": "1" * 64})


def _delete_first(conn: Connection) -> None:
    conn.execute(text("DELETE FROM audit_entry WHERE seq = 1"))


def _delete_three(conn: Connection) -> None:
    conn.execute(text("DELETE FROM audit_entry WHERE seq IN (3, 4, 5)"))


def _delete_head_keep_records(conn: Connection) -> None:
    conn.execute(text("DELETE FROM audit_entry WHERE seq = 6"))


# (tampering, the first problem's seq and kind, a phrase its message must contain)
TAMPERING: dict[str, tuple[Callable[[Connection], None], int, str, str]] = {
    "edit actor": (_edit_actor, 4, "changed", "entry 4 was changed"),
    "edit detail": (_edit_detail, 4, "changed", "entry 4 was changed"),
    "edit time": (_edit_time, 4, "changed", "entry 4 was changed"),
    "edit purpose and reason": (_edit_reason, 4, "changed", "entry 4 was changed"),
    "delete entry": (_delete_entry, 4, "missing", "entry 4 is missing"),
    "delete entry and records": (_delete_entry_and_records, 4, "missing", "entry 4 is missing"),
    "delete three entries": (_delete_three, 3, "missing", "entries 3 to 5 are missing"),
    "delete the first entry": (_delete_first, 1, "missing", "entry 1 is missing"),
    "delete a record row": (_delete_record_row, 4, "records", "the records of entry 4 were changed"),
    "add a record row": (_add_record_row, 4, "records", "the records of entry 4 were changed"),
    "move a record row": (_move_record_row, 4, "records", "the records of entry 4 were changed"),
    "swap two entries": (_swap_entries, 4, "changed", "entry 4 was changed"),
    "swap two entry rows": (_swap_entry_rows_only, 4, "records", "the records of entry 4 were changed"),
    "insert a forged entry": (_insert_forged_entry, 5, "changed", "entry 5 was changed"),
    "replace an entry": (_replace_entry, 5, "link", "entry 5 does not follow entry 4"),
    "edit and rehash an entry": (_edit_hash_too, 5, "link", "entry 5 does not follow entry 4"),
    "edit the first prev_hash": (_edit_first_prev_hash, 1, "changed", "entry 1 was changed"),
    "delete the head, not its records": (_delete_head_keep_records, 6, "orphan", "entry 6, which is missing"),
}


@pytest.mark.parametrize("name", list(TAMPERING))
def test_tampering_is_detected(db: Database, name: str) -> None:
    tamper, seq, kind, phrase = TAMPERING[name]
    _fill(db, 6)
    assert _verify(db).ok
    with db.write() as conn:
        tamper(conn)
    result = _verify(db)
    assert not result.ok
    first = result.problems[0]
    assert (first.seq, first.kind) == (seq, kind), result.problems
    assert phrase in first.message
    for batch in (1, 2, 5):  # the same answer whatever the page size
        assert _verify(db, batch=batch).problems == result.problems

    cli = _cli(db, "verify")
    assert cli.exit_code == 1, cli.output
    assert "audit trail broken" in cli.stdout
    assert phrase in cli.stdout


def test_each_problem_is_reported_not_just_the_first(db: Database) -> None:
    _fill(db, 8)
    with db.write() as conn:
        conn.execute(text("UPDATE audit_entry SET actor = 'x' WHERE seq IN (2, 6)"))
        conn.execute(text("DELETE FROM audit_entry WHERE seq = 4"))
        conn.execute(text("DELETE FROM audit_record WHERE seq = 8 AND record_id = 'r8a'"))
    result = _verify(db)
    assert [(p.seq, p.kind) for p in result.problems] == [
        (2, "changed"),
        (4, "missing"),
        (6, "changed"),
        (8, "records"),
    ]
    assert result.checked == 7 and not result.truncated
    assert _verify(db, max_problems=2).problems == result.problems[:2]
    assert _verify(db, max_problems=2).truncated


def test_an_edited_entry_is_reported_once_the_links_after_it_hold(db: Database) -> None:
    _fill(db, 6)
    with db.write() as conn:
        _edit_actor(conn)
    assert [(p.seq, p.kind) for p in _verify(db).problems] == [(4, "changed")]


def test_a_rewritten_tail_is_caught_by_an_anchor(db: Database) -> None:
    """A chain rewritten from entry 4 to the end verifies on its own: only a hash kept elsewhere shows it."""
    _fill(db, 6)
    with db.read() as conn:
        anchor = audit.head(conn)
    with db.write() as conn:
        prev = conn.execute(select(audit_entry.c.hash).where(audit_entry.c.seq == 3)).scalar_one()
        for row in conn.execute(select(audit_entry).where(audit_entry.c.seq >= 4).order_by("seq")).all():
            ids = sorted(conn.execute(select(audit_record.c.record_id).where(audit_record.c.seq == row.seq)))
            entry = {**row._mapping, "actor": "rewritten", "prev_hash": prev}
            prev = audit.entry_hash(entry, [i[0] for i in ids])
            conn.execute(
                update(audit_entry)
                .where(audit_entry.c.seq == row.seq)
                .values(actor="rewritten", prev_hash=entry["prev_hash"], hash=prev)
            )
    assert _verify(db).ok
    result = _verify(db, anchors={anchor[0]: anchor[1]})
    assert [(p.seq, p.kind) for p in result.problems] == [(6, "anchor")]
    cli = _cli(db, "verify", "--anchor", f"{anchor[0]}:{anchor[1]}")
    assert cli.exit_code == 1 and "entry 6 was changed" in cli.stdout


def test_dropping_the_newest_entries_is_caught_by_an_anchor(db: Database) -> None:
    _fill(db, 6)
    with db.read() as conn:
        seq, digest = audit.head(conn)
    with db.write() as conn:
        conn.execute(text("DELETE FROM audit_record WHERE seq >= 5"))
        conn.execute(text("DELETE FROM audit_entry WHERE seq >= 5"))
    assert _verify(db).ok  # a shorter chain is still a chain
    result = _verify(db, anchors={seq: digest})
    assert [(p.seq, p.kind) for p in result.problems] == [(6, "missing")]
    assert "the chain ends at entry 4" in result.problems[0].message
    assert _cli(db, "verify", "--anchor", f"{seq}:{digest}").exit_code == 1


# ---- the CLI ----


def test_cli_verify_prints_the_head_when_intact(db: Database) -> None:
    _fill(db, 3)
    with db.read() as conn:
        seq, digest = audit.head(conn)
    result = _cli(db, "verify")
    assert result.exit_code == 0, result.output
    assert "audit trail intact: 3 entries checked" in result.stdout
    assert f"head: entry {seq} {digest}" in result.stdout
    assert _cli(db, "verify", "--anchor", f"{seq}:{digest}").exit_code == 0
    as_json = json.loads(_cli(db, "verify", "--json").stdout)
    assert as_json == {
        "ok": True,
        "checked": 3,
        "head": {"seq": seq, "hash": digest},
        "problems": [],
        "truncated": False,
    }
    bad = _cli(db, "verify", "--anchor", "3:xyz")
    assert bad.exit_code == 2 and "SEQ:HASH" in bad.output
    with db.read() as conn:  # verifying appends nothing, so the printed head stays the head
        assert audit.head(conn) == (seq, digest)


def test_cli_verify_json_lists_problems(db: Database) -> None:
    _fill(db, 5)
    with db.write() as conn:
        _delete_entry(conn)
    result = _cli(db, "verify", "--json")
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert body["ok"] is False
    assert body["problems"][0] == {"seq": 4, "kind": "missing", "message": "entry 4 is missing"}


def test_cli_who_saw_user_and_list(db: Database) -> None:
    _fill(db, 6)
    result = _cli(db, "who-saw", "r3a", "--by", "auditor1")
    assert result.exit_code == 0, result.output
    assert "user0" in result.stdout and "case 3" in result.stdout
    assert json.loads(_cli(db, "who-saw", "r3a", "--json").stdout)[0]["seq"] == 3

    mine = json.loads(_cli(db, "user", "user1", "--json").stdout)
    assert [e["seq"] for e in mine] == [4, 1]
    assert mine[0]["record_ids"] == ["r4a", "r4b"]
    since = (T0 + dt.timedelta(minutes=2)).isoformat()
    assert [e["seq"] for e in json.loads(_cli(db, "user", "user1", "--since", since, "--json").stdout)] == [4]
    bad = _cli(db, "user", "user1", "--since", "last tuesday")
    assert bad.exit_code == 2 and "--since" in bad.output

    listed = json.loads(_cli(db, "list", "--action", "update", "--limit", "2", "--json").stdout)
    assert [e["seq"] for e in listed] == [6, 4]
    table = _cli(db, "list", "--actor", "user2", "--oldest")
    assert table.exit_code == 0 and "r2a, r2b" in table.stdout

    # reading the trail from the command line is on the trail too, and the chain still holds
    with db.read() as conn:
        reads = audit.entries(conn, action="audit-read", limit=100)
    assert [e["actor"] for e in reads][:1] == ["auditor1"]
    assert reads[0]["detail"] == {"via": "cli", "command": "who-saw", "record": "r3a", "returned": 1}
    assert _cli(db, "verify").exit_code == 0


# ---- secrets ----


def test_secrets_never_reach_the_log(db: Database) -> None:
    detail = {
        "password": "hunter2-password",
        "query": {"access_token": "tok-abc123", "q": "basic assault", "page": 2},
        "headers": [
            {"Authorization": "Bearer abcdefghijklmnopqrstuvwxyz"},
            {"Cookie": "openrms_session=s3cr3t"},
        ],
        "X-CSRF-Token": "csrf-value",
        "client_secret": "cs-value",
        "apiKey": "key-value",
        "api_key": "key-value-2",
        "nested": {"deeper": {"new_password": "pw-2", "ok": "kept"}},
        "note": "Bearer zyxwvutsrqponmlkjihgfedcba",
    }
    with db.write() as conn:
        audit.append(conn, actor="ana", agency="WYP", action="sign-in", detail=detail)
    with db.read() as conn:
        raw = conn.execute(select(cast(audit_entry.c.detail, Text))).scalar_one()
        stored = audit.entries(conn)[0]["detail"]
    for secret in (
        "hunter2",
        "tok-abc123",
        "abcdefghijklmnopqrstuvwxyz",
        "s3cr3t",
        "csrf-value",
        "cs-value",
        "key-value",
        "pw-2",
        "zyxwvutsrqponmlkjihgfedcba",
    ):
        assert secret not in raw
    assert stored["password"] == "[removed]"
    assert stored["query"] == {"access_token": "[removed]", "q": "basic assault", "page": 2}
    assert stored["headers"] == [{"Authorization": "[removed]"}, {"Cookie": "[removed]"}]
    assert stored["nested"] == {"deeper": {"new_password": "[removed]", "ok": "kept"}}
    assert stored["note"] == "[removed]"
    assert _verify(db).ok


def test_awkward_detail_values_still_verify(db: Database) -> None:
    """Values JSON (or JSONB) would not give back as they went in are stored so they come back the same."""
    detail = {
        "whole": 1.0,
        "big": 1e20,
        "huge": 2**70,
        "nan": float("nan"),
        "inf": float("-inf"),
        "neg_zero": -0.0,
        "fraction": 0.1 + 0.2,
        "tiny": 1.5e-7,
        "tuple": (1, "two"),
        "set": {"b", "a"},
        "when": T0,
        3: "an int key",
        "nul": "a\x00b",
        "unicode": "Zoë 😀",
    }
    with db.write() as conn:
        audit.append(conn, actor="a\x00b", agency=None, action="x" * 60, detail=detail, record_ids=["r"])
    result = _verify(db)
    assert result.ok, result.problems
    with db.read() as conn:
        stored = audit.entries(conn)[0]
    assert stored["detail"]["whole"] == 1 and stored["detail"]["big"] == "1e+20"
    assert stored["detail"]["set"] == ["a", "b"] and stored["detail"]["3"] == "an int key"
    assert stored["detail"]["nul"] == "a\ufffdb" and stored["actor"] == "a\ufffdb"
    assert stored["action"] == "x" * 40


# ---- who saw, by user, entries ----


def test_who_saw_newest_first(db: Database) -> None:
    _fill(db, 3)
    with db.write() as conn:
        audit.append(
            conn,
            actor="bob",
            agency="BTP",
            action="read",
            purpose="safeguarding",
            reason="welfare check",
            record_ids=["r2a"],
            now=T0 + dt.timedelta(hours=1),
        )
    with db.read() as conn:
        seen = audit.who_saw(conn, "r2a")
        assert audit.who_saw(conn, "r2a", limit=1) == seen[:1]
        assert audit.who_saw(conn, "nobody") == []
    assert seen == [
        {
            "seq": 4,
            "at": "2026-11-01T10:00:00.000000+00:00",
            "actor": "bob",
            "agency": "BTP",
            "action": "read",
            "purpose": "safeguarding",
            "reason": "welfare check",
        },
        {
            "seq": 2,
            "at": "2026-11-01T09:02:00.000000+00:00",
            "actor": "user2",
            "agency": None,
            "action": "update",
            "purpose": "investigation",
            "reason": None,
        },
    ]


def test_by_user_with_time_bounds(db: Database) -> None:
    _fill(db, 9)
    with db.read() as conn:
        everything = audit.by_user(conn, "user0")
        assert [e["seq"] for e in everything] == [9, 6, 3]
        assert everything[0]["record_ids"] == ["r9a", "r9b"]
        assert everything[0]["detail"] | {"_records": None} == {
            "method": "GET",
            "path": "/records/r9a",
            "version": 9,
            "_records": None,
        }
        bounded = audit.by_user(
            conn, "user0", since=T0 + dt.timedelta(minutes=3), until=T0 + dt.timedelta(minutes=9)
        )
        assert [e["seq"] for e in bounded] == [6, 3]
        assert [e["seq"] for e in audit.by_user(conn, "user0", limit=1)] == [9]
        assert audit.by_user(conn, "nobody") == []


def test_entries_filter_and_page(db: Database) -> None:
    _fill(db, 9)
    with db.read() as conn:
        assert [e["seq"] for e in audit.entries(conn, limit=4)] == [1, 2, 3, 4]
        assert [e["seq"] for e in audit.entries(conn, after_seq=4, limit=4)] == [5, 6, 7, 8]
        assert [e["seq"] for e in audit.entries(conn, newest_first=True, limit=4)] == [9, 8, 7, 6]
        assert [e["seq"] for e in audit.entries(conn, newest_first=True, after_seq=6, limit=4)] == [
            5,
            4,
            3,
            2,
        ]
        assert [e["seq"] for e in audit.entries(conn, action="update")] == [2, 4, 6, 8]
        assert [e["seq"] for e in audit.entries(conn, action="update", actor="user1")] == [4]
        assert [e["seq"] for e in audit.entries(conn, record_id="r5b")] == [5]
        since, until = T0 + dt.timedelta(minutes=8), T0 + dt.timedelta(minutes=9)
        assert [e["seq"] for e in audit.entries(conn, since=since, until=until)] == [8]
        first = audit.entries(conn, limit=1)[0]
    assert first["prev_hash"] == "0" * 64 and len(first["hash"]) == 64
    assert first["record_ids"] == ["r1a", "r1b"] and len(first["detail"]["_records"]) == 16


def _independent_hash(item: dict[str, Any]) -> str:
    """The recipe of docs/access/audit.md, with nothing but the standard library."""
    keys = ("seq", "at", "actor", "agency", "action", "purpose", "reason", "detail", "prev_hash")
    payload = {k: item[k] for k in keys} | {"records": sorted(item["record_ids"])}
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def test_anyone_can_check_the_chain_from_what_the_api_lists(db: Database) -> None:
    _fill(db, 5)
    with db.write() as conn:
        audit.append(conn, actor="Zoë", agency=None, action="read", detail={"q": "Ünïcode", "n": 2.5})
    with db.read() as conn:
        items = audit.entries(conn, limit=100)
    previous = "0" * 64
    for item in json.loads(json.dumps(items)):  # as it arrives over HTTP
        assert item["prev_hash"] == previous
        assert _independent_hash(item) == item["hash"]
        previous = item["hash"]


# ---- concurrency ----


def test_concurrent_appends_keep_one_chain(db: Database) -> None:
    threads, per_thread = 8, 15
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(n: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                with db.write() as conn:
                    if i % 5 == 4:
                        events = [audit.AuditEvent(f"t{n}", None, "batch", record_ids=[f"b{n}-{i}"])] * 2
                        audit.append_many(conn, events)
                    else:
                        audit.append(
                            conn, actor=f"t{n}", agency=None, action="read", record_ids=[f"x{n}-{i}"]
                        )
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors, errors
    total = threads * (per_thread + per_thread // 5)
    result = _verify(db)
    assert result.ok, result.problems
    assert result.checked == result.head_seq == total
    with db.read() as conn:
        assert [r.seq for r in _rows(conn)] == list(range(1, total + 1))


def test_appends_from_two_processes_interleave(db: Database) -> None:
    """Each Database (a process, as far as the append knows) guesses the head from its own last append;
    interleaving makes every guess wrong, and the chain must still come out whole."""
    other = Database(db.url)
    try:
        for i in range(6):
            for database in (db, other):
                with database.write() as conn:
                    events = [audit.AuditEvent(f"p{i}", None, "read", record_ids=[f"x{i}"])] * (1 + i % 2)
                    audit.append_many(conn, events)
    finally:
        other.dispose()
    result = _verify(db)
    assert result.ok, result.problems
    assert result.checked == 18


def test_an_append_that_waited_for_another_goes_after_it(db: Database) -> None:
    """The race the one-statement append has to survive on PostgreSQL: its head check reads a snapshot taken
    before it waits for the lock, so it still sees the head it guessed while another process's next entry
    commits. The chain must come out whole, the waiting entry after the other one."""
    other = Database(db.url)
    try:
        with db.write() as conn:
            audit.append(conn, actor="first", agency=None, action="read")  # db now guesses head 1
        errors: list[BaseException] = []

        def late() -> None:
            try:
                with db.write() as conn:
                    audit.append(conn, actor="late", agency=None, action="read", record_ids=["r1"])
            except BaseException as exc:  # reported below
                errors.append(exc)

        waiter = threading.Thread(target=late)
        with other.write() as conn:
            audit.append(conn, actor="other", agency=None, action="read")  # holds the lock until commit
            waiter.start()
            _until_blocked(db, waiter)
        waiter.join(timeout=30)
        assert not waiter.is_alive() and not errors, errors
    finally:
        other.dispose()
    result = _verify(db)
    assert result.ok, result.problems
    with db.read() as conn:
        assert [r.actor for r in _rows(conn)] == ["first", "other", "late"]
        assert conn.execute(select(audit_record.c.record_id, audit_record.c.seq)).all() == [("r1", 3)]


def _until_blocked(db: Database, thread: threading.Thread) -> None:
    """Return once `thread` waits on the audit lock (PostgreSQL) or the write lock (SQLite)."""
    if db.dialect != "postgresql":  # SQLite shows no waiters: give it a moment to reach BEGIN IMMEDIATE
        thread.join(timeout=0.2)
        assert thread.is_alive()
        return
    for _ in range(300):
        assert thread.is_alive()
        with db.read() as conn:
            waiting = conn.execute(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            ).scalar_one()
        if waiting:
            return
        thread.join(timeout=0.05)
    raise AssertionError("the second append never waited for the audit lock")


# ---- property: any single edit is detected ----

_text = st.text(st.characters(exclude_categories=()), max_size=12)  # NULs, lone surrogates and all
_storable = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)
_events = st.builds(
    audit.AuditEvent,
    actor=_text,
    agency=st.none() | st.sampled_from(["WYP", "BTP", "CPS"]),
    action=st.sampled_from(["read", "list", "search", "update", "link", "merge"]),
    purpose=st.none() | st.sampled_from(["investigation", "safeguarding"]),
    reason=st.none() | _text,
    detail=st.none() | st.dictionaries(_text, _json, max_size=4),
    record_ids=st.lists(st.text("abcdef0123", min_size=1, max_size=24), max_size=4),
    now=st.none()
    | st.datetimes(
        min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2090, 1, 1), timezones=st.just(dt.UTC)
    ),
)
_FIELDS = ("at", "actor", "agency", "action", "purpose", "reason", "detail", "prev_hash", "hash", "seq")
_EDITS = (*_FIELDS, "add-record", "drop-record", "rename-record")


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    batches=st.lists(st.lists(_events, min_size=1, max_size=4), min_size=1, max_size=3),
    edit=st.sampled_from(_EDITS),
    pick=st.integers(min_value=0),
    data=st.data(),
)
def test_any_single_edit_is_detected(
    db: Database, batches: list[list[audit.AuditEvent]], edit: str, pick: int, data: st.DataObject
) -> None:
    with db.write() as conn:
        conn.execute(delete(audit_record))
        conn.execute(delete(audit_entry))
    with db.write() as conn:
        for events in batches:
            if len(events) == 1:
                audit.append(conn, **events[0].__dict__)
            else:
                audit.append_many(conn, events)
    result = _verify(db)
    assert result.ok, result.problems  # whatever went in verifies as it was written

    with db.write() as conn:
        rows = _rows(conn)
        row = rows[pick % len(rows)]
        ids = sorted(
            conn.execute(select(audit_record.c.record_id).where(audit_record.c.seq == row.seq)).scalars()
        )
        changed = _edit(conn, row, ids, edit, data, [r.seq for r in rows])
    if not changed:
        return
    result = _verify(db, batch=data.draw(st.sampled_from([1, 3, 10000]), label="batch"))
    assert not result.ok, f"{edit} of entry {row.seq} went unnoticed"
    assert any(str(p.seq) in p.message for p in result.problems)


def _edit(
    conn: Connection, row: Any, ids: list[str], edit: str, data: st.DataObject, seqs: list[int]
) -> bool:
    where = audit_entry.c.seq == row.seq
    if edit == "at":
        delta = data.draw(st.integers(min_value=1, max_value=10**9), label="microseconds")
        value: Any = row.at + dt.timedelta(microseconds=delta)
    elif edit in ("actor", "action"):
        value = data.draw(_storable.filter(lambda v: v != getattr(row, edit)), label=edit)
    elif edit in ("agency", "purpose", "reason"):
        value = data.draw((st.none() | _storable).filter(lambda v: v != getattr(row, edit)), label=edit)
    elif edit == "detail":
        value = data.draw(st.dictionaries(st.text(max_size=6), _json, max_size=3), label="detail")
        value = audit._clean(value)
        if value == row.detail:
            return False
    elif edit in ("prev_hash", "hash"):
        value = data.draw(st.text("0123456789abcdef", min_size=64, max_size=64), label=edit)
        if value == getattr(row, edit):
            return False
    elif edit == "seq":
        value = data.draw(st.integers(-3, max(seqs) + 5).filter(lambda v: v not in seqs), label="seq")
    elif edit == "add-record":
        new = data.draw(st.text("ghijk", min_size=1, max_size=5), label="record")
        conn.execute(insert(audit_record).values(record_id=new, seq=row.seq))
        return True
    elif ids:
        victim = data.draw(st.sampled_from(ids), label="record")
        rec = (audit_record.c.seq == row.seq) & (audit_record.c.record_id == victim)
        if edit == "drop-record":
            conn.execute(delete(audit_record).where(rec))
        else:
            conn.execute(update(audit_record).where(rec).values(record_id=victim[:23] + "z"))
        return True
    else:
        return False
    conn.execute(update(audit_entry).where(where).values({edit: value}))
    return True


# ---- the API ----


def _subject(*roles: str, scopes: frozenset[str] | None = None) -> Subject:
    extra = {"scopes": scopes} if scopes is not None else {}
    return Subject(
        "u-aud",
        "aud.itor",
        "WYP",
        frozenset(roles),
        "SC",
        purpose="audit",
        reason="quarterly review",
        **extra,
    )


@pytest.fixture
def app_for(db: Database) -> Iterator[Callable[[Subject | None], TestClient]]:
    app = create_app(db)
    if not any(getattr(r, "path", None) == "/audit/verify" for r in app.routes):
        app.include_router(audit_routes.router, dependencies=[Depends(current_subject)])
    clients: list[TestClient] = []

    def client(subject: Subject | None) -> TestClient:
        if subject is None:
            app.dependency_overrides.pop(current_subject, None)
        else:
            app.dependency_overrides[current_subject] = lambda: subject
        test_client = TestClient(app, raise_server_exceptions=False)
        clients.append(test_client)
        return test_client

    yield client
    for c in clients:
        c.close()


ROUTES = ["/audit", "/audit/verify", "/audit/records/r2a", "/audit/users/user1"]


@pytest.mark.parametrize("path", ROUTES)
def test_api_auditor_may_read_the_trail_and_the_read_is_audited(
    db: Database, app_for: Callable[[Subject | None], TestClient], path: str
) -> None:
    _fill(db, 4)
    response = app_for(_subject("auditor")).get(path)
    assert response.status_code == 200, response.text
    with db.read() as conn:
        last = audit.entries(conn, newest_first=True, limit=1)[0]
    assert last["seq"] == 5 and last["action"] == "audit-read"
    assert (last["actor"], last["agency"], last["purpose"], last["reason"]) == (
        "aud.itor",
        "WYP",
        "audit",
        "quarterly review",
    )
    assert last["detail"]["path"] == path and last["record_ids"] == []
    assert _verify(db).ok


@pytest.mark.parametrize("path", ROUTES)
def test_api_others_may_not(db: Database, app_for: Callable[[Subject | None], TestClient], path: str) -> None:
    _fill(db, 2)
    response = app_for(_subject("officer", "supervisor")).get(path)
    assert response.status_code == 403, response.text
    assert response.json()["type"] == "/problems/forbidden"
    token = _subject("auditor", scopes=frozenset({"read"}))  # an auditor's token without the audit scope
    assert app_for(token).get(path).status_code == 403
    assert app_for(None).get(path).status_code == 401
    with db.read() as conn:
        assert audit.head(conn)[0] == 2  # nothing was read, so nothing was audited


def test_api_list_filters_and_pages(db: Database, app_for: Callable[[Subject | None], TestClient]) -> None:
    _fill(db, 9)
    client = app_for(_subject("auditor"))
    page = client.get("/audit", params={"action": "update", "limit": 2}).json()
    assert [e["seq"] for e in page["items"]] == [8, 6] and page["next_after"] == 6
    page = client.get("/audit", params={"action": "update", "limit": 2, "after": 6}).json()
    assert [e["seq"] for e in page["items"]] == [4, 2] and page["next_after"] is None
    oldest = client.get("/audit", params={"order": "oldest", "limit": 3, "actor": "user1"}).json()
    assert [e["seq"] for e in oldest["items"]] == [1, 4, 7] and oldest["next_after"] is None
    assert oldest["items"][0]["record_ids"] == ["r1a", "r1b"]
    assert [e["seq"] for e in client.get("/audit", params={"record_id": "r3b"}).json()["items"]] == [3]
    since = {"since": "2026-11-01T09:05:00Z", "until": "2026-11-01T09:07:00+00:00", "order": "oldest"}
    assert [e["seq"] for e in client.get("/audit", params=since).json()["items"]] == [5, 6]
    assert client.get("/audit", params={"limit": 501}).status_code == 422
    assert client.get("/audit", params={"after": 2**70}).status_code == 422
    assert client.get("/audit", params={"since": "soon"}).status_code == 422


def test_api_verify_who_saw_and_user(db: Database, app_for: Callable[[Subject | None], TestClient]) -> None:
    _fill(db, 6)
    client = app_for(_subject("auditor"))
    body = client.get("/audit/verify").json()
    assert body["ok"] is True and body["checked"] == 6 and body["head"]["seq"] == 6
    seen = client.get("/audit/records/r2a").json()
    assert seen["record_id"] == "r2a" and [e["seq"] for e in seen["items"]] == [2]
    assert set(seen["items"][0]) == {"seq", "at", "actor", "agency", "action", "purpose", "reason"}
    did = client.get("/audit/users/user1", params={"since": "2026-11-01T09:03:00Z"}).json()
    assert did["actor"] == "user1" and [e["seq"] for e in did["items"]] == [4]

    with db.write() as conn:
        _edit_actor(conn)
    body = client.get("/audit/verify").json()
    assert body["ok"] is False
    assert body["problems"][0] == {"seq": 4, "kind": "changed", "message": body["problems"][0]["message"]}
    assert "entry 4 was changed" in body["problems"][0]["message"]
