"""Request dependencies: the database, the signed-in subject and the read scope built from it.

Authentication happens here, once per request: a bearer token (systems) or the session cookie (the web
UI). No route but /health and sign-in works without it; `tests/access/test_routes_need_auth.py` enumerates
the OpenAPI routes so a new one cannot slip through. The read scope turns the subject, its declared purpose
and the sharing agreements in force *now* into SQL conditions, so a revoked agreement takes effect at once.
"""

from __future__ import annotations

import datetime as dt

from fastapi import Request

from openrms.access import authn
from openrms.access.model import PURPOSES, Subject
from openrms.access.policy import Policy
from openrms.errors import BadRequest, Forbidden, Unauthorized
from openrms.store.database import Database

PURPOSE_HEADER = "X-OpenRMS-Purpose"
REASON_HEADER = "X-OpenRMS-Reason"
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


# Async (it never blocks) so FastAPI runs it on the event loop instead of hopping to a worker thread.
async def database(request: Request) -> Database:
    return request.app.state.db


def _authenticate(request: Request) -> Subject:
    cached = getattr(request.state, "subject", None)
    if cached is not None:
        return cached
    db: Database = request.app.state.db
    now = dt.datetime.now(dt.UTC)
    header = request.headers.get("Authorization", "")
    subject: Subject | None = None
    with db.read() as conn:
        if header.lower().startswith("bearer "):
            subject = authn.authenticate_token(conn, header[7:].strip(), now)
            if subject is None:
                raise Unauthorized("the bearer token is unknown, revoked or expired")
        elif (cookie := request.cookies.get(authn.SESSION_COOKIE)) is not None:
            session = authn.authenticate_session(conn, cookie, now)
            if session is None:
                raise Unauthorized("your session has ended; sign in again")
            if request.method in _UNSAFE and request.headers.get(authn.CSRF_HEADER) != session.csrf:
                raise Forbidden(f"missing or wrong {authn.CSRF_HEADER} header for this session")
            subject = session.subject
    if subject is None:
        raise Unauthorized("sign in (POST /auth/sign-in) or send 'Authorization: Bearer <token>'")
    purpose = request.headers.get(PURPOSE_HEADER)
    reason = request.headers.get(REASON_HEADER)
    if purpose is not None or reason is not None:
        if purpose is not None and purpose not in PURPOSES:
            raise BadRequest(
                f"unknown purpose {purpose!r} in {PURPOSE_HEADER}; expected one of {', '.join(PURPOSES)}"
            )
        subject = subject.with_purpose(purpose or subject.purpose, reason.strip() if reason else None)
    request.state.subject = subject
    return subject


def current_subject(request: Request) -> Subject:
    """The signed-in subject; 401 without credentials."""
    return _authenticate(request)


def with_declared_purpose(subject: Subject) -> Subject:
    """The subject, if they have declared why they are reading: personal data is disclosed to no one
    without a purpose on the audit trail."""
    if subject.purpose is None:
        known = ", ".join(PURPOSES)
        raise BadRequest(f"declare your purpose of access: send {PURPOSE_HEADER} with one of {known}")
    return subject


def policy(request: Request) -> Policy:
    """The caller's policy for this request: subject, purpose and the agreements in force now. Reading
    data needs a declared purpose (header, token or session)."""
    subject = with_declared_purpose(_authenticate(request))
    with request.app.state.db.read() as conn:
        return Policy.load(conn, subject, dt.datetime.now(dt.UTC))


def read_scope(request: Request) -> Policy:
    """The read scope of the caller (a Policy is a ReadScope)."""
    return policy(request)
