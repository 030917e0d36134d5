"""Every error as RFC 9457 problem details: one JSON shape for the whole API.

Domain errors carry their own status; request-shape errors become 422 with the same `issues` list the
registry's validator produces; anything unexpected is a 500 that reveals nothing internal.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from openrms.errors import OpenRMSError

log = logging.getLogger("openrms.api")
MEDIA_TYPE = "application/problem+json"
_HTTP = {404: ("not-found", "Not found"), 405: ("method-not-allowed", "Method not allowed")}


def problem(request: Request, status: int, kind: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": f"/problems/{kind}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE)


def _path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out


async def _domain(request: Request, exc: OpenRMSError) -> JSONResponse:
    return problem(request, exc.status, exc.kind, exc.title, exc.detail, **exc.extra)


async def _shape(request: Request, exc: RequestValidationError) -> JSONResponse:
    issues = [
        {
            "code": err.get("type", "invalid"),
            "path": _path(tuple(err.get("loc", ()))),
            "message": err.get("msg", "invalid"),
            "severity": "error",
        }
        for err in exc.errors()
    ]
    detail = "; ".join(f"{i['path']}: {i['message']}" for i in issues[:10])
    return problem(request, 422, "validation-failed", "Validation failed", detail, issues=issues)


async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    kind, title = _HTTP.get(exc.status_code, ("http-error", "HTTP error"))
    detail = "no such route" if exc.status_code == 404 and exc.detail == "Not Found" else str(exc.detail)
    return problem(request, exc.status_code, kind, title, detail)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(
        request,
        500,
        "internal-error",
        "Internal error",
        "the server failed to handle this request; it has been logged",
    )


class RefuseNul:
    """No field, id or filter may hold a NUL character (PostgreSQL cannot even compare one): refused here,
    once, for every route. A plain ASGI middleware: Starlette's BaseHTTPMiddleware costs milliseconds."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            query = scope.get("query_string", b"").lower()
            if "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query:
                response = problem(
                    Request(scope),
                    400,
                    "bad-request",
                    "Bad request",
                    "the path or query contains a NUL character (%00), which no id or value may hold",
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install(app: FastAPI) -> None:
    app.add_middleware(RefuseNul)
    app.add_exception_handler(OpenRMSError, _domain)
    app.add_exception_handler(RequestValidationError, _shape)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
