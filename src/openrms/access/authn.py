"""Authentication: local accounts (argon2id), web sessions, API tokens, lock-out.

Every function takes a Connection; none logs or stores a password or a token in clear. A session cookie
and an API token are random secrets (`secrets.token_urlsafe(32)`, 256 bits); the database holds only their
SHA-256, so a copy of the database (or of its backups) signs nobody in.

- `sign_in` checks a username and password. Five wrong passwords in a row lock the account for fifteen
  minutes; a success resets the count. An unknown username costs the same argon2 verification as a known
  one and answers with the same message, so neither the message nor the time says which usernames exist.
- `start_session` / `authenticate_session` / `set_session_purpose` / `end_session`: the web session behind
  the `openrms_session` cookie, with its CSRF token (required in `X-CSRF-Token` on every unsafe request that
  authenticates with the cookie, see `openrms.api.deps`) and the purpose of access the user declared.
- `create_token` / `authenticate_token` / `revoke_token` / `list_tokens`: scoped, revocable, optionally
  expiring API tokens for systems ("ormsk_..."), each with the purpose the system declares once.

Sign-ins (good and bad), sign-outs, purpose declarations and token changes are appended to the audit trail
in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, Row, and_, or_, select, update
from sqlalchemy.exc import DBAPIError

from openrms.access import audit, passwords
from openrms.access.model import PURPOSES, TOKEN_SCOPES, Subject, clearance
from openrms.errors import BadRequest, NotFound, Unauthorized
from openrms.store.database import _WRITE
from openrms.store.ids import random_id
from openrms.store.tables import agency as agency_table
from openrms.store.tables import api_token, user_account, web_session

SESSION_COOKIE = "openrms_session"
CSRF_HEADER = "X-CSRF-Token"
TOKEN_PREFIX = "ormsk_"

MAX_FAILURES = 5  # consecutive wrong passwords before the account locks
LOCK_FOR = dt.timedelta(minutes=15)
SESSION_HOURS = 8
MAX_SESSION_HOURS = 24 * 7
MAX_REASON = 2000
_TOUCH_EVERY = dt.timedelta(minutes=1)  # a token's last_used_at is written at most this often
_MAX_SECRET = 200  # longer "tokens" or cookies are rejected before any hashing or query

WRONG = "wrong username or password"


@dataclass(frozen=True)
class Session:
    subject: Subject  # with the session's purpose and reason
    csrf: str
    expires_at: dt.datetime | None = None


# ---- who a user is ----

_USER_COLUMNS = (
    user_account.c.id,
    user_account.c.username,
    user_account.c.agency,
    user_account.c.unit,
    user_account.c.roles,
    user_account.c.vetting,
    user_account.c.active,
)
_USERS = user_account.join(agency_table, agency_table.c.code == user_account.c.agency)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _plausible(secret: Any) -> bool:
    return isinstance(secret, str) and 0 < len(secret) <= _MAX_SECRET


def _vetting(value: str) -> str:
    try:
        return clearance(value)
    except ValueError:
        return "OFFICIAL"  # an unreadable vetting clears for the least, never the most


def subject_of(
    row: Any,
    *,
    purpose: str | None = None,
    reason: str | None = None,
    scopes: Iterable[str] | None = None,
    via: str = "session",
) -> Subject:
    """The Subject for a `user_account` row (id, username, agency, unit, roles, vetting)."""
    roles = frozenset(r for r in (row.roles or []) if isinstance(r, str))
    extra: dict[str, Any] = {} if scopes is None else {"scopes": frozenset(scopes)}
    return Subject(
        user_id=row.id,
        username=row.username,
        agency=row.agency,
        roles=roles,
        vetting=_vetting(row.vetting),
        unit=row.unit,
        purpose=purpose,
        reason=reason,
        via=via,
        **extra,
    )


def _audit(
    conn: Connection,
    action: str,
    actor: str,
    agency: str | None,
    now: dt.datetime,
    detail: dict[str, Any] | None = None,
    purpose: str | None = None,
    reason: str | None = None,
) -> None:
    audit.append(
        conn,
        actor=actor,
        agency=agency,
        action=action,
        purpose=purpose,
        reason=reason,
        detail=detail or {},
        now=now,
    )


# ---- signing in with a password ----


def sign_in(conn: Connection, username: str, password: str, now: dt.datetime) -> Subject:
    """The subject whose username and password these are; `conn` must be a write connection.

    Raises Unauthorized with "wrong username or password" whichever of the two is wrong. Each failure is
    counted and audited ("sign-in-failed"); the fifth in a row locks the account for 15 minutes, and while
    it is locked every attempt is refused with the time it unlocks. A disabled account (or agency) cannot
    sign in. A success resets the count, rehashes an outdated hash and is audited ("sign-in").

    A failure must be recorded even though the caller's transaction is about to be rolled back by the
    exception: so on failure this function COMMITS the caller's transaction (holding nothing but the
    failure's own writes, as sign-in is the first thing a caller does) and then raises. Do not catch the
    Unauthorized and go on using `conn`: let it leave the `with db.write()` block."""
    name = username.strip().lower() if isinstance(username, str) else ""
    password = password if isinstance(password, str) else ""
    row = None
    if 0 < len(name) <= 120 and name.isprintable():
        row = conn.execute(
            select(
                *_USER_COLUMNS,
                user_account.c.password_hash,
                user_account.c.failed_attempts,
                user_account.c.locked_until,
                agency_table.c.active.label("agency_active"),
            )
            .select_from(_USERS)
            .where(user_account.c.username == name)
            .with_for_update(of=user_account)
        ).first()
    if row is None:
        passwords.dummy_verify(password)
        shown = name[:120] if name.isprintable() and _encodable(name) else "(unprintable)"
        _failed(conn, shown or "(blank)", None, now, {"why": "unknown username"})
        raise Unauthorized(WRONG)
    if row.locked_until is not None and row.locked_until > now:
        passwords.dummy_verify(password)
        _failed(conn, row.username, row.agency, now, {"why": "account locked", "user": row.id})
        raise Unauthorized(_locked_message(row.locked_until))
    if not passwords.verify(row.password_hash, password):
        expired_lock = row.locked_until is not None  # a lock that has run out starts a fresh count
        attempts = 1 if expired_lock else row.failed_attempts + 1
        locked_until = now + LOCK_FOR if attempts >= MAX_FAILURES else None
        conn.execute(
            update(user_account)
            .where(user_account.c.id == row.id)
            .values(failed_attempts=attempts, locked_until=locked_until)
        )
        detail: dict[str, Any] = {"why": "wrong password", "user": row.id, "attempts": attempts}
        if locked_until is not None:
            detail["locked_until"] = locked_until.isoformat()
        _failed(conn, row.username, row.agency, now, detail)
        if locked_until is not None:
            why = f"after {MAX_FAILURES} failed attempts in a row"
            raise Unauthorized(f"{WRONG}; {_locked_message(locked_until, why)}")
        raise Unauthorized(WRONG)
    if not row.active or not row.agency_active:
        why = "account disabled" if not row.active else "agency disabled"
        _failed(conn, row.username, row.agency, now, {"why": why, "user": row.id})
        whose = "this account" if not row.active else f"agency {row.agency}"
        raise Unauthorized(f"{whose} is disabled; ask your administrator")
    values: dict[str, Any] = {}
    if row.failed_attempts or row.locked_until is not None:
        values.update(failed_attempts=0, locked_until=None)
    if passwords.needs_rehash(row.password_hash):
        values["password_hash"] = passwords.rehash(password)
    if values:
        conn.execute(update(user_account).where(user_account.c.id == row.id).values(**values))
    _audit(conn, "sign-in", row.username, row.agency, now, {"method": "password", "user": row.id})
    return subject_of(row)


def _locked_message(until: dt.datetime, why: str = "after too many failed sign-ins") -> str:
    when = until.astimezone(dt.UTC)
    return (
        f"the account is locked until {when:%H:%M} UTC ({when:%Y-%m-%d}) {why}; try again then, or ask an "
        "administrator to unlock it"
    )


def _failed(
    conn: Connection, actor: str, agency: str | None, now: dt.datetime, detail: dict[str, Any]
) -> None:
    """Audit a failed sign-in and commit it (see `sign_in`)."""
    _audit(conn, "sign-in-failed", actor, agency, now, {"method": "password", **detail})
    if conn.in_transaction():
        conn.commit()


# ---- web sessions ----


def _check_purpose(purpose: str | None, reason: str | None) -> tuple[str | None, str | None]:
    if purpose is not None and purpose not in PURPOSES:
        raise BadRequest(f"unknown purpose {purpose!r}; expected one of {', '.join(PURPOSES)}")
    reason = reason.strip() if isinstance(reason, str) else None
    if reason and len(reason) > MAX_REASON:
        raise BadRequest(f"the reason is too long ({len(reason)} characters): use at most {MAX_REASON}")
    if reason and "\x00" in reason:
        raise BadRequest("the reason cannot contain a NUL character")
    return purpose, reason or None


def start_session(
    conn: Connection,
    subject: Subject,
    now: dt.datetime,
    purpose: str | None = None,
    reason: str | None = None,
    hours: float = SESSION_HOURS,
) -> tuple[str, str]:
    """A new web session for `subject`: returns (session id for the cookie, CSRF token). Only the SHA-256
    of the id is stored. The session lasts `hours` (8 by default) from now, however busy it is."""
    purpose, reason = _check_purpose(purpose, reason)
    if not 0 < hours <= MAX_SESSION_HOURS:
        raise BadRequest(f"a session lasts between a moment and {MAX_SESSION_HOURS} hours, not {hours}")
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    conn.execute(
        web_session.insert().values(
            id_hash=_digest(session_id),
            user_id=subject.user_id,
            csrf=csrf,
            purpose=purpose,
            reason=reason,
            created_at=now,
            expires_at=now + dt.timedelta(hours=hours),
        )
    )
    return session_id, csrf


def authenticate_session(conn: Connection, session_id: str, now: dt.datetime) -> Session | None:
    """The live session a cookie names, or None (unknown, ended, expired, user or agency disabled)."""
    if not _plausible(session_id):
        return None
    row = conn.execute(
        select(
            *_USER_COLUMNS,
            web_session.c.csrf,
            web_session.c.purpose,
            web_session.c.reason,
            web_session.c.expires_at,
        )
        .select_from(_USERS.join(web_session, web_session.c.user_id == user_account.c.id))
        .where(
            web_session.c.id_hash == _digest(session_id),
            web_session.c.ended_at.is_(None),
            web_session.c.expires_at > now,
            user_account.c.active.is_(True),
            agency_table.c.active.is_(True),
        )
    ).first()
    if row is None:
        return None
    subject = subject_of(row, purpose=row.purpose, reason=row.reason, via="session")
    return Session(subject, row.csrf, row.expires_at)


def _live_session(conn: Connection, session_id: str) -> Row[Any]:
    row = None
    if _plausible(session_id):
        row = conn.execute(
            select(
                web_session.c.id_hash, web_session.c.ended_at, user_account.c.username, user_account.c.agency
            )
            .select_from(web_session.join(user_account, user_account.c.id == web_session.c.user_id))
            .where(web_session.c.id_hash == _digest(session_id))
        ).first()
    if row is None or row.ended_at is not None:
        raise Unauthorized("your session has ended; sign in again")
    return row


def set_session_purpose(
    conn: Connection, session_id: str, purpose: str, reason: str | None, now: dt.datetime | None = None
) -> None:
    """Declare the purpose (and reason, e.g. a case reference) of the session's accesses from now on.
    BadRequest for an unknown purpose, listing the known ones; audited as "purpose-declared"."""
    if purpose is None:
        raise BadRequest(f"declare a purpose: one of {', '.join(PURPOSES)}")
    purpose, reason = _check_purpose(purpose, reason)
    row = _live_session(conn, session_id)
    conn.execute(
        update(web_session).where(web_session.c.id_hash == row.id_hash).values(purpose=purpose, reason=reason)
    )
    _audit(
        conn,
        "purpose-declared",
        row.username,
        row.agency,
        now or dt.datetime.now(dt.UTC),
        None,
        purpose,
        reason,
    )


def end_session(conn: Connection, session_id: str, now: dt.datetime) -> bool:
    """End a session (sign out); audited as "sign-out". False if it had already ended or never existed."""
    if not _plausible(session_id):
        return False
    row = conn.execute(
        select(web_session.c.id_hash, web_session.c.purpose, user_account.c.username, user_account.c.agency)
        .select_from(web_session.join(user_account, user_account.c.id == web_session.c.user_id))
        .where(web_session.c.id_hash == _digest(session_id), web_session.c.ended_at.is_(None))
    ).first()
    if row is None:
        return False
    conn.execute(update(web_session).where(web_session.c.id_hash == row.id_hash).values(ended_at=now))
    _audit(conn, "sign-out", row.username, row.agency, now, {"method": "session"}, row.purpose)
    return True


def end_sessions_of(conn: Connection, user_id: str, now: dt.datetime) -> int:
    """End every live session of a user (after a password change, or when the account is disabled)."""
    result = conn.execute(
        update(web_session)
        .where(
            web_session.c.user_id == user_id, web_session.c.ended_at.is_(None), web_session.c.expires_at > now
        )
        .values(ended_at=now)
    )
    return result.rowcount or 0


# ---- API tokens ----


def check_scopes(scopes: Sequence[str] | None) -> list[str]:
    """The scopes, deduplicated in TOKEN_SCOPES order; BadRequest naming any unknown one."""
    if not scopes:
        raise BadRequest(f"give a token at least one scope: {', '.join(TOKEN_SCOPES)}")
    if isinstance(scopes, str):
        scopes = [scopes]
    unknown = [s for s in scopes if s not in TOKEN_SCOPES]
    if unknown:
        raise BadRequest(
            f"unknown scope(s) {', '.join(map(repr, unknown))}; expected {', '.join(TOKEN_SCOPES)}"
        )
    return [s for s in TOKEN_SCOPES if s in scopes]


def scopes_for(subject: Subject) -> list[str]:
    """The token scopes `subject`'s roles can make use of (within its own scopes, when it is itself
    calling with a token): an officer's are read and write, an auditor's audit."""
    out = []
    for scope in TOKEN_SCOPES:
        if scope not in subject.scopes:
            continue
        narrowed = replace(subject, scopes=frozenset({scope}))
        if any(narrowed.can(action) for action in subject.actions):
            out.append(scope)
    return out


def create_token(
    conn: Connection,
    user_id: str,
    name: str,
    scopes: Sequence[str],
    purpose: str | None,
    now: dt.datetime,
    expires_at: dt.datetime | None = None,
    by: str | Subject | None = None,
) -> tuple[str, str]:
    """A new API token for the user: returns (token id, the token "ormsk_..."). The token itself is shown
    this once and never stored (only its SHA-256). Calls made with it act as the user, limited to the
    token's scopes, with the token's purpose. Audited as "token-created"."""
    scopes = check_scopes(scopes)
    purpose, _ = _check_purpose(purpose, None)
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > 120:
        raise BadRequest("give the token a name of 1 to 120 characters saying what uses it")
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise BadRequest("give the token's expiry with a time zone (e.g. 2027-01-31T00:00:00Z)")
        if expires_at <= now:
            raise BadRequest(f"the token's expiry {expires_at.isoformat()} has already passed")
    user = conn.execute(
        select(user_account.c.id, user_account.c.username, user_account.c.agency).where(
            user_account.c.id == user_id
        )
    ).first()
    if user is None:
        raise NotFound(f"no user {user_id}")
    token_id = random_id()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        api_token.insert().values(
            id=token_id,
            user_id=user.id,
            name=name,
            token_hash=_digest(token),
            scopes=scopes,
            purpose=purpose,
            created_at=now,
            expires_at=expires_at,
        )
    )
    detail = {
        "id": token_id,
        "name": name,
        "user": user.id,
        "username": user.username,
        "scopes": scopes,
        "declared_purpose": purpose,  # no key may say "token": the trail removes the value of any that does
        "expires_at": expires_at.isoformat() if expires_at else None,
    }
    _actor_audit(conn, "token-created", by, user.username, user.agency, now, detail, purpose)
    return token_id, token


def _actor_audit(
    conn: Connection,
    action: str,
    by: str | Subject | None,
    default_actor: str,
    default_agency: str | None,
    now: dt.datetime,
    detail: dict[str, Any],
    purpose: str | None = None,
) -> None:
    if isinstance(by, Subject):
        _audit(conn, action, by.username, by.agency, now, detail, by.purpose or purpose, by.reason)
    else:
        _audit(conn, action, by or default_actor, None if by else default_agency, now, detail, purpose)


def authenticate_token(conn: Connection, token: str, now: dt.datetime) -> Subject | None:
    """The subject a bearer token stands for (its user's roles, the token's scopes and purpose), or None
    when the token is unknown, revoked, expired, or its user (or agency) is disabled.

    Records when the token was last used, at most once a minute: in `conn` itself when it is a write
    connection or PostgreSQL (in a savepoint, so a failure changes nothing else); on a SQLite read
    connection in a short write of its own that never waits for the write lock (skipped when busy)."""
    if not _plausible(token) or not token.startswith(TOKEN_PREFIX):
        return None
    row = conn.execute(
        select(
            *_USER_COLUMNS,
            api_token.c.id.label("token_id"),
            api_token.c.scopes,
            api_token.c.purpose,
            api_token.c.last_used_at,
        )
        .select_from(_USERS.join(api_token, api_token.c.user_id == user_account.c.id))
        .where(
            api_token.c.token_hash == _digest(token),
            api_token.c.revoked_at.is_(None),
            or_(api_token.c.expires_at.is_(None), api_token.c.expires_at > now),
            user_account.c.active.is_(True),
            agency_table.c.active.is_(True),
        )
    ).first()
    if row is None:
        return None
    if row.last_used_at is None or now - row.last_used_at >= _TOUCH_EVERY:
        _touch(conn, row.token_id, now)
    scopes = [s for s in (row.scopes or []) if s in TOKEN_SCOPES]
    return subject_of(row, purpose=row.purpose, scopes=scopes, via="token")


def _touch(conn: Connection, token_id: str, now: dt.datetime) -> None:
    statement = (
        update(api_token)
        .where(
            api_token.c.id == token_id,
            or_(api_token.c.last_used_at.is_(None), api_token.c.last_used_at <= now - _TOUCH_EVERY),
        )
        .values(last_used_at=now)
    )
    if conn.dialect.name == "postgresql" or conn.get_execution_options().get(_WRITE):
        try:
            with conn.begin_nested():
                conn.execute(statement)
        except DBAPIError:
            pass  # bookkeeping only: never fail a request for it
        return
    # A SQLite read transaction cannot safely become a write one: write from a connection of our own, and
    # give up at once (busy_timeout 0) rather than wait behind an import holding the write lock.
    try:
        with conn.engine.connect() as other:
            raw = other.connection.driver_connection
            previous = raw.execute("PRAGMA busy_timeout").fetchone()[0]
            raw.execute("PRAGMA busy_timeout=0")
            try:
                writer = other.execution_options(**{_WRITE: True})
                with writer.begin():
                    writer.execute(statement)
            finally:
                raw.execute(f"PRAGMA busy_timeout={int(previous)}")
    except DBAPIError:
        pass


def revoke_token(
    conn: Connection, token_id: str, now: dt.datetime, by: str | Subject | None = None
) -> dict[str, Any]:
    """Revoke a token: it stops working at once. Revoking a revoked token changes nothing. Audited as
    "token-revoked"."""
    row = conn.execute(
        select(api_token.c.id, api_token.c.revoked_at, user_account.c.username, user_account.c.agency)
        .select_from(api_token.join(user_account, user_account.c.id == api_token.c.user_id))
        .where(api_token.c.id == token_id)
    ).first()
    if row is None:
        raise NotFound(f"no token {token_id}")
    if row.revoked_at is None:
        conn.execute(update(api_token).where(api_token.c.id == token_id).values(revoked_at=now))
        detail = {"id": token_id, "username": row.username}
        _actor_audit(conn, "token-revoked", by, row.username, row.agency, now, detail)
    return get_token(conn, token_id, now)


_TOKEN_COLUMNS = (
    api_token.c.id,
    api_token.c.name,
    api_token.c.user_id,
    user_account.c.username,
    user_account.c.agency,
    api_token.c.scopes,
    api_token.c.purpose,
    api_token.c.created_at,
    api_token.c.expires_at,
    api_token.c.revoked_at,
    api_token.c.last_used_at,
)


def _token_view(row: Any, now: dt.datetime) -> dict[str, Any]:
    if row.revoked_at is not None:
        status = "revoked"
    elif row.expires_at is not None and row.expires_at <= now:
        status = "expired"
    else:
        status = "active"
    return {
        "id": row.id,
        "name": row.name,
        "user_id": row.user_id,
        "username": row.username,
        "agency": row.agency,
        "scopes": list(row.scopes or []),
        "purpose": row.purpose,
        "status": status,
        "created_at": row.created_at,
        "expires_at": row.expires_at,
        "revoked_at": row.revoked_at,
        "last_used_at": row.last_used_at,
    }


def get_token(conn: Connection, token_id: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """One token's description (never its hash, never the token)."""
    row = conn.execute(
        select(*_TOKEN_COLUMNS)
        .select_from(api_token.join(user_account, user_account.c.id == api_token.c.user_id))
        .where(api_token.c.id == token_id)
    ).first()
    if row is None:
        raise NotFound(f"no token {token_id}")
    return _token_view(row, now or dt.datetime.now(dt.UTC))


def list_tokens(
    conn: Connection, user_id: str | None = None, *, agency: str | None = None, now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Tokens (of one user, or of one agency's users, or all), newest first: id, name, user, scopes,
    purpose, status (active, expired, revoked) and times. Never the hash, never the token."""
    query = select(*_TOKEN_COLUMNS).select_from(
        api_token.join(user_account, user_account.c.id == api_token.c.user_id)
    )
    conditions = []
    if user_id is not None:
        conditions.append(api_token.c.user_id == user_id)
    if agency is not None:
        conditions.append(user_account.c.agency == agency)
    if conditions:
        query = query.where(and_(*conditions))
    rows = conn.execute(query.order_by(api_token.c.created_at.desc(), api_token.c.id)).all()
    moment = now or dt.datetime.now(dt.UTC)
    return [_token_view(row, moment) for row in rows]
