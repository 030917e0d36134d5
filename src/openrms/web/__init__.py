"""The officer's desk: server-rendered pages (Jinja2 + htmx, GOV.UK and MOJ Frontend) under /ui.

`install(app)` adds the pages to the API's FastAPI app and serves the vendored assets at /ui/static. The
pages sign in with the same session cookie the API accepts, read through the same library functions with
the caller's read scope, and render errors as pages rather than problem JSON.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from openrms.web.routing import PREFIX, STATIC_DIR


def install(app: FastAPI) -> None:
    """Include the web routers and mount the static files; safe to call once per app."""
    from openrms.web import (
        pages_admin,
        pages_auth,
        pages_entry,
        pages_map,
        pages_network,
        pages_records,
        pages_review,
        pages_search,
    )

    if getattr(app.state, "web_installed", False):
        return
    for module in (
        pages_auth,
        pages_search,
        pages_entry,  # before pages_records, so /records/new is not taken for a record id
        pages_records,
        pages_map,
        pages_review,
        pages_network,
        pages_admin,
    ):
        app.include_router(module.router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC_DIR), name="ui-static")
    app.state.web_installed = True


__all__ = ["PREFIX", "install"]
