"""Small builders shared by the tests."""

from __future__ import annotations

from typing import Any

from openrms.ingest import runs
from openrms.store.provenance import Provenance
from openrms.store.records import NewRecord


def prov(key: str | None = None, agency: str = "WYP", system: str = "NICHE", **extra: Any) -> Provenance:
    return Provenance(agency=agency, source_system=system, recorded_by="PC 1234", source_key=key, **extra)


def person(key: str | None = None, **data: Any) -> NewRecord:
    base = {"forenames": "John", "surname": "Smith", "date_of_birth": "1985-03-02", "gender": "M"}
    return NewRecord("person", {**base, **data}, prov(key))


# Everything a test's API caller may do: record, link, merge, review, export, import, see sensitive fields.
ALL_ROLES = ("supervisor", "intelligence_officer", "analyst", "administrator")


def user_token(
    db: Any,
    username: str = "test.supervisor",
    *,
    agency: str = "WYP",
    kind: str = "police",
    roles: tuple[str, ...] = ALL_ROLES,
    vetting: str = "TOP-SECRET",
    unit: str | None = None,
    purpose: str | None = "investigation",
    scopes: tuple[str, ...] = ("read", "write", "admin", "audit"),
) -> str:
    """A bearer token for a user made (with their agency) directly through the accounts library."""
    import datetime as dt

    from sqlalchemy import select

    from openrms.access import accounts, authn
    from openrms.store.tables import agency as agency_table
    from openrms.store.tables import user_account

    now = dt.datetime.now(dt.UTC)
    with db.write() as conn:
        if conn.execute(select(agency_table.c.code).where(agency_table.c.code == agency)).first() is None:
            accounts.create_agency(conn, agency, f"Agency {agency}", kind, now)
        user_id = conn.execute(
            select(user_account.c.id).where(user_account.c.username == username.lower())
        ).scalar()
        if user_id is None:
            accounts.create_user(
                conn, username, username, agency, list(roles), vetting, None, now, "tests", unit=unit
            )
            user_id = conn.execute(
                select(user_account.c.id).where(user_account.c.username == username.lower())
            ).scalar_one()
        _, token = authn.create_token(conn, user_id, "tests", list(scopes), purpose, now)
    return token


def sign_in(client: Any, db: Any, reason: str | None = "tests", **user: Any) -> Any:
    """Make `client` send a fresh user's token (and a reason) with every request; returns the client."""
    client.headers["Authorization"] = f"Bearer {user_token(db, **user)}"
    if reason:
        client.headers["X-OpenRMS-Reason"] = reason
    return client


def share_everything(
    db: Any, provider: str, recipient: str, purposes: tuple[str, ...] = ("investigation",)
) -> None:
    """An agreement in force, approved by both sides, sharing every record type of `provider` whole."""
    import datetime as dt

    from openrms.access import accounts, agreements
    from openrms.access.model import Subject
    from openrms.schema import registry

    now = dt.datetime.now(dt.UTC)
    with db.write() as conn:
        known = {a["code"] for a in accounts.list_agencies(conn)}
        for code in (provider, recipient):
            if code not in known:
                accounts.create_agency(conn, code, f"Agency {code}", "police", now)
        sides = [
            Subject(f"admin-{c}", f"admin.{c}", c, frozenset({"administrator"}), "OFFICIAL")
            for c in (provider, recipient)
        ]
        made = agreements.propose(
            conn,
            name=f"{provider} to {recipient}",
            provider=provider,
            recipient=recipient,
            entity_types=dict.fromkeys(registry().entity_types),
            purposes=purposes,
            valid_from=now - dt.timedelta(seconds=1),
            valid_to=None,
            by=sides[0],
            now=now,
        )
        agreements.approve(conn, made["id"], sides[1], now)


def commit_checkpoints(monkeypatch: Any) -> list[int]:
    """The checkpoint each import transaction saves as it commits, in order, from now on in this test."""
    commits: list[int] = []
    real = runs.save_progress

    def saving(conn: Any, run_id: str, checkpoint: int, tally: Any, digest: str | None = None) -> None:
        commits.append(checkpoint)
        real(conn, run_id, checkpoint, tally, digest)

    monkeypatch.setattr(runs, "save_progress", saving)
    return commits
