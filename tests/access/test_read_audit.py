"""A read is audited exactly when it discloses: the entry lands for a read that answers, and none for a read
that is refused (here, a sensitive record asked for without a reason). On PostgreSQL the entry commits in
the read's own transaction; on SQLite just after it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from openrms.access import audit
from openrms.api.app import create_app
from openrms.store.database import Database
from openrms.store.provenance import Provenance
from openrms.store.records import NewRecord, create_records
from tests.helpers import sign_in


def _secret_record(db: Database) -> str:
    prov = Provenance(
        agency="WYP", source_system="INTEL", recorded_by="DC 1", source_key="i1", classification="SECRET"
    )
    with db.write() as conn:
        return create_records(conn, [NewRecord("vehicle", {"vrm": "AB12CDE"}, prov)])[0].id


def test_refused_reads_leave_no_entry_and_answered_reads_one(db: Database) -> None:
    rid = _secret_record(db)
    with TestClient(create_app(db)) as client:
        sign_in(client, db, reason=None)
        refused = client.get(f"/records/{rid}")
        assert refused.status_code == 403, refused.text
        with db.read() as conn:
            assert audit.who_saw(conn, rid) == []
        client.headers["X-OpenRMS-Reason"] = "Op Nimbus"
        for path in (f"/records/{rid}", f"/records/{rid}/history", f"/records/{rid}/links"):
            assert client.get(path).status_code == 200, path
    with db.read() as conn:
        seen = audit.who_saw(conn, rid)
        assert audit.verify(conn).ok
    assert [e["action"] for e in seen] == ["read-links", "read-history", "read"]
    assert {e["reason"] for e in seen} == {"Op Nimbus"}
