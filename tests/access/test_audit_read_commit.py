"""A read's audit entry may commit without waiting for the disk; a write's never does.

On PostgreSQL `append(durable=False)` turns `synchronous_commit` off for its own transaction, on every
path an append can take (the usual one-statement insert, the locked fallback when another process appended
since, several entries at once). The API's reads use it when OPENRMS_AUDIT_READ_COMMIT is `async`; by
default (`sync`) they wait for the disk, and writes always do. What is committed is observed where it
matters: the setting in force when the transaction's COMMIT is sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, event

from openrms.access import audit
from openrms.api.app import create_app
from openrms.errors import BadRequest
from openrms.store.database import Database
from tests.helpers import sign_in

BODY = {
    "data": {"forenames": "Ann", "surname": "Other", "date_of_birth": "1980-01-02"},
    "provenance": {"agency": "WYP", "source_system": "NICHE", "source_key": "k1"},
}
ENTRY = {"actor": "pc.1", "agency": "WYP", "action": "read", "record_ids": ["r1"]}


@contextmanager
def commit_settings(db: Database) -> Iterator[list[str]]:
    """The value of synchronous_commit each PostgreSQL transaction of `db` commits under, in order (none
    on SQLite, which has no such setting)."""
    seen: list[str] = []
    if db.dialect != "postgresql":
        yield seen
        return

    def before_commit(conn: Connection) -> None:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        seen.append(cursor.execute("SHOW synchronous_commit").fetchone()[0])
        cursor.close()

    event.listen(db.engine, "commit", before_commit)
    try:
        yield seen
    finally:
        event.remove(db.engine, "commit", before_commit)


def _forget_head(db: Database) -> None:
    audit._PG_HEADS.pop(db.engine, None)


def _stale_head(db: Database) -> None:
    audit._PG_HEADS[db.engine] = (0, audit.GENESIS)


@pytest.mark.parametrize("path", [_forget_head, _stale_head, None], ids=["no-head", "stale-head", "usual"])
@pytest.mark.parametrize("entries", [1, 3])
def test_a_relaxed_append_commits_without_waiting_on_every_path(db: Database, path, entries: int) -> None:
    with db.write() as conn:
        audit.append(conn, **ENTRY)  # the process now knows the head: the usual path
    if path is not None:
        path(db)
    with commit_settings(db) as seen, db.write() as conn:
        audit.append_many(conn, [audit.AuditEvent(**ENTRY)] * entries, durable=False)
    with commit_settings(db) as after, db.write() as conn:
        audit.append(conn, **ENTRY)  # the next transaction waits again: the setting was its own
    with db.read() as conn:
        result = audit.verify(conn)
    assert result.ok and result.checked == 2 + entries, result
    if db.dialect == "postgresql":
        assert (seen, after) == (["off"], ["on"])
    else:  # SQLite never waits for the disk at commit (WAL, synchronous=NORMAL): nothing to change
        assert (seen, after) == ([], [])


def test_async_api_reads_commit_without_waiting_and_writes_wait(db: Database, monkeypatch) -> None:
    monkeypatch.setenv(audit.READ_COMMIT_VARIABLE, "async")
    with TestClient(create_app(db)) as client:
        sign_in(client, db)
        with commit_settings(db) as on_write:
            made = client.post("/records/person", json=BODY)
        assert made.status_code == 201, made.text
        with commit_settings(db) as on_read:
            assert client.get(f"/records/{made.json()['id']}").status_code == 200
    with db.read() as conn:
        assert [e["action"] for e in audit.who_saw(conn, made.json()["id"])] == ["read", "create"]
    if db.dialect == "postgresql":
        # the last transaction is the read with its entry; those before it (signing the caller in) are
        # read-only, and every transaction of the write waits
        assert set(on_write) == {"on"} and on_read[-1] == "off", (on_write, on_read)


@pytest.mark.parametrize("setting", [None, "sync"], ids=["default", "sync"])
def test_by_default_api_reads_wait(db: Database, monkeypatch, setting: str | None) -> None:
    if setting is None:
        monkeypatch.delenv(audit.READ_COMMIT_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(audit.READ_COMMIT_VARIABLE, setting)
    with TestClient(create_app(db)) as client:
        sign_in(client, db)
        made = client.post("/records/person", json=BODY)
        with commit_settings(db) as on_read:
            assert client.get(f"/records/{made.json()['id']}").status_code == 200
    with db.read() as conn:
        assert len(audit.who_saw(conn, made.json()["id"])) == 2
    if db.dialect == "postgresql":
        assert set(on_read) == {"on"}


def test_the_setting_is_read_strictly() -> None:
    assert audit.reads_durable({}) is True
    assert audit.reads_durable({audit.READ_COMMIT_VARIABLE: ""}) is True
    assert audit.reads_durable({audit.READ_COMMIT_VARIABLE: "async"}) is False
    assert audit.reads_durable({audit.READ_COMMIT_VARIABLE: " Sync "}) is True
    with pytest.raises(BadRequest, match="OPENRMS_AUDIT_READ_COMMIT must be 'async' or 'sync', not 'off'"):
        audit.reads_durable({audit.READ_COMMIT_VARIABLE: "off"})


def test_an_app_with_a_bad_setting_does_not_start(db: Database, monkeypatch) -> None:
    monkeypatch.setenv(audit.READ_COMMIT_VARIABLE, "later")
    with pytest.raises(BadRequest, match="not 'later'"):
        create_app(db)
