"""The FastAPI application: one router per area, one error shape, one database per app."""

from __future__ import annotations

from fastapi import FastAPI

import openrms.identity.hooks  # every write maintains the master index
import openrms.search.hooks  # noqa: F401  (... and the search index)
from openrms import __version__
from openrms.api import problems
from openrms.api.routers import imports, links, masters, match, meta, records, search
from openrms.store.database import Database


def create_app(db: Database | str | None = None) -> FastAPI:
    """An app bound to `db` (a Database, a URL, or None for the configured default)."""
    database = db if isinstance(db, Database) else Database(db)
    app = FastAPI(
        title="OpenRMS",
        version=__version__,
        description="Records management and data sharing for police forces and their justice partners.",
        openapi_url="/openapi.json",
    )
    app.state.db = database
    problems.install(app)
    for router in (
        meta.router,
        records.router,
        links.router,
        masters.router,
        match.router,
        imports.router,
        search.router,
    ):
        app.include_router(router)
    return app
