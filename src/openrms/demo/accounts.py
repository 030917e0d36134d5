"""The demo's agencies, sign-in accounts and sharing agreements, so the printed accounts show access control
at work: the officer sees West Yorkshire's records and what partners share with it; the prosecutor only
what the case-file agreement gives the CPS; nobody sees another agency's records without an agreement.

The password is printed by `openrms demo` and documented: this is a demo database, never a real one.
"""

from __future__ import annotations

import datetime as dt

from openrms.access import accounts, agreements
from openrms.access.model import Subject
from openrms.errors import NotFound
from openrms.store.database import Database

DEMO_PASSWORD = "openrms-demo-password"
AGENCIES = {
    "WYP": ("West Yorkshire Police", "police"),
    "NYP": ("North Yorkshire Police", "police"),
    "BTP": ("British Transport Police", "police"),
    "CPS": ("Crown Prosecution Service", "prosecutor"),
    "HMPPS": ("HM Prison and Probation Service", "prison"),
}
# username: (display name, agency, roles, vetting)
USERS = {
    "demo.officer": ("DC Demo Officer", "WYP", ["supervisor", "intelligence_officer", "analyst"], "SECRET"),
    "demo.prosecutor": ("Demo Prosecutor", "CPS", ["prosecutor"], "OFFICIAL-SENSITIVE"),
    "demo.admin": ("Demo Administrator", "WYP", ["administrator", "auditor"], "SECRET"),
}
CASE_FILE_PERSON_FIELDS = ["forenames", "surname", "date_of_birth", "gender", "pnc_id", "cro_number"]


def create_demo_accounts(db: Database) -> list[tuple[str, str, str]]:
    """Agencies, users and agreements of the demo; returns (username, agency, roles) for printing."""
    now = dt.datetime.now(dt.UTC)
    with db.write() as conn:
        known = {a["code"] for a in accounts.list_agencies(conn)}
        for code, (name, kind) in AGENCIES.items():
            if code not in known:
                accounts.create_agency(conn, code, name, kind, now, by="demo")
        for username, (name, agency, roles, vetting) in USERS.items():
            try:
                accounts.get_user(conn, username)
            except NotFound:
                accounts.create_user(conn, username, name, agency, roles, vetting, DEMO_PASSWORD, now, "demo")

        def admin(code: str) -> Subject:
            return Subject(
                f"demo-{code}", f"demo.admin.{code.lower()}", code, frozenset({"administrator"}), "OFFICIAL"
            )

        for provider, recipient, types, purposes in (
            (
                "NYP",
                "WYP",
                {"person": None, "crime": None, "vehicle": None, "address": None},
                ["investigation"],
            ),
            ("BTP", "WYP", {"person": None, "crime": None}, ["investigation"]),
            ("WYP", "CPS", {"crime": None, "person": CASE_FILE_PERSON_FIELDS}, ["prosecution"]),
            ("WYP", "HMPPS", {"person": CASE_FILE_PERSON_FIELDS}, ["offender_management"]),
        ):
            made = agreements.propose(
                conn,
                name=f"{provider} to {recipient} ({', '.join(purposes)})",
                provider=provider,
                recipient=recipient,
                entity_types=types,
                purposes=purposes,
                valid_from=now,
                valid_to=None,
                by=admin(provider),
                now=now,
            )
            agreements.approve(conn, made["id"], admin(recipient), now)
    return [(u, v[1], ", ".join(v[2])) for u, v in USERS.items()]
