"""Signing in and out, the signed-in user, their purpose of access, their own API tokens, and OIDC.

`POST /auth/sign-in` and the two OIDC routes are the only ones here that work without credentials. A
session is a cookie (`openrms_session`: HttpOnly, SameSite=Lax, Secure over https); every unsafe request
made with it must echo the session's CSRF token (returned by sign-in and by `GET /auth/me`) in the
`X-CSRF-Token` header. Systems use bearer tokens instead (`Authorization: Bearer ormsk_...`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.concurrency import run_in_threadpool

from openrms.access import accounts, authn, oidc
from openrms.access.model import PURPOSES, Subject
from openrms.api.deps import current_subject, database
from openrms.errors import BadRequest, Conflict, Forbidden, NotFound
from openrms.store.database import Database

router = APIRouter(tags=["auth"])
Db = Annotated[Database, Depends(database)]
Me = Annotated[Subject, Depends(current_subject)]

MAX_TOKEN_DAYS = 365  # a token a user makes for themselves; administrators may make longer-lived ones


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _clean(value: Any) -> Any:
    """Refuse text no database can hold: NUL characters and lone surrogates."""
    texts = value if isinstance(value, list) else [value]
    for text in texts:
        if isinstance(text, str):
            if "\x00" in text:
                raise ValueError("contains a NUL character")
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("is not valid Unicode text") from None
    return value


class In(BaseModel):
    """A request body: unknown fields are refused, and so is text with NUL characters."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _text_only(cls, value: Any) -> Any:
        return _clean(value)


class SignInIn(In):
    username: str = Field(min_length=1, max_length=200, examples=["pc.1234"])
    password: str = Field(min_length=1, max_length=1024)
    purpose: str | None = Field(None, description=f"Purpose of access: one of {', '.join(PURPOSES)}")
    reason: str | None = Field(None, max_length=2000, description="Why, e.g. a case reference")


class PurposeIn(In):
    purpose: str = Field(description=f"One of {', '.join(PURPOSES)}", examples=["investigation"])
    reason: str | None = Field(None, max_length=2000, examples=["Op HAWK, crime 13/123456/26"])


class TokenIn(In):
    name: str = Field(min_length=1, max_length=120, description="What uses it", examples=["ANPR feed"])
    scopes: list[str] = Field(min_length=1, max_length=4, examples=[["read"]])
    purpose: str | None = Field(None, description="Purpose declared for every call made with the token")
    days: int = Field(90, ge=1, le=MAX_TOKEN_DAYS, description="Days until it expires")


def _purpose(purpose: str | None) -> str | None:
    if purpose is not None and purpose not in PURPOSES:
        raise BadRequest(f"unknown purpose {purpose!r}; expected one of {', '.join(PURPOSES)}")
    return purpose


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _set_session_cookie(request: Request, response: Response, session_id: str, hours: float) -> None:
    response.set_cookie(
        authn.SESSION_COOKIE,
        session_id,
        max_age=int(hours * 3600),
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )


def _subject_view(subject: Subject) -> dict[str, Any]:
    return {
        "user": subject.username,
        "user_id": subject.user_id,
        "agency": subject.agency,
        "unit": subject.unit,
        "roles": sorted(subject.roles),
        "vetting": subject.vetting,
        "purpose": subject.purpose,
        "reason": subject.reason,
        "via": subject.via,
        "scopes": sorted(subject.scopes),
        "actions": sorted(a for a in subject.actions if subject.can(a)),
    }


# ---- sign in and out ----


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_SIGN_IN_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": SignInIn.model_json_schema()},
        "application/x-www-form-urlencoded": {"schema": SignInIn.model_json_schema()},
    },
}


def _same_site(request: Request) -> None:
    """A form post can come from any site (a JSON one cannot without CORS): refuse one that says it came
    from elsewhere, so another site cannot sign a browser into an account of its choosing."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise Forbidden("sign-in forms must be posted from this service, not another site")
    origin = request.headers.get("origin")
    if origin and origin != "null":
        parts = urlsplit(origin)
        if parts.netloc.lower() != (request.headers.get("host") or "").lower():
            raise Forbidden("sign-in forms must be posted from this service, not another site")


async def _sign_in_body(request: Request) -> SignInIn:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    is_json = kind == "application/json" or kind.endswith("+json")
    if not is_json and kind not in _FORM_TYPES:
        raise BadRequest("send the username and password as JSON or as form fields")
    if not is_json:
        _same_site(request)
    try:
        if is_json:
            data: Any = await request.json()
        else:
            form = await request.form()
            data = {k: v for k, v in form.items() if isinstance(v, str) and v != ""}
    except Exception:  # not JSON, not UTF-8, a malformed multipart body...
        raise BadRequest("the sign-in request could not be read as JSON or form fields") from None
    if not isinstance(data, dict):
        raise BadRequest('send an object: {"username": ..., "password": ...}')
    try:
        return SignInIn.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


def _do_sign_in(db: Database, body: SignInIn, old_session: str | None) -> tuple[Subject, str, str]:
    now = _now()
    with db.write() as conn:
        subject = authn.sign_in(conn, body.username, body.password, now)
        if old_session:
            authn.end_session(conn, old_session, now)
        session_id, csrf = authn.start_session(conn, subject, now, body.purpose, body.reason)
    return subject.with_purpose(body.purpose, body.reason), session_id, csrf


@router.post(
    "/auth/sign-in",
    summary="Sign in with a username and password: sets the session cookie",
    openapi_extra={"requestBody": _SIGN_IN_BODY},
    responses={401: {"description": "Wrong username or password, or the account is locked"}},
)
async def sign_in(request: Request) -> JSONResponse:
    """JSON `{username, password, purpose?, reason?}` or the same as form fields. Answers with who you
    are and the CSRF token to send in `X-CSRF-Token` with every POST, PUT, PATCH or DELETE. Five wrong
    passwords in a row lock the account for 15 minutes."""
    body = await _sign_in_body(request)
    _purpose(body.purpose)
    db: Database = request.app.state.db
    subject, session_id, csrf = await run_in_threadpool(
        _do_sign_in, db, body, request.cookies.get(authn.SESSION_COOKIE)
    )
    content = {**_subject_view(subject), "csrf_token": csrf}
    response = JSONResponse(content)
    _set_session_cookie(request, response, session_id, authn.SESSION_HOURS)
    return response


def _session_cookie(request: Request, subject: Subject, what: str) -> str:
    cookie = request.cookies.get(authn.SESSION_COOKIE)
    if subject.via != "session" or not cookie:
        raise BadRequest(
            f"{what} applies to a signed-in web session; this request has none (it used a bearer token, "
            "whose purpose is fixed when it is created)"
        )
    return cookie


@router.post("/auth/sign-out", summary="End this session")
def sign_out(request: Request, response: Response, db: Db, subject: Me) -> dict[str, Any]:
    cookie = _session_cookie(request, subject, "signing out")
    with db.write() as conn:
        authn.end_session(conn, cookie, _now())
    response.delete_cookie(
        authn.SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request)
    )
    return {"signed_out": True, "user": subject.username}


@router.get("/auth/me", summary="Who you are signed in as: agency, roles, vetting, purpose")
def me(request: Request, db: Db, subject: Me) -> dict[str, Any]:
    out = _subject_view(subject)
    with db.read() as conn:
        try:
            out["display_name"] = accounts.get_user(conn, subject.user_id)["display_name"]
        except NotFound:
            out["display_name"] = subject.username
        cookie = request.cookies.get(authn.SESSION_COOKIE)
        if subject.via == "session" and cookie:
            session = authn.authenticate_session(conn, cookie, _now())
            if session is not None:
                out["csrf_token"] = session.csrf
                out["expires_at"] = session.expires_at
    return out


@router.post("/auth/purpose", summary="Declare the purpose (and reason) of this session's accesses")
def set_purpose(body: PurposeIn, request: Request, db: Db, subject: Me) -> dict[str, Any]:
    cookie = _session_cookie(request, subject, "declaring a purpose")
    _purpose(body.purpose)
    with db.write() as conn:
        authn.set_session_purpose(conn, cookie, body.purpose, body.reason, _now())
    reason = body.reason.strip() if body.reason and body.reason.strip() else None
    changed = Subject(
        subject.user_id,
        subject.username,
        subject.agency,
        subject.roles,
        subject.vetting,
        subject.unit,
        body.purpose,
        reason,
        subject.scopes,
        subject.via,
    )
    return _subject_view(changed)


# ---- a user's own API tokens ----


@router.post("/auth/tokens", status_code=201, summary="Make an API token for yourself (shown once)")
def create_own_token(body: TokenIn, db: Db, subject: Me) -> dict[str, Any]:
    """Scopes are limited to what your roles can use (and, when you call with a token, to its scopes).
    The token is in the answer this once: store it now."""
    allowed = authn.scopes_for(subject)
    beyond = [s for s in body.scopes if s not in allowed]
    if beyond:
        raise Forbidden(
            f"your roles ({', '.join(sorted(subject.roles))}) cannot use scope(s) {', '.join(beyond)}; "
            f"you may give a token {', '.join(allowed) or 'no scope'}"
        )
    now = _now()
    with db.write() as conn:
        token_id, token = authn.create_token(
            conn,
            subject.user_id,
            body.name,
            body.scopes,
            _purpose(body.purpose),
            now,
            now + dt.timedelta(days=body.days),
            by=subject,
        )
        view = authn.get_token(conn, token_id, now)
    return {**view, "token": token}


@router.get("/auth/tokens", summary="Your API tokens (never the tokens themselves)")
def list_own_tokens(db: Db, subject: Me) -> dict[str, Any]:
    with db.read() as conn:
        return {"items": authn.list_tokens(conn, subject.user_id)}


@router.delete("/auth/tokens/{token_id}", summary="Revoke one of your API tokens")
def revoke_own_token(token_id: str, db: Db, subject: Me) -> dict[str, Any]:
    with db.write() as conn:
        mine = {t["id"] for t in authn.list_tokens(conn, subject.user_id)}
        if token_id not in mine:
            raise NotFound(f"you have no token {token_id}")
        return authn.revoke_token(conn, token_id, _now(), by=subject)


# ---- OpenID Connect ----


def _home(request: Request) -> str:
    paths = {getattr(r, "path", "") for r in request.app.routes}
    return "/ui/" if any(p.startswith("/ui") for p in paths) else "/auth/me"


@router.get("/auth/oidc/login", name="oidc_login", summary="Sign in through the identity provider (OIDC)")
async def oidc_login(request: Request, next: str | None = None) -> Response:
    """Redirects to the provider, which sends you back to /auth/oidc/callback. 404 when OIDC is not
    configured."""
    settings = oidc.require_settings()
    return await oidc.login_redirect(request, settings, oidc.safe_next(next, _home(request)))


def _provision(db: Database, claims: dict[str, Any], settings: oidc.OIDCSettings) -> str:
    now = _now()
    try:
        with db.write() as conn:
            subject = oidc.provision(conn, claims, now, settings)
            session_id, _csrf = authn.start_session(conn, subject, now)
    except (Forbidden, Conflict) as exc:
        with db.write() as conn:
            oidc.audit_failure(conn, claims, exc.detail, now)
        raise
    return session_id


@router.get("/auth/oidc/callback", name="oidc_callback", summary="Where the identity provider sends you back")
async def oidc_callback(request: Request) -> Response:
    settings = oidc.require_settings()
    claims, next_url = await oidc.callback_claims(request, settings)
    session_id = await run_in_threadpool(_provision, request.app.state.db, claims, settings)
    response = RedirectResponse(oidc.safe_next(next_url, _home(request)), status_code=303)
    _set_session_cookie(request, response, session_id, authn.SESSION_HOURS)
    request.scope["session"] = {}
    oidc.save_state(request, response, settings)
    return response
