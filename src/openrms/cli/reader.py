"""Who a command reads as, and the audit entry for what it shows.

The CLI runs beside the database, so whoever runs it could read the tables directly; it does not pretend
otherwise. But every read command still lands on the audit trail, and a command can be made to read
exactly as a user would through the API:

- `openrms --as pc1234 --purpose investigation --reason "Op Nimbus" search q="Jon Smyth"` (or the
  variables OPENRMS_USER, OPENRMS_PURPOSE, OPENRMS_REASON) reads through that user's policy: their agency,
  vetting, restrictions and the sharing agreements in force for the purpose. The entry names the user.
- Without `--as`, the command reads as the operator (everything, as the database itself would show) and
  the entry names the operating-system account, as `cli:<login>`.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from openrms.access import audit, authn
from openrms.access.accounts import get_user
from openrms.access.model import PURPOSES
from openrms.access.policy import Policy
from openrms.errors import BadRequest, Forbidden
from openrms.store.database import Database
from openrms.store.scope import ReadScope, Unrestricted

USER_ENV, PURPOSE_ENV, REASON_ENV = "OPENRMS_USER", "OPENRMS_PURPOSE", "OPENRMS_REASON"


@dataclass
class Caller:
    """Set once by the top-level options (`openrms --as ... --purpose ... --reason ...`)."""

    username: str | None = None
    purpose: str | None = None
    reason: str | None = None


CALLER = Caller()


def set_caller(username: str | None, purpose: str | None, reason: str | None) -> None:
    CALLER.username = username or os.environ.get(USER_ENV) or None
    CALLER.purpose = purpose or os.environ.get(PURPOSE_ENV) or None
    CALLER.reason = reason or os.environ.get(REASON_ENV) or None


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (a container without a passwd entry)
        return "unknown"


@dataclass
class Reader:
    """A command's read scope and who its audit entries name."""

    scope: ReadScope
    actor: str
    agency: str | None
    purpose: str | None
    reason: str | None
    _db: Database = field(repr=False, default=None)  # type: ignore[assignment]

    def need_reason(self, what: str) -> None:
        """Searching, as in the API, needs a stated reason when reading as a user."""
        if isinstance(self.scope, Policy) and not self.reason:
            raise Forbidden(f"{what} as {self.actor} needs --reason (e.g. a crime or case reference)")

    def audited(
        self, action: str, record_ids: Iterable[str] = (), detail: dict[str, Any] | None = None
    ) -> None:
        """Append the entry for what this command is about to show."""
        with self._db.write() as conn:
            audit.append(
                conn,
                actor=self.actor,
                agency=self.agency,
                action=action,
                purpose=self.purpose,
                reason=self.reason,
                detail={"via": "cli", **(detail or {})},
                record_ids=sorted(set(record_ids)),
                now=dt.datetime.now(dt.UTC),
            )


def reader(db: Database) -> Reader:
    """The reader for this command: the `--as` user's policy, or the operator."""
    purpose, reason = CALLER.purpose, CALLER.reason
    if purpose is not None and purpose not in PURPOSES:
        raise BadRequest(f"unknown purpose {purpose!r}; expected one of {', '.join(PURPOSES)}")
    if not CALLER.username:
        return Reader(Unrestricted("cli"), f"cli:{_login()}", None, purpose, reason, db)
    now = dt.datetime.now(dt.UTC)
    with db.read() as conn:
        user = get_user(conn, CALLER.username)
        if not user["active"]:
            raise Forbidden(f"user {user['username']} is deactivated")
        if purpose is None:
            raise BadRequest(f"reading as {user['username']} needs --purpose (one of {', '.join(PURPOSES)})")
        subject = authn.subject_of(_Row(user), purpose=purpose, reason=reason, via="cli")
        policy = Policy.load(conn, subject, now)
    return Reader(policy, subject.username, subject.agency, purpose, reason, db)


class _Row:
    """A user view (dict) as the row `authn.subject_of` reads."""

    def __init__(self, user: dict[str, Any]) -> None:
        self.__dict__.update(user)
