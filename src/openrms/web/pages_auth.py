"""Sign in, choose the purpose of access, sign out."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request, Response

from openrms.access import authn
from openrms.access.model import PURPOSES
from openrms.errors import OpenRMSError, Unauthorized
from openrms.web import session as web
from openrms.web.routing import PREFIX, WebRoute, redirect, safe_next
from openrms.web.templating import render

router = APIRouter(prefix=PREFIX, route_class=WebRoute, include_in_schema=False)
Session = Annotated[web.WebSession, Depends(web.signed_in)]
MAX_REASON = 500


def _sign_in_page(
    request: Request,
    next_url: str,
    errors: dict[str, str] | None = None,
    username: str = "",
    status: int = 200,
) -> Response:
    token = web.sign_in_token(request)
    response = render(
        request,
        "sign_in.html",
        {
            "next": next_url,
            "errors": errors or {},
            "username": username,
            "signed_out": request.query_params.get("signed_out") == "1",
            "sign_in_token": token,
        },
        status_code=status,
    )
    web.set_sign_in_cookie(request, response, token)
    return response


@router.get("/sign-in")
def sign_in_form(request: Request, next: str | None = None) -> Response:
    if web.load(request) is not None:
        return redirect(request, safe_next(next))
    return _sign_in_page(request, safe_next(next))


@router.post("/sign-in")
def sign_in(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    web.check_sign_in_token(request, csrf_token)
    next_url = safe_next(next)
    errors: dict[str, str] = {}
    if not username.strip():
        errors["username"] = "Enter your username"
    if not password:
        errors["password"] = "Enter your password"
    if errors:
        return _sign_in_page(request, next_url, errors, username, status=400)
    db = web.database(request)
    try:
        with db.write() as conn:
            subject = authn.sign_in(conn, username.strip(), password, web.now())
            session_id, _csrf = authn.start_session(conn, subject, web.now())
    except Unauthorized:
        errors["username"] = "The username or password is not right"
        return _sign_in_page(request, next_url, errors, username, status=401)
    except OpenRMSError as exc:  # locked out, inactive account...
        errors["username"] = exc.detail
        return _sign_in_page(request, next_url, errors, username, status=exc.status)
    target = next_url if subject.purpose else f"{PREFIX}/purpose?next={quote(next_url, safe='')}"
    response = redirect(request, target)
    web.set_session_cookie(request, response, session_id)
    return response


@router.get("/purpose")
def purpose_form(request: Request, session: Session, next: str | None = None) -> Response:
    return render(
        request,
        "purpose.html",
        {
            "next": safe_next(next),
            "errors": {},
            "chosen": session.subject.purpose,
            "reason": session.subject.reason or "",
        },
    )


@router.post("/purpose")
async def choose_purpose(request: Request, session: Session) -> Response:
    await web.check_csrf(request, session)
    form = await request.form()
    purpose = str(form.get("purpose") or "")
    reason = str(form.get("reason") or "").strip()
    next_url = safe_next(str(form.get("next") or ""))
    errors: dict[str, str] = {}
    if purpose not in PURPOSES:
        errors["purpose"] = "Select why you need to use the system"
    if len(reason) > MAX_REASON:
        errors["reason"] = f"The reason must be {MAX_REASON} characters or fewer"
    if form.get("reason_required") and not reason:
        errors["reason"] = "Enter a reason, for example a crime or case reference"
    if errors and form.get("reason_required"):
        context = {"next": next_url, "errors": errors, "heading": "Give a reason", "what": "search or view"}
        return render(request, "reason.html", context, status_code=400)
    if errors:
        context = {"next": next_url, "errors": errors, "chosen": purpose, "reason": reason}
        return render(request, "purpose.html", context, status_code=400)
    with web.database(request).write() as conn:
        authn.set_session_purpose(conn, session.id, purpose, reason or None)
    return redirect(request, next_url)


@router.post("/sign-out")
async def sign_out(request: Request, session: Session) -> Response:
    await web.check_csrf(request, session)
    with web.database(request).write() as conn:
        authn.end_session(conn, session.id, web.now())
    response = redirect(request, f"{PREFIX}/sign-in?signed_out=1")
    web.clear_session_cookie(request, response)
    return response
