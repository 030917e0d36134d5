"""How web pages are routed: the /ui prefix, redirects, and errors rendered as pages instead of JSON.

Every web router uses `WebRoute`, which turns an `OpenRMSError` (a missing record, a bad search) into an
HTML error page with the same status, a `Redirect` into a 303 (or an `HX-Redirect` for htmx), and adds
the headers every page needs: no caching of what a signed-in user saw, a content security policy that
allows only our own scripts and styles, and no framing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute

from openrms.errors import NotFound, OpenRMSError

log = logging.getLogger("openrms.web")

PREFIX = "/ui"
MAX_ID = 100  # longer than any id OpenRMS makes
HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
TEMPLATE_DIR = HERE / "templates"
TILE_URL_ENV = "OPENRMS_TILE_URL"


class Redirect(Exception):
    """Raised by a dependency or page to send the browser elsewhere (sign in, choose a purpose)."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


def tile_url() -> str | None:
    """The map tile URL template ({z}/{x}/{y}), or None for a plain background."""
    return os.environ.get(TILE_URL_ENV) or None


def _tile_origin() -> str:
    url = tile_url()
    if not url:
        return ""
    parts = urlsplit(url.replace("{s}", "a"))
    origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    if "{s}" in url and parts.netloc.startswith("a."):
        origin = f"{parts.scheme}://*.{parts.netloc[2:]}"
    return f" {origin}" if origin else ""


def security_headers(response: Response) -> Response:
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src 'self' data:{_tile_origin()}; connect-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'self'; object-src 'none'",
    )
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def checked_id(value: str | None, what: str = "record") -> str:
    """An id from a path, query or form. One that cannot be an id names nothing: a 404 like a missing
    record (never a 400, which would tell a malformed id apart from a hidden one)."""
    if not value or len(value) > MAX_ID or not value.isprintable():
        raise NotFound(f"no such {what}")
    return value


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def redirect(request: Request, location: str) -> Response:
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


def safe_next(value: str | None, default: str = f"{PREFIX}/") -> str:
    """A `next` location we may send the browser to: a path of this UI only (never another site)."""
    if not value or not value.startswith(f"{PREFIX}/") or value.startswith("//") or "\\" in value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def _error_page(request: Request, exc: OpenRMSError) -> Response:
    from openrms.web.templating import render

    return render(
        request,
        "error.html",
        {"status": exc.status, "title": exc.title, "detail": exc.detail},
        status_code=exc.status,
    )


class WebRoute(APIRoute):
    """An APIRoute whose errors and redirects come back as pages (see the module docstring)."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except Redirect as move:
                response = redirect(request, move.location)
            except OpenRMSError as exc:
                if exc.status >= 500:
                    log.exception("error on %s %s", request.method, request.url.path)
                response = _error_page(request, exc)
            return security_headers(response)

        return route


def page_response(body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status_code)
