"""Who is using the web UI: the session cookie, the purpose of access, and CSRF checks for form posts.

The session is the one `openrms.access.authn` keeps for the API too (same cookie), so a page and the
htmx calls it makes are one session. Pages depend on:

- `signed_in`: the live session, or a redirect to the sign-in page that comes back here afterwards;
- `with_purpose`: the same, and a declared purpose of access (else the "choose purpose" page);
- `page_scope`: the caller's read scope, built by the API's own dependency, for every library read.

Form posts carry the session's CSRF token in a hidden `csrf_token` field, checked here (the API checks the
X-CSRF-Token header, which htmx sends). The sign-in form has no session yet, so it uses a double-submit
token: a random value in a strict same-site cookie that the form must echo.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Request, Response

from openrms.access import authn
from openrms.access.model import Subject
from openrms.access.policy import Policy
from openrms.errors import Forbidden
from openrms.store.database import Database
from openrms.store.scope import ReadScope
from openrms.web.routing import PREFIX, Redirect

SIGN_IN_COOKIE = "openrms_sign_in_csrf"
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class WebSession:
    id: str
    subject: Subject
    csrf: str


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def database(request: Request) -> Database:
    return request.app.state.db


def load(request: Request) -> WebSession | None:
    """The live session named by the cookie, or None. Read once per request."""
    if hasattr(request.state, "web_session"):
        return request.state.web_session
    found: WebSession | None = None
    cookie = request.cookies.get(authn.SESSION_COOKIE)
    if cookie:
        with database(request).read() as conn:
            session = authn.authenticate_session(conn, cookie, now())
        if session is not None:
            found = WebSession(cookie, session.subject, session.csrf)
    request.state.web_session = found
    return found


def here(request: Request) -> str:
    """This page's path and query, to come back to after signing in or choosing a purpose."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def signed_in(request: Request) -> WebSession:
    session = load(request)
    if session is None:
        target = here(request) if request.method == "GET" else f"{PREFIX}/"
        raise Redirect(f"{PREFIX}/sign-in?next={quote(target, safe='')}")
    return session


def with_purpose(request: Request) -> WebSession:
    session = signed_in(request)
    if session.subject.purpose is None:
        raise Redirect(f"{PREFIX}/purpose?next={quote(here(request), safe='')}")
    return session


def page_scope(request: Request) -> ReadScope:
    """The caller's read scope, from the API's dependency (so the web and the API filter alike)."""
    from openrms.api.deps import read_scope

    session = with_purpose(request)
    request.state.subject = session.subject  # the API's authentication reuses what we already checked
    return read_scope(request)


def policy_of(scope: ReadScope) -> Policy:
    """A page's scope as the caller's Policy (what `page_scope` returns): the write guards need its
    subject and decisions, not just its SQL conditions."""
    assert isinstance(scope, Policy), "page_scope returns the caller's Policy"
    return scope


async def check_csrf(request: Request, session: WebSession) -> None:
    """A form post must carry this session's token (or, from htmx, the header)."""
    sent = request.headers.get(authn.CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not secrets.compare_digest(sent, session.csrf):
        raise Forbidden("This form has expired or did not come from this service. Go back and try again.")


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def sign_in_token(request: Request) -> str:
    """The double-submit token for the sign-in form (the cookie's, if the browser has one)."""
    return request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(32)


def set_sign_in_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        max_age=3600,
        path=f"{PREFIX}/sign-in",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def check_sign_in_token(request: Request, sent: str | None) -> None:
    cookie = request.cookies.get(SIGN_IN_COOKIE)
    if not cookie or not sent or not secrets.compare_digest(cookie, sent):
        raise Forbidden(
            "The sign-in form has expired or did not come from this service. Reload the page and try again."
        )


def set_session_cookie(request: Request, response: Response, session_id: str) -> None:
    response.set_cookie(
        authn.SESSION_COOKIE, session_id, path="/", httponly=True, samesite="lax", secure=_secure(request)
    )
    response.delete_cookie(SIGN_IN_COOKIE, path=f"{PREFIX}/sign-in")


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        authn.SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request)
    )
